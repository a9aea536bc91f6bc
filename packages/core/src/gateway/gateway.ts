import type { Channel } from '../channel/channel.js';
import { makeFileFor, outputReadable } from '../channel/streams.js';
import { abortError, type GatewayCloseInfo, ProtocolError, type RemoteError, type RemoteErrorInfo } from '../errors.js';
import { type AnyFunction, callFunction, callModule } from '../exec/call.js';
import { type ExecOptions, type ExecResult, execCommand } from '../exec/command-exec.js';
import { RemoteProcess, type SpawnOptions, startProcess } from '../exec/remote-process.js';
import { execRequest } from '../exec/remote-source.js';
import { explainModuleError, explainSourceError } from '../exec/source-hints.js';
import type { Transport } from '../spec/transport-types.js';
import type { XSpec } from '../spec/xspec.js';
import { deadline, withTimeout } from '../util/deadline.js';
import { setTrace, trace, tracing } from '../util/trace.js';
import { FrameFlag, FrameType, PROTOCOL_VERSION, StatusFlag, u32 } from '../wire/frame.js';
import { DEFAULT_MAX_MESSAGE } from '../wire/limits.js';
import { BaseGateway } from './base-gateway.js';
import { diedDuringBootstrap, handshakeTimeout } from './bootstrap-errors.js';
import { dc } from './diagnostics.js';
import { ExecRecords } from './exec-records.js';
import { abortTimeoutOf, bundledRequest } from './exec-request.js';
import { checkedOptions, type GatewayOptions, type KwargsOf, type RemoteExecOptions, type RemoteFunction, type RemoteStatus } from './gateway-options.js';
import { checkWorkerHello, type MasterHello, type RemoteInfo, type WorkerHello } from './handshake.js';
import { KeepAlive } from './keep-alive.js';
import { Lifecycle } from './lifecycle.js';
import { type OutputListener, RemoteOutput } from './remote-output.js';

export type { GatewayOptions, KwargsOf, RemoteExecOptions, RemoteFunction, RemoteStatus } from './gateway-options.js';
export type { OutputListener, RemoteInfo };

setTrace(typeof process !== 'undefined' ? process.env.TSNET_DEBUG : undefined, (line) => process.stderr.write(line));

/**
 * The local end of a connection to one remote runtime. Create it with makeGateway().
 *
 * The host role on top of the multiplexer: the handshake (handshake.ts) and its failures
 * (bootstrap-errors.ts), remote output (remote-output.ts), keeping the process alive while
 * something waits (keep-alive.ts), exit, kill and the close reason (lifecycle.ts), and
 * remote execution: requests (exec-request.ts), the execs in flight (exec-records.ts), the user
 * helpers call/exec/spawn (exec/). Options and result types: gateway-options.ts.
 */
export class Gateway extends BaseGateway {
  readonly spec: XSpec;
  /** Resolves (never rejects) once the gateway is down for any reason. */
  readonly closed: Promise<GatewayCloseInfo>;
  #hello: WorkerHello | null = null;
  #helloWaiter: { resolve(h: WorkerHello): void; reject(e: Error): void } | null = null;
  #globals = new Set<string>();
  #info: RemoteInfo | null = null;
  readonly #output: RemoteOutput;
  readonly #keepAlive: KeepAlive;
  readonly #life: Lifecycle;
  /** @internal set by Group */
  _onExit: (() => void) | undefined;
  /** @internal the gateway this one was reached through (via=). */
  _master: Gateway | undefined;
  readonly #execs: ExecRecords;

  /** Not for users: gateways are made by makeGateway() or a Group. */
  constructor(id: string, spec: XSpec, transport: Transport, options?: GatewayOptions) {
    super(id, transport, 'master', checkedOptions(options, transport));
    this.spec = spec;
    this.#execs = new ExecRecords(id);
    this.#output = new RemoteOutput(id, (options?.output ?? 'inherit') === 'inherit');
    this.#keepAlive = new KeepAlive(transport);
    transport.onStderr?.((text) => this.#output.push('stderr', text));
    transport.onStdout?.((text) => this.#output.push('stdout', text));
    this.#life = new Lifecycle(this, transport, this.#output, (info, error) => {
      this.#helloWaiter?.reject(diedDuringBootstrap(this.id, this.transport, info.reason, this.#output.tailText(), this.stderr, error));
    });
    this.closed = this.#life.closed;
  }

  /** @internal sends our handshake and waits for the remote's. */
  async _start(options?: GatewayOptions): Promise<void> {
    this._writeJson(FrameType.HELLO, 0, 0, {
      version: PROTOCOL_VERSION,
      id: this.id,
      window: this._window,
      maxFrame: this._maxFrame,
      maxMessage: this._maxMessage,
      trace: typeof process !== 'undefined' ? (process.env.TSNET_DEBUG ?? '') : '',
    } satisfies MasterHello);
    const timeout = options?.connectTimeout ?? 30_000;
    try {
      const answered = new Promise<WorkerHello>((resolve, reject) => {
        this.#helloWaiter = { resolve, reject };
      });
      const hello = await deadline(answered, {
        signal: options?.signal,
        toError: (s) => abortError(s, `makeGateway(${JSON.stringify(String(this.spec))})`),
        timeout,
        onTimeout: () => {
          throw handshakeTimeout(this.id, this.transport, timeout, this.#output.tailText(), this.stderr);
        },
      });
      this.#hello = hello;
      this.#keepAlive.started = true;
      this._hold(0);
      this.#info = hello.info;
      this.#globals = new Set(hello.globals);
      this._peerWindow = hello.window;
      this._maxFrame = Math.min(this._maxFrame, hello.maxFrame);
      this._peerMaxMessage = hello.maxMessage ?? DEFAULT_MAX_MESSAGE;
      if (tracing.gateway) trace('gateway', this.id, `open ${this.transport.label} pid=${hello.info?.pid} runtime=${hello.info?.runtime}`);
      if (dc.gatewayOpen.hasSubscribers) dc.gatewayOpen.publish({ gatewayId: this.id, spec: String(this.spec), info: hello.info });
    } catch (error) {
      await this.#life.abandon();
      throw error;
    } finally {
      this.#helloWaiter = null;
    }
  }

  /** @internal see KeepAlive: the process stays alive while something waits on this gateway. */
  override _hold(delta: number): void {
    this.#keepAlive.hold(delta);
  }

  /** Last lines the remote wrote to stderr. */
  get stderr(): string {
    return this.#output.stderr;
  }

  // ---------------------------------------------------------------- control frames

  protected _onControl(type: number, flags: number, channelId: number, payload: Uint8Array): void {
    switch (type) {
      case FrameType.HELLO: {
        const verdict = checkWorkerHello(payload, `gateway ${this.id} (${this.transport.label})`, !this.#hello && this.#helloWaiter !== null);
        if ('hello' in verdict) this.#helloWaiter?.resolve(verdict.hello);
        else {
          this.#helloWaiter?.reject(verdict.refused);
          if (verdict.fatal) this._protocolFailure(verdict.refused as ProtocolError);
        }
        return;
      }
      case FrameType.OUTPUT:
        this.#output.push(flags & FrameFlag.STDERR ? 'stderr' : 'stdout', new TextDecoder().decode(payload));
        return;
      case FrameType.CLOSE_ERROR: {
        // channel 0: the remote runtime is about to die of an uncaught error.
        const info = this._loadErrorInfo(payload);
        // Bounded: a hostile remote may send many of these, each as large as a frame.
        this.#life.crash = `the remote runtime crashed with an uncaught ${info.name.slice(0, 200)}: ${info.message.slice(0, 4000)}`;
        this.#output.addToTail(info.stack.split('\n').slice(0, 12));
        return;
      }
      case FrameType.EXEC:
        throw new ProtocolError(`the remote side sent EXEC for channel ${channelId}: only the local side may execute code remotely`);
      default:
        throw new ProtocolError(`unexpected ${BaseGateway._typeName(type)} frame on the local side`);
    }
  }

  protected _protocolFailure(error: ProtocolError): void {
    this.#helloWaiter?.reject(error);
    this.#life.setCloseInfo({ reason: `protocol error: ${error.message}`, error });
    this.#life.exiting = true;
    void this.transport.kill();
  }

  /** Listens to remote stdout/stderr text (console.log and friends); returns an unsubscribe function. */
  onOutput(listener: OutputListener): () => void {
    return this.#output.listen(listener);
  }

  /**
   * The remote's stdout or stderr as a Readable of text, from now on, ending when the gateway
   * closes; `stream.gatewayId` is this gateway's id. Read it (or destroy it): remote output cannot
   * be paused, so past 8 MiB unread, newer output is dropped with a note.
   */
  outputStream(which: 'stdout' | 'stderr'): import('node:stream').Readable & { readonly gatewayId: string } {
    return outputReadable(this.id, which, (l) => this.onOutput(l), this.closed);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Asks the remote runtime to finish and resolves when its process has ended; after `timeout` ms
   * (default 5000) it is killed. Safe to call more than once. Afterwards every call on the gateway
   * and its channels rejects with GatewayClosedError.
   */
  exit(options?: { timeout?: number }): Promise<void> {
    return this.#life.exit(options);
  }

  /** @internal synchronous last resort at process exit: SIGKILL without waiting. */
  _killNow(): void {
    this.#life.killNow();
  }

  /**
   * @internal asks for the end (as exit()) and tells whether the remote process ended within `ms`;
   * kills nothing: the caller decides (Group.terminate kills what is left all at once).
   */
  _exitPolitely(ms: number): Promise<boolean> {
    this.#life.askExit();
    return withTimeout(
      this.closed.then(() => !this.#life.killed),
      ms,
      () => false,
    );
  }

  /** @internal the gateway was killed and nobody could confirm that the remote process ended. */
  get _endUnconfirmed(): boolean {
    return this.#life.unconfirmed;
  }

  /** @internal true once the remote process is gone. */
  get isDownAndReaped(): boolean {
    return this.#life.reaped;
  }

  /**
   * Forcibly ends the remote runtime (its whole process tree where the transport can). Settles
   * within 10 s (lifecycle.ts) even when the transport cannot confirm the end: `closed` then says so.
   */
  kill(): Promise<void> {
    return this.#life.kill();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.exit();
  }

  // ---------------------------------------------------------------- remote execution

  /**
   * Runs code remotely and returns the channel connected to it. `source` is a string (the body of an
   * async function with `channel`, `kwargs` and `require` in scope), a self-contained function
   * (called as `fn(channel, kwargs)`), or a module `URL` (bundled with its relative imports, and its
   * npm dependencies with `bundle: 'all'`; its default export, if a function, is called as
   * `fn(channel, kwargs)`). See RemoteExecOptions for `signal`, `worker` and `abortTimeout`.
   */
  remoteExec<In = unknown, Out = In>(source: string | URL, kwargs?: unknown, options?: RemoteExecOptions): Channel<In, Out>;
  /**
   * A function's kwargs are checked against its second parameter (required unless it accepts
   * undefined); the channel returned is the local end of the function's: `fn(channel:
   * Channel<Req, Res>)` gives a `Channel<Res, Req>`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: K = any when the channel types are given explicitly and K is not: nothing to check against
  remoteExec<RIn = unknown, ROut = RIn, K = any>(source: RemoteFunction<RIn, ROut, K>, ...kwargs: KwargsOf<K>): Channel<ROut, RIn>;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  remoteExec<RIn = unknown, ROut = RIn, K = any>(source: RemoteFunction<RIn, ROut, K>, kwargs: K, options: RemoteExecOptions): Channel<ROut, RIn>;
  remoteExec(source: string | URL | RemoteFunction<never, never, never>, kwargs?: unknown, options?: RemoteExecOptions): Channel<unknown> {
    this._checkOpen();
    const abortTimeout = abortTimeoutOf(options);
    const execFrame = (ch: Channel<unknown>): void => {
      if (options?.worker) this._writeFrame(FrameType.EXEC, FrameFlag.WORKER, ch.id, [u32(abortTimeout)], 4);
      else this._writeFrame(FrameType.EXEC, 0, ch.id, [], 0);
    };
    let ch: Channel<unknown>;
    if (source instanceof URL) {
      ch = this._execBundled(source, kwargs, { bundle: options?.bundle ?? 'local' }, 'remoteExec()', execFrame, options);
    } else {
      const request = execRequest(source, kwargs, this.#globals);
      const parts = this._dump(request); // DumpError for bad kwargs, before anything is sent
      ch = this.newChannel();
      if (typeof source === 'string') ch._explain = explainSourceError(source);
      this.#execs.start(ch, request.kind, request.filename, options);
      if (!ch.isClosed()) {
        execFrame(ch);
        ch._sendParts(parts).catch(() => {});
      } else this._forget(ch.id); // aborted before it started: nothing was sent
    }
    return ch;
  }

  protected override _channelOpened(ch: Channel): void {
    super._channelOpened(ch);
    if (dc.channelOpen.hasSubscribers) dc.channelOpen.publish({ gatewayId: this.id, channelId: ch.id });
  }

  protected override _channelClosed(ch: Channel): void {
    super._channelClosed(ch);
    if (dc.channelClose.hasSubscribers) dc.channelClose.publish({ gatewayId: this.id, channelId: ch.id, stats: ch.stats() });
    this.#execs.finish(ch);
  }

  /** @internal the stack of a module source's error points at the module's own files. */
  override _remoteError(info: RemoteErrorInfo, channelId: number): RemoteError {
    const map = this.#execs.sourceMap(channelId);
    return super._remoteError(map ? { ...info, stack: map.mapStack(info.stack) } : info, channelId);
  }

  /**
   * @internal runs a module bundled on the host (asynchronously; sends wait for it): remoteExec(url)
   * and call(url, name) (`callExport`).
   */
  _execBundled<T>(
    url: URL,
    kwargs: unknown,
    how: { bundle?: 'local' | 'all'; callExport?: string },
    api = 'remoteExec()',
    execFrame: (ch: Channel<T>) => void = (ch) => this._writeFrame(FrameType.EXEC, 0, ch.id, [], 0),
    options?: RemoteExecOptions,
  ): Channel<T> {
    const ch = this.newChannel<T>();
    const record = this.#execs.start(ch, 'module', url.href, options);
    const ready = (async () => {
      const { request, sourceMap } = await bundledRequest(url, kwargs, how, api);
      if (ch.isClosed()) {
        this._forget(ch.id); // aborted while bundling: nothing runs
        return undefined;
      }
      record.sourceMap = sourceMap;
      if (how.callExport === undefined) ch._explain = (error) => explainModuleError(error, { filename: sourceMap.filename, url });
      const parts = this._dump(request);
      this._checkOpen();
      execFrame(ch);
      return { first: parts };
    })();
    ch._holdUntil(ready);
    return ch;
  }

  /**
   * Runs the pure function `fn(...args)` remotely and resolves with what it returns (awaited), or
   * rejects with its RemoteError. `fn` is checked like remoteExec(fn): it may use the remote's
   * globals and `require`, and import what it needs. `call(new URL('./lib.ts', import.meta.url),
   * 'name', ...args)` calls a function export of a module (bundled like remoteExec(url)).
   */
  call<R = unknown>(module: URL, exportName: string, ...args: unknown[]): Promise<R>;
  call<F extends AnyFunction>(fn: F, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  call(target: AnyFunction | URL, ...args: unknown[]): Promise<unknown> {
    try {
      if (target instanceof URL) return callModule(this, target, args[0], args.slice(1));
      return callFunction(this, target, args);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs a command on the remote host and resolves with `{ stdout, stderr, code, signal }`
   * whatever its exit code. An argv array runs without a shell; a string runs with the remote's
   * `/bin/sh -c`. Options: `cwd`, `env` (added to the remote environment), `input` (stdin, then
   * closed; without it stdin is closed at once), `timeout`, `signal`, `encoding: 'buffer'`.
   */
  exec(command: string | readonly string[], options: ExecOptions & { encoding: 'buffer' }): Promise<ExecResult<Buffer>>;
  exec(command: string | readonly string[], options?: ExecOptions & { encoding?: 'utf8' }): Promise<ExecResult<string>>;
  exec(command: string | readonly string[], options?: ExecOptions): Promise<ExecResult<string | Buffer>> {
    return execCommand(this, command, options);
  }

  /**
   * Starts a command on the remote host (argv array: no shell; string: `/bin/sh -c`) with its
   * stdin, stdout and stderr as Node streams and `exited`, a promise of `{ code, signal, timedOut }`.
   */
  spawn(command: string | readonly string[], options?: SpawnOptions): RemoteProcess {
    return new RemoteProcess(startProcess(this, command, options, 'spawn()'));
  }

  /** @internal the names the remote runtime's global object has (from the handshake). */
  get _remoteGlobals(): ReadonlySet<string> {
    return this.#globals;
  }

  /** Facts about the remote runtime (cached from the handshake; `refresh` asks again). */
  async remoteInfo(options?: { refresh?: boolean }): Promise<RemoteInfo> {
    if (this.#info && !options?.refresh) return this.#info;
    this.#info = (await this.#statusRequest(StatusFlag.INFO)) as RemoteInfo;
    return this.#info;
  }

  /** Counters from the remote side; answered even while remote code is busy in other tasks. */
  async remoteStatus(): Promise<RemoteStatus> {
    return (await this.#statusRequest(0)) as RemoteStatus;
  }

  async #statusRequest(flags: number): Promise<unknown> {
    const ch = this.newChannel();
    this._writeFrame(FrameType.STATUS, flags, ch.id, [], 0);
    return ch.receive();
  }

  /** @internal */
  _makeFile(channel: Channel, mode: 'r' | 'w', options?: { proxyClose?: boolean }) {
    return makeFileFor(channel, mode, options);
  }

  override toString(): string {
    return `<Gateway id=${this.id} ${this.isDown ? 'closed' : 'open'}, ${this._numChannels} channels>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
