import { RemoteError } from '../errors.js';
import type { Channel } from './channel.js';

/** Unread items in a receive queue above which members wait. */
const QUEUE_HIGH_WATER = 128;

/**
 * The channels of one group.remoteExec(), one per gateway, in the group's order.
 */
export class MultiChannel<In = unknown, Out = In> implements Iterable<Channel<In, Out>> {
  readonly #channels: Channel<In, Out>[];
  #queue: AsyncIterable<[Channel<In, Out>, unknown]> | null = null;

  constructor(channels: Channel<In, Out>[]) {
    this.#channels = channels;
  }

  get size(): number {
    return this.#channels.length;
  }

  get(i: number): Channel<In, Out> | undefined {
    return this.#channels[i];
  }

  [Symbol.iterator](): Iterator<Channel<In, Out>> {
    return this.#channels[Symbol.iterator]();
  }

  /** Sends the same item to every channel. */
  async sendEach(item: Out): Promise<void> {
    await Promise.all(this.#channels.map((ch) => ch.send(item)));
  }

  /** One item from every channel, in order (all awaited concurrently). */
  receiveEach(options?: { withChannel?: false; timeout?: number }): Promise<In[]>;
  receiveEach(options: { withChannel: true; timeout?: number }): Promise<Array<[Channel<In, Out>, In]>>;
  async receiveEach(options?: { withChannel?: boolean; timeout?: number }): Promise<In[] | Array<[Channel<In, Out>, In]>> {
    const opts = options?.timeout !== undefined ? { timeout: options.timeout } : undefined;
    const items = await Promise.all(this.#channels.map((ch) => ch.receive(opts)));
    return options?.withChannel ? items.map((item, i) => [this.#channels[i]!, item] as [Channel<In, Out>, In]) : items;
  }

  /** True if `channel` is one of these channels. */
  includes(channel: Channel<unknown>): boolean {
    return (this.#channels as unknown as Channel<unknown>[]).includes(channel);
  }

  /**
   * One async iterable of `[channel, item]` across all members, in arrival order. With `endmarker`,
   * `[channel, endmarker]` arrives once when each member closes (gateway death included; a member's
   * error is not carried: waitClose() reports it). The iteration ends when every member has closed.
   * It sets a callback on every member (receive() on them is refused from then on); a member
   * whose items pile up unread is held back by its credit. Calling it again returns the same queue.
   */
  makeReceiveQueue<E = never>(options?: { endmarker?: E }): AsyncIterable<[Channel<In, Out>, In | E]> {
    if (this.#queue) return this.#queue as AsyncIterable<[Channel<In, Out>, In | E]>;
    const hasEnd = options !== undefined && 'endmarker' in options;
    const items: Array<[Channel<In, Out>, unknown]> = [];
    let head = 0;
    let readers: Array<() => void> = [];
    let writers: Array<() => void> = [];
    let open = this.#channels.length;
    const end = Symbol('end');
    const wakeReaders = (): void => {
      const r = readers;
      readers = [];
      for (const f of r) f();
    };
    for (const ch of this.#channels) {
      ch.setCallback(
        (item: unknown): Promise<void> | undefined => {
          if (item === end) {
            open--;
            if (hasEnd) items.push([ch, options.endmarker]);
          } else items.push([ch, item]);
          wakeReaders();
          // Backpressure: past the high-water mark this member waits (and so does its sender).
          if (items.length - head < QUEUE_HIGH_WATER || item === end) return undefined;
          return new Promise<void>((r) => writers.push(r));
        },
        { endmarker: end },
      );
    }
    const take = (): [Channel<In, Out>, unknown] | undefined => {
      if (head === items.length) return undefined;
      const item = items[head]!;
      items[head++] = undefined as never;
      if (head > 1024 && head * 2 > items.length) {
        items.splice(0, head);
        head = 0;
      }
      if (writers.length > 0 && items.length - head < QUEUE_HIGH_WATER / 2) {
        const w = writers;
        writers = [];
        for (const f of w) f();
      }
      return item;
    };
    const queue: AsyncIterable<[Channel<In, Out>, unknown]> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<[Channel<In, Out>, unknown]>> => {
          for (;;) {
            const item = take();
            if (item) return { value: item, done: false };
            if (open === 0) return { value: undefined, done: true };
            await new Promise<void>((r) => readers.push(r));
          }
        },
      }),
    };
    this.#queue = queue;
    return queue as AsyncIterable<[Channel<In, Out>, In | E]>;
  }

  /**
   * Waits until every channel closed (each bounded by `timeout`); then rejects with the first
   * RemoteError in channel order, else the first other error, if any.
   */
  async waitClose(options?: { timeout?: number }): Promise<void> {
    const results = await Promise.allSettled(this.#channels.map((ch) => ch.waitClose(options)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    const first = failures.find((e) => e instanceof RemoteError) ?? failures[0];
    if (failures.length > 0) throw first;
  }
}
