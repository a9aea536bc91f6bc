import { readU32 } from '@tsnet/core/worker';
import { HEADER_SIZE, MAGIC, TRAILER_TYPE } from './socket-protocol.js';

/** The longest trailer the server writes is a few dozen bytes; anything longer is not its trailer. */
export const MAX_TRAILER = 4096;

/**
 * Follows frame boundaries in a byte stream without decoding or copying payloads. The socket
 * server uses it on what the child sends, to know whether it may append its trailer frame (only
 * between two frames); the client uses `split()` to take that trailer off the end of the stream.
 *
 * The trailer type is the server's own, but remote code can write any bytes to its wire: a trailer
 * that is too long, or anything after one, is not the server's. `violation` then says what was
 * wrong, nothing more is passed on or buffered, and the client reports a protocol error.
 */
export class FrameScanner {
  readonly #header = new Uint8Array(HEADER_SIZE);
  #have = 0;
  #skip = 0;
  #trailer: { need: number; parts: Uint8Array[] } | null = null;
  #trailerPayload: Uint8Array | null = null;
  #corrupt = false;
  #violation: string | null = null;

  /** Set when the stream broke the trailer's rules (see the class comment); nothing is passed on after it. */
  get violation(): string | null {
    return this.#violation;
  }

  #violate(what: string): void {
    this.#violation ??= what;
    this.#corrupt = true;
    this.#trailer = null;
  }

  /** True between two frames (and at the start). */
  get atBoundary(): boolean {
    return this.#have === 0 && this.#skip === 0 && !this.#corrupt;
  }

  /** Tracks a chunk that is passed on unchanged. */
  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && !this.#corrupt) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(HEADER_SIZE - this.#have, chunk.length - i);
      this.#header.set(chunk.subarray(i, i + n), this.#have);
      this.#have += n;
      i += n;
      if (this.#have === HEADER_SIZE) {
        this.#have = 0;
        if (this.#header[0] !== MAGIC) this.#corrupt = true;
        this.#skip = readLength(this.#header, 0);
      }
    }
  }

  /**
   * Passes on every byte but a trailer frame: `forward` gets the bytes before it (a header split
   * across chunks is held back until it is whole), and `trailer` is its payload once complete.
   */
  split(chunk: Uint8Array, forward: (bytes: Uint8Array) => void): void {
    if (this.#violation !== null) return;
    if (this.#trailerPayload !== null && this.#trailer === null && chunk.length > 0) {
      this.#violate(afterTrailer(chunk.length));
      return;
    }
    let i = 0;
    let runStart = 0;
    while (i < chunk.length) {
      if (this.#trailerPayload !== null && this.#trailer === null) {
        // An empty trailer ended mid-chunk: whatever follows it is not the server's.
        this.#violate(afterTrailer(chunk.length - i));
        break;
      }
      const t = this.#trailer;
      if (t) {
        const n = Math.min(t.need, chunk.length - i);
        // Copied: an in-place reader reuses its Uint8Array for the next read (a Buffer's slice is a
        // view, but Buffers, from streams, are never reused).
        t.parts.push(chunk.slice(i, i + n));
        t.need -= n;
        i += n;
        runStart = chunk.length; // nothing after a trailer is passed on
        if (t.need === 0) {
          this.#trailerPayload = Buffer.concat(t.parts);
          this.#trailer = null;
          if (i < chunk.length) {
            this.#violate(afterTrailer(chunk.length - i));
          }
          break;
        }
        continue;
      }
      if (this.#skip > 0 || this.#corrupt) {
        const n = this.#corrupt ? chunk.length - i : Math.min(this.#skip, chunk.length - i);
        if (!this.#corrupt) this.#skip -= n;
        i += n;
        continue;
      }
      if (this.#have > 0) {
        // The rest of a header held back from the previous chunk (so i === 0 here).
        const n = Math.min(HEADER_SIZE - this.#have, chunk.length);
        this.#header.set(chunk.subarray(0, n), this.#have);
        this.#have += n;
        i = n;
        runStart = n;
        if (this.#have < HEADER_SIZE) break;
        this.#have = 0;
        if (this.#isTrailer(this.#header, 0)) {
          this.#startTrailer(readLength(this.#header, 0));
          if (this.#violation !== null) return;
        } else {
          forward(this.#header.slice());
          this.#afterHeader(this.#header, 0);
        }
        continue;
      }
      if (chunk.length - i >= HEADER_SIZE) {
        if (this.#isTrailer(chunk, i)) {
          if (i > runStart) forward(chunk.subarray(runStart, i));
          this.#startTrailer(readLength(chunk, i));
          if (this.#violation !== null) return;
          i += HEADER_SIZE;
          runStart = chunk.length;
          continue;
        }
        this.#afterHeader(chunk, i);
        i += HEADER_SIZE;
        continue;
      }
      // A partial header at the end of the chunk: hold it back.
      if (i > runStart) forward(chunk.subarray(runStart, i));
      this.#header.set(chunk.subarray(i), 0);
      this.#have = chunk.length - i;
      return;
    }
    if (runStart < Math.min(i, chunk.length)) forward(chunk.subarray(runStart, Math.min(i, chunk.length)));
  }

  /** The trailer's payload, once it arrived whole. */
  get trailer(): Uint8Array | null {
    return this.#trailerPayload;
  }

  #isTrailer(b: Uint8Array, at: number): boolean {
    return b[at] === MAGIC && b[at + 1] === TRAILER_TYPE;
  }

  #startTrailer(length: number): void {
    if (length > MAX_TRAILER) {
      // Not the server's: buffering it would hold whatever follows, outside any window.
      this.#violate(`a trailer frame of ${length} bytes (the server's are at most ${MAX_TRAILER})${OWN}`);
      return;
    }
    this.#trailer = { need: length, parts: [] };
    if (length === 0) {
      this.#trailerPayload = new Uint8Array(0);
      this.#trailer = null;
    }
  }

  #afterHeader(b: Uint8Array, at: number): void {
    if (b[at] !== MAGIC) {
      // Not a frame stream (the gateway reports the protocol error); stop looking for structure.
      this.#corrupt = true;
      return;
    }
    this.#skip = readLength(b, at);
  }
}

const OWN = `: frame type 0x${TRAILER_TYPE.toString(16)} is the server's own, and remote code wrote one`;
const afterTrailer = (n: number): string => `${n} bytes after the trailer frame${OWN}`;

/** The payload length field of the frame header at `at`. */
function readLength(b: Uint8Array, at: number): number {
  return readU32(b, at + 8);
}

/** The trailer frame the server appends after the child exited. */
export function encodeTrailer(status: { code: number | null; signal: string | null }): Uint8Array {
  const payload = Buffer.from(JSON.stringify(status));
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out[0] = MAGIC;
  out[1] = TRAILER_TYPE;
  new DataView(out.buffer).setUint32(8, payload.length);
  out.set(payload, HEADER_SIZE);
  return out;
}
