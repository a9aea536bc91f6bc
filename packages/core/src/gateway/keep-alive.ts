/** What a KeepAlive switches: a transport's ref()/unref(), where it has them. */
export interface Refable {
  ref?(): void;
  unref?(): void;
}

/** How long the count may stay at zero before the transport is unref'd. */
const SETTLE_MS = 20;

/**
 * A gateway keeps the local process alive only while something waits on it (a receive, a pending
 * send, a callback, waitClose, the handshake, exit). An idle gateway lets the process end; the
 * default group then terminates it. Counts holds and refs or unrefs the transport to match.
 *
 * Contract: never unrefs before `started` (the handshake holds the process); the decision to unref
 * is taken once per SETTLE_MS, with a timer that itself keeps nothing alive.
 */
export class KeepAlive {
  readonly #target: Refable;
  #holds = 0;
  #refed = true;
  #refCheck = false;
  /** Set once the handshake completed. */
  started = false;

  constructor(target: Refable) {
    this.#target = target;
  }

  /** Something local waits on the gateway (+1) or stopped waiting (-1); 0 re-checks. */
  hold(delta: number): void {
    this.#holds += delta;
    if (this.#holds > 0) {
      if (!this.#refed) {
        this.#refed = true;
        this.#target.ref?.();
      }
    } else if (this.#refed && !this.#refCheck) {
      // Decide a little later, once: a ping-pong drops to zero holds between every receive and the
      // next, and one timer per 20 ms costs nothing where one per round trip would.
      this.#refCheck = true;
      const timer = setTimeout(() => {
        this.#refCheck = false;
        if (this.#holds <= 0 && this.#refed && this.started) {
          this.#refed = false;
          this.#target.unref?.();
        } else if (this.#holds <= 0) this.hold(0);
      }, SETTLE_MS);
      (timer as { unref?: () => void }).unref?.();
    }
  }
}
