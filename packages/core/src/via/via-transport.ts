import type { Channel } from '../channel/channel.js';
import { abortError, ConnectError, type GatewayCloseInfo, RemoteError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Transport, TransportExit } from '../spec/transport-types.js';
import { raceSignal, withTimeout } from '../util/deadline.js';
import { type RelayArgs, tsnetViaRelay } from './via-relay.js';

/** What a transport provider asks of connectVia(): a command to run on the master's host. */
export interface ViaCommand {
  /** Program; default: the runtime the master runs (its `process.execPath`). */
  command?: string;
  args: string[];
  chdir?: string;
  env?: Record<string, string>;
  nice?: number;
  /** The child's fd that carries frames out; 3 for a runtime started by the tsnet first stage. */
  wireFd: number;
  /** For messages: what is being started ("popen"). */
  what: string;
  signal?: AbortSignal;
}

/** Bytes in flight to the relay above which write() asks the gateway to wait for drain. */
const HIGH_WATER = 1 << 20;
/** How long kill() waits for the master's relay to confirm the end of the process. */
const KILL_CONFIRM_MS = 3000;

/**
 * Starts a process on the host of `master` and returns a Transport to it whose bytes travel over
 * two channels of the master: the relay's exec channel (frames, both ways) and a control channel
 * (spawned/output/exit from the relay, kill from here). Transports call this for `via=` specs; it
 * knows nothing about what runs at the far end beyond the command it is given.
 */
export async function connectVia(master: Gateway, cmd: ViaCommand): Promise<Transport> {
  master._checkOpen();
  // Keep the process alive while connecting; the transport takes this hold over (it starts ref'd).
  master._hold(1);
  let handedOver = false;
  try {
    const ctl = master.newChannel();
    ctl._unheld = true;
    const args: RelayArgs = {
      ctl,
      args: cmd.args,
      env: cmd.env ?? {},
      wireFd: cmd.wireFd,
      ...(cmd.command !== undefined ? { command: cmd.command } : {}),
      ...(cmd.chdir !== undefined ? { chdir: cmd.chdir } : {}),
      ...(cmd.nice ? { nice: cmd.nice } : {}),
    };
    // A fresh channel has the peer's whole window as credit, so the request goes out at once and
    // takes no hold before the flag below is set.
    const data = master.remoteExec(tsnetViaRelay, args) as Channel;
    data._unheld = true;
    const transport = new ViaTransport(master, data, ctl, cmd.what);
    try {
      await transport._spawned(cmd.signal);
    } catch (error) {
      await transport.kill();
      throw error;
    }
    handedOver = true;
    return transport;
  } finally {
    if (!handedOver) master._hold(-1);
  }
}

class ViaTransport implements Transport {
  label: string;
  /** The process id on the master's host (known once connectVia() resolved). */
  pid = 0;
  readonly closed: Promise<TransportExit>;
  readonly #master: Gateway;
  readonly #data: Channel;
  readonly #ctl: Channel;
  readonly #what: string;
  #resolveClosed!: (exit: TransportExit) => void;
  #done = false;
  #onData: ((chunk: Uint8Array) => void) | null = null;
  #early: Uint8Array[] = [];
  #onDrain: (() => void) | null = null;
  #stdout: ((text: string) => void) | null = null;
  #stderr: ((text: string) => void) | null = null;
  #earlyOutput: Array<['stdout' | 'stderr', string]> = [];
  #inflight = 0;
  /** Sends on one channel settle in order: the last one settled means every write left. */
  #lastSend: Promise<void> = Promise.resolve();
  #blocked = false;
  #ended = false;
  #refed = true;
  #spawned: { resolve(): void; reject(e: unknown): void } | null = null;
  #spawnedPromise: Promise<void>;
  #exit: TransportExit | null = null;

  constructor(master: Gateway, data: Channel, ctl: Channel, what: string) {
    this.#master = master;
    this.#data = data;
    this.#ctl = ctl;
    this.#what = what;
    this.label = `${what} via ${master.id}`;
    this.closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
    this.#spawnedPromise = new Promise<void>((resolve, reject) => {
      this.#spawned = { resolve, reject };
    });
    this.#spawnedPromise.catch(() => {});
    const end = {};
    data.setCallback(
      (item: unknown) => {
        if (item === end) return;
        if (this.#done || !(item instanceof Uint8Array)) return;
        if (this.#onData) this.#onData(item);
        else this.#early.push(item);
      },
      { endmarker: end },
    );
    ctl.setCallback(
      (message: unknown) => {
        if (message !== end) this.#onControl(message);
        // The relay closes its control channel with its error when it fails.
        else
          ctl.waitClose().then(
            () => this.#relayEnded(),
            (error: unknown) => this.#relayEnded(error),
          );
      },
      { endmarker: end },
    );
    // The relay's own failure (it could not start the process) closes its exec channel with the error.
    data.waitClose().then(
      () => {},
      (error: unknown) => this.#relayEnded(error),
    );
  }

  /** @internal resolves once the relay started the process. */
  async _spawned(signal?: AbortSignal): Promise<void> {
    return raceSignal(this.#spawnedPromise, signal, (s) => abortError(s, `starting ${this.#what} via ${this.#master.id}`));
  }

  #onControl(message: unknown): void {
    if (!Array.isArray(message)) return;
    const [kind, a, b] = message as [string, unknown, unknown];
    switch (kind) {
      case 'spawned':
        this.pid = Number(a);
        this.label = `${this.#what}:${this.pid} via ${this.#master.id}`;
        this.#spawned?.resolve();
        this.#spawned = null;
        return;
      case 'stdout':
      case 'stderr': {
        const h = kind === 'stdout' ? this.#stdout : this.#stderr;
        if (h) h(String(a));
        else this.#earlyOutput.push([kind, String(a)]);
        return;
      }
      case 'exit':
        this.#exit = {
          code: typeof a === 'number' ? a : null,
          signal: typeof b === 'string' ? b : null,
        };
        this.#finish(this.#exit);
        return;
    }
  }

  /**
   * The relay's exec channel failed (`error`) or its control channel ended (no error). After an
   * 'exit' report there is nothing to do; otherwise the master went down, or the relay failed.
   */
  #relayEnded(error?: unknown): void {
    if (this.#done) return;
    if (this.#master.isDown) {
      this.#spawned?.reject(
        new ConnectError(`${this.#what} via ${this.#master.id}: its master gateway closed while the runtime was starting`, { cause: error }),
      );
      this.#spawned = null;
      // Settle only once the master's own process ended: our runtime was its child.
      void this.#master.closed.then((info: GatewayCloseInfo) =>
        this.#finish({ code: null, signal: null, unconfirmed: true, reason: `its master gateway ${this.#master.id} closed: ${info.reason}` }),
      );
      return;
    }
    if (error === undefined) {
      this.#finish({ code: null, signal: null, reason: `the relay on gateway ${this.#master.id} ended without reporting the exit of the remote process` });
      return;
    }
    const message = error instanceof RemoteError ? error.remoteMessage : error instanceof Error ? error.message : String(error);
    this.#spawned?.reject(new ConnectError(`${this.#what} via ${this.#master.id}: ${message}`, { cause: error }));
    this.#spawned = null;
    this.#finish({ code: null, signal: null, reason: `the relay on gateway ${this.#master.id} failed: ${message}`, error: error as Error });
  }

  #finish(exit: TransportExit): void {
    if (this.#done) return;
    this.#done = true;
    this.#spawned?.reject(new ConnectError(`${this.#what} via ${this.#master.id}: ${exit.reason ?? 'the process ended while starting'}`));
    this.#spawned = null;
    if (this.#refed) {
      this.#refed = false;
      this.#master._hold(-1);
    }
    this.#data.close().catch(() => {});
    this.#ctl.close().catch(() => {});
    this.#resolveClosed(exit);
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.#onData = handler;
    for (const c of this.#early.splice(0)) handler(c);
  }

  onDrain(handler: () => void): void {
    this.#onDrain = handler;
  }

  onStdout(handler: (text: string) => void): void {
    this.#stdout = handler;
    this.#flushEarlyOutput();
  }

  onStderr(handler: (text: string) => void): void {
    this.#stderr = handler;
    this.#flushEarlyOutput();
  }

  #flushEarlyOutput(): void {
    const keep: Array<['stdout' | 'stderr', string]> = [];
    for (const [s, t] of this.#earlyOutput) {
      const h = s === 'stdout' ? this.#stdout : this.#stderr;
      if (h) h(t);
      else keep.push([s, t]);
    }
    this.#earlyOutput = keep;
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done || this.#ended) return true;
    const n = chunk.length;
    this.#inflight += n;
    const settle = () => {
      this.#inflight -= n;
      if (this.#blocked && this.#inflight < HIGH_WATER / 2) {
        this.#blocked = false;
        this.#onDrain?.();
      }
    };
    const sent = this.#data.send(chunk);
    sent.then(settle, settle);
    this.#lastSend = sent;
    if (this.#inflight >= HIGH_WATER) this.#blocked = true;
    return !this.#blocked;
  }

  writev(chunks: Uint8Array[]): boolean {
    let total = 0;
    for (const c of chunks) total += c.length;
    if (chunks.length > 1 && total <= 256 * 1024) {
      // One item instead of many small ones: the relay writes it with one system call.
      const one = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        one.set(c, at);
        at += c.length;
      }
      return this.write(one);
    }
    let ok = true;
    for (const c of chunks) ok = this.write(c);
    return ok;
  }

  /** The master's send resolves once the bytes are in its kernel (or its own memory). */
  flushed(callback: () => void): void {
    this.#lastSend.then(callback, callback);
  }

  end(): void {
    if (this.#ended || this.#done) return;
    this.#ended = true;
    this.#data.send(null).catch(() => {});
  }

  /** Asks the relay to SIGKILL the process group; settles `closed` itself if the relay cannot confirm in time. */
  async kill(): Promise<TransportExit> {
    if (!this.#done) {
      this.#ctl.send('kill').catch(() => {});
      await withTimeout(this.closed, KILL_CONFIRM_MS);
      this.#finish({
        code: null,
        signal: null,
        unconfirmed: true,
        reason: `killed; gateway ${this.#master.id} did not confirm the end of the process within ${KILL_CONFIRM_MS} ms (its runtime watchdog ends it when the master goes)`,
      });
    }
    return this.closed;
  }

  ref(): void {
    if (this.#refed || this.#done) return;
    this.#refed = true;
    this.#master._hold(1);
  }

  unref(): void {
    if (!this.#refed || this.#done) return;
    this.#refed = false;
    this.#master._hold(-1);
  }
}
