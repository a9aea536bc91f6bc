/**
 * group.map() and group.mapIter(): `fn(item, index)` for every item, spread over a group's
 * gateways.
 *
 * - One worker per gateway: a long-lived remoteExec that runs every item it receives and sends
 *   back `[index, 0, result]` or `[index, 1, error description]`. Each worker has at most
 *   `concurrency` items in flight; a worker that answers takes the next item (work stealing: a fast
 *   gateway gets more items, a stalled one no more than `concurrency`).
 * - Results come in input order. The first remote error (the function threw, or its result could
 *   not be serialized) rejects with that RemoteError; every worker is then closed and no further
 *   item is taken from the source (items already in flight still finish remotely; their results
 *   are dropped).
 * - A gateway that goes down has its items in flight run again on the others (so such an item may
 *   run twice: once on the dead gateway, once elsewhere); when none is left the map rejects with
 *   the last GatewayClosedError. Only the gateways open when the map starts are used.
 * - An item that cannot be serialized rejects with the DumpError, naming its index. `signal`
 *   aborting rejects with its reason. `fn` is checked like call(fn) before anything is sent.
 */
import type { Channel } from '../channel/channel.js';
import { DumpError, GatewayClosedError, GroupError, RemoteError, type RemoteErrorInfo, TsnetError } from '../errors.js';
import { functionSource, PURE_SCOPE_NAMES } from '../exec/remote-source.js';
import type { Gateway } from './gateway.js';

export interface MapOptions {
  /** Items each gateway works on at once (sent ahead of its results). Default 16. */
  concurrency?: number;
  /** Aborting rejects the map (or ends the iteration) with the signal's reason and closes the workers. */
  signal?: AbortSignal;
}

/** The function a map runs: one item (and its index in the input) in, one result out. */
export type MapFunction<T, R> = (item: T, index: number) => R;

type Reply = [index: number, failed: 0 | 1, value: unknown];

interface Worker {
  readonly gateway: Gateway;
  readonly channel: Channel<unknown>;
  readonly inFlight: Map<number, unknown>;
  dead: boolean;
}

/**
 * The remote side of one worker: `fn` evaluated once, then applied to every item of every batch
 * received (`[[index, item], …]`). Results go back in batches too: those finished in the same
 * turn of the event loop share one message; a batch that cannot be serialized is resent one result
 * at a time, so only the result at fault becomes an error.
 */
function workerSource(expression: string): string {
  return `const __tsnet_fn = ${expression};
const describe = (e) => {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), stack: String(e) };
  const info = { name: e.name, message: e.message, stack: e.stack ?? String(e) };
  if (typeof e.code === 'string' || typeof e.code === 'number') info.code = e.code;
  return info;
};
let out = [];
const flush = () => {
  const batch = out;
  out = [];
  channel.send(batch).catch(async () => {
    for (const r of batch) {
      if (channel.isClosed()) return;
      await channel.send([r]).catch((e) => channel.send([[r[0], 1, describe(e)]])).catch(() => {});
    }
  });
};
const done = (r) => {
  if (out.push(r) === 1) queueMicrotask(flush);
};
const run = async (i, item) => {
  try {
    done([i, 0, await __tsnet_fn(item, i)]);
  } catch (e) {
    done([i, 1, describe(e)]);
  }
};
for await (const batch of channel) for (const [i, item] of batch) void run(i, item);`;
}

/**
 * One run of a map: a source of items, the workers, the results not yet handed out. `onResult`
 * is told of every result (in completion order), `onEnd` once, with the error that ended it or null.
 */
class MapRun<T, R> {
  readonly #workers: Worker[] = [];
  readonly #concurrency: number;
  readonly #source: Iterator<T> | AsyncIterator<T>;
  readonly #retry: Array<[number, unknown]> = [];
  /** How many items the consumer may have outstanding (pulled and not yet released). */
  readonly #limit: () => number;
  #next = 0;
  #exhausted = false;
  #pulling = false;
  #again = false;
  #ended = false;
  #lastDeath: Error | null = null;
  readonly #onResult: (index: number, value: R) => void;
  readonly #onEnd: (error: unknown) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.fail(this.#signal?.reason);
  readonly #api: string;

  constructor(
    gateways: Gateway[],
    fn: MapFunction<T, unknown>,
    items: Iterable<T> | AsyncIterable<T>,
    options: MapOptions | undefined,
    api: string,
    hooks: { onResult(index: number, value: R): void; onEnd(error: unknown): void; outstanding(): number; window(capacity: number): number },
  ) {
    const concurrency = options?.concurrency ?? 16;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new TsnetError(`${api}: concurrency must be a positive integer (items in flight per gateway), got ${String(concurrency)}`);
    }
    this.#concurrency = concurrency;
    this.#api = api;
    this.#onResult = hooks.onResult;
    this.#onEnd = hooks.onEnd;
    this.#limit = () => hooks.window(this.#concurrency * this.#live()) - hooks.outstanding();
    const open = gateways.filter((g) => !g.isDown);
    if (open.length === 0) throw new GroupError(`${api}: the group has no open gateway to run on`);
    if (typeof fn !== 'function') throw new TsnetError(`${api} takes a function as its first argument, got ${typeof fn}`);
    // The same check for every gateway's globals: one refusal before anything is sent.
    const sources = open.map((g) => workerSource(functionSource(fn as (...a: never[]) => unknown, g._remoteGlobals, api, PURE_SCOPE_NAMES).expression));
    const iterable = items as Partial<Iterable<T> & AsyncIterable<T>>;
    if (typeof iterable?.[Symbol.asyncIterator] === 'function') this.#source = iterable[Symbol.asyncIterator]!();
    else if (typeof iterable?.[Symbol.iterator] === 'function') this.#source = iterable[Symbol.iterator]!();
    else throw new TsnetError(`${api}: items must be an iterable or an async iterable, got ${items === null ? 'null' : typeof items}`);
    this.#signal = options?.signal;
    if (this.#signal?.aborted) throw this.#signal.reason;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    for (const [i, gateway] of open.entries()) {
      const channel = gateway.remoteExec(sources[i]!);
      const worker: Worker = { gateway, channel, inFlight: new Map(), dead: false };
      this.#workers.push(worker);
      void this.#listen(worker);
    }
  }

  #live(): number {
    let n = 0;
    for (const w of this.#workers) if (!w.dead) n++;
    return n;
  }

  async #listen(worker: Worker): Promise<void> {
    try {
      for await (const batch of worker.channel) {
        for (const [index, failed, value] of batch as Reply[]) {
          if (this.#ended || !worker.inFlight.delete(index)) continue;
          if (failed) {
            this.fail(new RemoteError(value as RemoteErrorInfo, worker.gateway.id, worker.channel.id));
            return;
          }
          this.#onResult(index, value as R);
        }
        this.pump();
      }
      // The worker ended while we still wanted it: its code returned, which it only does on close.
      if (!this.#ended) this.#died(worker, new GatewayClosedError(worker.gateway.id, { reason: 'its map worker ended early' }));
    } catch (error) {
      if (this.#ended) return;
      if (error instanceof RemoteError) this.fail(error);
      else this.#died(worker, error as Error);
    }
  }

  #died(worker: Worker, error: Error): void {
    if (worker.dead) return;
    worker.dead = true;
    this.#lastDeath = error;
    // Its items go first to whoever is free, lowest index first (the consumer waits on those).
    const orphans = [...worker.inFlight.entries()].sort((a, b) => a[0] - b[0]);
    worker.inFlight.clear();
    this.#retry.unshift(...orphans);
    this.#retry.sort((a, b) => a[0] - b[0]);
    if (this.#live() === 0) {
      this.fail(this.#lastDeath);
      return;
    }
    this.pump();
  }

  /**
   * Hands items to workers with free slots, as long as the consumer's window allows, then checks
   * whether the map is done. A call while a pass runs (an async source is awaited, or the pass has
   * not settled yet) makes that pass run once more: a slot freed meanwhile is never left idle.
   */
  pump(): void {
    if (this.#ended) return;
    if (this.#pulling) {
      this.#again = true;
      return;
    }
    this.#pulling = true;
    this.#again = false;
    void this.#fill().finally(() => {
      this.#pulling = false;
      if (this.#again) this.pump();
    });
  }

  async #fill(): Promise<void> {
    // Items chosen in one pass go to each worker as one message.
    const batches = new Map<Worker, Array<[number, unknown]>>();
    try {
      for (;;) {
        if (this.#ended) return;
        const worker = this.#freest();
        if (!worker) break;
        let entry = this.#retry.shift();
        if (!entry) {
          if (this.#exhausted || this.#limit() <= 0) break;
          const r = this.#source.next();
          if (r instanceof Promise) this.#flush(batches); // what is chosen goes out while the source is awaited
          const step = r instanceof Promise ? await r : r;
          if (this.#ended) return;
          if (step.done) {
            this.#exhausted = true;
            break;
          }
          entry = [this.#next++, step.value];
        }
        // The chosen worker may have died while the source was awaited.
        const target = worker.dead ? this.#freest() : worker;
        if (!target) {
          this.#retry.unshift(entry);
          break;
        }
        target.inFlight.set(entry[0], entry[1]);
        const batch = batches.get(target);
        if (batch) batch.push(entry);
        else batches.set(target, [entry]);
      }
    } catch (error) {
      this.fail(error);
      return;
    } finally {
      this.#flush(batches);
    }
    this.#checkDone();
  }

  #flush(batches: Map<Worker, Array<[number, unknown]>>): void {
    for (const [worker, batch] of batches) if (!worker.dead && !this.#ended) this.#send(worker, batch);
    batches.clear();
  }

  #freest(): Worker | undefined {
    let best: Worker | undefined;
    for (const w of this.#workers) {
      if (w.dead || w.inFlight.size >= this.#concurrency) continue;
      if (!best || w.inFlight.size < best.inFlight.size) best = w;
    }
    return best;
  }

  #send(worker: Worker, batch: Array<[number, unknown]>): void {
    worker.channel.send(batch).catch((error: unknown) => {
      if (this.#ended) return;
      if (error instanceof DumpError) {
        // Name the item at fault (the batch's path says only where inside the batch).
        for (const [index, item] of batch) {
          try {
            worker.gateway._dump(item);
          } catch (e) {
            const path = e instanceof DumpError ? e.path : 'value';
            this.fail(new DumpError(`${this.#api}: item ${index} cannot be sent: ${(e as Error).message}`, path));
            return;
          }
        }
        this.fail(error);
      }
      // Otherwise the channel is down: the listener sees the same and re-runs the items elsewhere.
    });
  }

  #checkDone(): void {
    if (this.#ended || !this.#exhausted || this.#retry.length > 0) return;
    for (const w of this.#workers) if (w.inFlight.size > 0) return;
    this.#end(null);
  }

  /** Called by the consumer when a result was handed out (the window moved). */
  released(): void {
    this.pump();
  }

  fail(error: unknown): void {
    if (this.#ended) return;
    this.#end(error ?? new TsnetError('map(): aborted'));
  }

  #end(error: unknown): void {
    this.#ended = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    for (const w of this.#workers) void w.channel.close().catch(() => {});
    if (error !== null && !this.#exhausted) {
      // Stop the source (a generator's finally blocks run, a file stream is closed).
      try {
        const r = this.#source.return?.();
        if (r instanceof Promise) r.catch(() => {});
      } catch {
        // the source's own failure to stop changes nothing here
      }
    }
    this.#onEnd(error);
  }
}

/** `await group.map(fn, items)`: every result, in input order. */
export function mapAll<T, R>(gateways: Gateway[], fn: MapFunction<T, R>, items: Iterable<T> | AsyncIterable<T>, options?: MapOptions): Promise<Awaited<R>[]> {
  return new Promise<Awaited<R>[]>((resolve, reject) => {
    const results: Awaited<R>[] = [];
    let run: MapRun<T, Awaited<R>> | undefined;
    try {
      run = new MapRun<T, Awaited<R>>(gateways, fn, items, options, 'map()', {
        onResult(index, value) {
          results[index] = value;
        },
        onEnd(error) {
          if (error === null) resolve(results);
          else reject(error);
        },
        outstanding: () => 0,
        window: () => Number.POSITIVE_INFINITY,
      });
    } catch (error) {
      reject(error);
      return;
    }
    run.pump();
  });
}

/**
 * `for await (const r of group.mapIter(fn, items))`: results in input order as they become
 * available. Backpressure: at most 2 × concurrency × gateways items are taken from the source
 * ahead of the consumer: concurrency × gateways in flight, and as many finished ones waiting for an
 * earlier one or for next(); past that no item is taken until the consumer reads.
 * Leaving the loop early (break, throw) closes the workers and stops the source.
 */
export function mapIterate<T, R>(
  gateways: Gateway[],
  fn: MapFunction<T, R>,
  items: Iterable<T> | AsyncIterable<T>,
  options?: MapOptions,
): AsyncIterableIterator<Awaited<R>> {
  const ready = new Map<number, Awaited<R>>();
  let yielded = 0;
  let endError: unknown;
  let ended = false;
  let waiter: (() => void) | null = null;
  const wake = (): void => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  let run: MapRun<T, Awaited<R>> | undefined;
  let startError: unknown;
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    try {
      run = new MapRun<T, Awaited<R>>(gateways, fn, items, options, 'mapIter()', {
        onResult(index, value) {
          ready.set(index, value);
          if (index === yielded) wake();
        },
        onEnd(error) {
          ended = true;
          endError = error;
          wake();
        },
        outstanding: () => ready.size,
        window: (capacity) => capacity,
      });
      run.pump();
    } catch (error) {
      startError = error;
      ended = true;
      endError = error;
    }
  };
  const done: IteratorResult<Awaited<R>> = { value: undefined as never, done: true };
  const iterator: AsyncIterableIterator<Awaited<R>> = {
    async next(): Promise<IteratorResult<Awaited<R>>> {
      start();
      if (startError !== undefined) {
        const e = startError;
        startError = undefined;
        throw e;
      }
      for (;;) {
        if (ready.has(yielded)) {
          const value = ready.get(yielded)!;
          ready.delete(yielded);
          yielded++;
          run?.released();
          return { value, done: false };
        }
        if (ended) {
          if (endError !== null && endError !== undefined) {
            const e = endError;
            endError = undefined;
            throw e;
          }
          return done;
        }
        await new Promise<void>((r) => {
          waiter = r;
        });
      }
    },
    async return(): Promise<IteratorResult<Awaited<R>>> {
      if (!ended) {
        run?.fail(new TsnetError('mapIter(): the iteration was ended early'));
        endError = undefined;
      }
      ended = true;
      ready.clear();
      return done;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
