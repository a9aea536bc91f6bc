/**
 * Worker-thread execs (`{ worker: true }`): `startThread` runs the bundle's worker part again in a
 * fresh thread, whose copy serves a gateway over its message port (`serveThread`); the process's
 * gateway relays its frames (ThreadExec in core). A thread that cannot start fails its exec only.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ExitCode, execute, type Transport, type TransportExit, WorkerGateway } from '@tsnet/core/worker';
import type { BootConfig } from './boot-config.js';

/**
 * A worker-thread exec's thread: the same bundle, serving a gateway whose wire is the thread's
 * message port to the parent (which relays its frames, see ThreadExec in core). It shares the
 * parent's channel id counter; remote code in it has `require`, its own globals and event loop.
 */
export function serveThread(config: BootConfig, started: number): void {
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
export function startThread(src: Uint8Array | undefined, ids: Int32Array, onBytes: (b: Uint8Array) => void, onExit: (why: unknown) => void) {
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
