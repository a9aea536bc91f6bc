import type { Channel } from './channel.js';
import { SpecError, TsnetError } from './errors.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import { MultiChannel } from './multi-channel.js';
import type { Transport, TransportProvider } from './transport.js';
import { findTransport } from './transports.js';
import { XSpec } from './xspec.js';

export type GatewaySpec = string | XSpec | TransportProvider;

export interface TerminateReport {
  /** Gateways whose remote side ended by itself after being asked. */
  exited: string[];
  /** Gateways that had to be killed after `timeout`. */
  killed: string[];
}

function isProvider(v: unknown): v is TransportProvider {
  return typeof v === 'object' && v !== null && typeof (v as TransportProvider).connect === 'function';
}

/**
 * A set of gateways managed as one: ids, iteration in creation order, remoteExec on all,
 * terminate with a bound. Gateways made with the top-level makeGateway() belong to `defaultGroup`.
 */
export class Group implements Iterable<Gateway> {
  defaultSpec = 'popen';
  readonly #gateways = new Map<string, Gateway>();
  #counter = 0;
  readonly #reserved = new Set<string>();

  /** Creates a group with one gateway per spec, made concurrently. */
  static async open(specs: Iterable<GatewaySpec>, options?: GatewayOptions): Promise<Group> {
    const g = new Group();
    try {
      await Promise.all([...specs].map((s) => g.makeGateway(s, options)));
    } catch (error) {
      await g.terminate({ timeout: 1000 });
      throw error;
    }
    return g;
  }

  get size(): number {
    return this.#gateways.size;
  }

  [Symbol.iterator](): Iterator<Gateway> {
    return [...this.#gateways.values()][Symbol.iterator]();
  }

  get(id: string | number): Gateway | undefined {
    if (typeof id === 'number') return [...this.#gateways.values()][id];
    return this.#gateways.get(id);
  }

  has(idOrGateway: string | Gateway): boolean {
    return typeof idOrGateway === 'string' ? this.#gateways.has(idOrGateway) : this.#gateways.get(idOrGateway.id) === idOrGateway;
  }

  /** Gives the spec an id (`gwN`) unless it has one, and returns it. */
  allocateId(spec: XSpec): string {
    if (spec.id === undefined) {
      let id: string;
      do id = `gw${this.#counter++}`;
      while (this.#gateways.has(id) || this.#reserved.has(id));
      spec.id = id;
    }
    return spec.id;
  }

  async makeGateway(spec?: GatewaySpec, options?: GatewayOptions): Promise<Gateway> {
    let provider: TransportProvider | undefined;
    let xspec: XSpec;
    if (isProvider(spec)) {
      provider = spec;
      xspec = new XSpec(spec.type === 'popen' || spec.type === 'ssh' || spec.type === 'socket' || spec.type === 'ws' ? spec.type : 'popen');
    } else if (spec instanceof XSpec) xspec = spec;
    else if (spec === undefined || spec === '') xspec = new XSpec(this.defaultSpec);
    else if (typeof spec === 'string') xspec = new XSpec(spec);
    else throw new SpecError(`makeGateway() takes a spec string, an XSpec or a transport provider, got ${typeof spec}`);
    const id = this.allocateId(xspec);
    if (this.#gateways.has(id) || this.#reserved.has(id)) {
      throw new SpecError(`gateway id "${id}" is already in use in this group: pick another id= or leave it out to get one`);
    }
    this.#reserved.add(id);
    try {
      provider ??= await findTransport(xspec.type, String(xspec));
      const via = xspec.get('via');
      let master: Gateway | undefined;
      if (typeof via === 'string') {
        master = this.#gateways.get(via);
        if (!master) throw new SpecError(`gateway spec ${JSON.stringify(String(xspec))}: via=${via} names no gateway of this group`);
      }
      const transport: Transport = await provider.connect({
        spec: xspec,
        gatewayId: id,
        ...(options?.signal ? { signal: options.signal } : {}),
        ...(master ? { via: master } : {}),
      });
      const gw = new Gateway(id, xspec, transport, options);
      gw._master = master;
      await gw._start(options);
      this.#gateways.set(id, gw);
      gw._onExit = () => {
        if (this.#gateways.get(id) === gw) this.#gateways.delete(id);
      };
      if (gw.isDown) this.#gateways.delete(id);
      return gw;
    } finally {
      this.#reserved.delete(id);
    }
  }

  /** remoteExec on every gateway, in creation order. */
  remoteExec<T = unknown>(source: Parameters<Gateway['remoteExec']>[0], kwargs?: unknown): MultiChannel<T> {
    const channels: Channel<T>[] = [];
    for (const gw of this) channels.push(gw.remoteExec(source as never, kwargs) as Channel<T>);
    return new MultiChannel<T>(channels);
  }

  /**
   * Asks every gateway to exit, waits up to `timeout` ms (default 5000), kills what is left, and
   * resolves when every remote process is gone. Gateways reached via another end before it.
   */
  async terminate(options?: { timeout?: number }): Promise<TerminateReport> {
    const timeout = options?.timeout ?? 5000;
    const report: TerminateReport = { exited: [], killed: [] };
    const all = [...this.#gateways.values()];
    const isMaster = (gw: Gateway) => all.some((o) => o._master === gw && !o.isDownAndReaped);
    // Dependants first: a master ends only after every gateway proxied through it.
    let remaining = all;
    while (remaining.length > 0) {
      const round = remaining.filter((gw) => !isMaster(gw));
      const batch = round.length > 0 ? round : remaining;
      await Promise.all(
        batch.map(async (gw) => {
          const killed = await gw._exitReport(timeout);
          (killed ? report.killed : report.exited).push(gw.id);
        }),
      );
      remaining = remaining.filter((gw) => !batch.includes(gw));
    }
    for (const gw of all) if (this.#gateways.get(gw.id) === gw) this.#gateways.delete(gw.id);
    return report;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  toString(): string {
    return `<Group [${[...this.#gateways.keys()].join(', ')}]>`;
  }
}

export const defaultGroup: Group = new Group();

let hooked = false;
/** Terminates the default group when the process exits normally or on SIGINT/SIGTERM. */
export function hookDefaultGroup(): void {
  if (hooked || typeof process === 'undefined') return;
  hooked = true;
  const onSignal = (signal: NodeJS.Signals) => {
    void defaultGroup.terminate({ timeout: 1000 }).finally(() => {
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
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
  hookDefaultGroup();
  return defaultGroup.makeGateway(spec, options);
}

export { TsnetError };
