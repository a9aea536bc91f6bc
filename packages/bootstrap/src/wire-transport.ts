/**
 * The remote's wire as a Transport, over what carries it: a RawPipe (no node:net, no node:stream)
 * or a net.Socket behind the same shape (`socketIn`, `socketOut`), and stdin as the frames' way in
 * (`wireIn`, which gives remote code an empty process.stdin instead). Failure behaviour: a write
 * error or the input's end or error resolves `closed` (with no code: the process lives on until
 * the gateway decides); a RawPipe drops writes after its error, a net.Socket after its destroy.
 */
import type * as net from 'node:net';
import type { Readable } from 'node:stream';
import { builtin, type DirectReadHooks, directRead, ExitCode, openRawPipe, type RawPipe, type Transport, type TransportExit } from '@tsnet/core/worker';
import type { BootConfig } from './boot-config.js';
import { runtimeStdin } from './runtime-wire.js';

/** One direction of the wire: a RawPipe (no node:net, no node:stream) or a net.Socket behind the same shape. */
export type WireIn = Pick<RawPipe, 'read'>;
export type WireOut = Pick<RawPipe, 'write' | 'onDrain' | 'onError' | 'flushed' | 'end'> & Partial<Pick<RawPipe, 'idle'>>;

/** The wire as a Transport: frames in on `input`, out on `output`. */
export function wireTransport(input: WireIn, output: WireOut, rest: Uint8Array | undefined): Transport {
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
export function socketIn(input: NodeJS.ReadableStream, direct = true): WireIn {
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

/** A writable stream as a WireOut; `rawWrite` is its write from before any redirection. */
export function socketOut(out: net.Socket, rawWrite: (b: Uint8Array) => boolean): WireOut {
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
    // Nothing in the Writable's buffer (corked chunks included) nor in libuv's write queue.
    idle: () =>
      !out.destroyed && out.writableLength === 0 && ((out as unknown as { _handle?: { writeQueueSize?: number } | null })._handle?.writeQueueSize ?? 0) === 0,
    end() {
      out.end();
    },
  };
}

/**
 * Where the frames come in. The first stage read fd 0 without a stream (process.stdin costs a fresh
 * Node 4-6 ms): we open it here (as a RawPipe, or a net.Socket where that is not possible), and
 * process.stdin becomes an empty stream for remote code, which must never read the wire nor open fd 0
 * a second time. An older first stage left process.stdin in use: then it is the wire.
 */
export function wireIn(config: BootConfig): WireIn {
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
