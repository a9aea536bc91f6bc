/**
 * The remote side: what the first stage runs after reading the worker part of the bundle from
 * stdin. The standalone CLI (`node tsnet-bootstrap.js serve …`) is the file's other part (cli.ts).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { type Channel, directRead, type ExecRequest, execute, type Transport, type TransportExit, WorkerGateway } from '@tsnet/core/internal';
import type { BootConfig } from './boot-config.js';

declare const __tsnetBoot: BootConfig | undefined;

const started = Date.now();

/** The wire as a Transport: frames in on `input`, out on `output`. */
function streamTransport(
  label: string,
  input: NodeJS.ReadableStream,
  output: net.Socket | NodeJS.WritableStream,
  rawWrite: (b: Uint8Array) => boolean,
  rest: Uint8Array | undefined,
): Transport {
  let resolveClosed!: (e: TransportExit) => void;
  const closed = new Promise<TransportExit>((r) => {
    resolveClosed = r;
  });
  const done = (): void => resolveClosed({ code: null, signal: null });
  const watch = (s: NodeJS.ReadableStream): void => {
    s.on('end', done);
    s.on('close', done);
    s.on('error', done);
  };
  watch(input);
  output.on('error', done);
  const out = output as net.Socket;
  let target: (() => Uint8Array | undefined) | undefined;
  let landed: ((n: number) => void) | undefined;
  return {
    label,
    readInto(t, l) {
      target = t;
      landed = l;
    },
    onData(h: (chunk: Uint8Array) => void) {
      // What the first stage read past the bundle comes first (next tick, as a stream would).
      if (rest && rest.length > 0) process.nextTick(() => h(rest));
      const direct = directRead(input, { onChunk: h, target, landed });
      if (direct) watch(direct);
      else {
        input.on('data', h as (c: Buffer) => void);
        input.resume();
      }
    },
    onDrain(h: () => void) {
      output.on('drain', h);
    },
    write: rawWrite,
    writev(chunks: Uint8Array[]) {
      out.cork();
      let ok = true;
      for (const c of chunks) ok = rawWrite(c);
      process.nextTick(() => out.uncork());
      return ok;
    },
    end() {
      out.end();
    },
    closed,
    async kill() {
      process.exit(137);
    },
  };
}

function serveWorker(config: BootConfig): void {
  let wireOut: net.Socket;
  let rawWrite: (b: Uint8Array) => boolean;
  if (config.wireFd === 1) {
    // Only here: process.stdout is a getter that builds a stream (1-3 ms of every start).
    const stdout = process.stdout;
    // stdout is the wire: keep its real write for frames and point everything else at stderr.
    wireOut = stdout as unknown as net.Socket;
    const write = stdout.write;
    rawWrite = (b) => write.call(stdout, b);
  } else {
    wireOut = new net.Socket({ fd: config.wireFd, readable: false, writable: true });
    rawWrite = (b) => wireOut.write(b);
  }
  const transport = streamTransport('wire', wireIn(config), wireOut, rawWrite, config.rest);
  const execRequire = createRequire(path.join(process.cwd(), '__tsnet_exec__.js'));

  let gateway: WorkerGateway | undefined;
  const exit = (code: number): void => {
    const timer = setTimeout(() => process.exit(code), 2000);
    timer.unref();
    gateway?._flushNow();
    wireOut.write(new Uint8Array(0), () => process.exit(code));
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
      hostname: os.hostname(),
      executable: process.execPath,
      runtime: 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node',
      versions: { ...process.versions },
    }),
    memory: () => process.memoryUsage(),
    uptime: () => (Date.now() - started) / 1000,
    globals: () => Object.getOwnPropertyNames(globalThis),
    exit,
  });

  if (config.wireFd === 1 || config.output === 'frames') redirectOutput(gateway, config.output);

  const crash = (error: unknown): void => {
    try {
      process.stderr.write(`tsnet remote side: uncaught ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    } catch {
      // stderr gone
    }
    gateway?.reportCrash(error);
    exit(70);
  };
  // process.exit() in remote code: what it sent just before is still queued for the next tick.
  process.on('exit', () => gateway?._flushNow());
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  // Input ended without a TERMINATE: the local side is gone (killed, connection lost). An idle
  // gateway exits at once (WorkerGateway); tasks still running can reach no one, so after a short
  // grace they end too, with the process group where we own it.
  transport.closed.then(() => {
    if (gateway?.exitRequested) return;
    setTimeout(() => {
      if (config.killGroup) {
        try {
          process.kill(-process.pid, 'SIGKILL');
        } catch {
          // not a group leader after all
        }
      }
      process.exit(0);
    }, 250).unref();
  });
}

/**
 * The stream the frames come in on. The first stage read fd 0 without a stream (process.stdin costs
 * a fresh Node 4-6 ms): we open it here, and process.stdin becomes an empty stream for remote code,
 * which must never read the wire nor open fd 0 a second time. An older first stage left process.stdin
 * in use: then it is the wire.
 */
function wireIn(config: BootConfig): NodeJS.ReadableStream {
  if (config.rest === undefined) return process.stdin;
  let input: NodeJS.ReadableStream;
  try {
    input = new net.Socket({ fd: 0, readable: true, writable: false });
  } catch {
    return process.stdin; // not a pipe or socket (a file): Node's own stdin handles it
  }
  let empty: Readable | undefined;
  Object.defineProperty(process, 'stdin', {
    configurable: true,
    enumerable: true,
    get: () =>
      (empty ??= new Readable({
        read() {
          this.push(null);
        },
      })),
  });
  return input;
}

/** console.log and process.stdout.write must never reach the wire. */
function redirectOutput(gateway: WorkerGateway, mode: 'fd' | 'frames'): void {
  const toStream = (stream: 'stdout' | 'stderr') =>
    function write(this: unknown, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
      const done = typeof encoding === 'function' ? encoding : cb;
      const bytes =
        typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array);
      if (mode === 'frames') gateway.writeOutput(stream, bytes);
      else fs.writeSync(2, bytes);
      if (typeof done === 'function') process.nextTick(done as () => void);
      return true;
    };
  process.stdout.write = toStream('stdout') as typeof process.stdout.write;
  if (mode === 'frames') process.stderr.write = toStream('stderr') as typeof process.stderr.write;
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
