/**
 * xxh128 from hash-wasm: WebAssembly, so the same code runs on Node, Bun and Deno, and inside the
 * agent bundle the remote side gets (no native add-on, nothing to install there). Each Hasher owns
 * its wasm instance: a sender hashes a file and its blocks at once with two of them.
 */
import { createXXHash128, type IHasher } from 'hash-wasm';

export type Hasher = IHasher;

export function createHasher(): Promise<Hasher> {
  return createXXHash128();
}

/** Hex digest of one buffer. */
export function hashHex(h: Hasher, data: Uint8Array): string {
  return h.init().update(data).digest('hex');
}

/** xxh128 of `data` (16 bytes); its first 8 are a block's strong hash on the wire, all 16 go into a delta's recipe hash. */
export function strong16(h: Hasher, data: Uint8Array): Uint8Array {
  return h.init().update(data).digest('binary');
}
