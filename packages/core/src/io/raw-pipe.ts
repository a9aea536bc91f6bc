import { fstatSync } from 'node:fs';
import { builtin } from './builtin.js';
import { type DirectReadHooks, nextReadBuffer, READ_SIZE } from './direct-read.js';

/**
 * A pipe or socket fd driven through Node's libuv stream handle directly, without `node:net` and
 * `node:stream`. The remote side reads and writes its wire this way: loading those two modules is
 * about 5 ms of CPU at every start of a fresh Node (a third of tsnet's startup cost over a bare
 * `node -e ''`), and a write skips the Writable's queue and callbacks (one system call per flush).
 *
 * The handle comes from `process.binding('pipe_wrap')`, whose shape Node 18 to 24 keep (net.js
 * drives it the same way). `openRawPipe` returns undefined wherever that is not so, or the fd is
 * not a pipe or socket, or `--pending-deprecation` would print a warning for process.binding(), or
 * the runtime is Bun or Deno (Deno's process.binding() has a look-alike `pipe_wrap` with other
 * semantics; Bun has none); the caller then uses a net.Socket or the runtime's own reader.
 *
 * Failure behaviour: a read error or EOF calls `onEnd` once (with the error, or none for EOF) and
 * reading stops. A failed write calls the `onError` handler once; later writes are dropped and
 * return true, and `flushed` callbacks run at once.
 */
export interface RawPipe {
  /** Starts reading: into the pipe's own 256 KiB buffer (`onChunk`), or in place into `target()`. */
  read(hooks: DirectReadHooks, onEnd: (error?: Error) => void): void;
  /** Writes the chunks in one call. False while earlier bytes wait in libuv: wait for `onDrain`. */
  write(chunks: Uint8Array[]): boolean;
  onDrain(handler: () => void): void;
  /** Reports write failures (a read-only pipe never calls it). */
  onError(handler: (error: Error) => void): void;
  /** Calls back once everything written so far has left (or failed). */
  flushed(callback: () => void): void;
  /**
   * True when every byte handed to `write` so far has left (libuv's write queue is empty), so the
   * output ends where a write ended; false while a write is under way (part of it may have left)
   * and after a failed write. Synchronous: usable in a `process.on('exit')` hook.
   */
  idle(): boolean;
  /** Closes the fd once everything written has left: the peer sees EOF. */
  end(): void;
  ref(): void;
  unref(): void;
}

interface PipeHandle {
  /** Bytes libuv still holds for writing (a getter of every stream handle). */
  readonly writeQueueSize?: number;
  open(fd: number): number;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(req: WriteReq, buffer: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: boolean): number;
  close(callback?: () => void): void;
  ref(): void;
  unref(): void;
  onread: ((arrayBuffer?: ArrayBuffer) => void) | null;
}

interface WriteReq {
  handle: PipeHandle;
  oncomplete: (status: number) => void;
  async: boolean;
  /** Kept alive until libuv is done with them. */
  chunks: Uint8Array[] | null;
  bytes: number;
}

interface Bindings {
  Pipe: new (type: number) => PipeHandle;
  socketType: number;
  WriteWrap: new () => WriteReq;
  state: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

/** libuv's UV_EOF, the same on every platform. */
const UV_EOF = -4095;

let cached: Bindings | null | undefined;

function bindings(): Bindings | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  const p = process as unknown as { binding?: (name: string) => Record<string, unknown>; noDeprecation?: boolean };
  const pending = process.execArgv.includes('--pending-deprecation') || /--pending-deprecation/.test(process.env.NODE_OPTIONS ?? '');
  if (typeof p.binding !== 'function' || (pending && !p.noDeprecation) || notNode()) return undefined;
  try {
    const pipe = p.binding('pipe_wrap') as { Pipe?: unknown; constants?: { SOCKET?: unknown } };
    const stream = p.binding('stream_wrap') as Record<string, unknown>;
    const { WriteWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } = stream;
    if (
      typeof pipe.Pipe !== 'function' ||
      typeof pipe.constants?.SOCKET !== 'number' ||
      typeof WriteWrap !== 'function' ||
      !(streamBaseState instanceof Int32Array) ||
      typeof kReadBytesOrError !== 'number' ||
      typeof kLastWriteWasAsync !== 'number'
    )
      return undefined;
    const proto = (pipe.Pipe as { prototype: Record<string, unknown> }).prototype;
    for (const m of ['open', 'readStart', 'readStop', 'useUserBuffer', 'writeBuffer', 'writev', 'close', 'ref', 'unref'])
      if (typeof proto[m] !== 'function') return undefined;
    cached = {
      Pipe: pipe.Pipe as Bindings['Pipe'],
      socketType: pipe.constants.SOCKET,
      WriteWrap: WriteWrap as Bindings['WriteWrap'],
      state: streamBaseState,
      kReadBytesOrError,
      kLastWriteWasAsync,
    };
  } catch {
    // a runtime without these bindings
  }
  return cached ?? undefined;
}

/** Bun and Deno carry a `process.versions.node` too: only these keys tell them apart. */
function notNode(): boolean {
  const v = process.versions as Record<string, string | undefined>;
  return v.bun !== undefined || v.deno !== undefined;
}

function uvError(status: number, syscall: string, what: string): Error {
  let name: string;
  try {
    // loaded here, when an error is named: node:util costs Bun about 14 ms of every start
    name = builtin<typeof import('node:util')>('node:util').getSystemErrorName(status);
  } catch {
    name = `error ${status}`;
  }
  return Object.assign(new Error(`${syscall} of ${what} failed: ${name}`), { code: name, errno: status, syscall });
}

/** See {@link RawPipe}. Undefined where the fd cannot be driven directly. */
export function openRawPipe(fd: number): RawPipe | undefined {
  const b = bindings();
  if (!b) return undefined;
  try {
    const st = fstatSync(fd);
    if (!st.isFIFO() && !st.isSocket()) return undefined;
  } catch {
    return undefined;
  }
  const handle = new b.Pipe(b.socketType);
  if (handle.open(fd) !== 0) {
    handle.close();
    return undefined;
  }
  return drive(b, handle, `fd ${fd}`);
}

/**
 * Writes to the pipe under a net.Socket (a child's stdin) without its Writable: for `write`,
 * `onDrain`, `onError` and `flushed`. The socket keeps its handle, so `socket.end()` still shuts the
 * pipe down after every write (libuv keeps their order) and `socket.destroy()` closes it; do not read
 * or `end()` through the RawPipe. Undefined where the handle cannot be driven directly.
 */
export function rawPipeOf(socket: unknown): RawPipe | undefined {
  const b = bindings();
  const handle = (socket as { _handle?: unknown } | null)?._handle;
  if (!b || !(handle instanceof b.Pipe)) return undefined;
  return drive(b, handle, 'a pipe');
}

function drive(b: Bindings, handle: PipeHandle, what: string): RawPipe {
  const { state, kReadBytesOrError, kLastWriteWasAsync, WriteWrap } = b;
  let pending = 0;
  let broken = false;
  let ending = false;
  let closed = false;
  let drain: (() => void) | undefined;
  let errorHandler: ((e: Error) => void) | undefined;
  let waiters: Array<() => void> = [];

  const settle = (): void => {
    if (pending > 0) return;
    const w = waiters;
    waiters = [];
    for (const cb of w) cb();
    if (ending && !closed) {
      closed = true;
      handle.close();
    }
  };
  const fail = (error: Error): void => {
    if (broken) return;
    broken = true;
    pending = 0;
    errorHandler?.(error);
    settle();
  };
  function oncomplete(this: WriteReq, status: number): void {
    this.chunks = null;
    if (broken) return;
    if (status < 0) {
      fail(uvError(status, 'write', what));
      return;
    }
    pending -= 1;
    if (pending === 0) {
      settle();
      drain?.();
    }
  }

  return {
    read(hooks, onEnd) {
      const own = new Uint8Array(READ_SIZE);
      let into: Uint8Array = own;
      const next = (): void => {
        into = nextReadBuffer(hooks, own);
        handle.useUserBuffer(into);
      };
      handle.onread = () => {
        const n = state[kReadBytesOrError]!;
        if (n > 0) {
          if (into === own) hooks.onChunk(own.subarray(0, n));
          else hooks.landed!(n);
          next();
          return;
        }
        if (n === 0) return;
        handle.readStop();
        onEnd(n === UV_EOF ? undefined : uvError(n, 'read', what));
      };
      next();
      const err = handle.readStart();
      if (err !== 0) process.nextTick(() => onEnd(uvError(err, 'read', what)));
    },
    write(chunks) {
      if (broken || ending) return true;
      const req = new WriteWrap();
      req.handle = handle;
      req.oncomplete = oncomplete;
      req.async = false;
      req.chunks = null;
      const err = chunks.length === 1 ? handle.writeBuffer(req, chunks[0]!) : handle.writev(req, chunks, true);
      if (err !== 0) {
        fail(uvError(err, 'write', what));
        return true;
      }
      if (state[kLastWriteWasAsync] === 0) return pending === 0;
      req.async = true;
      req.chunks = chunks;
      pending += 1;
      return false;
    },
    onDrain(handler) {
      drain = handler;
    },
    onError(handler) {
      errorHandler = handler;
    },
    flushed(callback) {
      if (pending === 0) process.nextTick(callback);
      else waiters.push(callback);
    },
    idle() {
      // A completed write's callback may still be on its way (pending > 0): the queue size knows.
      return !broken && (pending === 0 || handle.writeQueueSize === 0);
    },
    end() {
      if (ending) return;
      ending = true;
      settle();
    },
    ref() {
      handle.ref();
    },
    unref() {
      handle.unref();
    },
  };
}
