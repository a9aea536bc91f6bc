/**
 * A signal that aborts when `parent` does (with its reason) or after `ms` (with a TimeoutError
 * DOMException, as AbortSignal.timeout's), for bounding a connect. Not AbortSignal.any([parent,
 * AbortSignal.timeout(ms)]): on Node 18 and 20 a garbage collection can drop the timeout from such
 * a composite, and the bound never fires (a plain Node 20 script connecting to a silent sshd waited
 * 20 s with connectTimeout 500). The timer is ref'd, since someone waits on it: dispose() clears it
 * and the listener on `parent`, and must be called when the bounded work ends, however it ends.
 * Without `ms` the signal is `parent`'s (or one that never aborts).
 */
export interface TimeoutSignal {
  readonly signal: AbortSignal;
  /** True when the timeout (not the parent) aborted the signal. */
  readonly timedOut: boolean;
  dispose(): void;
}

export function timeoutSignal(ms: number | undefined, parent?: AbortSignal): TimeoutSignal {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = (): void => {
    dispose();
    controller.abort(parent!.reason);
  };
  const dispose = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    parent?.removeEventListener('abort', onAbort);
  };
  if (parent?.aborted) controller.abort(parent.reason);
  else {
    parent?.addEventListener('abort', onAbort, { once: true });
    if (ms !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        dispose();
        controller.abort(new DOMException(`The operation timed out after ${ms} ms`, 'TimeoutError'));
      }, ms);
    }
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose,
  };
}
