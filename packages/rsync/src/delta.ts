/**
 * rsync's algorithm. The receiver cuts its old file into blocks and sends a weak rolling sum and
 * a strong hash (8 bytes of xxh128) of each; the sender slides a window over the new file and
 * emits literal bytes and [block, count] copies. Memory on both sides is O(blocks + one chunk):
 * the sender keeps at most one window and MAX_LITERAL bytes of pending literal between chunks.
 *
 * The result is checked with a recipe hash: xxh128 over the literal bytes and, for each copied
 * block, the full 16-byte xxh128 of its content, in op order. The sender takes the digest of its
 * own bytes, the receiver the one it computed of the old block for the signature, so a block that
 * matched on the 8 wire bytes (and the weak sum) but differs is caught at 128 bits, and unchanged
 * blocks are never read again (with the old file's identity checked, see writer.ts).
 */
import { fstatSync, readSync } from 'node:fs';
import { type Hasher, strong16 } from './hash.js';
import { blockSizeFor, CHUNK, type Signature } from './protocol.js';
import { WEAK_MEMORY, weakSummer } from './weak-sum.js';

const MAX_LITERAL = 256 * 1024;

/**
 * Weak sum of data[from, to): rsync's rolling checksum (two 16-bit sums). b = Σ (len - k)·x_k is
 * the sum of the running a, which keeps the loop to two int32 adds per byte (only the low 16 bits
 * are kept, so wrapping at 2^32 is harmless).
 */
function weakSum(data: Uint8Array, from: number, to: number): { a: number; b: number } {
  let a = 0;
  let b = 0;
  for (let i = from; i < to; i++) {
    a = (a + data[i]!) | 0;
    b = (b + a) | 0;
  }
  return { a: a & 0xffff, b: b & 0xffff };
}

/** A signature as the receiver keeps it: the wire part, the full digests, and the old file's identity. */
export interface LocalSignature {
  sig: Signature;
  /** 16 bytes of xxh128 per block. */
  full: Uint8Array;
  identity: string;
}

/** Identity of an open file: if any of it changes, its content may have. */
export function identityOf(fd: number): string {
  const st = fstatSync(fd);
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** The signature of the open file `fd` of `size` bytes, read in chunks. */
export function signatureOf(fd: number, size: number, hasher: Hasher): LocalSignature {
  const identity = identityOf(fd);
  const blockSize = blockSizeFor(size);
  const count = Math.ceil(size / blockSize);
  const weak = new Uint8Array(count * 4);
  const weakView = new DataView(weak.buffer);
  const strong = new Uint8Array(count * 8);
  const full = new Uint8Array(count * 16);
  const per = Math.max(1, Math.floor(CHUNK / blockSize));
  // read straight into the weak summer's WebAssembly memory: no copy for the sums
  const summer = weakSummer();
  const buf = summer.memory.subarray(0, Math.min(WEAK_MEMORY, per * blockSize));
  let block = 0;
  let pos = 0;
  while (pos < size) {
    const want = Math.min(buf.length, size - pos);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, buf, got, want - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    if (got === 0) break;
    for (let off = 0; off < got; off += blockSize, block++) {
      const end = Math.min(off + blockSize, got);
      weakView.setUint32(block * 4, summer.weak(off, end - off), true);
      const d = strong16(hasher, buf.subarray(off, end));
      strong.set(d.subarray(0, 8), block * 8);
      full.set(d, block * 16);
    }
    pos += got;
  }
  return {
    sig: { blockSize, size, weak: weak.subarray(0, block * 4), strong: strong.subarray(0, block * 8) },
    full: full.subarray(0, block * 16),
    identity,
  };
}

export type DeltaOp = Uint8Array | [block: number, count: number];

/** A copy of data[from, to) (a Buffer's slice() would be a view). */
function copyOf(data: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  out.set(data.subarray(from, to));
  return out;
}

/**
 * Streaming matcher of new content against one signature: feed() chunks, then finish(). Nothing
 * of a fed chunk is kept once feed() returns (literals are copies, and so is the tail carried to
 * the next chunk), so the caller may read the next chunk into the same buffer: one buffer for a
 * whole file, no 1 MiB allocation (and page faults, and GC) per chunk.
 */
export class Matcher {
  readonly #sig: Signature;
  readonly #hasher: Hasher;
  readonly #count: number;
  readonly #lastLen: number;
  readonly #weak: Uint32Array;
  readonly #head: Int32Array;
  readonly #next: Int32Array;
  readonly #mask: number;
  readonly #recipe: Hasher;
  #digest: Uint8Array = new Uint8Array(16);
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #lit = 0;
  #a = 0;
  #b = 0;
  #rolling = false;
  #expect = 0;
  #copy: [number, number] | null = null;
  /** Bytes that went out as literals. */
  literalBytes = 0;

  /** `hasher` hashes blocks; `recipe` (another instance) takes the recipe hash, see recipe(). */
  constructor(sig: Signature, hasher: Hasher, recipe: Hasher) {
    this.#sig = sig;
    this.#hasher = hasher;
    this.#recipe = recipe.init();
    this.#count = sig.weak.length / 4;
    this.#lastLen = sig.size - (this.#count - 1) * sig.blockSize;
    const view = new DataView(sig.weak.buffer, sig.weak.byteOffset, sig.weak.byteLength);
    this.#weak = new Uint32Array(this.#count);
    for (let i = 0; i < this.#count; i++) this.#weak[i] = view.getUint32(i * 4, true);
    let bits = 10;
    while (1 << bits < this.#count * 2) bits++;
    this.#mask = (1 << bits) - 1;
    this.#head = new Int32Array(1 << bits).fill(-1);
    this.#next = new Int32Array(this.#count).fill(-1);
    // Full blocks only: the short last block matches only at the end (finish()).
    const full = this.#lastLen === sig.blockSize ? this.#count : this.#count - 1;
    for (let i = full - 1; i >= 0; i--) {
      const slot = this.#hash(this.#weak[i]!);
      this.#next[i] = this.#head[slot]!;
      this.#head[slot] = i;
    }
  }

  #hash(s: number): number {
    return (s ^ (s >>> 13) ^ (s >>> 26)) & this.#mask;
  }

  #strongIs(block: number, from: number, to: number): boolean {
    this.#digest = strong16(this.#hasher, this.#buf.subarray(from, to));
    const s = this.#sig.strong;
    const at = block * 8;
    for (let k = 0; k < 8; k++) if (s[at + k] !== this.#digest[k]) return false;
    return true;
  }

  /** A matched block (its digest is the last one #strongIs computed). */
  #emitCopy(out: DeltaOp[], block: number): void {
    this.#recipe.update(this.#digest);
    if (this.#copy && this.#copy[0] + this.#copy[1] === block) this.#copy[1]++;
    else {
      if (this.#copy) out.push(this.#copy);
      this.#copy = [block, 1];
    }
  }

  #emitLiteral(out: DeltaOp[], from: number, to: number): void {
    if (to <= from) return;
    if (this.#copy) {
      out.push(this.#copy);
      this.#copy = null;
    }
    const literal = copyOf(this.#buf, from, to);
    this.#recipe.update(literal);
    out.push(literal);
    this.literalBytes += to - from;
  }

  /** Consumes `chunk`; returns the ops that are settled. */
  feed(chunk: Uint8Array): DeltaOp[] {
    const out: DeltaOp[] = [];
    const keep = this.#buf.subarray(this.#lit);
    // After matched blocks that end on the chunk boundary nothing is carried over: use the chunk
    // itself, no copy (what is left of it is copied at the end of this call).
    let buf = chunk;
    if (keep.length > 0) {
      buf = new Uint8Array(keep.length + chunk.length);
      buf.set(keep, 0);
      buf.set(chunk, keep.length);
    }
    this.#pos -= this.#lit;
    this.#lit = 0;
    this.#buf = buf;
    const B = this.#sig.blockSize;
    const len = buf.length;
    const full = this.#lastLen === B ? this.#count : this.#count - 1;
    while (this.#pos + B <= len) {
      const pos = this.#pos;
      // The next block of the old file is the likely match after a match: try it before rolling.
      if (!this.#rolling && this.#expect < full && this.#strongIs(this.#expect, pos, pos + B)) {
        this.#emitLiteral(out, this.#lit, pos);
        this.#emitCopy(out, this.#expect);
        this.#expect++;
        this.#pos = this.#lit = pos + B;
        continue;
      }
      if (!this.#rolling) {
        const w = weakSum(buf, pos, pos + B);
        this.#a = w.a;
        this.#b = w.b;
        this.#rolling = true;
      }
      // Roll byte by byte with everything in locals (the hot loop of a changed region), until a
      // weak sum is in the table, the window reaches the end of the buffer, or the pending literal is full.
      const head = this.#head;
      const next = this.#next;
      const weak = this.#weak;
      const mask = this.#mask;
      const stop = Math.min(len - B, this.#lit + MAX_LITERAL);
      let a = this.#a;
      let b = this.#b;
      let p = pos;
      let found = -1;
      for (;;) {
        const s = (a | (b << 16)) >>> 0;
        for (let j = head[(s ^ (s >>> 13) ^ (s >>> 26)) & mask]!; j >= 0; j = next[j]!) {
          if (weak[j] === s && this.#strongIs(j, p, p + B)) {
            found = j;
            break;
          }
        }
        if (found >= 0 || p >= stop) break;
        const x = buf[p]!;
        a = (a - x + buf[p + B]!) & 0xffff;
        b = (b - B * x + a) & 0xffff;
        p++;
      }
      this.#a = a;
      this.#b = b;
      this.#pos = p;
      if (found >= 0) {
        this.#emitLiteral(out, this.#lit, p);
        this.#emitCopy(out, found);
        this.#expect = found + 1;
        this.#rolling = false;
        this.#pos = this.#lit = p + B;
        continue;
      }
      if (p + B >= len) break; // need more bytes to roll on
      // the pending literal is full: send it, keep rolling
      this.#emitLiteral(out, this.#lit, p);
      this.#lit = p;
    }
    if (this.#pos - this.#lit >= MAX_LITERAL) {
      this.#emitLiteral(out, this.#lit, this.#pos);
      this.#lit = this.#pos;
    }
    // keep only the unsettled tail (at most MAX_LITERAL plus a block), as a copy: the caller reuses the chunk
    this.#buf = copyOf(buf, this.#lit, len);
    this.#pos -= this.#lit;
    this.#lit = 0;
    return out;
  }

  /** End of the new content: the tail, matched against the short last block if it fits. */
  finish(): DeltaOp[] {
    const out: DeltaOp[] = [];
    const len = this.#buf.length;
    const last = this.#count - 1;
    if (last >= 0 && this.#lastLen < this.#sig.blockSize && len - this.#pos === this.#lastLen && this.#strongIs(last, this.#pos, len)) {
      this.#emitLiteral(out, this.#lit, this.#pos);
      this.#emitCopy(out, last);
    } else this.#emitLiteral(out, this.#lit, len);
    if (this.#copy) out.push(this.#copy);
    this.#copy = null;
    this.#buf = new Uint8Array(0);
    this.#pos = this.#lit = 0;
    return out;
  }

  /** After finish(): the recipe hash of everything emitted. */
  recipe(): string {
    return this.#recipe.digest('hex');
  }
}
