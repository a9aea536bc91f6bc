/**
 * Where remote output goes: console.log and process.stdout.write must never reach the wire
 * (`redirectOutput`: into OUTPUT frames, or to fd 2), native fd 1 writes read back from a FIFO
 * (`forwardStdoutPipe`), and a console for Bun and Deno that goes through the redirected streams.
 * A FIFO that cannot be read is left alone (fd 1 is then stderr, the ssh script's fallback).
 */
import { createReadStream, fstatSync, statSync, writeSync } from 'node:fs';
import type * as net from 'node:net';
import { builtin, type WorkerGateway } from '@tsnet/core/worker';
import { RUNTIME as runtime } from './runtime-name.js';

/**
 * Native writes to fd 1 arrive on `fd` (see BootConfig.stdoutFd) and go out as remote stdout. Bun
 * and Deno read the FIFO through an fs stream on a fresh open of /proc/self/fd/N (net.Socket on a
 * FIFO stops or never reads; Deno's fs knows no fd it did not open; Bun makes fd 1, and so this
 * shared open file, non-blocking); the ssh script makes a FIFO for them only where /proc is. Their
 * pending read keeps nothing alive that matters: the remote ends by process.exit().
 */
export function forwardStdoutPipe(gateway: WorkerGateway, fd: number): void {
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

export function redirectOutput(gateway: WorkerGateway, mode: 'fd' | 'frames'): void {
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
export function redirectConsole(): void {
  const { Console } = builtin<typeof import('node:console')>('node:console');
  // process.stdout/stderr.write were replaced (redirectOutput); a Console calls them through the streams
  globalThis.console = new Console({ stdout: process.stdout, stderr: process.stderr });
}
