import type { Channel } from '../channel/channel.js';
import { makeFileFor } from '../channel/streams.js';
import { describeError, type GatewayCloseInfo, ProtocolError } from '../errors.js';
import type { ExecRequest } from '../exec/executor.js';
import type { Transport } from '../spec/transport-types.js';
import { ExitCode } from '../wire/exit-code.js';
import { FrameFlag, FrameType, PROTOCOL_VERSION, StatusFlag } from '../wire/frame.js';
import { clampInt, MAX_MAX_MESSAGE, MAX_WINDOW, MIN_FRAME, MIN_WINDOW, maxFrameFor, type WireOptions } from '../wire/limits.js';
import { dumpParts } from '../wire/serializer.js';
import { BaseGateway } from './base-gateway.js';
import { parseMasterHello, versionMismatchHello } from './handshake.js';

/** What the remote platform layer provides to run code. */
export interface WorkerHost {
  /** Runs one request; resolves or rejects when the code finished. */
  execute(channel: Channel, request: ExecRequest): Promise<unknown>;
  /** Facts for remoteInfo(). */
  info(): unknown;
  /** Counters for remoteStatus() that only the platform knows. */
  memory(): unknown;
  uptime(): number;
  globals(): string[];
  /** A reason to refuse the handshake (this is not the runtime the local side asked for), or undefined. */
  refuse?(): string | undefined;
  /** Ends the process (after the wire was flushed). */
  exit(code: number): void;
}

/**
 * The remote end: answers the handshake, runs EXEC requests concurrently, answers STATUS without
 * an exec slot, and exits when the local side asks or goes away.
 */
export class WorkerGateway extends BaseGateway {
  readonly #host: WorkerHost;
  #executing = 0;
  #terminating = false;
  #exitRequested = false;
  #greeted = false;

  constructor(transport: Transport, host: WorkerHost, options?: WireOptions) {
    super('worker', transport, 'worker', options);
    this.#host = host;
    transport.closed.then(() => this.#terminate('the local side went away (end of input)'));
  }

  protected _onControl(type: number, flags: number, channelId: number, payload: Uint8Array): void {
    switch (type) {
      case FrameType.HELLO: {
        if (this.#greeted) throw new ProtocolError('second handshake from the local side');
        this.#greeted = true;
        const hello = parseMasterHello(payload);
        this.id = `${String(hello.id)}-worker`;
        if (hello.version !== PROTOCOL_VERSION) {
          this._writeJson(FrameType.HELLO, 0, 0, versionMismatchHello(hello.version));
          this._flushNow();
          setTimeout(() => this.#host.exit(ExitCode.VERSION), 50);
          return;
        }
        const refusal = this.#host.refuse?.();
        if (refusal !== undefined) {
          this._writeJson(FrameType.HELLO, 0, 0, { version: PROTOCOL_VERSION, error: refusal });
          this._flushNow();
          setTimeout(() => this.#host.exit(ExitCode.WRONG_RUNTIME), 50);
          return;
        }
        // The local side sets the limits for both directions (window and maxFrame are its options).
        this._setWindow(clampInt(hello.window, MIN_WINDOW, MAX_WINDOW, this._window));
        this._maxFrame = Math.min(clampInt(hello.maxFrame, MIN_FRAME, MAX_WINDOW, this._maxFrame), maxFrameFor(this._window));
        this._setMaxPayload(this._maxFrame);
        this._maxMessage = clampInt(hello.maxMessage, 1, MAX_MAX_MESSAGE, this._maxMessage);
        this._peerMaxMessage = this._maxMessage;
        this._writeJson(FrameType.HELLO, 0, 0, {
          version: PROTOCOL_VERSION,
          window: this._window,
          maxFrame: this._maxFrame,
          maxMessage: this._maxMessage,
          globals: this.#host.globals(),
          info: this.#host.info(),
        });
        return;
      }
      case FrameType.EXEC: {
        const ch = this._acceptChannel(channelId);
        void this.#run(ch);
        return;
      }
      case FrameType.STATUS: {
        const ch = this._acceptChannel(channelId);
        const value = flags & StatusFlag.INFO ? this.#host.info() : this.#status();
        void ch.send(value).then(
          () => ch.close(),
          () => {},
        );
        return;
      }
      case FrameType.TERMINATE:
        this.#exitRequested = true;
        this.#terminate('exit() was called on the gateway');
        return;
      default:
        throw new ProtocolError(`unexpected ${BaseGateway._typeName(type)} frame on the remote side (channel ${channelId})`);
    }
  }

  #status(): unknown {
    let queuedIn = 0;
    let queuedOut = this._queuedOut;
    for (const ch of this._channels()) {
      queuedIn += ch._queuedBytes;
      queuedOut += ch._pendingBytes;
    }
    return {
      numChannels: this._numChannels - 1, // not counting the status channel itself
      numExecuting: this.#executing,
      uptime: this.#host.uptime(),
      memory: this.#host.memory(),
      queuedBytesIn: queuedIn,
      queuedBytesOut: queuedOut,
    };
  }

  async #run(ch: Channel): Promise<void> {
    this.#executing++;
    try {
      const request = (await ch.receive()) as ExecRequest;
      await this.#host.execute(ch, request);
      await ch.close();
    } catch (error) {
      await ch.close(error instanceof Error ? error : new Error(String(error))).catch(() => {});
    } finally {
      this.#executing--;
      if (this.#terminating && this.#executing === 0) this.#finish(ExitCode.OK);
    }
  }

  /** Writes the queued frames now, unless the wire is backed up (before the process exits). */
  flush(): void {
    this._flushNow();
  }

  /** True once the local side asked us to exit (TERMINATE), as opposed to vanishing. */
  get exitRequested(): boolean {
    return this.#exitRequested;
  }

  /** Reports an uncaught error to the local side before the process dies of it. */
  reportCrash(error: unknown): void {
    try {
      const parts = dumpParts(describeError(error));
      let total = 0;
      for (const p of parts) total += p.length;
      this._writeFrame(FrameType.CLOSE_ERROR, 0, 0, parts, total);
      this._flushNow();
    } catch {
      // nothing more to do: the process is going down anyway
    }
  }

  /** Sends remote stdout/stderr text as OUTPUT frames (transports without a stderr side stream). */
  writeOutput(stream: 'stdout' | 'stderr', bytes: Uint8Array): void {
    this._writeFrame(FrameType.OUTPUT, stream === 'stderr' ? FrameFlag.STDERR : 0, 0, [bytes], bytes.length);
  }

  #terminate(reason: string): void {
    if (this.#terminating) return;
    this.#terminating = true;
    this._flushNow();
    // Tasks blocked in receive() fail now; a task that keeps computing is killed by the local side.
    this._markDown({ reason } satisfies GatewayCloseInfo);
    if (this.#executing === 0) this.#finish(ExitCode.OK);
  }

  #finish(code: number): void {
    this.#host.exit(code);
  }

  protected _protocolFailure(error: ProtocolError): void {
    try {
      process.stderr.write(`tsnet remote side: ${error.message}\n`);
    } catch {
      // stderr may be gone
    }
    this.#host.exit(ExitCode.PROTOCOL);
  }

  /** @internal */
  _makeFile(channel: Channel, mode: 'r' | 'w', options?: { proxyClose?: boolean }) {
    return makeFileFor(channel, mode, options);
  }
}
