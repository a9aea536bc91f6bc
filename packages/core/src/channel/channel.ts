import { AbortError, abortError, ChannelClosedError, DumpError, ProtocolError, type RemoteError, TimeoutError, TsnetError } from '../errors.js';
import type { BaseGateway } from '../gateway/base-gateway.js';
import { deadline } from '../util/deadline.js';
import { FrameFlag } from '../wire/frame.js';
import { channelBrand, isInt32 } from '../wire/serializer.js';
import { CallbackDelivery, noEndmarker } from './callback-delivery.js';
import { closedByPeer, droppedAfterClose, endedByPeer, endedHere } from './closed-errors.js';
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

interface Waiter {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  cleanup(): void;
}

/**
 * One bidirectional, ordered message stream over a gateway. Typed per direction: a
 * `Channel<In, Out>` receives `In` and sends `Out`; `Channel<T>` is `Channel<T, T>`. The peer's end
 * of it is a `Channel<Out, In>`. The same class serves the local and
 * the remote side. Items are decoded as they arrive and queued until receive() or the callback
 * takes them; the sender's window is refilled only as they are taken, so an unread channel stops
 * its sender without touching other channels (docs/protocol.md, flow control).
 *
 * The receive side is an Inbox, the send side an Outbox, callback delivery a CallbackDelivery;
 * this class holds the public API and the close state machine: a channel is closed once by the
 * first of close() (local), the peer's CLOSE (remote) or the gateway going down (gateway). Items
 * already queued stay readable after any of them; then receive() rejects with the reason.
 */
export class Channel<In = unknown, Out = In> implements AsyncIterable<In> {
  readonly [channelBrand] = true as const;
  readonly id: number;
  readonly gateway: BaseGateway;

  readonly #inbox: Inbox;
  readonly #outbox: Outbox;
  #waiters: Waiter[] = [];
  /** Error that receive() gives once the queue is drained; set when no more items can arrive. */
  #terminal: Error | null = null;
  #delivery: CallbackDelivery | null = null;

  #sentClose = false;
  #closeWhenDrained: { error: unknown; resolve(): void } | null = null;
  #recvClose = false;
  // half-close: end() was called (sends refused from then on), END written, the peer's END received
  #endCalled = false;
  #sentEnd = false;
  #endWhenDrained: (() => void) | null = null;
  #recvEnd = false;
  /** Items the peer sent that arrived after our close() and were dropped. */
  #dropped = 0;
  /** Something travelled on the channel, either way: the peer knows it and answers our CLOSE. */
  #used = false;
  #closedBy: 'local' | 'remote' | 'gateway' | null = null;
  #closeWaiters: Array<() => void> = [];
  #abort: AbortController | null = null;
  /** Why `signal` aborts (or has): the peer aborted or closed, or the gateway went down. */
  #abortReason: Error | null = null;

  /** Not for users: open channels with gateway.newChannel() (or get them from remoteExec()). */
  constructor(gateway: BaseGateway, id: number, credit: number) {
    this.gateway = gateway;
    this.id = id;
    this.#inbox = new Inbox(gateway, id);
    this.#outbox = new Outbox(gateway, id, credit);
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
    ch.#inbox.granting = false;
    return ch;
  }

  /**
   * Aborts when the peer aborts the channel (remoteExec's `signal`: the reason's message is the
   * local reason's), closes it, or the gateway goes down. Remote code watches it to stop early.
   */
  get signal(): AbortSignal {
    if (!this.#abort) {
      this.#abort = new AbortController();
      if (this.#abortReason) this.#abort.abort(this.#abortReason);
    }
    return this.#abort.signal;
  }

  #abortSignal(reason: Error): void {
    if (this.#abortReason) return;
    this.#abortReason = reason;
    this.#abort?.abort(reason);
  }

  /**
   * @internal the local AbortSignal of remoteExec fired: receive()/waitClose() reject with `error`
   * from now on, and the peer gets a CLOSE_ERROR flagged ABORT (its `signal` aborts).
   */
  _abort(error: AbortError, wireError: Error): void {
    if (this.#closedBy !== null) return;
    this.#terminal = error;
    this.#abortSignal(error);
    this.#setClosed('local', error);
    this.#outbox.rejectAll(error);
    this.#sentClose = true;
    this.gateway._writeClose(this.id, wireError, true);
    if (this.#recvClose) this.gateway._forget(this.id);
  }

  /** This side's counts of items, payload bytes and window stalls (counted from the channel's start). */
  stats(): ChannelStats {
    const i = this.#inbox;
    const o = this.#outbox;
    return { itemsIn: i.items, itemsOut: o.items, bytesIn: i.bytes, bytesOut: o.bytes, windowStalls: o.stalls, stallMs: o.stallMs };
  }

  /** @internal how the channel ended, for traces and exec:end: null while open. */
  get _outcome(): { by: string; error: Error | null } | null {
    if (this.#closedBy === null) return null;
    const t = this.#terminal;
    return { by: this.#closedBy, error: t instanceof ChannelClosedError ? null : t };
  }

  /** True once either side closed the channel or the gateway went down. */
  isClosed(): boolean {
    return this.#closedBy !== null;
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

  /** send() that throws what it cannot send at once. */
  #send(item: Out): Promise<void> {
    if (this.#sentClose || this.#closedBy !== null || this.#endCalled) throw this.#sendClosedError();
    this.#used = true;
    if (isInt32(item) && this.#outbox.tryInt32(item)) return this.gateway._delivered();
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
   * the items before it were sent.
   */
  async sendMany(items: Iterable<Out>): Promise<void> {
    let last: Promise<void> = Promise.resolve();
    for (const item of items) {
      last = this.#send(item);
      // Out of credit: wait until this one went out, so that a generator is not run ahead.
      // Otherwise `last` is the writer's batch promise, which has a handler already (a rejection
      // means the gateway closed: the next #send throws that too).
      if (this.#outbox.waiting) await last;
    }
    return last;
  }

  /** @internal sends an already serialized item. */
  _sendParts(parts: Uint8Array[], total = byteLength(parts)): Promise<void> {
    this.#used = true;
    if (this.#outbox.tryParts(parts, total)) return this.gateway._delivered();
    this.#hold(1);
    return new Promise<void>((resolve, reject) => {
      this.#outbox.queue(
        parts,
        total,
        () => {
          this.#hold(-1);
          resolve();
        },
        (e) => {
          this.#hold(-1);
          reject(e);
        },
      );
      this.#pump();
    });
  }

  #pump(): void {
    if (!this.#outbox.pump()) return;
    if (this.#endWhenDrained) {
      const resolve = this.#endWhenDrained;
      this.#endWhenDrained = null;
      this.#writeEnd();
      resolve();
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
    this.#used = true;
    this.#outbox.addCredit(bytes);
    if (this.#outbox.waiting || this.#closeWhenDrained || this.#endWhenDrained) this.#pump();
  }

  #sendClosedError(): Error {
    if (this.#closedBy === 'gateway' && this.#terminal) return this.#terminal;
    if (this.#endCalled) return endedHere(this.id, this.gateway.id);
    if (this.#closedBy === 'remote') return closedByPeer(this.id, this.gateway.id);
    return new ChannelClosedError(this.id, this.gateway.id, 'local');
  }

  // ---------------------------------------------------------------- receiving

  /**
   * @internal a DATA frame arrived: its payload is `buf[start, end)`. Unless `owned` (a buffer the
   * decoder allocated for it), `buf` is the read buffer, perhaps reused: nothing may keep a view of it.
   */
  _onData(flags: number, buf: Uint8Array, start: number, end: number, owned: boolean): void {
    if (this.#recvEnd) throw new ProtocolError(`DATA after END on channel ${this.id}`);
    this.#used = true;
    if (this.#sentClose || this.#closedBy !== null) {
      // Closed here; the peer learns from our CLOSE. What it sent meanwhile is counted: waitClose() says so.
      if (this.#closedBy === 'local' && !(flags & FrameFlag.MORE)) this.#dropped++;
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
    if (this.#terminal) return Promise.reject(this.#terminal);
    if (this.#closedBy === 'local') return Promise.reject(this.#sendClosedError());
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal, this.#what()));
    if (options?.timeout === undefined && !signal) {
      // The common case, without timers or listeners to set up and tear down.
      return new Promise<In>((resolve, reject) => {
        this.#hold(1);
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
      ended: () => this.#terminal !== null || this.#closedBy !== null,
      fail: (error) => {
        this.close(error instanceof Error ? error : new Error(String(error))).catch(() => {});
      },
      hold: (delta) => this.#hold(delta),
    });
    if (previous && previous.error !== null) this.#delivery.error = previous.error;
    for (const w of this.#waiters.splice(0)) {
      w.cleanup();
      w.reject(new TsnetError(`a callback was set on channel ${this.id} while receive() waited`, { code: 'TSNET_ERR_CALLBACK_SET' }));
    }
    this.#delivery.deliver();
  }

  /**
   * Resolves when the channel is closed (by the peer, locally, or by gateway death) and, with a
   * callback, after its last call. Rejects with the peer's RemoteError, the callback's own error,
   * GatewayClosedError, or TimeoutError after `timeout` ms.
   */
  async waitClose(options?: { timeout?: number }): Promise<void> {
    const timeout = options?.timeout;
    const closed = new Promise<void>((resolve) => {
      if (this.#isDone()) resolve();
      else this.#closeWaiters.push(resolve);
    });
    const all = closed.then(() => this.#delivery?.done);
    this.#hold(1);
    try {
      await deadline(all, {
        timeout,
        onTimeout: () => {
          throw new TimeoutError(`channel ${this.id} of gateway ${this.gateway.id} not closed after ${timeout} ms`, timeout!);
        },
      });
    } finally {
      this.#hold(-1);
    }
    const callbackError = this.#delivery?.error ?? null;
    if (callbackError !== null) throw callbackError;
    if (this.#terminal && !(this.#terminal instanceof ChannelClosedError)) throw this.#terminal;
    if (this.#dropped > 0) throw droppedAfterClose(this.id, this.gateway.id, this.#dropped);
  }

  /**
   * Closed for waitClose(): by the peer or the gateway; after our close(), once the peer answered
   * with its CLOSE (so what it sent meanwhile was counted), unless nothing ever travelled on the
   * channel (a peer that never heard of it does not answer).
   */
  #isDone(): boolean {
    if (this.#closedBy === null) return false;
    return this.#closedBy !== 'local' || this.#recvClose || !this.#used;
  }

  #notifyClosed(): void {
    if (this.#closeWaiters.length > 0 && this.#isDone()) for (const r of this.#closeWaiters.splice(0)) r();
  }

  /**
   * Half-close: no more items from this side, as a socket's shutdown(SHUT_WR). Resolves once the
   * items sent before it are on the wire (after them, END). The peer receives those items, then
   * its receive() rejects with ChannelClosedError and its `for await` ends; it may go on sending,
   * and this side goes on receiving. send() rejects from now on. When both sides have ended, the
   * channel is closed on both. A no-op after close() or a second end().
   */
  end(): Promise<void> {
    if (this.#endCalled || this.#sentClose || this.#closedBy !== null) return Promise.resolve();
    this.#endCalled = true;
    if (this.#outbox.waiting || this.#outbox.held) {
      return new Promise<void>((resolve) => {
        this.#endWhenDrained = resolve;
      });
    }
    this.#writeEnd();
    return Promise.resolve();
  }

  #writeEnd(): void {
    if (this.#sentEnd || this.#sentClose || this.#closedBy !== null) return;
    this.#sentEnd = true;
    this.gateway._writeEnd(this.id);
    if (this.#recvEnd) this.#bothEnded();
  }

  /** @internal the peer half-closed: no more items will arrive; we may still send. */
  _onEnd(): void {
    if (this.#recvEnd || this.#recvClose) return;
    this.#used = true;
    this.#recvEnd = true;
    this.#inbox.granting = false;
    if (this.#closedBy !== null) return; // closed here already: the peer's answer to our CLOSE will follow
    this.#terminal = endedByPeer(this.id, this.gateway.id);
    if (this.#inbox.size === 0) {
      for (const w of this.#waiters.splice(0)) {
        w.cleanup();
        w.reject(this.#terminal);
      }
    }
    if (this.#delivery?.active) this.#delivery.deliver();
    if (this.#sentEnd) this.#bothEnded();
  }

  /** Both directions ended: the channel is done on this side (the peer concludes the same), no CLOSE needed. */
  #bothEnded(): void {
    this.#sentClose = true;
    this.#recvClose = true;
    this.#setClosed('local', this.#terminal);
    this.gateway._forget(this.id);
  }

  /**
   * Closes the channel for both sides, after the items already sent. With `error`, the peer's
   * receive()/waitClose() reject with a RemoteError carrying it. Closing twice is a no-op.
   */
  close(error?: Error): Promise<void> {
    if (this.#sentClose || this.#closeWhenDrained || this.#closedBy === 'gateway') return Promise.resolve();
    const firstClose = this.#closedBy === null;
    if (firstClose) this.#setClosed('local', null);
    if (this.#outbox.waiting) {
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

  /** @internal host side: rewords the peer's error with what only this side knows (exec/source-hints.ts). */
  _explain: ((error: RemoteError) => RemoteError) | undefined;

  /** @internal the peer closed the channel (error: the RemoteError it sent). */
  _onClose(error: RemoteError | null, aborted = false): void {
    if (this.#recvClose) return;
    if (error && this._explain) error = this._explain(error);
    this.#recvClose = true;
    this.#abortSignal(aborted && error ? new AbortError(error.remoteMessage) : (error ?? new ChannelClosedError(this.id, this.gateway.id, 'remote')));
    this.#inbox.granting = false;
    this.#inbox.dropPartial();
    if (this.#closedBy === null) {
      this.#terminal = error ?? new ChannelClosedError(this.id, this.gateway.id, 'remote');
      this.#setClosed('remote', this.#terminal);
    } else if (error && this.#terminal === null) {
      this.#terminal = error;
    }
    // The peer stopped reading: sends still waiting for its credit can never complete.
    this.#outbox.rejectAll(this.#endCalled ? this.#sendClosedError() : closedByPeer(this.id, this.gateway.id));
    this.#settleDrainWaiters();
    if (!this.#sentClose) this.#writeClose(undefined);
    else this.gateway._forget(this.id);
    this.#notifyClosed();
  }

  /** end() and close() waiting for sends that will now never go: they are done. */
  #settleDrainWaiters(): void {
    if (this.#endWhenDrained) {
      this.#endWhenDrained();
      this.#endWhenDrained = null;
    }
    if (this.#closeWhenDrained) {
      this.#closeWhenDrained.resolve();
      this.#closeWhenDrained = null;
    }
  }

  /** @internal the gateway is down. */
  _onGatewayClosed(error: Error): void {
    if (this.#closedBy === 'gateway') return;
    this.#abortSignal(error);
    const wasOpen = this.#closedBy === null;
    this.#recvClose = true;
    this.#sentClose = true;
    this.#inbox.granting = false;
    this.#inbox.dropPartial();
    this.#outbox.rejectAll(error);
    this.#settleDrainWaiters();
    if (wasOpen) {
      // Items already queued stay readable; after them the gateway's error.
      this.#terminal = error;
      this.#closedBy = 'gateway';
      this.#wake(error);
    } else this.#notifyClosed();
  }

  #setClosed(by: 'local' | 'remote', terminal: Error | null): void {
    this.#closedBy = by;
    this.#inbox.granting = false;
    this.#wake(terminal ?? this.#sendClosedError());
  }

  #wake(error: Error): void {
    if (this.#inbox.size === 0) {
      for (const w of this.#waiters.splice(0)) {
        w.cleanup();
        w.reject(error);
      }
    }
    this.#notifyClosed();
    if (this.#delivery?.active) this.#delivery.deliver();
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

  toString(): string {
    return `<Channel id=${this.id} ${this.#closedBy ? 'closed' : 'open'}>`;
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
