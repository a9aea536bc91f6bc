/**
 * The remote side: what the first stage runs after reading the worker part of the bundle from
 * stdin. The standalone CLI (`node tsnet-bootstrap.js serve …`) is the file's other part (cli.ts).
 * `serveWorker` picks the wire's carrier from the boot config (a pipe of its own, fd 1, stdin, or
 * the socket server's handed-off connection) and serves one WorkerGateway on it until the process
 * exits: on TERMINATE (code 0), an uncaught error (70), or shortly after the wire's input ended.
 */
import { createRequire } from 'node:module';
import type * as net from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { builtin, type Channel, type ExecRequest, ExitCode, execute, killGroup, openRawPipe, WorkerGateway } from '@tsnet/core/worker';
import type { BootConfig } from './boot-config.js';
import { reportWireEnd } from './exit-report.js';
import { readControl } from './handoff-control.js';
import { forwardStdoutPipe, redirectConsole, redirectOutput } from './output-redirect.js';
import { receivedWire, receiveWire } from './received-wire.js';
import { RUNTIME as runtime } from './runtime-name.js';
import { runtimeSink } from './runtime-wire.js';
import { startSpawner } from './spawner.js';
import { startWatchdog } from './watchdog.js';
import { socketIn, socketOut, type WireIn, type WireOut, wireIn, wireTransport } from './wire-transport.js';
import { serveThread, startThread } from './worker-thread.js';

declare const __tsnetBoot: BootConfig | undefined;

const started = Date.now();

function serveWorker(config: BootConfig, received?: net.Socket): void {
  if (config.thread) {
    serveThread(config, started);
    return;
  }
  if (config.wireIpc) {
    receiveWire(config, serveWorker);
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
  // Handed off: the server learns whether the wire ended between two frames (exit-report.ts).
  if (config.handoff !== undefined && config.statusFd !== undefined) wireOut = reportWireEnd(config.statusFd, wireOut);
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

  const watchdog = config.watchPpid ? startWatchdog(config.killGroup === true, config.watchPid) : () => {};
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
  // Before the handshake is answered, so that the socket is there once the local side knows this
  // gateway (node:net is loaded already: the stdout FIFO above reads through it).
  if (config.spawner) startSpawner(config.spawner);
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

// Injected by the first stage: serve. Run as a program (the file's worker part runs first, then
// its server part; see build.mjs): nothing to do here.
if (typeof __tsnetBoot !== 'undefined') serveWorker(__tsnetBoot);
