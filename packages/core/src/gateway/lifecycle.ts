import type { GatewayClosedError, GatewayCloseInfo } from '../errors.js';
import type { Transport, TransportExit } from '../spec/transport-types.js';
import { withTimeout } from '../util/deadline.js';
import { trace, tracing } from '../util/trace.js';
import { FrameType } from '../wire/frame.js';
import { closeInfo } from './close-reason.js';
import { dc } from './diagnostics.js';
import type { RemoteOutput } from './remote-output.js';

/** How long kill() waits for the transport to confirm the end of the remote process. */
const KILL_CONFIRM_MS = 10_000;

/** What a Lifecycle drives on its gateway (the Gateway itself). */
export interface LifecycleHost {
  readonly id: string;
  readonly isDown: boolean;
  _hold(delta: number): void;
  _writeFrame(type: number, flags: number, channelId: number, parts: readonly Uint8Array[], total: number): void;
  _flushNow(): void;
  _markDown(info: GatewayCloseInfo, stderr?: string): GatewayClosedError;
  /** Set by Group: called once the remote process is gone. */
  readonly _onExit: (() => void) | undefined;
}

/**
 * The end of a gateway: exit() (TERMINATE, end of input, kill after a timeout), kill() (the
 * transport's kill, bounded by KILL_CONFIRM_MS), the transport's own end, and the close reason
 * that `closed` resolves with (close-reason.ts).
 *
 * Contract: `closed` resolves exactly once, never rejects, and only after the gateway is marked
 * down (every channel failed with the close reason); exit() and kill() are safe to call more
 * than once and settle even when the transport never confirms the end; a transport that reports
 * its end after kill() gave up on it is ignored.
 */
export class Lifecycle {
  /** Resolves (never rejects) once the gateway is down for any reason. */
  readonly closed: Promise<GatewayCloseInfo>;
  #resolveClosed!: (info: GatewayCloseInfo) => void;
  readonly #host: LifecycleHost;
  readonly #transport: Transport;
  readonly #output: RemoteOutput;
  /** Called as the gateway goes down, before `closed` resolves: fails what waits for the handshake. */
  readonly #onDown: (info: GatewayCloseInfo, error: GatewayClosedError) => void;
  #closeInfo: GatewayCloseInfo | null = null;
  #exitPromise: Promise<void> | null = null;
  #killPromise: Promise<void> | null = null;
  /** The local side asked for the end (exit(), kill(), a failed start, a protocol failure). */
  exiting = false;
  /** The remote runtime's crash report, when it sent one. */
  crash: string | null = null;
  #killedOnExit = false;
  #killed = false;
  #askedExit = false;
  #unconfirmed = false;
  #exitTimeout = 0;
  #reaped = false;

  constructor(host: LifecycleHost, transport: Transport, output: RemoteOutput, onDown: (info: GatewayCloseInfo, error: GatewayClosedError) => void) {
    this.#host = host;
    this.#transport = transport;
    this.#output = output;
    this.#onDown = onDown;
    this.closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
    transport.closed.then((exit) => this.#onTransportClosed(exit));
  }

  /** The close reason to give, unless one is set already (a protocol failure). */
  setCloseInfo(info: GatewayCloseInfo): void {
    if (!this.#closeInfo) this.#closeInfo = info;
  }

  /** true once the remote process is gone. */
  get reaped(): boolean {
    return this.#reaped;
  }

  /** The gateway was killed and nobody could confirm that the remote process ended. */
  get unconfirmed(): boolean {
    return this.#unconfirmed;
  }

  /** Was killed() called (as opposed to an exit the remote took by itself)? */
  get killed(): boolean {
    return this.#killed;
  }

  #onTransportClosed(exit: TransportExit): void {
    if (this.#reaped) return; // kill() gave up on a transport that reports its end after all
    if (exit.unconfirmed) this.#unconfirmed = true;
    this.#output.end();
    const info = closeInfo(exit, this.#closeInfo, {
      killedOnExit: this.#killedOnExit,
      killed: this.#killed,
      exitTimeout: this.#exitTimeout,
      exiting: this.exiting,
      crash: this.crash,
    });
    this.#closeInfo = info;
    const error = this.#host._markDown(info, this.exiting && !this.crash ? '' : this.#output.stderr);
    this.#onDown(info, error);
    this.#reaped = true;
    const id = this.#host.id;
    if (tracing.gateway) trace('gateway', id, `close ${info.reason}`);
    if (dc.gatewayClose.hasSubscribers) dc.gatewayClose.publish({ gatewayId: id, ...info });
    this.#host._onExit?.();
    this.#resolveClosed(info);
  }

  /** See Gateway.exit(). */
  exit(options?: { timeout?: number }): Promise<void> {
    if (this.#exitPromise) return this.#exitPromise;
    const timeout = options?.timeout ?? 5000;
    this.#exitTimeout = timeout;
    this.askExit();
    this.#exitPromise = (async () => {
      const timedOut = await withTimeout(
        this.closed.then(() => false),
        timeout,
        () => true,
      );
      if (timedOut) {
        this.#killedOnExit = true;
        await this.kill(); // bounded: settles even if the transport cannot confirm
      }
      await this.closed;
    })();
    return this.#exitPromise;
  }

  /** Asks the remote side to finish (TERMINATE, end of input); the gateway is down from here on. */
  askExit(): void {
    if (this.#askedExit) return;
    this.#askedExit = true;
    const host = this.#host;
    host._hold(1); // released never: an exited gateway has nothing left to keep alive
    if (host.isDown) return;
    this.exiting = true;
    host._writeFrame(FrameType.TERMINATE, 0, 0, [], 0);
    host._flushNow();
    this.#transport.end();
    host._markDown({ reason: 'exit() was called on the gateway' });
  }

  /** Synchronous last resort at process exit: SIGKILL without waiting. */
  killNow(): void {
    if (this.#reaped) return;
    this.exiting = true;
    void this.#transport.kill();
  }

  /** Kills the transport and waits for its end, after a failed start: nothing is left running. */
  async abandon(): Promise<void> {
    this.exiting = true;
    await this.#transport.kill();
    await this.closed;
  }

  /** See Gateway.kill(). */
  kill(): Promise<void> {
    if (this.#killPromise) return this.#killPromise;
    this.exiting = true;
    this.#killed = true;
    // Held for good, as exit() does: an unref'd transport must not let the process end with this
    // await unsettled (exit code 13).
    this.#host._hold(1);
    this.#host._markDown({ reason: 'the gateway was killed (gw.kill())' });
    this.#killPromise = (async () => {
      const confirmed = await withTimeout(
        this.#transport.kill().then(() => true),
        KILL_CONFIRM_MS,
        () => false,
      );
      if (!confirmed && !this.#reaped) {
        this.#onTransportClosed({
          unconfirmed: true,
          code: null,
          signal: null,
          reason: `killed (gw.kill()); the transport (${this.#transport.label}) did not confirm the end of the remote process within ${KILL_CONFIRM_MS} ms`,
        });
      }
      await this.closed;
    })();
    return this.#killPromise;
  }
}
