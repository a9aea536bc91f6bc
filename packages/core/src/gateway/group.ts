import type { Channel } from '../channel/channel.js';
import { MultiChannel } from '../channel/multi-channel.js';
import { GroupError, SpecError } from '../errors.js';
import { checkSpecKeys, findTransport } from '../spec/transport-registry.js';
import type { Transport, TransportProvider } from '../spec/transport-types.js';
import { XSpec } from '../spec/xspec.js';
import { Gateway, type GatewayOptions, type KwargsOf, type OutputListener, type RemoteExecOptions, type RemoteFunction } from './gateway.js';
import { type MapFunction, type MapOptions, mapAll, mapIterate } from './group-map.js';
import { type GroupFailure, type GroupOpenOptions, openEach, openOptions } from './group-open.js';

export type GatewaySpec = string | XSpec | TransportProvider;

export interface TerminateReport {
  /** Gateways whose remote side ended by itself after being asked. */
  exited: string[];
  /** Gateways that had to be killed after `timeout`. */
  killed: string[];
  /**
   * Present only when not empty: killed gateways whose end nobody could confirm (also listed in
   * `killed`): the transport gave up after 10 s, the connection was closed on the remote (socket:
   * its server ends it), or its master died first (via: its runtime's watchdog ends it).
   */
  unconfirmed?: string[];
}

/** A gateway still being made: its slot keeps the creation order, its controller stops it. */
interface Pending {
  readonly abort: AbortController;
  /** Settles with the gateway, or undefined when making it failed. */
  done: Promise<Gateway | undefined>;
}

function isProvider(v: unknown): v is TransportProvider {
  return typeof v === 'object' && v !== null && typeof (v as TransportProvider).connect === 'function';
}

/** The spec of a gateway made from a provider given directly: its type alone, whatever the type (`docker` stays `docker`). */
function providerSpec(provider: TransportProvider): XSpec {
  let xspec: XSpec | undefined;
  try {
    xspec = new XSpec(String(provider.type));
  } catch {
    // reported below
  }
  if (xspec?.type !== provider.type) {
    throw new SpecError(
      `makeGateway() was given a transport provider whose type ${JSON.stringify(provider.type)} cannot name a gateway type: ` +
        'give it a plain name that is not a spec option (e.g. "docker")',
    );
  }
  return xspec;
}

/**
 * A set of gateways managed as one: ids, iteration in creation order, remoteExec on all, output
 * of all, and terminate() that leaves no process behind. Gateways made with the top-level
 * makeGateway() belong to `defaultGroup`.
 */
export class Group implements Iterable<Gateway>, AsyncDisposable {
  /** The spec makeGateway() uses when given none (or ''). */
  defaultSpec = 'popen';
  /**
   * Resolves with the group once the gateways given to the constructor are made; rejects with the
   * first failure, after terminating the others. Already resolved for `new Group()`.
   */
  readonly ready: Promise<this>;
  /** Specs that `Group.open(…, { onError: 'skip' })` (or the constructor) could not open, in spec order. */
  readonly failures: GroupFailure[] = [];
  /** Every id in creation order: the gateway once made, a pending slot while it is being made. */
  readonly #entries = new Map<string, Gateway | Pending>();
  #counter = 0;
  readonly #listeners = new Set<OutputListener>();
  readonly #forward: OutputListener = (stream, text, id) => {
    for (const l of this.#listeners) {
      try {
        l(stream, text, id);
      } catch {
        // a listener's failure is its own
      }
    }
  };

  /**
   * An empty group, or one that starts making a gateway per spec at once (at most
   * `options.concurrency` at a time, default 16; ids are given in the order of `specs`): await
   * `group.ready`, or use `await Group.open(specs)`. See GroupOpenOptions for `onError`.
   */
  constructor(specs?: Iterable<GatewaySpec>, options?: GroupOpenOptions) {
    if (specs === undefined) {
      this.ready = Promise.resolve(this);
      return;
    }
    let opened: Promise<string[]>;
    try {
      opened = openEach(
        (s, o) => this.makeGateway(s, o),
        [...specs],
        openOptions(options),
        this.failures,
        (s) => this.allocateId(s),
      );
    } catch (error) {
      opened = Promise.reject(error);
    }
    this.ready = opened.then(
      (ids) => {
        // Started round-robin over hosts; listed in the order of the specs.
        for (const id of ids) {
          const entry = this.#entries.get(id);
          if (entry === undefined) continue;
          this.#entries.delete(id);
          this.#entries.set(id, entry);
        }
        return this;
      },
      async (error: unknown) => {
        await this.terminate({ timeout: 1000 });
        throw error;
      },
    );
    // Whoever awaits `ready` sees the failure; nobody awaiting it is not an unhandled rejection.
    this.ready.catch(() => {});
  }

  /**
   * Creates a group with one gateway per spec, at most `concurrency` (default 16) being opened at
   * once. By default the first failure rejects and the gateways already opened are terminated;
   * with `onError: 'skip'` it resolves with those that opened and `group.failures` lists the rest.
   */
  static open(specs: Iterable<GatewaySpec>, options?: GroupOpenOptions): Promise<Group> {
    return new Group(specs, options).ready;
  }

  /** Number of gateways (made and not closed). */
  get size(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e instanceof Gateway) n++;
    return n;
  }

  #gateways(): Gateway[] {
    const out: Gateway[] = [];
    for (const e of this.#entries.values()) if (e instanceof Gateway) out.push(e);
    return out;
  }

  /** The gateways in creation order (a snapshot: closing one during iteration is fine). */
  [Symbol.iterator](): Iterator<Gateway> {
    return this.#gateways()[Symbol.iterator]();
  }

  /** A gateway by id, or by position in creation order. */
  get(id: string | number): Gateway | undefined {
    if (typeof id === 'number') return this.#gateways()[id];
    const e = this.#entries.get(id);
    return e instanceof Gateway ? e : undefined;
  }

  has(idOrGateway: string | Gateway): boolean {
    if (typeof idOrGateway === 'string') return this.get(idOrGateway) !== undefined;
    return this.#entries.get(idOrGateway.id) === idOrGateway;
  }

  /** Gives the spec an id (`gwN`, not used in this group) unless it has one, and returns it. */
  allocateId(spec: XSpec): string {
    if (spec.id === undefined) {
      let id: string;
      do id = `gw${this.#counter++}`;
      while (this.#entries.has(id));
      spec.id = id;
    }
    return spec.id;
  }

  /** Listens to the remote stdout/stderr of every gateway of the group, present and future. */
  onOutput(listener: OutputListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Makes a gateway and adds it to the group. Its id (`spec.id`, else `gw0`, `gw1`, …) is taken
   * at once, so concurrent calls keep their call order; an id already in use is a GroupError.
   * `via=<id>` starts it through that gateway of the group (waiting for it if it is being made).
   */
  makeGateway(spec?: GatewaySpec, options?: GatewayOptions): Promise<Gateway> {
    if (this === defaultGroup) hookDefaultGroup();
    let provider: TransportProvider | undefined;
    let xspec: XSpec;
    let id: string;
    let master: Gateway | Pending | undefined;
    try {
      if (isProvider(spec)) {
        provider = spec;
        xspec = providerSpec(spec);
      } else if (spec instanceof XSpec) xspec = spec;
      else if (spec === undefined || spec === '') xspec = new XSpec(this.defaultSpec);
      else if (typeof spec === 'string') xspec = new XSpec(spec);
      else throw new SpecError(`makeGateway() takes a spec string, an XSpec or a transport provider, got ${typeof spec}`);
      if (!provider) checkSpecKeys(xspec);
      if (xspec.id !== undefined && this.#entries.has(xspec.id)) {
        throw new GroupError(`gateway id "${xspec.id}" is already in use in this group ${String(this)}: pick another id= or leave it out to get one`);
      }
      // The master must exist (or be in the making) before this one: that also rules out cycles.
      master = this.#viaEntry(xspec);
      id = this.allocateId(xspec);
    } catch (error) {
      return Promise.reject(error);
    }
    const pending: Pending = { abort: new AbortController(), done: Promise.resolve(undefined) };
    this.#entries.set(id, pending);
    const made = this.#create(id, xspec, provider, master, pending, options);
    pending.done = made.then(
      (gw) => gw,
      () => undefined,
    );
    return made;
  }

  async #create(
    id: string,
    xspec: XSpec,
    provider: TransportProvider | undefined,
    via: Gateway | Pending | undefined,
    pending: Pending,
    options?: GatewayOptions,
  ): Promise<Gateway> {
    const signal = options?.signal ? AbortSignal.any([options.signal, pending.abort.signal]) : pending.abort.signal;
    try {
      provider ??= await findTransport(xspec.type, String(xspec));
      const master = via === undefined ? undefined : await this.#awaitMaster(xspec, via);
      signal.throwIfAborted();
      const transport: Transport = await provider.connect({
        spec: xspec,
        gatewayId: id,
        signal,
        ...(options?.connectTimeout !== undefined ? { timeout: options.connectTimeout } : {}),
        ...(master ? { via: master } : {}),
      });
      const gw = new Gateway(id, xspec, transport, options);
      gw._master = master;
      gw.onOutput(this.#forward);
      gw._onExit = () => {
        if (this.#entries.get(id) === gw) this.#entries.delete(id);
      };
      await gw._start({ ...options, signal });
      if (gw.isDownAndReaped) this.#entries.delete(id);
      else this.#entries.set(id, gw);
      return gw;
    } catch (error) {
      if (this.#entries.get(id) === pending) this.#entries.delete(id);
      throw error;
    }
  }

  /** What a `via=` spec names: a gateway of the group, or one being made. */
  #viaEntry(xspec: XSpec): Gateway | Pending | undefined {
    const via = xspec.get('via');
    if (typeof via !== 'string') return undefined;
    const entry = this.#entries.get(via);
    if (!entry) throw this.#noMaster(xspec, via, false);
    return entry;
  }

  async #awaitMaster(xspec: XSpec, entry: Gateway | Pending): Promise<Gateway> {
    const master = entry instanceof Gateway ? entry : await entry.done;
    if (!master || master.isDown) throw this.#noMaster(xspec, String(xspec.get('via')), true);
    return master;
  }

  #noMaster(xspec: XSpec, via: string, failed: boolean): GroupError {
    const ids = this.#gateways().map((g) => g.id);
    return new GroupError(
      `gateway spec ${JSON.stringify(String(xspec))}: via=${via} names no open gateway of this group ` +
        `(${failed ? `${via} could not be made or has closed; ` : ''}${ids.length ? `it has ${ids.join(', ')}` : 'it is empty'})`,
    );
  }

  /** remoteExec on every gateway, in creation order (one `signal` in the options aborts them all). */
  remoteExec<In = unknown, Out = In>(source: string | URL, kwargs?: unknown, options?: RemoteExecOptions): MultiChannel<In, Out>;
  // biome-ignore lint/suspicious/noExplicitAny: as Gateway.remoteExec: nothing to check K against when the channel types alone are given
  remoteExec<RIn = unknown, ROut = RIn, K = any>(source: RemoteFunction<RIn, ROut, K>, ...kwargs: KwargsOf<K>): MultiChannel<ROut, RIn>;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  remoteExec<RIn = unknown, ROut = RIn, K = any>(source: RemoteFunction<RIn, ROut, K>, kwargs: K, options: RemoteExecOptions): MultiChannel<ROut, RIn>;
  remoteExec(source: string | URL | RemoteFunction<never, never, never>, kwargs?: unknown, options?: RemoteExecOptions): MultiChannel<unknown> {
    const channels: Channel<unknown>[] = [];
    for (const gw of this) channels.push(gw.remoteExec(source as never, kwargs, options as never) as Channel<unknown>);
    return new MultiChannel(channels);
  }

  /**
   * `fn(item, index)` for every item, spread over the group's open gateways (one worker per
   * gateway, `concurrency` items in flight on each, default 16; idle workers take the next item),
   * resolving with the results in input order. The first remote error rejects and the rest is
   * cancelled; the items of a gateway that dies are run again on the others. `fn` must be pure,
   * as for call(). See group-map.ts for the exact contract.
   */
  map<T, R>(fn: MapFunction<T, R>, items: Iterable<T> | AsyncIterable<T>, options?: MapOptions): Promise<Awaited<R>[]> {
    return mapAll(this.#gateways(), fn, items, options);
  }

  /**
   * map() as an async iterable over a stream of items: results in input order as they are ready,
   * taking items from `items` only as the consumer keeps up (at most 2 × concurrency × gateways
   * ahead). Breaking out of the loop cancels the rest.
   */
  mapIter<T, R>(fn: MapFunction<T, R>, items: Iterable<T> | AsyncIterable<T>, options?: MapOptions): AsyncIterableIterator<Awaited<R>> {
    return mapIterate(this.#gateways(), fn, items, options);
  }

  /**
   * Asks every gateway to exit, waits up to `timeout` ms (default 5000) in all, kills what is left
   * (the runtime's process group), and resolves when every remote process is gone, or lists the
   * ones whose end no one could confirm in `unconfirmed`. Gateways reached via another are asked
   * before it; the kills all go out at once, so a chain of hops costs one timeout, not one per hop,
   * and a master that does not answer is killed instead of waited for. Gateways still being made
   * are stopped. Never rejects.
   */
  async terminate(options?: { timeout?: number }): Promise<TerminateReport> {
    const timeout = options?.timeout ?? 5000;
    const until = Date.now() + timeout;
    const pendings = [...this.#entries.entries()].filter((e): e is [string, Pending] => !(e[1] instanceof Gateway));
    for (const [pid, p] of pendings) p.abort.abort(new GroupError(`the group was terminated while gateway ${pid} was being made`));
    await Promise.all(pendings.map(([, p]) => p.done));

    const exited: Gateway[] = [];
    let remaining = this.#gateways();
    // Asked politely, dependants first: a master is asked only after every gateway proxied through it ended.
    while (remaining.length > 0) {
      const left = until - Date.now();
      if (left <= 0) break;
      const masters = new Set(remaining.map((gw) => gw._master));
      const round = remaining.filter((gw) => !masters.has(gw));
      const results = await Promise.all(round.map((gw) => gw._exitPolitely(left)));
      round.forEach((gw, i) => {
        if (results[i]) exited.push(gw);
      });
      remaining = remaining.filter((gw) => !exited.includes(gw));
      if (results.some((ok) => !ok)) break; // the deadline passed: kill the rest
    }
    // Everything left is killed at once; each kill() settles within 10 s by itself (Gateway.kill).
    await Promise.all(remaining.map((gw) => gw.kill()));
    const report: TerminateReport = { exited: exited.map((gw) => gw.id), killed: [] };
    const unconfirmed: string[] = [];
    for (const gw of dependantsFirst(remaining)) {
      report.killed.push(gw.id);
      if (gw._endUnconfirmed) unconfirmed.push(gw.id);
    }
    if (unconfirmed.length > 0) report.unconfirmed = unconfirmed;
    return report;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  toString(): string {
    return `<Group [${this.#gateways()
      .map((g) => g.id)
      .join(', ')}]>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** `gateways` ordered so that each comes before the master it was reached through. */
function dependantsFirst(gateways: Gateway[]): Gateway[] {
  const out: Gateway[] = [];
  let left = gateways;
  while (left.length > 0) {
    const masters = new Set(left.map((gw) => gw._master));
    const round = left.filter((gw) => !masters.has(gw));
    out.push(...round);
    left = left.filter((gw) => !round.includes(gw));
  }
  return out;
}

export const defaultGroup: Group = new Group();

let hooked = false;
/**
 * Terminates the default group when the process ends: politely on beforeExit (the event loop is
 * empty), and with SIGKILL on process.exit() or an uncaught error.
 *
 * No SIGINT/SIGTERM listener, on purpose: a listener replaces Node's default action, and one whose
 * main thread is busy never runs, so the process would not die at all. Without one the process
 * ends by the signal (exit 130/143) as it would without tsnet, and its remotes go with it: popen
 * runtimes by the lifeline (which says so on stderr), the others by their watchdog, which sees the
 * connection or the parent go.
 */
function hookDefaultGroup(): void {
  if (hooked || typeof process === 'undefined') return;
  hooked = true;
  process.on('beforeExit', () => {
    if (defaultGroup.size > 0) void defaultGroup.terminate({ timeout: 1000 });
  });
  // process.exit() or an uncaught error: no time for a polite exit, but leave no process behind.
  process.on('exit', () => {
    for (const gw of defaultGroup) gw._killNow();
  });
}

/** Opens a gateway in the default group: `makeGateway()` is `makeGateway('popen')`. */
export function makeGateway(spec?: GatewaySpec, options?: GatewayOptions): Promise<Gateway> {
  return defaultGroup.makeGateway(spec, options);
}
