/**
 * Racing a promise against an AbortSignal and a timeout, with the listener and the timer always
 * removed when the race is decided (where hand-written races leak). Worker-safe: no
 * AbortSignal.any (Node ≥ 20.3), since channels and gateways run on Node 18 remotes too.
 */

export interface Deadline<U> {
  /** Rejects with `signal.reason` (or `toError(signal)`) when it aborts (at once when it already has). */
  signal?: AbortSignal | undefined;
  /**
   * What an abort rejects with: tsnet's callers pass abortError (errors.ts) for a TSNET_ERR_* code.
   * Not imported here, so that what only races promises (the socket server) carries no error classes.
   */
  toError?: (signal: AbortSignal) => unknown;
  /** Milliseconds until `onTimeout` decides the race. */
  timeout?: number | undefined;
  /** What the race settles with on timeout: its return value, or a rejection with what it throws. Default: undefined. */
  onTimeout?: () => U;
  /** An unref'd timer keeps nothing alive (a grace period, not a wait someone depends on). */
  unref?: boolean;
}

/**
 * Settles as `promise`, unless `signal` aborts or `timeout` ms pass first. Without a signal and a
 * timeout it is `promise` itself. A rejection of `promise` after the race was decided is handled.
 */
export function deadline<T, U = never>(promise: PromiseLike<T>, options: Deadline<U>): Promise<T | U> {
  const { signal, timeout, onTimeout, unref, toError } = options;
  if (!signal && timeout === undefined) return Promise.resolve(promise);
  return new Promise<T | U>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      settle();
      reject(toError ? toError(signal!) : signal!.reason);
    };
    if (signal) {
      if (signal.aborted) {
        reject(toError ? toError(signal) : signal.reason);
        Promise.resolve(promise).catch(() => {});
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        settle();
        try {
          resolve(onTimeout ? onTimeout() : (undefined as U));
        } catch (error) {
          reject(error);
        }
      }, timeout);
      if (unref) (timer as { unref?: () => void }).unref?.();
    }
    promise.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

/** `promise`, or a rejection with `signal.reason` (or `toError(signal)`) once it aborts. */
export function raceSignal<T>(promise: PromiseLike<T>, signal: AbortSignal | undefined, toError?: (signal: AbortSignal) => unknown): Promise<T> {
  return deadline(promise, { signal, ...(toError ? { toError } : {}) });
}

/** `promise`, or after `ms` what `onTimeout` returns (or throws). */
export function withTimeout<T, U = undefined>(promise: PromiseLike<T>, ms: number, onTimeout?: () => U, options?: { unref?: boolean }): Promise<T | U> {
  return deadline<T, U>(promise, { timeout: ms, ...(onTimeout ? { onTimeout } : {}), ...(options?.unref ? { unref: true } : {}) });
}
