import type * as net from 'node:net';
import { builtin } from './builtin.js';

type PipeHandle = { readStop?(): number; reading?: boolean };
type HandleSocket = net.Socket & { _handle?: PipeHandle | null };

/** What the reader does with bytes. */
export interface DirectReadHooks {
  /** Bytes read into the reader's own buffer: valid only during the call (the next read reuses it). */
  onChunk(chunk: Uint8Array): void;
  /** Where the next read may land instead: the unfilled rest of a large payload, or undefined. */
  target?: (() => Uint8Array | undefined) | undefined;
  /** `n` bytes were read into the last target. */
  landed?: ((n: number) => void) | undefined;
}

/** One read takes at most this much from the pipe (Node's stream reads take 64 KiB). */
export const READ_SIZE = 256 * 1024;

/** Where the next read lands: the target the hooks name, else the reader's own buffer. */
export function nextReadBuffer(hooks: DirectReadHooks, own: Uint8Array): Uint8Array {
  return (hooks.target && hooks.landed && hooks.target()) || own;
}

/**
 * Moves the pipe under the socket `from` to a new socket that reads with `onread`: no Readable
 * machinery per read (buffering, 'data' events, a nextTick), no allocation per read, and reads of
 * up to 256 KiB. A read goes into one reused buffer, or, while a large payload is being assembled,
 * straight into it (no copy at all). What `from` had buffered already is delivered first, on the
 * next tick. Returns undefined where the pipe cannot be taken over; the caller then reads `from` as
 * a stream. `from` keeps no handle: it is neither read nor closed through it again. Node only: on
 * Bun and Deno (whose sockets have other insides) it always returns undefined.
 */
export function directRead(from: NodeJS.ReadableStream, hooks: DirectReadHooks): net.Socket | undefined {
  const v = process.versions as Record<string, string | undefined>;
  if (v.bun !== undefined || v.deno !== undefined) return undefined;
  const { Socket } = builtin<typeof net>('node:net');
  const old = from as HandleSocket;
  const handle = old._handle;
  if (!(old instanceof Socket) || !handle || typeof handle.readStop !== 'function') return undefined;
  handle.readStop();
  handle.reading = false; // or the new socket would think it reads already
  old._handle = null;
  const early: Buffer[] = [];
  for (let c = old.read() as Buffer | null; c !== null; c = old.read() as Buffer | null) early.push(c);
  // Delivered on the next tick, as a stream would (the caller may still be setting up), and before
  // any read of the new socket, which comes from the event loop.
  if (early.length > 0)
    process.nextTick(() => {
      for (const c of early) hooks.onChunk(c);
    });
  const own = new Uint8Array(READ_SIZE);
  return new Socket({
    handle: handle as never,
    readable: true,
    writable: false,
    onread: {
      // Asked once at the start and after every read: where the next read goes.
      buffer: () => nextReadBuffer(hooks, own),
      callback: (n: number, buf: Uint8Array) => {
        if (buf === own) hooks.onChunk(own.subarray(0, n));
        else hooks.landed!(n);
        return true;
      },
    },
  } as net.SocketConstructorOpts);
}
