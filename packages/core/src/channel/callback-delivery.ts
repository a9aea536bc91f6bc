/** What a callback delivery reads from its channel. */
export interface DeliverySource {
  /** Items queued and not taken yet. */
  available(): number;
  /** Takes the oldest item (only while available() > 0). */
  take(): unknown;
  /** True once no more items can arrive (the channel closed or the gateway went down). */
  ended(): boolean;
  /** The callback threw or its promise rejected: the channel closes with that error. */
  fail(error: unknown): void;
  /** The channel keeps its gateway alive while the callback is set (+1), and lets go after the last call (-1). */
  hold(delta: number): void;
}

export const noEndmarker: unique symbol = Symbol('no endmarker');

/**
 * Calls a channel's callback with every item, in order, one at a time: a returned promise is
 * awaited before the next item. When the channel ends, the callback gets the endmarker (if one was
 * given) once, and `done` resolves after that last call.
 *
 * Contract: if the callback throws or rejects, delivery stops, `error` holds what it threw, the
 * source's `fail()` is told, and `done` resolves. `done` never rejects.
 */
export class CallbackDelivery {
  readonly #source: DeliverySource;
  #fn: ((item: unknown) => unknown) | null;
  readonly #endmarker: unknown;
  #delivering = false;
  #resolveDone: (() => void) | null = null;
  /** Resolves after the callback's last call. */
  readonly done: Promise<void>;
  /** What the callback threw (or its promise rejected with), else null. */
  error: unknown = null;

  constructor(fn: (item: unknown) => unknown, endmarker: unknown, source: DeliverySource) {
    this.#fn = fn;
    this.#endmarker = endmarker;
    this.#source = source;
    source.hold(1);
    this.done = new Promise<void>((r) => {
      this.#resolveDone = () => {
        source.hold(-1);
        r();
      };
    });
  }

  /** True until the channel ended and the last call was made (or the callback failed). */
  get active(): boolean {
    return this.#fn !== null;
  }

  /** Delivers what is queued; call it whenever an item arrives or the channel ends. */
  deliver(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    this.#step();
  }

  readonly #step = (): void => {
    const source = this.#source;
    while (this.#fn) {
      if (source.available() > 0) {
        const value = source.take();
        let r: unknown;
        try {
          r = this.#fn(value);
        } catch (error) {
          this.#failed(error);
          return;
        }
        if (isThenable(r)) {
          r.then(this.#step, (error: unknown) => this.#failed(error));
          return;
        }
        continue;
      }
      if (source.ended()) {
        this.#finish();
        return;
      }
      break;
    }
    this.#delivering = false;
  };

  #failed(error: unknown): void {
    this.error = error;
    this.#fn = null;
    this.#delivering = false;
    this.#source.fail(error);
    this.#resolve();
  }

  #finish(): void {
    const fn = this.#fn;
    this.#fn = null;
    this.#delivering = false;
    if (fn && this.#endmarker !== noEndmarker) {
      let r: unknown;
      try {
        r = fn(this.#endmarker);
      } catch (error) {
        this.error = error;
      }
      if (isThenable(r)) {
        r.then(
          () => this.#resolve(),
          (error: unknown) => {
            this.error = error;
            this.#resolve();
          },
        );
        return;
      }
    }
    this.#resolve();
  }

  #resolve(): void {
    const r = this.#resolveDone;
    this.#resolveDone = null;
    r?.();
  }
}

function isThenable(r: unknown): r is PromiseLike<unknown> {
  return r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function';
}
