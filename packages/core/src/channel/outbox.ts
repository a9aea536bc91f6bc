import { FrameFlag, FrameType, u32 } from '../wire/frame.js';

/** What an outbox needs from its gateway: the frame writer and the negotiated frame size. */
export interface OutboxHost {
  readonly _maxFrame: number;
  _writeFrame(type: number, flags: number, channelId: number, parts: readonly Uint8Array[], total: number): void;
  _writeQuick(channelId: number, item: unknown, max: number): number;
  /** The largest item the peer accepts (its maxMessage). */
  readonly _peerMaxMessage: number;
  _delivered(): Promise<void>;
}

interface PendingSend {
  parts: Uint8Array[];
  total: number;
  /** Bytes of `parts` already written. */
  sent: number;
  /** A message larger than a frame is announced first by a frame carrying its length. */
  announced?: boolean;
  resolve(): void;
  reject(e: unknown): void;
}

const noop = (): void => {};

/**
 * The send side of one channel: the credit the peer granted, and the sends waiting for it, written
 * as DATA frames in order (a message larger than a frame is announced, then sent in pieces).
 *
 * Contract: a send goes out at once when nothing waits before it and the credit covers it;
 * otherwise it is queued and its promise settles once its last frame was handed to the writer
 * (resolve) or `rejectAll()` was called (the channel or gateway closed). While `held`, nothing is
 * written (a module is being bundled and its request must go first).
 */
export class Outbox {
  readonly #host: OutboxHost;
  readonly #channelId: number;
  #credit: number;
  #pending: PendingSend[] = [];
  /** Sends wait while held. */
  held = false;
  /** channel.stats(): items and DATA payload bytes handed to the writer, stalls for credit. */
  items = 0;
  bytes = 0;
  stalls = 0;
  stallMs = 0;
  #stalledAt = -1;

  constructor(host: OutboxHost, channelId: number, credit: number) {
    this.#host = host;
    this.#channelId = channelId;
    this.#credit = credit;
  }

  /** True when sends wait for credit (or for the hold to end). */
  get waiting(): boolean {
    return this.#pending.length > 0;
  }

  /**
   * The commonest small items (an int32, a short string, a small plain tree) serialized straight
   * into the outgoing buffer: false when it is another value or cannot go at once (then dump it).
   */
  tryQuick(item: unknown): boolean {
    if (this.held || this.#pending.length !== 0) return false;
    const host = this.#host;
    const n = host._writeQuick(this.#channelId, item, Math.min(this.#credit, host._maxFrame, host._peerMaxMessage));
    if (n === 0) return false;
    this.#credit -= n;
    this.items++;
    this.bytes += n;
    return true;
  }

  /** Writes a serialized item at once when it fits a frame and the credit: false when it must queue. */
  tryParts(parts: Uint8Array[], total: number): boolean {
    if (this.held || this.#pending.length !== 0 || total > this.#credit || total > this.#host._maxFrame) return false;
    this.#credit -= total;
    this.items++;
    this.bytes += total;
    this.#host._writeFrame(FrameType.DATA, 0, this.#channelId, parts, total);
    return true;
  }

  /** Queues a serialized item behind the others; `first` puts it before them (a held module request). */
  queue(parts: Uint8Array[], total: number, resolve: () => void = noop, reject: (e: unknown) => void = noop, first = false): void {
    const send: PendingSend = { parts, total, sent: 0, resolve, reject };
    if (first) this.#pending.unshift(send);
    else this.#pending.push(send);
  }

  /** The peer freed `bytes` of our window. */
  addCredit(bytes: number): void {
    this.#credit += bytes;
  }

  /** Writes what the credit allows; true when nothing is left waiting. */
  pump(): boolean {
    if (this.held) return false;
    const host = this.#host;
    const max = host._maxFrame;
    while (this.#pending.length > 0) {
      const head = this.#pending[0]!;
      if (head.total > max && !head.announced) {
        // The receiver allocates the message once and copies each frame straight into it.
        if (this.#credit < 4) return this.#stall();
        this.#credit -= 4;
        this.bytes += 4;
        host._writeFrame(FrameType.DATA, FrameFlag.MORE, this.#channelId, [u32(head.total)], 4);
        head.announced = true;
      }
      while (head.sent < head.total || head.total === 0) {
        const chunk = Math.min(max, head.total - head.sent);
        if (this.#credit < chunk) return this.#stall(); // wait for CREDIT
        this.#credit -= chunk;
        this.bytes += chunk;
        const more = head.sent + chunk < head.total;
        host._writeFrame(FrameType.DATA, more ? FrameFlag.MORE : 0, this.#channelId, slice(head.parts, head.sent, chunk), chunk);
        head.sent += chunk;
        if (head.total === 0) break;
      }
      this.#pending.shift();
      this.items++;
      host._delivered().then(head.resolve, head.reject);
    }
    if (this.#stalledAt >= 0) {
      this.stallMs += Date.now() - this.#stalledAt;
      this.#stalledAt = -1;
    }
    return true;
  }

  /** A stall lasts from the first send that waits for credit until nothing waits any more. */
  #stall(): false {
    if (this.#stalledAt < 0) {
      this.stalls++;
      this.#stalledAt = Date.now();
    }
    return false;
  }

  /** Fails every waiting send with `error` (the peer stopped reading, or the gateway is down). */
  rejectAll(error: unknown): void {
    if (this.#stalledAt >= 0) this.stallMs += Date.now() - this.#stalledAt;
    this.#stalledAt = -1;
    for (const p of this.#pending.splice(0)) p.reject(error);
  }

  /** Bytes waiting to be sent for lack of credit. */
  get pendingBytes(): number {
    let n = 0;
    for (const p of this.#pending) n += p.total - p.sent;
    return n;
  }
}

/** The bytes `[start, start + length)` of `parts`, as views. */
function slice(parts: Uint8Array[], start: number, length: number): Uint8Array[] {
  if (start === 0 && parts.length === 1 && parts[0]!.length === length) return parts;
  const out: Uint8Array[] = [];
  let pos = 0;
  const end = start + length;
  for (const p of parts) {
    const pEnd = pos + p.length;
    if (pEnd > start && pos < end) out.push(p.subarray(Math.max(0, start - pos), Math.min(p.length, end - pos)));
    pos = pEnd;
    if (pos >= end) break;
  }
  return out;
}
