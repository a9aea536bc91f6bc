import { ProtocolError } from '../errors.js';
import { frameTypeNames, HEADER_SIZE, isFrameType, MAGIC, readU32 } from './frame.js';

export interface FrameSink {
  /**
   * The payload is `buf[start, end)`: a range of the pushed chunk (valid only during the call, so
   * copy what is kept), or of a buffer the decoder or payloadTarget filled. Offsets instead of a
   * view spare an allocation per frame.
   */
  onFrame(type: number, flags: number, channelId: number, buf: Uint8Array, start: number, end: number): void;
  /**
   * Where to read the payload of a frame that spans pushed chunks: a view of exactly `length`
   * bytes (then `onFrame` gets that view), or undefined for a fresh buffer. Lets a large message
   * be assembled in place without a copy per frame.
   */
  payloadTarget?(type: number, flags: number, channelId: number, length: number): Uint8Array | undefined;
}

/**
 * Turns a byte stream, pushed in arbitrary pieces, into frames. Does no I/O and keeps no timers,
 * so it is tested with plain buffers split at every offset. Any violation throws a ProtocolError
 * carrying the stream offset of the bad byte; after that the decoder refuses further input.
 */
export class FrameDecoder {
  /** Largest payload accepted; a larger declared length is refused before anything is allocated. */
  maxPayload: number;
  #sink: FrameSink;
  #offset = 0; // stream offset of the start of the current chunk
  #header = new Uint8Array(HEADER_SIZE);
  #headerFill = 0;
  #type = 0;
  #flags = 0;
  #channel = 0;
  #remaining = -1; // payload bytes still expected; -1 while reading a header
  #payload: Uint8Array | null = null;
  #payloadFill = 0;
  #failed: ProtocolError | null = null;
  #frameStart = 0;

  constructor(sink: FrameSink, options?: { maxPayload?: number }) {
    this.#sink = sink;
    this.maxPayload = options?.maxPayload ?? 1 << 20;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Stream offset of the header of the frame being read (or last read): for error messages. */
  get frameOffset(): number {
    return this.#frameStart;
  }

  /** Type of that frame. */
  get frameType(): number {
    return this.#type;
  }

  /** True when the stream ended on a frame boundary. */
  get idle(): boolean {
    return this.#remaining === -1 && this.#headerFill === 0;
  }

  push(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    let pos = 0;
    const len = chunk.length;
    try {
      while (pos < len) {
        if (this.#remaining === -1 && this.#headerFill === 0 && len - pos >= HEADER_SIZE) {
          const length = this.#parseHeader(chunk, pos, pos);
          pos += HEADER_SIZE;
          if (len - pos >= length) {
            const start = pos;
            pos += length;
            this.#emit(chunk, start, pos);
          }
        } else pos = this.#partial(chunk, pos);
      }
    } catch (error) {
      if (error instanceof ProtocolError) this.#failed = error;
      throw error;
    } finally {
      this.#offset += pos;
    }
  }

  /**
   * A frame that spans chunks: its header or payload is collected piece by piece. Kept apart from
   * push() so that the common case, whole frames in a chunk, stays small for the optimizer.
   * Returns the new position in `chunk`.
   */
  #partial(chunk: Uint8Array, pos: number): number {
    const len = chunk.length;
    if (this.#remaining === -1) {
      const n = Math.min(HEADER_SIZE - this.#headerFill, len - pos);
      this.#header.set(chunk.subarray(pos, pos + n), this.#headerFill);
      this.#headerFill += n;
      pos += n;
      if (this.#headerFill < HEADER_SIZE) {
        // Stray bytes are refused at their first byte, not when a whole header has piled up.
        const where = this.#offset + pos - this.#headerFill;
        if (this.#header[0] !== MAGIC) throw this.#badMagic(this.#header.subarray(0, this.#headerFill), where);
        return pos;
      }
      this.#headerFill = 0;
      if (this.#parseHeader(this.#header, 0, pos - HEADER_SIZE) === 0) this.#emit(chunk, pos, pos);
      return pos;
    }
    const avail = len - pos;
    if (this.#payload === null) {
      if (avail >= this.#remaining) {
        // The header came in an earlier chunk, the whole payload in this one.
        const start = pos;
        pos += this.#remaining;
        this.#emit(chunk, start, pos);
        return pos;
      }
      const target = this.#sink.payloadTarget?.(this.#type, this.#flags, this.#channel, this.#remaining);
      this.#payload = target !== undefined && target.length === this.#remaining ? target : new Uint8Array(this.#remaining);
      this.#payloadFill = 0;
    }
    const n = Math.min(this.#payload.length - this.#payloadFill, avail);
    this.#payload.set(chunk.subarray(pos, pos + n), this.#payloadFill);
    this.#payloadFill += n;
    pos += n;
    if (this.#payloadFill === this.#payload.length) {
      const payload = this.#payload;
      this.#payload = null;
      this.#emit(payload, 0, payload.length);
    }
    return pos;
  }

  /**
   * Where the next bytes of the stream belong, when they are the rest of a payload of at least
   * `min` bytes that is being collected (for a transport that can read into it): a view of the
   * unfilled part. Undefined otherwise.
   */
  directTarget(min: number): Uint8Array | undefined {
    const payload = this.#payload;
    if (this.#failed || payload === null || payload.length - this.#payloadFill < min) return undefined;
    return payload.subarray(this.#payloadFill);
  }

  /** `n` bytes of the stream were read into the view directTarget() gave. */
  pushDirect(n: number): void {
    if (this.#failed) throw this.#failed;
    const payload = this.#payload;
    if (payload === null || n > payload.length - this.#payloadFill) throw new Error(`pushDirect(${n}) without room for it`);
    this.#payloadFill += n;
    this.#offset += n;
    if (this.#payloadFill === payload.length) {
      this.#payload = null;
      try {
        this.#emit(payload, 0, payload.length);
      } catch (error) {
        if (error instanceof ProtocolError) this.#failed = error;
        throw error;
      }
    }
  }

  #emit(buf: Uint8Array, start: number, end: number): void {
    this.#remaining = -1;
    this.#sink.onFrame(this.#type, this.#flags, this.#channel, buf, start, end);
  }

  #badMagic(bytes: Uint8Array, where: number): ProtocolError {
    this.#frameStart = where;
    return new ProtocolError(
      `bad frame at byte ${where}: expected magic 0xf7, got ${describeBytes(bytes)}. ` +
        'Something other than tsnet wrote to the wire (stray output on stdout?): remote code must use channel.send(), not raw writes to stdout (fd 1).',
      { offset: where },
    );
  }

  /** `relOffset`: header start relative to the current chunk (may be negative when it spanned chunks). */
  #parseHeader(b: Uint8Array, at: number, relOffset: number): number {
    const where = this.#offset + relOffset;
    this.#frameStart = where;
    this.#type = 0;
    if (b[at] !== MAGIC) throw this.#badMagic(b.subarray(at, at + HEADER_SIZE), where);
    const type = b[at + 1]!;
    if (!isFrameType(type)) {
      throw new ProtocolError(`bad frame at byte ${where}: unknown frame type ${type}`, { offset: where });
    }
    if (b[at + 3] !== 0) {
      throw new ProtocolError(`bad frame at byte ${where}: reserved header byte is ${b[at + 3]}, expected 0`, { offset: where });
    }
    const length = readU32(b, at + 8);
    if (length > this.maxPayload) {
      throw new ProtocolError(
        `bad frame at byte ${where}: ${frameTypeNames[type]} frame declares ${length} payload bytes, above the maximum of ${this.maxPayload}`,
        { offset: where },
      );
    }
    this.#type = type;
    this.#flags = b[at + 2]!;
    this.#channel = readU32(b, at + 4);
    this.#remaining = length;
    return length;
  }
}

function describeBytes(b: Uint8Array): string {
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
  let text = '';
  for (const x of b) text += x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.';
  return `${hex} ("${text}")`;
}
