/**
 * The remote side: what the first stage runs after reading the worker part of the bundle from
 * stdin. The standalone CLI (`node tsnet-bootstrap.js serve …`) is the file's other part (cli.ts).
 */
import { closeSync, createReadStream, fstatSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as net from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  builtin,
  type Channel,
  type DirectReadHooks,
  directRead,
  type ExecRequest,
  ExitCode,
  execute,
  killGroup,
  nextReadBuffer,
  openRawPipe,
  type RawPipe,
  READ_SIZE,
  type Transport,
  type TransportExit,
  WorkerGateway,
} from '@tsnet/core/worker';
import type { BootConfig } from './boot-config.js';
import { readControl } from './handoff-control.js';
import { runtimeSink, runtimeStdin } from './runtime-wire.js';

declare const __tsnetBoot: BootConfig | undefined;

const started = Date.now();
/** Bun and Deno set a `process.versions.node` too; their globals tell them apart. */
const runtime = 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node';

/** One direction of the wire: a RawPipe (no node:net, no node:stream) or a net.Socket behind the same shape. */
type WireIn = Pick<RawPipe, 'read'>;
type WireOut = Pick<RawPipe, 'write' | 'onDrain' | 'onError' | 'flushed' | 'end'>;

/** The wire as a Transport: frames in on `input`, out on `output`. */
function wireTransport(input: WireIn, output: WireOut, rest: Uint8Array | undefined): Transport {
  let resolveClosed!: (e: TransportExit) => void;
  const closed = new Promise<TransportExit>((r) => {
    resolveClosed = r;
  });
  const done = (): void => resolveClosed({ code: null, signal: null });
  output.onError(done);
  let target: (() => Uint8Array | undefined) | undefined;
  let landed: ((n: number) => void) | undefined;
  return {
    label: 'wire',
    readInto(t, l) {
      target = t;
      landed = l;
    },
    onData(h: (chunk: Uint8Array) => void) {
      // What the first stage read past the bundle comes first (next tick, as a stream would).
      if (rest && rest.length > 0) process.nextTick(() => h(rest));
      input.read({ onChunk: h, target, landed }, done);
    },
    onDrain(h: () => void) {
      output.onDrain(h);
    },
    write: (chunk) => output.write([chunk]),
    writev: (chunks) => output.write(chunks),
    flushed: (cb) => output.flushed(cb),
    end() {
      output.end();
    },
    closed,
    async kill() {
      process.exit(ExitCode.KILLED);
    },
  };
}

/**
 * A readable net.Socket (or process.stdin) as a WireIn. `direct`: read through the socket's handle
 * (directRead, which takes the handle away from `input`); false for a socket that is written too.
 */
function socketIn(input: NodeJS.ReadableStream, direct = true): WireIn {
  return {
    read(hooks: DirectReadHooks, onEnd: (error?: Error) => void) {
      let ended = false;
      const end = (error?: Error): void => {
        if (ended) return;
        ended = true;
        onEnd(error);
      };
      const watch = (s: NodeJS.ReadableStream): void => {
        s.on('end', () => end());
        s.on('close', () => end());
        s.on('error', end);
      };
      const moved = direct ? directRead(input, hooks) : undefined;
      if (moved) watch(moved);
      else {
        watch(input);
        input.on('data', hooks.onChunk as (c: Buffer) => void);
        input.resume();
      }
    },
  };
}

/**
 * The connection a spare child got over IPC, both ways through one new net.Socket on its handle
 * (as directRead does, whose socket cannot write): reads land in place (`onread`, no Readable per
 * read), writes go through the socket. Bytes that arrive before `read()` is called wait in a queue.
 */
function receivedWire(from: net.Socket): { input: WireIn; output: WireOut } {
  const { Socket } = builtin<typeof net>('node:net');
  const old = from as net.Socket & { _handle?: { readStop(): number; reading?: boolean } | null };
  const handle = old._handle!;
  handle.readStop();
  handle.reading = false; // or the new socket would think it reads already
  old._handle = null;
  let early: Uint8Array[] = [];
  for (let c = old.read() as Buffer | null; c !== null; c = old.read() as Buffer | null) early.push(c);
  let hooks: DirectReadHooks | undefined;
  const own = new Uint8Array(READ_SIZE);
  const sock = new Socket({
    handle: handle as never,
    readable: true,
    writable: true,
    onread: {
      buffer: () => (hooks ? nextReadBuffer(hooks, own) : own),
      callback: (n: number, buf: Uint8Array) => {
        if (!hooks) early.push(own.slice(0, n));
        else if (buf === own) hooks.onChunk(own.subarray(0, n));
        else hooks.landed!(n);
        return true;
      },
    },
  } as net.SocketConstructorOpts);
  sock.on('error', () => {}); // reported through onEnd and the output's onError
  const input: WireIn = {
    read(h, onEnd) {
      hooks = h;
      const queued = early;
      early = [];
      // Delivered on the next tick, as a stream would (the caller may still be setting up).
      if (queued.length > 0)
        process.nextTick(() => {
          for (const c of queued) h.onChunk(c);
        });
      let ended = false;
      const end = (error?: Error): void => {
        if (ended) return;
        ended = true;
        onEnd(error);
      };
      sock.on('end', () => end());
      sock.on('close', () => end());
      sock.on('error', end);
    },
  };
  return { input, output: socketOut(sock, (b) => sock.write(b)) };
}

/** A writable stream as a WireOut; `rawWrite` is its write from before any redirection. */
function socketOut(out: net.Socket, rawWrite: (b: Uint8Array) => boolean): WireOut {
  return {
    write(chunks) {
      if (chunks.length === 1) return rawWrite(chunks[0]!);
      out.cork();
      let ok = true;
      for (const c of chunks) ok = rawWrite(c);
      process.nextTick(() => out.uncork());
      return ok;
    },
    onDrain(h) {
      out.on('drain', h);
    },
    onError(h) {
      out.on('error', h);
    },
    flushed(cb) {
      out.write(new Uint8Array(0), () => cb());
    },
    end() {
      out.end();
    },
  };
}

/**
 * A worker-thread exec's thread: the same bundle, serving a gateway whose wire is the thread's
 * message port to the parent (which relays its frames, see ThreadExec in core). It shares the
 * parent's channel id counter; remote code in it has `require`, its own globals and event loop.
 */
function serveThread(config: BootConfig): void {
  const port = (require('node:worker_threads') as typeof import('node:worker_threads')).parentPort!;
  const closed = new Promise<TransportExit>(() => {});
  const transport: Transport = {
    label: 'thread',
    onData: (h) => port.on('message', h),
    onDrain() {},
    write(c) {
      port.postMessage(c.slice());
      return true;
    },
    writev(cs) {
      for (const c of cs) port.postMessage(c.slice());
      return true;
    },
    end() {},
    closed,
    async kill() {
      process.exit(ExitCode.KILLED);
    },
  };
  const execRequire = createRequire(join(process.cwd(), '__tsnet_exec__.js'));
  const gateway = new WorkerGateway(transport, {
    execute: (channel, request) => execute(channel, request, { require: execRequire, cwd: process.cwd() }),
    info: () => ({}),
    memory: () => process.memoryUsage(),
    uptime: () => (Date.now() - started) / 1000,
    globals: () => [],
    exit: (code) => process.exit(code),
  });
  gateway.serveThread(config.ids!);
  // process.exit() in the thread: what it sent just before is still queued for the next tick.
  process.on('exit', () => gateway.flush());
}

/** Starts a worker-thread exec's thread (see serveThread). */
function startThread(src: Uint8Array | undefined, ids: Int32Array, onBytes: (b: Uint8Array) => void, onExit: (why: unknown) => void) {
  if (!src) throw new Error('the bootstrap that started this remote is too old to start worker threads');
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const code = `(function(require,__tsnetBoot){${Buffer.from(src).toString('latin1')}\n})(require,require('node:worker_threads').workerData)`;
  const w = new Worker(code, { eval: true, workerData: { thread: true, ids, wireFd: -1, output: 'fd' } });
  let gone = false;
  const exit = (why: unknown): void => {
    if (!gone) onExit(why);
    gone = true;
  };
  w.on('message', (m: Uint8Array) => onBytes(m));
  w.on('error', exit);
  w.on('exit', exit);
  return {
    post: (b: Uint8Array) => w.postMessage(b, [b.buffer as ArrayBuffer]),
    terminate() {
      gone = true;
      void w.terminate();
    },
  };
}

/**
 * A spare child of the socket server: asks for its connection over the IPC channel and serves it
 * once it came. Its fd `wireFd` (a pipe nobody uses now) is closed first, so that the received
 * socket lands there (a received fd takes the lowest free number): remote code that writes the
 * wire by number (`fs.writeSync(3, …)`) reaches the connection, as on every other path. A channel
 * that closes first (the server died) ends the process, as a lost wire does.
 */
function receiveWire(config: BootConfig): void {
  const onMessage = (message: unknown, handle: unknown): void => {
    if (message !== 'tsnet-wire' || !handle) return;
    process.off('message', onMessage);
    process.off('disconnect', onGone);
    // The channel was for this socket only: remote code gets no process.send().
    process.disconnect();
    serveWorker({ ...config, wireIpc: false }, handle as net.Socket);
  };
  const onGone = (): void => process.exit(ExitCode.OK);
  try {
    closeSync(config.wireFd);
  } catch {
    // not open: the socket lands on another number (only wire writes by number miss it)
  }
  process.on('message', onMessage);
  process.on('disconnect', onGone);
  if (process.send) process.send('tsnet-wire?', undefined, {}, (error: Error | null) => error && onGone());
  else onGone();
}

function serveWorker(config: BootConfig, received?: net.Socket): void {
  if (config.thread) {
    serveThread(config);
    return;
  }
  if (config.wireIpc) {
    receiveWire(config);
    return;
  }
  let wireOut: WireOut;
  let handoffIn: WireIn | undefined;
  if (received) {
    ({ input: handoffIn, output: wireOut } = receivedWire(received));
  } else if (config.handoff !== undefined) {
    // The client's own connection, both ways (the socket server handed it over after authentication).
    const raw = openRawPipe(config.wireFd);
    if (raw) wireOut = handoffIn = raw;
    else {
      const { Socket } = builtin<typeof net>('node:net');
      const sock = new Socket({ fd: config.wireFd, readable: true, writable: true });
      wireOut = socketOut(sock, (b) => sock.write(b));
      handoffIn = socketIn(sock);
    }
  } else if (config.wireFd === 1) {
    // Only here: process.stdout is a getter that builds a stream (1-3 ms of every start).
    const stdout = process.stdout as unknown as net.Socket;
    // stdout is the wire: keep its real write for frames (redirectOutput points everything else elsewhere).
    const write = stdout.write;
    wireOut = socketOut(stdout, (b) => write.call(stdout, b));
  } else {
    const raw = openRawPipe(config.wireFd) ?? runtimeSink(config.wireFd);
    if (raw) wireOut = raw;
    else {
      const { Socket } = builtin<typeof net>('node:net');
      const out = new Socket({ fd: config.wireFd, readable: false, writable: true });
      wireOut = socketOut(out, (b) => out.write(b));
    }
  }
  const transport =
    config.handoff !== undefined && handoffIn
      ? wireTransport(handoffIn, wireOut, Buffer.from(config.handoff, 'base64'))
      : wireTransport(wireIn(config), wireOut, config.rest);
  // The first stage's require belongs to node -e's module, which resolves from the working
  // directory as remote code should; creating one costs about 0.4 ms of every start.
  const execRequire = typeof require === 'function' && require.main === undefined ? require : createRequire(join(process.cwd(), '__tsnet_exec__.js'));

  let gateway: WorkerGateway | undefined;
  const exit = (code: number): void => {
    const timer = setTimeout(() => process.exit(code), 2000);
    timer.unref();
    gateway?.flush();
    wireOut.flushed(() => process.exit(code));
  };

  const watchdog = config.watchPpid ? startWatchdog(config.killGroup === true) : () => {};
  gateway = new WorkerGateway(transport, {
    execute: (channel: Channel, request: ExecRequest) => {
      // Remote code may block this thread for good: the watchdog thread must exist before it runs.
      watchdog();
      return execute(channel, request, { require: execRequire, cwd: process.cwd(), ...(config.construct ? { construct: config.construct } : {}) });
    },
    info: () => ({
      pid: process.pid,
      ppid: process.ppid,
      cwd: process.cwd(),
      platform: process.platform,
      arch: process.arch,
      hostname: hostname(),
      executable: process.execPath,
      runtime,
      versions: { ...process.versions },
    }),
    refuse: () =>
      config.runtime === undefined || config.runtime === runtime
        ? undefined
        : `runtime=${config.runtime} was asked for, but ${JSON.stringify(process.execPath)} is ${runtime} ` +
          `${(process.versions as Record<string, string | undefined>)[runtime] ?? process.version}: point exe= at a ${config.runtime} executable`,
    memory: () => process.memoryUsage(),
    uptime: () => (Date.now() - started) / 1000,
    globals: () => Object.getOwnPropertyNames(globalThis),
    exit,
    startThread: (ids, onBytes, onExit) => {
      watchdog();
      return startThread(config.src, ids, onBytes, onExit);
    },
  });

  if (config.handoff !== undefined) readControl(gateway, wireIn(config), config.rest);
  if (config.wireFd === 1 || config.output === 'frames') redirectOutput(gateway, config.output);
  if (config.stdoutFd !== undefined) forwardStdoutPipe(gateway, config.stdoutFd);
  // Bun's and Deno's console writes fd 1 natively, past process.stdout.write: where output goes into
  // frames (ssh, the socket server's children) or fd 1 is the wire, it must use the redirected streams.
  if ((config.wireFd === 1 || config.output === 'frames') && runtime !== 'node') redirectConsole();

  const crash = (error: unknown): void => {
    try {
      process.stderr.write(`tsnet remote side: uncaught ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    } catch {
      // stderr gone
    }
    gateway?.reportCrash(error);
    exit(ExitCode.CRASH);
  };
  // process.exit() in remote code: what it sent just before is still queued for the next tick.
  process.on('exit', () => gateway?.flush());
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  // Input ended without a TERMINATE: the local side is gone (killed, connection lost). An idle
  // gateway exits at once (WorkerGateway); tasks still running can reach no one, so after a short
  // grace they end too, with the process group where we own it.
  transport.closed.then(() => {
    if (gateway?.exitRequested) return;
    setTimeout(() => {
      // (not a group leader after all: killGroup does nothing)
      if (config.killGroup) killGroup(process.pid);
      process.exit(ExitCode.OK);
    }, 250).unref();
  });
}

/**
 * Where the frames come in. The first stage read fd 0 without a stream (process.stdin costs a fresh
 * Node 4-6 ms): we open it here (as a RawPipe, or a net.Socket where that is not possible), and
 * process.stdin becomes an empty stream for remote code, which must never read the wire nor open fd 0
 * a second time. An older first stage left process.stdin in use: then it is the wire.
 */
function wireIn(config: BootConfig): WireIn {
  if (config.rest === undefined) return socketIn(process.stdin);
  let input: WireIn | undefined = openRawPipe(0) ?? runtimeStdin();
  if (!input) {
    try {
      const { Socket } = builtin<typeof net>('node:net');
      input = socketIn(new Socket({ fd: 0, readable: true, writable: false }));
    } catch {
      return socketIn(process.stdin); // not a pipe or socket (a file): Node's own stdin handles it
    }
  }
  let empty: Readable | undefined;
  Object.defineProperty(process, 'stdin', {
    configurable: true,
    enumerable: true,
    get: () =>
      (empty ??= new (builtin<typeof import('node:stream')>('node:stream').Readable)({
        read() {
          this.push(null);
        },
      })),
  });
  return input;
}

/** console.log and process.stdout.write must never reach the wire. */
/**
 * Native writes to fd 1 arrive on `fd` (see BootConfig.stdoutFd) and go out as remote stdout. Bun
 * and Deno read the FIFO through an fs stream on a fresh open of /proc/self/fd/N (net.Socket on a
 * FIFO stops or never reads; Deno's fs knows no fd it did not open; Bun makes fd 1, and so this
 * shared open file, non-blocking); the ssh script makes a FIFO for them only where /proc is. Their
 * pending read keeps nothing alive that matters: the remote ends by process.exit().
 */
function forwardStdoutPipe(gateway: WorkerGateway, fd: number): void {
  try {
    const forward = (chunk: Buffer | string): void => gateway.writeOutput('stdout', chunk as Buffer);
    const path = `/proc/self/fd/${fd}`;
    if (!(runtime === 'node' ? fstatSync(fd) : statSync(path)).isFIFO()) return;
    const pipe = runtime === 'node' ? new (builtin<typeof net>('node:net').Socket)({ fd, readable: true, writable: false }) : createReadStream(path);
    pipe.on('data', forward);
    pipe.on('error', () => {});
    // Output that may come is no reason to stay alive.
    if ('unref' in pipe) pipe.unref();
  } catch {
    // no such fd: fd 1 is stderr (the script's fallback)
  }
}

function redirectOutput(gateway: WorkerGateway, mode: 'fd' | 'frames'): void {
  const toStream = (stream: 'stdout' | 'stderr') =>
    function write(this: unknown, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
      const done = typeof encoding === 'function' ? encoding : cb;
      const bytes =
        typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array);
      if (mode === 'frames') gateway.writeOutput(stream, bytes);
      else writeSync(2, bytes);
      if (typeof done === 'function') process.nextTick(done as () => void);
      return true;
    };
  process.stdout.write = toStream('stdout') as typeof process.stdout.write;
  if (mode === 'frames') process.stderr.write = toStream('stderr') as typeof process.stderr.write;
}

/** A console whose output goes through process.stdout/stderr.write (as Node's does), for Bun and Deno. */
function redirectConsole(): void {
  const { Console } = builtin<typeof import('node:console')>('node:console');
  // process.stdout/stderr.write were replaced (redirectOutput); a Console calls them through the streams
  globalThis.console = new Console({ stdout: process.stdout, stderr: process.stderr });
}

/**
 * When the local process dies without closing our stdin (SIGKILL while we are busy), a thread of
 * our own notices the parent change and ends us (and our process group for popen). It starts
 * 150 ms after boot, off the handshake's path, or before the first remote code runs, whichever
 * comes first; the returned function starts it now.
 */
function startWatchdog(killGroup: boolean): () => void {
  const ppid = process.ppid;
  let started = false;
  const begin = (): void => {
    if (started) return;
    started = true;
    clearTimeout(timer);
    try {
      // Loaded here, not at the top: worker_threads costs startup time and the watchdog starts later.
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      const w = new Worker(
        `const {workerData:d}=require('worker_threads');setInterval(()=>{if(process.ppid!==d.ppid){try{if(d.group)process.kill(-d.pid,'SIGKILL')}catch{}process.kill(d.pid,'SIGKILL')}},200)`,
        { eval: true, workerData: { ppid, pid: process.pid, group: killGroup }, stdout: false, stderr: false },
      );
      w.on('error', () => {}); // a runtime whose workers lack something: stdin EOF still ends us
      w.unref();
    } catch {
      // no worker threads on this runtime: stdin EOF still ends us
    }
  };
  const timer = setTimeout(begin, 150);
  timer.unref();
  return begin;
}

// Injected by the first stage: serve. Run as a program (the file's worker part runs first, then
// its server part; see build.mjs): nothing to do here.
if (typeof __tsnetBoot !== 'undefined') serveWorker(__tsnetBoot);
