import { ChannelClosedError, DumpError, ProtocolError, type RemoteError, TimeoutError, TsnetError } from '../errors.js';
import type { BaseGateway } from '../gateway/base-gateway.js';
import { channelBrand, isInt32 } from '../wire/serializer.js';

export interface ReceiveOptions {
  /** Milliseconds; on expiry receive() rejects with TimeoutError and consumes nothing. */
  timeout?: number;
  signal?: AbortSignal;
}

export interface CallbackOptions<E> {
  /** Passed to the callback once when the channel closes (normally, with an error, or by gateway death). */
  endmarker?: E;
}

type Callback = (item: unknown) => unknown;

interface Waiter {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  cleanup(): void;
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

const noEndmarker = Symbol('no endmarker');

/**
 * One bidirectional, ordered message stream over a gateway. The same class serves the local and
 * the remote side. Items are decoded as they arrive and queued until receive() or the callback
 * takes them; the sender's window is refilled only as they are taken, so an unread channel stops
 * its sender without touching other channels (docs/protocol.md, flow control).
 */
export class Channel<T = unknown> implements AsyncIterable<T> {
  readonly [channelBrand] = true as const;
  readonly id: number;
  readonly gateway: BaseGateway;

  // receive side
  // Items waiting to be received, in three parallel arrays (no object per item: at hundreds of
  // thousands of small messages a second, that object was a good part of the garbage):
  // the value, its bytes not yet returned to the sender as credit, and its bytes on the wire.
  #queue: unknown[] = [];
  #queueSize: number[] = [];
  #queueLength: number[] = [];
  #queueHead = 0;
  #waiters: Waiter[] = [];
  /** Error that receive() gives once the queue is drained; set when no more items can arrive. */
  #terminal: Error | null = null;
  #callback: Callback | null = null;
  #endmarker: unknown = noEndmarker;
  #delivering = false;
  #callbackDone: Promise<void> | null = null;
  #callbackDoneResolve: (() => void) | null = null;
  #callbackError: unknown = null;
  /** Bytes taken by the reader but not yet granted back to the sender. */
  #creditOwed = 0;
  /** The message being assembled from several frames (allocated whole when announced). */
  #message: Uint8Array | null = null;
  #messageFill = 0;
  /** Bytes of the partial message not yet granted back (they arrived while items were queued). */
  #partialUncredited = 0;
  /** Bytes the peer sent that we have not granted back yet: never above our window. */
  #inWindow = 0;

  // send side
  #credit: number;
  #pendingSends: PendingSend[] = [];
  #sentClose = false;
  /** Sends wait while held (a module is still being bundled and its request must go first). */
  #held = false;
  #closeWhenDrained: { error: unknown; resolve(): void } | null = null;

  // close bookkeeping
  #recvClose = false;
  #closedBy: 'local' | 'remote' | 'gateway' | null = null;
  #closeWaiters: Array<() => void> = [];

  /** @internal use gateway.newChannel() */
  constructor(gateway: BaseGateway, id: number, credit: number) {
    this.gateway = gateway;
    this.id = id;
    this.#credit = credit;
  }

  /**
   * @internal A plumbing channel (the relay of a via= gateway) that must not keep the process alive
   * by itself: whoever uses it holds the gateway when it has reason to.
   */
  _unheld = false;

  #hold(delta: number): void {
    if (!this._unheld) this.gateway._hold(delta);
  }

  /** @internal stands in for one of our channels that was closed and forgotten before the peer's reference to it arrived. */
  static _closed(gateway: BaseGateway, id: number): Channel {
    const ch = new Channel(gateway, id, 0);
    ch.#recvClose = true;
    ch.#sentClose = true;
    ch.#closedBy = 'local';
    return ch;
  }

  /** True once either side closed the channel or the gateway went down. */
  isClosed(): boolean {
    return this.#closedBy !== null;
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends one item. Resolves when the item was handed to the wire and the receiver had room for
   * it; rejects with DumpError (channel stays usable) or ChannelClosedError/GatewayClosedError.
   */
  send(item: T): Promise<void> {
    if (this.#sentClose || this.#closedBy !== null) return Promise.reject(this.#sendClosedError());
    // The commonest small item, serialized straight into the outgoing buffer when it can go at once.
    if (isInt32(item) && !this.#held && this.#pendingSends.length === 0 && this.#credit >= 5) {
      this.#credit -= 5;
      this.gateway._writeInt32(this.id, item);
      return this.gateway._writable();
    }
    let parts: Uint8Array[];
    try {
      parts = this.gateway._dump(item);
    } catch (error) {
      return Promise.reject(error);
    }
    const limit = this.gateway._peerMaxMessage;
    let total = 0;
    for (const p of parts) total += p.length;
    if (total > limit) {
      return Promise.reject(
        new DumpError(
          `cannot send ${total} bytes as one item on channel ${this.id} of gateway ${this.gateway.id}: the limit is ${limit} bytes (maxMessage); send it in pieces or raise maxMessage on both sides`,
        ),
      );
    }
    return this._sendParts(parts, total);
  }

  /** @internal sends an already serialized item. */
  _sendParts(parts: Uint8Array[], total = byteLength(parts)): Promise<void> {
    const max = this.gateway._maxFrame;
    if (!this.#held && this.#pendingSends.length === 0 && total <= this.#credit && total <= max) {
      this.#credit -= total;
      this.gateway._writeFrame(3 /* DATA */, 0, this.id, parts, total);
      return this.gateway._writable();
    }
    this.#hold(1);
    const release = () => this.#hold(-1);
    return new Promise<void>((resolve, reject) => {
      this.#pendingSends.push({
        parts,
        total,
        sent: 0,
        resolve: () => {
          release();
          resolve();
        },
        reject: (e) => {
          release();
          reject(e);
        },
      });
      this.#pumpSends();
    });
  }

  #pumpSends(): void {
    if (this.#held) return;
    const max = this.gateway._maxFrame;
    while (this.#pendingSends.length > 0) {
      const head = this.#pendingSends[0]!;
      if (head.total > max && !head.announced) {
        // The receiver allocates the message once and copies each frame straight into it.
        if (this.#credit < 4) return;
        this.#credit -= 4;
        this.gateway._writeFrame(3 /* DATA */, 1 /* MORE */, this.id, [u32be(head.total)], 4);
        head.announced = true;
      }
      while (head.sent < head.total || head.total === 0) {
        const chunk = Math.min(max, head.total - head.sent);
        if (this.#credit < chunk) return; // wait for CREDIT
        this.#credit -= chunk;
        const more = head.sent + chunk < head.total;
        this.gateway._writeFrame(3 /* DATA */, more ? 1 : 0, this.id, slice(head.parts, head.sent, chunk), chunk);
        head.sent += chunk;
        if (head.total === 0) break;
      }
      this.#pendingSends.shift();
      this.gateway._writable().then(head.resolve, head.reject);
    }
    if (this.#closeWhenDrained) {
      const { error, resolve } = this.#closeWhenDrained;
      this.#closeWhenDrained = null;
      this.#writeClose(error);
      resolve();
    }
  }

  /**
   * @internal holds sends until `ready` settles. `ready` resolves with the item that must go
   * first (or undefined for none), or rejects with the error that ends the channel locally.
   */
  _holdUntil(ready: Promise<{ first: Uint8Array[] } | undefined>): void {
    this.#held = true;
    ready.then(
      (r) => {
        this.#held = false;
        if (r) {
          let total = 0;
          for (const p of r.first) total += p.length;
          this.#pendingSends.unshift({ parts: r.first, total, sent: 0, resolve: () => {}, reject: () => {} });
        }
        this.#pumpSends();
      },
      (error: unknown) => {
        this.#held = false;
        this._onGatewayClosed(error instanceof Error ? error : new Error(String(error)));
        this.gateway._forget(this.id);
      },
    );
  }

  /** @internal the peer freed `bytes` of our window. */
  _onCredit(bytes: number): void {
    this.#credit += bytes;
    if (this.#pendingSends.length > 0 || this.#closeWhenDrained) this.#pumpSends();
  }

  #sendClosedError(): Error {
    if (this.#closedBy === 'gateway' && this.#terminal) return this.#terminal;
    return new ChannelClosedError(this.id, this.gateway.id, this.#closedBy === 'remote' ? 'remote' : 'local');
  }

  // ---------------------------------------------------------------- receiving

  /**
   * @internal a DATA frame arrived: its payload is `buf[start, end)`. Unless `owned` (a buffer the
   * decoder allocated for it), `buf` is the read buffer, perhaps reused: nothing may keep a view of it.
   */
  _onData(flags: number, buf: Uint8Array, start: number, end: number, owned: boolean): void {
    if (this.#sentClose || this.#closedBy !== null) return; // closed here; the peer learns from our CLOSE
    const length = end - start;
    // A peer that ignores our window would make us buffer without bound: that is a protocol error.
    this.#inWindow += length;
    if (this.#inWindow > this.gateway._window) {
      throw new ProtocolError(
        `the peer overran the flow-control window of channel ${this.id}: ${this.#inWindow} bytes unacknowledged, window ${this.gateway._window}`,
      );
    }
    const message = this.#message;
    if (message === null) {
      if (flags & 1 /* MORE */) {
        this.#startMessage(buf, start, length);
        this.#creditPartial(length);
        return;
      }
      const tag = buf[start];
      // Binary values (tags 2, 3) are views of the payload: of a read buffer they get bytes of their own.
      const value = (tag === 2 || tag === 3) && !owned ? this.gateway._load(buf.slice(start, end), 0, length) : this.gateway._load(buf, start, end);
      this.#enqueue(value, length, length);
      return;
    }
    const fill = this.#messageFill + length;
    if (fill > message.length) throw this.#badLength(`more than the announced ${message.length} bytes`);
    // The decoder may have read the payload into place already (see _payloadTarget).
    if (buf.buffer !== message.buffer || buf.byteOffset + start !== message.byteOffset + this.#messageFill) {
      message.set(buf.subarray(start, end), this.#messageFill);
    }
    this.#messageFill = fill;
    if (flags & 1 /* MORE */) {
      this.#creditPartial(length);
      return;
    }
    if (fill !== message.length) throw this.#badLength(`${fill} bytes where ${message.length} were announced`);
    const size = length + this.#partialUncredited;
    this.#message = null;
    this.#messageFill = 0;
    this.#partialUncredited = 0;
    this.#enqueue(this.gateway._load(message, 0, message.length), size, message.length);
  }

  #enqueue(value: unknown, size: number, length: number): void {
    this.#queue.push(value);
    this.#queueSize.push(size);
    this.#queueLength.push(length);
    if (this.#callback) this.#deliver();
    else if (this.#waiters.length > 0) this.#serveWaiter();
  }

  /** The frame announcing a message larger than a frame: 4 bytes, its total length. */
  #startMessage(b: Uint8Array, at: number, length: number): void {
    if (length !== 4) throw this.#badLength(`a first frame of ${length} bytes; it must hold just the 4-byte message length`);
    const total = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    if (total === 0) throw this.#badLength('an announced length of 0');
    if (total > this.gateway._maxMessage) {
      throw new ProtocolError(
        `the peer announced a message of ${total} bytes on channel ${this.id}, above the limit of ${this.gateway._maxMessage} bytes (maxMessage)`,
      );
    }
    // Pages are touched only as bytes arrive, so a large announcement alone commits no memory.
    // Not zero-filled: every byte is written before the message is used (or it is dropped).
    try {
      this.#message = uninitialized(total);
    } catch (error) {
      throw new ProtocolError(`cannot allocate the ${total} bytes the peer announced on channel ${this.id}: ${(error as Error).message}`);
    }
    this.#messageFill = 0;
  }

  /**
   * A message larger than the window must still get through: its frames are granted at once unless
   * complete items are waiting to be read, so memory stays at one message plus the window.
   */
  #creditPartial(bytes: number): void {
    if (this.#queue.length === this.#queueHead) this.#grant(bytes);
    else this.#partialUncredited += bytes;
  }

  #badLength(what: string): ProtocolError {
    return new ProtocolError(`bad message on channel ${this.id}: ${what}`);
  }

  /** @internal where the decoder may put the payload of a DATA frame that continues a message. */
  _payloadTarget(length: number): Uint8Array | undefined {
    const message = this.#message;
    if (message === null || this.#messageFill + length > message.length) return undefined;
    return message.subarray(this.#messageFill, this.#messageFill + length);
  }

  #serveWaiter(): void {
    while (this.#waiters.length > 0 && this.#queue.length > this.#queueHead) {
      const w = this.#waiters.shift()!;
      w.cleanup();
      w.resolve(this.#take());
    }
  }

  #take(): unknown {
    const head = this.#queueHead;
    const value = this.#queue[head];
    let release = this.#queueSize[head]!;
    this.#queue[head] = undefined;
    this.#queueHead = head + 1;
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueSize = this.#queueSize.slice(this.#queueHead);
      this.#queueLength = this.#queueLength.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    if (this.#queue.length === this.#queueHead && this.#partialUncredited > 0) {
      // The reader caught up: the chunks of a large message that arrived behind queued items are
      // granted now, or a sender blocked in the middle of that message would wait forever.
      release += this.#partialUncredited;
      this.#partialUncredited = 0;
    }
    this.#grant(release);
    return value;
  }

  #grant(bytes: number): void {
    if (this.#recvClose || this.#closedBy !== null) return;
    this.#creditOwed += bytes;
    // Grants go out a quarter window at a time. The maximum frame is at most 3/4 of the window, so
    // a sender blocked for credit always finds the reader owing at least that much once it caught up.
    if (this.#creditOwed >= this.gateway._creditThreshold) {
      this.gateway._writeCredit(this.id, this.#creditOwed);
      this.#inWindow -= this.#creditOwed;
      this.#creditOwed = 0;
    }
  }

  /**
   * Waits for the next item. Queued items come first; after the peer closed, ChannelClosedError
   * (or the sticky RemoteError); after gateway death, GatewayClosedError.
   */
  receive(options?: ReceiveOptions): Promise<T> {
    if (this.#callback) {
      return Promise.reject(
        new TsnetError(`receive() on channel ${this.id} of gateway ${this.gateway.id}: the channel has a callback; items go to it`, {
          code: 'TSNET_ERR_CALLBACK_SET',
        }),
      );
    }
    if (this.#queue.length > this.#queueHead) return Promise.resolve(this.#take() as T);
    if (this.#terminal) return Promise.reject(this.#terminal);
    if (this.#closedBy === 'local') return Promise.reject(this.#sendClosedError());
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (options?.timeout === undefined && !signal) {
      // The common case, without timers or listeners to set up and tear down.
      return new Promise<T>((resolve, reject) => {
        this.#hold(1);
        this.#waiters.push({ resolve: resolve as (v: unknown) => void, reject, cleanup: this.#release });
      });
    }
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        remove();
        reject(signal!.reason);
      };
      const remove = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        waiter.cleanup();
      };
      let held = true;
      this.#hold(1);
      const waiter: Waiter = {
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (held) {
            held = false;
            this.#hold(-1);
          }
        },
      };
      const timeout = options?.timeout;
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          remove();
          reject(new TimeoutError(`no item on channel ${this.id} of gateway ${this.gateway.id} after ${timeout} ms`, timeout));
        }, timeout);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  readonly #release = (): void => this.#hold(-1);

  /** Yields items until the channel closes; a RemoteError or GatewayClosedError is thrown. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    // A plain iterator, not an async generator: one promise per item instead of several.
    const done: IteratorResult<T> = { value: undefined as never, done: true };
    return {
      next: (): Promise<IteratorResult<T>> => {
        if (this.#queue.length > this.#queueHead && !this.#callback) return Promise.resolve({ value: this.#take() as T, done: false });
        return this.receive().then(
          (value) => ({ value, done: false }),
          (error: unknown) => {
            if (error instanceof ChannelClosedError) return done;
            throw error;
          },
        );
      },
      return: (): Promise<IteratorResult<T>> => Promise.resolve(done),
    };
  }

  /**
   * Delivers every item to `fn`: first the queued ones, then each new one, in order. A returned
   * promise is awaited before the next item. With `endmarker`, `fn(endmarker)` is called once when
   * the channel closes for any reason. If `fn` throws, the channel is closed with that error.
   */
  setCallback<E = never>(fn: (item: T | E) => unknown, options?: CallbackOptions<E>): void {
    if (this.#callback) throw new TsnetError(`channel ${this.id} already has a callback`, { code: 'TSNET_ERR_CALLBACK_SET' });
    if (typeof fn !== 'function') throw new TypeError('setCallback() takes a function');
    this.#callback = fn as Callback;
    if (options && 'endmarker' in options) this.#endmarker = options.endmarker;
    this.#hold(1);
    this.#callbackDone = new Promise<void>((r) => {
      this.#callbackDoneResolve = () => {
        this.#hold(-1);
        r();
      };
    });
    for (const w of this.#waiters.splice(0)) {
      w.cleanup();
      w.reject(new TsnetError(`a callback was set on channel ${this.id} while receive() waited`, { code: 'TSNET_ERR_CALLBACK_SET' }));
    }
    this.#deliver();
  }

  #deliver(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    const step = (): void => {
      while (this.#callback) {
        if (this.#queue.length > this.#queueHead) {
          const value = this.#take();
          let r: unknown;
          try {
            r = this.#callback(value);
          } catch (error) {
            this.#callbackFailed(error);
            return;
          }
          if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
            (r as PromiseLike<unknown>).then(step, (error: unknown) => this.#callbackFailed(error));
            return;
          }
          continue;
        }
        if (this.#terminal || this.#closedBy !== null) {
          this.#finishCallback();
          return;
        }
        break;
      }
      this.#delivering = false;
    };
    step();
  }

  #callbackFailed(error: unknown): void {
    this.#callbackError = error;
    this.#callback = null;
    this.#delivering = false;
    this.close(error instanceof Error ? error : new Error(String(error))).catch(() => {});
    this.#resolveCallbackDone();
  }

  #finishCallback(): void {
    const cb = this.#callback;
    this.#callback = null;
    this.#delivering = false;
    if (cb && this.#endmarker !== noEndmarker) {
      let r: unknown;
      try {
        r = cb(this.#endmarker);
      } catch (error) {
        this.#callbackError = error;
      }
      if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
        (r as PromiseLike<unknown>).then(
          () => this.#resolveCallbackDone(),
          (error: unknown) => {
            this.#callbackError = error;
            this.#resolveCallbackDone();
          },
        );
        return;
      }
    }
    this.#resolveCallbackDone();
  }

  #resolveCallbackDone(): void {
    const r = this.#callbackDoneResolve;
    this.#callbackDoneResolve = null;
    r?.();
  }

  /**
   * Resolves when the channel is closed (by the peer, locally, or by gateway death) and, with a
   * callback, after its last call. Rejects with the peer's RemoteError, the callback's own error,
   * GatewayClosedError, or TimeoutError after `timeout` ms.
   */
  async waitClose(options?: { timeout?: number }): Promise<void> {
    const timeout = options?.timeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = new Promise<void>((resolve) => {
      if (this.#closedBy !== null) resolve();
      else this.#closeWaiters.push(resolve);
    });
    const all = closed.then(() => this.#callbackDone ?? undefined);
    this.#hold(1);
    try {
      if (timeout === undefined) await all;
      else {
        await Promise.race([
          all,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new TimeoutError(`channel ${this.id} of gateway ${this.gateway.id} not closed after ${timeout} ms`, timeout)),
              timeout,
            );
          }),
        ]);
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      this.#hold(-1);
    }
    if (this.#callbackError !== null) throw this.#callbackError;
    if (this.#terminal && !(this.#terminal instanceof ChannelClosedError)) throw this.#terminal;
  }

  /**
   * Closes the channel for both sides, after the items already sent. With `error`, the peer's
   * receive()/waitClose() reject with a RemoteError carrying it. Closing twice is a no-op.
   */
  close(error?: Error): Promise<void> {
    if (this.#sentClose || this.#closeWhenDrained || this.#closedBy === 'gateway') return Promise.resolve();
    const firstClose = this.#closedBy === null;
    if (firstClose) this.#setClosed('local', null);
    if (this.#pendingSends.length > 0) {
      return new Promise<void>((resolve) => {
        this.#closeWhenDrained = { error, resolve };
      });
    }
    this.#writeClose(error);
    return Promise.resolve();
  }

  #writeClose(error: unknown): void {
    if (this.#sentClose || this.#closedBy === 'gateway') return;
    this.#sentClose = true;
    this.gateway._writeClose(this.id, error);
    if (this.#recvClose) this.gateway._forget(this.id);
  }

  /** @internal the peer closed the channel (error: the RemoteError it sent). */
  _onClose(error: RemoteError | null): void {
    if (this.#recvClose) return;
    this.#recvClose = true;
    this.#message = null;
    if (this.#closedBy === null) {
      this.#terminal = error ?? new ChannelClosedError(this.id, this.gateway.id, 'remote');
      this.#setClosed('remote', this.#terminal);
    } else if (error && this.#terminal === null) {
      this.#terminal = error;
    }
    // The peer stopped reading: sends still waiting for its credit can never complete.
    for (const p of this.#pendingSends.splice(0)) p.reject(new ChannelClosedError(this.id, this.gateway.id, 'remote'));
    if (this.#closeWhenDrained) {
      this.#closeWhenDrained.resolve();
      this.#closeWhenDrained = null;
    }
    if (!this.#sentClose) this.#writeClose(undefined);
    else this.gateway._forget(this.id);
  }

  /** @internal the gateway is down. */
  _onGatewayClosed(error: Error): void {
    if (this.#closedBy === 'gateway') return;
    const wasOpen = this.#closedBy === null;
    this.#recvClose = true;
    this.#sentClose = true;
    this.#message = null;
    for (const p of this.#pendingSends.splice(0)) p.reject(error);
    if (this.#closeWhenDrained) {
      this.#closeWhenDrained.resolve();
      this.#closeWhenDrained = null;
    }
    if (wasOpen) {
      // Items already queued stay readable; after them the gateway's error.
      this.#terminal = error;
      this.#closedBy = 'gateway';
      this.#wake(error);
    }
  }

  #setClosed(by: 'local' | 'remote', terminal: Error | null): void {
    this.#closedBy = by;
    this.#wake(terminal ?? this.#sendClosedError());
  }

  #wake(error: Error): void {
    if (this.#queue.length === this.#queueHead) {
      for (const w of this.#waiters.splice(0)) {
        w.cleanup();
        w.reject(error);
      }
    }
    for (const r of this.#closeWaiters.splice(0)) r();
    if (this.#callback) this.#deliver();
  }

  /** @internal for status reports. */
  get _queuedBytes(): number {
    let n = 0;
    for (let i = this.#queueHead; i < this.#queue.length; i++) n += this.#queueLength[i]!;
    return n;
  }

  /** @internal bytes waiting to be sent for lack of credit. */
  get _pendingBytes(): number {
    let n = 0;
    for (const p of this.#pendingSends) n += p.total - p.sent;
    return n;
  }

  /**
   * A Node stream over this channel: 'w' gives a Writable whose chunks are sent one item each
   * (backpressure follows the channel's window); 'r' gives a Readable of Buffers that ends when
   * the channel closes. Implemented by the gateway's platform layer.
   */
  makeFile(mode: 'r'): import('node:stream').Readable;
  makeFile(mode: 'w', options?: { proxyClose?: boolean }): import('node:stream').Writable;
  makeFile(mode: 'r' | 'w', options?: { proxyClose?: boolean }): import('node:stream').Readable | import('node:stream').Writable {
    return this.gateway._makeFile(this as Channel<unknown>, mode, options);
  }

  toString(): string {
    return `<Channel id=${this.id} ${this.#closedBy ? 'closed' : 'open'}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

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

function byteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

function u32be(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

const NodeBufferAlloc = (globalThis as { Buffer?: { allocUnsafeSlow(n: number): Uint8Array } }).Buffer;

/** A plain Uint8Array over memory that is not zeroed first (a memset of the whole message otherwise). */
function uninitialized(size: number): Uint8Array {
  if (!NodeBufferAlloc) return new Uint8Array(size);
  const b = NodeBufferAlloc.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}
