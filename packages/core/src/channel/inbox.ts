import { ProtocolError } from '../errors.js';
import { uninitialized } from '../util/uninitialized.js';
import { FrameFlag, readU32 } from '../wire/frame.js';
import { viewsInput } from '../wire/serializer.js';

/** What an inbox needs from its gateway: limits, decoding, and the CREDIT frame. */
export interface InboxHost {
  readonly id: string;
  /** Our receive window per channel. */
  readonly _window: number;
  readonly _creditThreshold: number;
  readonly _maxMessage: number;
  _load(buf: Uint8Array, start: number, end: number): unknown;
  _writeCredit(channelId: number, bytes: number): void;
}

/**
 * The receive side of one channel: DATA frames in, items out, and the credit that refills the
 * sender's window as items are taken (docs/protocol.md, flow control).
 *
 * Contract: `onData()` throws a ProtocolError for a peer that overran the window or sent a
 * malformed large message (the gateway then treats the wire as broken); it returns true when a
 * complete item was queued. `take()` is called only while `size > 0`. Once `granting` is false
 * (the channel closed) no more credit goes out; queued items stay takeable.
 */
export class Inbox {
  readonly #host: InboxHost;
  readonly #channelId: number;
  // Items waiting to be received, in a ring (no object per item, nothing shifted or copied per
  // item: at millions of small messages a second that was a good part of the remote's time):
  // three slots per item: the value, its bytes not yet returned to the sender as credit, and its
  // bytes on the wire. `#cap` items fit; a power of two.
  #ring: unknown[] = new Array(3 * 16);
  #cap = 16;
  #head = 0;
  #count = 0;
  /** Bytes taken by the reader but not yet granted back to the sender. */
  #creditOwed = 0;
  /** The message being assembled from several frames (allocated whole when announced). */
  #message: Uint8Array | null = null;
  #messageFill = 0;
  /** Bytes of the partial message not yet granted back (they arrived while items were queued). */
  #partialUncredited = 0;
  /** Bytes the peer sent that we have not granted back yet: never above our window. */
  #inWindow = 0;
  /** False once the channel closed: credit is for a sender that may still send. */
  granting = true;
  /** channel.stats(): complete items and DATA payload bytes received. */
  items = 0;
  bytes = 0;

  constructor(host: InboxHost, channelId: number) {
    this.#host = host;
    this.#channelId = channelId;
  }

  /** Items queued and not taken yet. */
  get size(): number {
    return this.#count;
  }

  /**
   * A DATA frame's payload `buf[start, end)`. Unless `owned` (a buffer the decoder allocated for
   * it), `buf` is the read buffer, perhaps reused: nothing may keep a view of it.
   */
  onData(flags: number, buf: Uint8Array, start: number, end: number, owned: boolean): boolean {
    const host = this.#host;
    const length = end - start;
    this.bytes += length;
    // A peer that ignores our window would make us buffer without bound: that is a protocol error.
    this.#inWindow += length;
    if (this.#inWindow > host._window) {
      throw new ProtocolError(
        `the peer overran the flow-control window of channel ${this.#channelId}: ${this.#inWindow} bytes unacknowledged, window ${host._window}`,
      );
    }
    const message = this.#message;
    if (message === null) {
      if (flags & FrameFlag.MORE) {
        this.#startMessage(buf, start, length);
        this.#creditPartial(length);
        return false;
      }
      // Values that are views of the payload (binary) get bytes of their own when it is a read buffer.
      const value = !owned && viewsInput(buf[start]!) ? host._load(buf.slice(start, end), 0, length) : host._load(buf, start, end);
      this.#push(value, length, length);
      return true;
    }
    const fill = this.#messageFill + length;
    if (fill > message.length) throw this.#badLength(`more than the announced ${message.length} bytes`);
    // The decoder may have read the payload into place already (see payloadTarget).
    if (buf.buffer !== message.buffer || buf.byteOffset + start !== message.byteOffset + this.#messageFill) {
      message.set(buf.subarray(start, end), this.#messageFill);
    }
    this.#messageFill = fill;
    if (flags & FrameFlag.MORE) {
      this.#creditPartial(length);
      return false;
    }
    if (fill !== message.length) throw this.#badLength(`${fill} bytes where ${message.length} were announced`);
    const size = length + this.#partialUncredited;
    this.#message = null;
    this.#messageFill = 0;
    this.#partialUncredited = 0;
    this.#push(host._load(message, 0, message.length), size, message.length);
    return true;
  }

  #push(value: unknown, size: number, length: number): void {
    this.items++;
    if (this.#count === this.#cap) this.#resize(2 * this.#cap);
    const r = this.#ring;
    const at = 3 * ((this.#head + this.#count++) & (this.#cap - 1));
    r[at] = value;
    r[at + 1] = size;
    r[at + 2] = length;
  }

  /** A ring of `capacity` items (a power of two, at least `#count`), the queued ones in order from 0. */
  #resize(capacity: number): void {
    const r: unknown[] = new Array(3 * capacity);
    for (let k = 0; k < 3 * this.#count; k++) r[k] = this.#ring[(3 * this.#head + k) % (3 * this.#cap)];
    this.#ring = r;
    this.#cap = capacity;
    this.#head = 0;
  }

  /** The frame announcing a message larger than a frame: 4 bytes, its total length. */
  #startMessage(b: Uint8Array, at: number, length: number): void {
    if (length !== 4) throw this.#badLength(`a first frame of ${length} bytes; it must hold just the 4-byte message length`);
    const total = readU32(b, at);
    if (total === 0) throw this.#badLength('an announced length of 0');
    const max = this.#host._maxMessage;
    if (total > max) {
      throw new ProtocolError(`the peer announced a message of ${total} bytes on channel ${this.#channelId}, above the limit of ${max} bytes (maxMessage)`);
    }
    // Pages are touched only as bytes arrive, so a large announcement alone commits no memory.
    // Not zero-filled: every byte is written before the message is used (or it is dropped).
    try {
      this.#message = uninitialized(total);
    } catch (error) {
      throw new ProtocolError(`cannot allocate the ${total} bytes the peer announced on channel ${this.#channelId}: ${(error as Error).message}`);
    }
    this.#messageFill = 0;
  }

  /**
   * A message larger than the window must still get through: its frames are granted at once unless
   * complete items are waiting to be read, so memory stays at one message plus the window.
   */
  #creditPartial(bytes: number): void {
    if (this.#count === 0) this.#grant(bytes);
    else this.#partialUncredited += bytes;
  }

  #badLength(what: string): ProtocolError {
    return new ProtocolError(`bad message on channel ${this.#channelId}: ${what}`);
  }

  /** Where the decoder may put the payload of a DATA frame that continues a message. */
  payloadTarget(length: number): Uint8Array | undefined {
    const message = this.#message;
    if (message === null || this.#messageFill + length > message.length) return undefined;
    return message.subarray(this.#messageFill, this.#messageFill + length);
  }

  /** Drops a partly received message (the channel or gateway closed). */
  dropPartial(): void {
    this.#message = null;
  }

  /** Takes the oldest item and grants its bytes back. Only while `size > 0`. */
  take(): unknown {
    const r = this.#ring;
    const at = 3 * this.#head;
    const value = r[at];
    let release = r[at + 1] as number;
    r[at] = undefined;
    this.#head = (this.#head + 1) & (this.#cap - 1);
    if (--this.#count === 0) {
      // A ring grown for a burst shrinks once the reader caught up (not to its first size: a
      // steady stream empties it often).
      if (this.#cap > 4096) this.#resize(1024);
      if (this.#partialUncredited > 0) {
        // The reader caught up: the chunks of a large message that arrived behind queued items are
        // granted now, or a sender blocked in the middle of that message would wait forever.
        release += this.#partialUncredited;
        this.#partialUncredited = 0;
      }
    }
    this.#grant(release);
    return value;
  }

  #grant(bytes: number): void {
    if (!this.granting) return;
    this.#creditOwed += bytes;
    // Grants go out a quarter window at a time. The maximum frame is at most 3/4 of the window, so
    // a sender blocked for credit always finds the reader owing at least that much once it caught up.
    if (this.#creditOwed >= this.#host._creditThreshold) {
      this.#host._writeCredit(this.#channelId, this.#creditOwed);
      this.#inWindow -= this.#creditOwed;
      this.#creditOwed = 0;
    }
  }

  /** Bytes on the wire of the items queued, for status reports. */
  get queuedBytes(): number {
    let n = 0;
    for (let k = 0; k < this.#count; k++) n += this.#ring[3 * ((this.#head + k) & (this.#cap - 1)) + 2] as number;
    return n;
  }
}
