import type { Channel } from './channel.js';

/**
 * The channels of one group.remoteExec(), one per gateway, in the group's order.
 */
export class MultiChannel<T = unknown> implements Iterable<Channel<T>> {
  readonly #channels: Channel<T>[];
  #queue: AsyncIterable<[Channel<T>, unknown]> | null = null;

  constructor(channels: Channel<T>[]) {
    this.#channels = channels;
  }

  get size(): number {
    return this.#channels.length;
  }

  get(i: number): Channel<T> | undefined {
    return this.#channels[i];
  }

  [Symbol.iterator](): Iterator<Channel<T>> {
    return this.#channels[Symbol.iterator]();
  }

  /** Sends the same item to every channel. */
  async sendEach(item: T): Promise<void> {
    await Promise.all(this.#channels.map((ch) => ch.send(item)));
  }

  /** One item from every channel, in order (all awaited concurrently). */
  receiveEach(options?: { withChannel?: false; timeout?: number }): Promise<T[]>;
  receiveEach(options: { withChannel: true; timeout?: number }): Promise<Array<[Channel<T>, T]>>;
  async receiveEach(options?: { withChannel?: boolean; timeout?: number }): Promise<T[] | Array<[Channel<T>, T]>> {
    const opts = options?.timeout !== undefined ? { timeout: options.timeout } : undefined;
    const items = await Promise.all(this.#channels.map((ch) => ch.receive(opts)));
    return options?.withChannel ? items.map((item, i) => [this.#channels[i]!, item] as [Channel<T>, T]) : items;
  }

  /**
   * One async iterable of `[channel, item]` across all members, in arrival order. With `endmarker`,
   * `[channel, endmarker]` arrives once when each member closes (gateway death included). The
   * iteration ends when every member has closed. Calling it again returns the same queue.
   */
  makeReceiveQueue<E = never>(options?: { endmarker?: E }): AsyncIterable<[Channel<T>, T | E]> {
    if (this.#queue) return this.#queue as AsyncIterable<[Channel<T>, T | E]>;
    const hasEnd = options !== undefined && 'endmarker' in options;
    const items: Array<[Channel<T>, unknown]> = [];
    let wake: (() => void) | null = null;
    let open = this.#channels.length;
    const end = Symbol('end');
    for (const ch of this.#channels) {
      ch.setCallback(
        (item: unknown) => {
          if (item === end) {
            open--;
            if (hasEnd) items.push([ch, options.endmarker]);
          } else items.push([ch, item]);
          wake?.();
        },
        { endmarker: end },
      );
    }
    const queue: AsyncIterable<[Channel<T>, unknown]> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<[Channel<T>, unknown]>> => {
          for (;;) {
            const item = items.shift();
            if (item) return { value: item, done: false };
            if (open === 0) return { value: undefined, done: true };
            await new Promise<void>((r) => {
              wake = r;
            });
            wake = null;
          }
        },
      }),
    };
    this.#queue = queue;
    return queue as AsyncIterable<[Channel<T>, T | E]>;
  }

  /** Waits until every channel closed; then rejects with the first RemoteError, if any. */
  async waitClose(options?: { timeout?: number }): Promise<void> {
    const results = await Promise.allSettled(this.#channels.map((ch) => ch.waitClose(options)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
