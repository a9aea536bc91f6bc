/**
 * A plain Uint8Array over memory that is not zeroed first (where the runtime has Node's Buffer),
 * for buffers whose every byte is written before it is read: a large incoming message, the
 * writer's slabs. Zeroing a 64 KiB slab cost more than filling it with small frames. Pure.
 */

const NodeBufferAlloc = (globalThis as { Buffer?: { allocUnsafeSlow(n: number): Uint8Array } }).Buffer;

export function uninitialized(size: number): Uint8Array {
  if (!NodeBufferAlloc) return new Uint8Array(size);
  const b = NodeBufferAlloc.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}
