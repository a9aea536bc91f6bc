/**
 * The wire on Bun and Deno. Its input (fd 0): these runtimes have neither Node's libuv pipe handles
 * (`process.binding('pipe_wrap')`, see RawPipe) nor, on Bun, a `net.Socket({ fd: 0 })` that reads
 * a pipe to its end. Each runtime's own binary reader of stdin is used instead, the one the tests
 * prove (test-e2e/runtimes-*.test.ts: the channel contract, the value table and bulk transfers):
 *
 * - Deno: `Deno.stdin.read(buffer)`, which reads into memory we name: the reader's own 256 KiB
 *   buffer, or in place into the rest of a large payload (as RawPipe does on Node).
 * - Bun: `Bun.stdin.stream()` (native, not `process.stdin`, whose binary reads have open hang bugs):
 *   chunks are handed to `onChunk` as they come.
 *
 * End of input calls `onEnd()` once; a read error calls `onEnd(error)` once; reading stops either
 * way. `runtimeStdin` returns undefined on other runtimes (Node has better: RawPipe or net.Socket).
 *
 * Its output on Bun (`runtimeSink`, fd 3 of popen and the socket server's children): a FileSink,
 * `Bun.file(fd).writer()`, which writes the pipe without loading node:net (10-40 ms of a Bun start
 * here). A write that Bun could not complete returns a promise: `write` then returns false and
 * `onDrain` follows once it settled. A failed write calls `onError` once; later writes are dropped.
 * Deno has no such writer for an inherited fd: it keeps net.Socket, as does fd 1 (process.stdout).
 */
import { type DirectReadHooks, nextReadBuffer, type RawPipe, READ_SIZE } from '@tsnet/core/worker';

export interface StdinReader {
  read(hooks: DirectReadHooks, onEnd: (error?: Error) => void): void;
}

interface DenoStdin {
  read(p: Uint8Array): Promise<number | null>;
}
interface BunStdin {
  stream(): ReadableStream<Uint8Array>;
}
interface FileSink {
  write(chunk: Uint8Array): number | Promise<number>;
  flush(): number | Promise<number>;
  end(): number | Promise<number>;
}
interface BunFile {
  writer(options?: { highWaterMark?: number }): FileSink;
}

export function runtimeStdin(): StdinReader | undefined {
  const g = globalThis as { Deno?: { stdin?: DenoStdin }; Bun?: { stdin?: BunStdin } };
  const deno = g.Deno?.stdin;
  if (deno) return denoStdin(deno);
  const bun = g.Bun?.stdin;
  return bun && bunStdin(bun);
}

function denoStdin(stdin: DenoStdin): StdinReader {
  return {
    read(hooks, onEnd) {
      const own = new Uint8Array(READ_SIZE);
      void (async () => {
        for (;;) {
          const into = nextReadBuffer(hooks, own);
          const n = await stdin.read(into);
          if (n === null) return onEnd();
          if (n === 0) continue;
          if (into === own) hooks.onChunk(own.subarray(0, n));
          else hooks.landed!(n);
        }
      })().catch(onEnd); // a runtime's read error is an Error
    },
  };
}

function bunStdin(stdin: BunStdin): StdinReader {
  return {
    read(hooks, onEnd) {
      const reader = stdin.stream().getReader();
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return onEnd();
          hooks.onChunk(value);
        }
      })().catch(onEnd); // a runtime's read error is an Error
    },
  };
}

/** The part of RawPipe the remote side writes its wire with. */
export type WireSink = Pick<RawPipe, 'write' | 'onDrain' | 'onError' | 'flushed' | 'end'>;

/** fd as a FileSink on Bun; undefined elsewhere. */
export function runtimeSink(fd: number): WireSink | undefined {
  const file = (globalThis as { Bun?: { file?: (fd: number) => BunFile } }).Bun?.file;
  if (!file) return undefined;
  // (an unusable fd fails at the first write, as a net.Socket's would)
  const sink = file(fd).writer({ highWaterMark: READ_SIZE });
  let pending: Promise<unknown> | undefined;
  let broken = false;
  let ended = false;
  let drain: (() => void) | undefined;
  let onError: ((e: Error) => void) | undefined;
  let waiters: Array<() => void> = [];
  const fail = (error: unknown): void => {
    // (Bun rejects with Errors)
    if (broken) return;
    broken = true;
    pending = undefined;
    onError?.(error as Error);
    settle();
  };
  const settle = (): void => {
    if (pending) return;
    const w = waiters;
    waiters = [];
    for (const cb of w) cb();
  };
  /** Waits for `p`, the last incomplete write; newer ones replace it. */
  const wait = (p: Promise<unknown>): void => {
    pending = p;
    p.then(() => {
      if (pending !== p) return;
      pending = undefined;
      settle();
      drain?.();
    }, fail);
  };
  return {
    write(chunks) {
      if (broken || ended) return true;
      try {
        let last: number | Promise<number> = 0;
        for (const c of chunks) last = sink.write(c);
        // a write buffers until the high-water mark: flush, so that a small frame leaves at once
        const flushed = last instanceof Promise ? last : sink.flush();
        if (flushed instanceof Promise) {
          wait(flushed);
          return false;
        }
        return pending === undefined;
      } catch (error) {
        fail(error);
        return true;
      }
    },
    onDrain(handler) {
      drain = handler;
    },
    onError(handler) {
      onError = handler;
    },
    flushed(callback) {
      if (pending) waiters.push(callback);
      else process.nextTick(callback);
    },
    end() {
      if (ended) return;
      ended = true;
      // after the last write left; a sink already closed rejects, which is fine
      const close = (): unknown =>
        Promise.resolve()
          .then(() => sink.end())
          .catch(() => {});
      if (pending) waiters.push(close);
      else close();
    },
  };
}
