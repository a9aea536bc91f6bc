import { AbortError, ChannelClosedError, type RemoteError, TimeoutError } from '../errors.js';
import type { BaseGateway } from '../gateway/base-gateway.js';
import { deadline } from '../util/deadline.js';
import { FrameFlag } from '../wire/frame.js';
import type { CallbackDelivery } from './callback-delivery.js';
import { closedByPeer, droppedAfterClose, endedByPeer, endedHere } from './closed-errors.js';
import type { Inbox } from './inbox.js';
import type { Outbox } from './outbox.js';

/** A receive() waiting for an item. */
export interface Waiter {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  cleanup(): void;
}

/**
 * The close state machine of a channel (the base of Channel, so that the per-item code in
 * channel.ts reads the few flags it needs as fields of the same object, without an indirection).
 *
 * A channel is closed once, by the first of close() (local), the peer's CLOSE (remote), the
 * gateway going down (gateway), or an abort of remoteExec's signal (local, with an AbortError).
 * Half-close: end() sends END after the items already sent and refuses sends from then on; the
 * peer's END makes receive() reject with ChannelClosedError once the queue is drained; when both
 * sides ended, the channel is closed on both without a CLOSE. Items already queued stay readable
 * after any of these; then receive() rejects with the reason (`_terminal`). After a local close,
 * what the peer sent before it saw our CLOSE is dropped and counted: waitClose() rejects with
 * TSNET_ERR_DROPPED_AFTER_CLOSE. `signal` aborts on the first of the peer's abort, close, or the
 * gateway going down. Every transition is idempotent: a second close(), end() or CLOSE is a no-op.
 */
export abstract class ChannelState {
  readonly id: number;
  readonly gateway: BaseGateway;

  readonly #inbox: Inbox;
  readonly #outbox: Outbox;
  readonly #waiters: Waiter[];
  /** @internal error that receive() gives once the queue is drained; set when no more items can arrive. */
  protected _terminal: Error | null = null;
  /** @internal CLOSE written (or no longer possible). */
  protected _sentClose = false;
  /** @internal end() was called: sends are refused from then on. */
  protected _endCalled = false;
  /** @internal the peer's END arrived. */
  protected _recvEnd = false;
  /** @internal something travelled on the channel, either way: the peer knows it and answers our CLOSE. */
  protected _used = false;
  /** @internal who closed the channel; null while open. */
  protected _closedBy: 'local' | 'remote' | 'gateway' | null = null;

  #recvClose = false;
  #sentEnd = false;
  #endWhenDrained: (() => void) | null = null;
  #closeWhenDrained: { error: unknown; resolve(): void } | null = null;
  /** Items the peer sent that arrived after our close() and were dropped. */
  #dropped = 0;
  #closeWaiters: Array<() => void> = [];
  #abort: AbortController | null = null;
  /** Why `signal` aborts (or has): the peer aborted or closed, or the gateway went down. */
  #abortReason: Error | null = null;

  constructor(gateway: BaseGateway, id: number, inbox: Inbox, outbox: Outbox, waiters: Waiter[]) {
    this.gateway = gateway;
    this.id = id;
    this.#inbox = inbox;
    this.#outbox = outbox;
    this.#waiters = waiters;
  }

  /**
   * @internal A plumbing channel (the relay of a via= gateway) that must not keep the process alive
   * by itself: whoever uses it holds the gateway when it has reason to.
   */
  _unheld = false;

  /** @internal */
  protected _hold(delta: number): void {
    if (!this._unheld) this.gateway._hold(delta);
  }

  /** @internal the callback delivery, if any (set by setCallback()). */
  protected abstract _callback(): CallbackDelivery | null;

  /** @internal stands for a channel closed and forgotten on both sides. */
  protected _markForgotten(): void {
    this.#recvClose = true;
    this._sentClose = true;
    this._closedBy = 'local';
    this.#inbox.granting = false;
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
    if (this._closedBy !== null) return;
    this._terminal = error;
    this.#abortSignal(error);
    this.#setClosed('local', error);
    this.#outbox.rejectAll(error);
    this._sentClose = true;
    this.gateway._writeClose(this.id, wireError, true);
    if (this.#recvClose) this.gateway._forget(this.id);
  }

  /** @internal how the channel ended, for traces and exec:end: null while open. */
  get _outcome(): { by: string; error: Error | null } | null {
    if (this._closedBy === null) return null;
    const t = this._terminal;
    return { by: this._closedBy, error: t instanceof ChannelClosedError ? null : t };
  }

  /** True once either side closed the channel or the gateway went down. */
  isClosed(): boolean {
    return this._closedBy !== null;
  }

  /** @internal what send() rejects with once the channel no longer sends. */
  protected _sendClosedError(): Error {
    if (this._closedBy === 'gateway' && this._terminal) return this._terminal;
    if (this._endCalled) return endedHere(this.id, this.gateway.id);
    if (this._closedBy === 'remote') return closedByPeer(this.id, this.gateway.id);
    return new ChannelClosedError(this.id, this.gateway.id, 'local');
  }

  /** @internal a DATA frame arrived after our close: counted (waitClose() says so), not delivered. */
  protected _dropData(flags: number): void {
    if (this._closedBy === 'local' && !(flags & FrameFlag.MORE)) this.#dropped++;
  }

  /** @internal an end() or close() waits for the outbox to drain. */
  protected get _drainWaiting(): boolean {
    return this.#endWhenDrained !== null || this.#closeWhenDrained !== null;
  }

  /** @internal the outbox drained: an end() or close() that waited for it goes out now. */
  protected _drained(): void {
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
    const all = closed.then(() => this._callback()?.done);
    this._hold(1);
    try {
      await deadline(all, {
        timeout,
        onTimeout: () => {
          throw new TimeoutError(`channel ${this.id} of gateway ${this.gateway.id} not closed after ${timeout} ms`, timeout!);
        },
      });
    } finally {
      this._hold(-1);
    }
    const callbackError = this._callback()?.error ?? null;
    if (callbackError !== null) throw callbackError;
    if (this._terminal && !(this._terminal instanceof ChannelClosedError)) throw this._terminal;
    if (this.#dropped > 0) throw droppedAfterClose(this.id, this.gateway.id, this.#dropped);
  }

  /**
   * Closed for waitClose(): by the peer or the gateway; after our close(), once the peer answered
   * with its CLOSE (so what it sent meanwhile was counted), unless nothing ever travelled on the
   * channel (a peer that never heard of it does not answer).
   */
  #isDone(): boolean {
    if (this._closedBy === null) return false;
    return this._closedBy !== 'local' || this.#recvClose || !this._used;
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
    if (this._endCalled || this._sentClose || this._closedBy !== null) return Promise.resolve();
    this._endCalled = true;
    if (this.#outbox.waiting || this.#outbox.held) {
      return new Promise<void>((resolve) => {
        this.#endWhenDrained = resolve;
      });
    }
    this.#writeEnd();
    return Promise.resolve();
  }

  #writeEnd(): void {
    if (this.#sentEnd || this._sentClose || this._closedBy !== null) return;
    this.#sentEnd = true;
    this.gateway._writeEnd(this.id);
    if (this._recvEnd) this.#bothEnded();
  }

  /** @internal the peer half-closed: no more items will arrive; we may still send. */
  _onEnd(): void {
    if (this._recvEnd || this.#recvClose) return;
    this._used = true;
    this._recvEnd = true;
    this.#inbox.granting = false;
    if (this._closedBy !== null) return; // closed here already: the peer's answer to our CLOSE will follow
    this._terminal = endedByPeer(this.id, this.gateway.id);
    if (this.#inbox.size === 0) {
      for (const w of this.#waiters.splice(0)) {
        w.cleanup();
        w.reject(this._terminal);
      }
    }
    const delivery = this._callback();
    if (delivery?.active) delivery.deliver();
    if (this.#sentEnd) this.#bothEnded();
  }

  /** Both directions ended: the channel is done on this side (the peer concludes the same), no CLOSE needed. */
  #bothEnded(): void {
    this._sentClose = true;
    this.#recvClose = true;
    this.#setClosed('local', this._terminal);
    this.gateway._forget(this.id);
  }

  /**
   * Closes the channel for both sides, after the items already sent. With `error`, the peer's
   * receive()/waitClose() reject with a RemoteError carrying it. Closing twice is a no-op.
   */
  close(error?: Error): Promise<void> {
    if (this._sentClose || this.#closeWhenDrained || this._closedBy === 'gateway') return Promise.resolve();
    const firstClose = this._closedBy === null;
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
    if (this._sentClose || this._closedBy === 'gateway') return;
    this._sentClose = true;
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
    if (this._closedBy === null) {
      this._terminal = error ?? new ChannelClosedError(this.id, this.gateway.id, 'remote');
      this.#setClosed('remote', this._terminal);
    } else if (error && this._terminal === null) {
      this._terminal = error;
    }
    // The peer stopped reading: sends still waiting for its credit can never complete.
    this.#outbox.rejectAll(this._endCalled ? this._sendClosedError() : closedByPeer(this.id, this.gateway.id));
    this.#settleDrainWaiters();
    if (!this._sentClose) this.#writeClose(undefined);
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
    if (this._closedBy === 'gateway') return;
    this.#abortSignal(error);
    const wasOpen = this._closedBy === null;
    this.#recvClose = true;
    this._sentClose = true;
    this.#inbox.granting = false;
    this.#inbox.dropPartial();
    this.#outbox.rejectAll(error);
    this.#settleDrainWaiters();
    if (wasOpen) {
      // Items already queued stay readable; after them the gateway's error.
      this._terminal = error;
      this._closedBy = 'gateway';
      this.#wake(error);
    } else this.#notifyClosed();
  }

  #setClosed(by: 'local' | 'remote', terminal: Error | null): void {
    this._closedBy = by;
    this.#inbox.granting = false;
    this.#wake(terminal ?? this._sendClosedError());
  }

  #wake(error: Error): void {
    if (this.#inbox.size === 0) {
      for (const w of this.#waiters.splice(0)) {
        w.cleanup();
        w.reject(error);
      }
    }
    this.#notifyClosed();
    const delivery = this._callback();
    if (delivery?.active) delivery.deliver();
  }
}
