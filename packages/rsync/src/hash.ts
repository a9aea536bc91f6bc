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

/** The first 8 bytes of xxh128 of `data`, written at `out[at..at+8)`. */
export function strong8(h: Hasher, data: Uint8Array, out: Uint8Array, at: number): void {
  out.set(h.init().update(data).digest('binary').subarray(0, 8), at);
}
