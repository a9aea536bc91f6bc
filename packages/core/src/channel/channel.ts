import { abortError, ChannelClosedError, DumpError, ProtocolError, TimeoutError, TsnetError } from '../errors.js';
import type { BaseGateway } from '../gateway/base-gateway.js';
import { channelBrand } from '../wire/serializer.js';
import { CallbackDelivery, noEndmarker } from './callback-delivery.js';
import { ChannelState, type Waiter } from './close-state.js';
import { Inbox } from './inbox.js';
import { Outbox } from './outbox.js';

export interface ReceiveOptions {
  /** Milliseconds; on expiry receive() rejects with TimeoutError and consumes nothing. */
  timeout?: number;
  signal?: AbortSignal;
}

export interface CallbackOptions<E> {
  /** Passed to the callback once when the channel closes (normally, with an error, or by gateway death). */
  endmarker?: E;
}

/** channel.stats(): this side's counts. Bytes are DATA payload bytes (frame headers not counted). */
export interface ChannelStats {
  itemsIn: number;
  itemsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Times a send had to wait for the peer's credit (window full), and the milliseconds spent so. */
  windowStalls: number;
  stallMs: number;
}

/**
 * One bidirectional, ordered message stream over a gateway. Typed per direction: a
 * `Channel<In, Out>` receives `In` and sends `Out`; `Channel<T>` is `Channel<T, T>`. The peer's end
 * of it is a `Channel<Out, In>`. The same class serves the local and
 * the remote side. Items are decoded as they arrive and queued until receive() or the callback
 * takes them; the sender's window is refilled only as they are taken, so an unread channel stops
 * its sender without touching other channels (docs/protocol.md, flow control).
 *
 * The receive side is an Inbox, the send side an Outbox, callback delivery a CallbackDelivery, the
 * close and half-close state machine (and `signal`, waitClose(), end(), close()) ChannelState in
 * close-state.ts; this class holds the per-item API: send, receive, iteration, callbacks. Items
 * already queued stay readable after the channel closed; then receive() rejects with the reason.
 */
export class Channel<In = unknown, Out = In> extends ChannelState implements AsyncIterable<In> {
  readonly [channelBrand] = true as const;

  readonly #inbox: Inbox;
  readonly #outbox: Outbox;
  readonly #waiters: Waiter[];
  #delivery: CallbackDelivery | null = null;

  /** Not for users: open channels with gateway.newChannel() (or get them from remoteExec()). */
  constructor(gateway: BaseGateway, id: number, credit: number) {
    const inbox = new Inbox(gateway, id);
    const outbox = new Outbox(gateway, id, credit);
    const waiters: Waiter[] = [];
    super(gateway, id, inbox, outbox, waiters);
    this.#inbox = inbox;
    this.#outbox = outbox;
    this.#waiters = waiters;
  }

  /** @internal stands in for one of our channels that was closed and forgotten before the peer's reference to it arrived. */
  static _closed(gateway: BaseGateway, id: number): Channel {
    const ch = new Channel(gateway, id, 0);
    ch._markForgotten();
    return ch;
  }

  /** @internal */
  protected override _callback(): CallbackDelivery | null {
    return this.#delivery;
  }

  /** This side's counts of items, payload bytes and window stalls (counted from the channel's start). */
  stats(): ChannelStats {
    const i = this.#inbox;
    const o = this.#outbox;
    return { itemsIn: i.items, itemsOut: o.items, bytesIn: i.bytes, bytesOut: o.bytes, windowStalls: o.stalls, stallMs: o.stallMs };
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends one item. Resolves once the receiver's window had room for it and its bytes are in the
   * kernel (written to the pipe, socket or SSH channel) or in memory tsnet owns: code that blocks
   * right after `await send(x)` has still delivered x, and a Uint8Array may be reused once the
   * promise resolved. Sends not awaited are coalesced into one write per tick. Rejects with
   * DumpError (channel stays usable) or ChannelClosedError/GatewayClosedError.
   */
  send(item: Out): Promise<void> {
    try {
      return this.#send(item);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** True while items may be sent (and then the channel counts as used). */
  #sendable(): boolean {
    if (this._sentClose || this._closedBy !== null || this._endCalled) return false;
    this._used = true;
    return true;
  }

  /** send() that throws what it cannot send at once. */
  #send(item: Out): Promise<void> {
    if (!this.#sendable()) throw this._sendClosedError();
    if (this.#outbox.tryQuick(item)) return this.gateway._delivered();
    const parts = this.gateway._dump(item);
    const limit = this.gateway._peerMaxMessage;
    const total = byteLength(parts);
    if (total > limit) {
      throw new DumpError(
        `cannot send ${total} bytes as one item on channel ${this.id} of gateway ${this.gateway.id}: the limit is ${limit} bytes (maxMessage); send it in pieces or raise maxMessage on both sides`,
      );
    }
    return this._sendParts(parts, total);
  }

  /**
   * Sends every item of `items` (an array or any iterable, a generator included) in order, as many
   * per write as the window allows, and resolves like the send() of the last one. It pulls the next
   * item only when the window has room, so a generator is read at the pace of the receiver. Stops
   * at the first item that fails (DumpError, or the channel closed) and rejects with its error;
   * the items before it were sent. Ints, short strings and small plain trees are serialized
   * straight into the writer's buffer (Outbox.tryQuick), with no buffer or promise per item.
   */
  async sendMany(items: Iterable<Out>): Promise<void> {
    const outbox = this.#outbox;
    // null: the last item went straight into the writer (tryQuick), which then says when it is delivered
    let last: Promise<void> | null = null;
    for (const item of items) {
      if (this.#sendable() && outbox.tryQuick(item)) last = null;
      else {
        last = this.#send(item);
        // Out of credit: wait until this one went out, so that a generator is not run ahead.
        // Otherwise `last` is the writer's batch promise, which has a handler already (a
        // rejection means the gateway closed: the next #send throws that too).
        if (outbox.waiting) await last;
      }
    }
    return last ?? this.gateway._delivered();
  }

  /** @internal sends an already serialized item. */
  _sendParts(parts: Uint8Array[], total = byteLength(parts)): Promise<void> {
    this._used = true;
    if (this.#outbox.tryParts(parts, total)) return this.gateway._delivered();
    this._hold(1);
    return new Promise<void>((resolve, reject) => {
      this.#outbox.queue(
        parts,
        total,
        () => {
          this._hold(-1);
          resolve();
        },
        (e) => {
          this._hold(-1);
          reject(e);
        },
      );
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#outbox.pump()) this._drained();
  }

  /**
   * @internal holds sends until `ready` settles. `ready` resolves with the item that must go
   * first (or undefined for none), or rejects with the error that ends the channel locally.
   */
  _holdUntil(ready: Promise<{ first: Uint8Array[] } | undefined>): void {
    this.#outbox.held = true;
    ready.then(
      (r) => {
        this.#outbox.held = false;
        if (r) this.#outbox.queue(r.first, byteLength(r.first), undefined, undefined, true);
        this.#pump();
      },
      (error: unknown) => {
        this.#outbox.held = false;
        this._onGatewayClosed(error instanceof Error ? error : new Error(String(error)));
        this.gateway._forget(this.id);
      },
    );
  }

  /** @internal the peer freed `bytes` of our window. */
  _onCredit(bytes: number): void {
    this._used = true;
    this.#outbox.addCredit(bytes);
    if (this.#outbox.waiting || this._drainWaiting) this.#pump();
  }

  // ---------------------------------------------------------------- receiving

  /**
   * @internal a DATA frame arrived: its payload is `buf[start, end)`. Unless `owned` (a buffer the
   * decoder allocated for it), `buf` is the read buffer, perhaps reused: nothing may keep a view of it.
   */
  _onData(flags: number, buf: Uint8Array, start: number, end: number, owned: boolean): void {
    if (this._recvEnd) throw new ProtocolError(`DATA after END on channel ${this.id}`);
    this._used = true;
    if (this._sentClose || this._closedBy !== null) {
      // Closed here; the peer learns from our CLOSE. What it sent meanwhile is counted: waitClose() says so.
      this._dropData(flags);
      return;
    }
    if (!this.#inbox.onData(flags, buf, start, end, owned)) return;
    if (this.#delivery?.active) this.#delivery.deliver();
    else if (this.#waiters.length > 0) this.#serveWaiter();
  }

  /** @internal where the decoder may put the payload of a DATA frame that continues a message. */
  _payloadTarget(length: number): Uint8Array | undefined {
    return this.#inbox.payloadTarget(length);
  }

  #serveWaiter(): void {
    while (this.#waiters.length > 0 && this.#inbox.size > 0) {
      const w = this.#waiters.shift()!;
      w.cleanup();
      w.resolve(this.#inbox.take());
    }
  }

  /**
   * Waits for the next item. Queued items come first; after the peer closed, ChannelClosedError
   * (or the sticky RemoteError); after gateway death, GatewayClosedError.
   */
  receive(options?: ReceiveOptions): Promise<In> {
    if (this.#delivery?.active) {
      return Promise.reject(
        new TsnetError(`receive() on channel ${this.id} of gateway ${this.gateway.id}: the channel has a callback; items go to it`, {
          code: 'TSNET_ERR_CALLBACK_SET',
        }),
      );
    }
    if (this.#inbox.size > 0) return Promise.resolve(this.#inbox.take() as In);
    if (this._terminal) return Promise.reject(this._terminal);
    if (this._closedBy === 'local') return Promise.reject(this._sendClosedError());
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal, this.#what()));
    if (options?.timeout === undefined && !signal) {
      // The common case, without timers or listeners to set up and tear down.
      return new Promise<In>((resolve, reject) => {
        this._hold(1);
        this.#waiters.push({ resolve: resolve as (v: unknown) => void, reject, cleanup: this.#release });
      });
    }
    return new Promise<In>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        remove();
        reject(abortError(signal!, this.#what()));
      };
      const remove = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        waiter.cleanup();
      };
      let held = true;
      this._hold(1);
      const waiter: Waiter = {
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (held) {
            held = false;
            this._hold(-1);
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

  readonly #release = (): void => this._hold(-1);

  #what(): string {
    return `receive() on channel ${this.id} of gateway ${this.gateway.id}`;
  }

  /** Yields items until the channel closes; a RemoteError or GatewayClosedError is thrown. Leaving the loop early closes the channel. */
  [Symbol.asyncIterator](): AsyncIterator<In> {
    // A plain iterator, not an async generator: one promise per item instead of several.
    const done: IteratorResult<In> = { value: undefined as never, done: true };
    return {
      next: (): Promise<IteratorResult<In>> => {
        if (this.#inbox.size > 0 && !this.#delivery?.active) return Promise.resolve({ value: this.#inbox.take() as In, done: false });
        return this.receive().then(
          (value) => ({ value, done: false }),
          (error: unknown) => {
            if (error instanceof ChannelClosedError) return done;
            throw error;
          },
        );
      },
      // Leaving the loop early (break, return, throw): nobody reads any more, so the channel is
      // closed; the peer's pending send() rejects with ChannelClosedError instead of waiting for
      // credit until the gateway ends.
      return: (): Promise<IteratorResult<In>> => {
        this.close().catch(() => {});
        return Promise.resolve(done);
      },
    };
  }

  /**
   * Delivers every item to `fn`: first the queued ones, then each new one, in order. A returned
   * promise is awaited before the next item. With `endmarker`, `fn(endmarker)` is called once when
   * the channel closes for any reason. If `fn` throws, the channel is closed with that error.
   */
  setCallback<E = never>(fn: (item: In | E) => unknown, options?: CallbackOptions<E>): void {
    if (this.#delivery?.active) throw new TsnetError(`channel ${this.id} already has a callback`, { code: 'TSNET_ERR_CALLBACK_SET' });
    if (typeof fn !== 'function') throw new TypeError('setCallback() takes a function');
    const previous = this.#delivery;
    this.#delivery = new CallbackDelivery(fn as (item: unknown) => unknown, options && 'endmarker' in options ? options.endmarker : noEndmarker, {
      available: () => this.#inbox.size,
      take: () => this.#inbox.take(),
      ended: () => this._terminal !== null || this._closedBy !== null,
      fail: (error) => {
        this.close(error instanceof Error ? error : new Error(String(error))).catch(() => {});
      },
      hold: (delta) => this._hold(delta),
    });
    if (previous && previous.error !== null) this.#delivery.error = previous.error;
    for (const w of this.#waiters.splice(0)) {
      w.cleanup();
      w.reject(new TsnetError(`a callback was set on channel ${this.id} while receive() waited`, { code: 'TSNET_ERR_CALLBACK_SET' }));
    }
    this.#delivery.deliver();
  }

  /** @internal for status reports. */
  get _queuedBytes(): number {
    return this.#inbox.queuedBytes;
  }

  /** @internal bytes waiting to be sent for lack of credit. */
  get _pendingBytes(): number {
    return this.#outbox.pendingBytes;
  }

  /**
   * A Node stream over this channel: 'w' gives a Writable whose chunks are sent one item each
   * (backpressure follows the channel's window); ending it calls end() (half-close), or close()
   * with `proxyClose: true`. 'r' gives a Readable of Buffers that ends when the peer ends or
   * closes its side. Implemented by the gateway's platform layer.
   */
  makeFile(mode: 'r'): import('node:stream').Readable;
  makeFile(mode: 'w', options?: { proxyClose?: boolean }): import('node:stream').Writable;
  makeFile(mode: 'r' | 'w', options?: { proxyClose?: boolean }): import('node:stream').Readable | import('node:stream').Writable {
    return this.gateway._makeFile(this as unknown as Channel<unknown>, mode, options);
  }

  override toString(): string {
    return `<Channel id=${this.id} ${this._closedBy ? 'closed' : 'open'}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function byteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
