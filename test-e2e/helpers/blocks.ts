// Deterministic 1 MiB items that both sides can build and check: item i is a fixed pseudo-random
// block rotated by a step that depends on i, with i in its first 4 bytes. A lost, repeated,
// reordered or damaged item fails the comparison.

/** Source of `(size) => block` and `(block, i, target) => item`, usable locally and in remote code. */
export const BLOCK_SOURCE = `
  const makeBlock = (size) => {
    const b = Buffer.allocUnsafe(size);
    let x = 12345;
    for (let i = 0; i < size; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; b[i] = x >>> 24; }
    return b;
  };
  const makeItem = (block, i, target = Buffer.allocUnsafe(block.length)) => {
    const r = (i * 7919) % block.length;
    block.copy(target, 0, r);
    block.copy(target, block.length - r, 0, r);
    target.writeUInt32BE(i >>> 0, 0);
    return target;
  };
`;

export const { makeBlock, makeItem } = new Function(`${BLOCK_SOURCE}; return { makeBlock, makeItem };`)() as {
  makeBlock(size: number): Buffer;
  makeItem(block: Buffer, i: number, target?: Buffer): Buffer;
};

/** Checks items in order against what the sender built. */
export class ItemChecker {
  #block: Buffer;
  #expected: Buffer;
  next = 0;
  constructor(size: number) {
    this.#block = makeBlock(size);
    this.#expected = Buffer.allocUnsafe(size);
  }
  check(item: unknown): void {
    if (!(item instanceof Uint8Array)) throw new Error(`item ${this.next} is not binary: ${typeof item}`);
    const got = Buffer.from(item.buffer, item.byteOffset, item.byteLength);
    makeItem(this.#block, this.next, this.#expected);
    if (!got.equals(this.#expected)) {
      throw new Error(`item ${this.next} differs from what was sent (its first 4 bytes say ${got.length >= 4 ? got.readUInt32BE(0) : '?'})`);
    }
    this.next++;
  }
}
