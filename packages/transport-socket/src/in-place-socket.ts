import * as net from 'node:net';

/** One read takes at most this much (Node's stream reads take 64 KiB). */
const READ_SIZE = 256 * 1024;

/** A plain TCP connection whose reads land in one reused buffer, handed to `start`'s handler. */
export interface InPlaceSocket {
  /** The same connection, written, ended and destroyed as before. */
  socket: net.Socket;
  /** Starts delivering: each chunk is valid only during the call (the next read reuses it). */
  start(onChunk: (chunk: Uint8Array) => void): void;
}

/**
 * Moves the handle of a plain TCP socket to a new net.Socket that reads with `onread` (public
 * API): no Readable machinery per read ('data' events, a buffer allocated per read, a nextTick),
 * as the remote side reads its wire. The new socket is readable and writable (core's directRead
 * makes a read-only one, which would leave the connection without a writer). What the old socket
 * had buffered, and what arrives before `start()`, is copied and delivered first. Undefined where
 * the socket has no stream handle, and on Bun and Deno, whose sockets have other insides (then read
 * it as a stream).
 */
export function inPlaceSocket(from: net.Socket): InPlaceSocket | undefined {
  const v = process.versions as Record<string, string | undefined>;
  if (v.bun !== undefined || v.deno !== undefined) return undefined;
  const old = from as net.Socket & { _handle?: { readStop?(): number; reading?: boolean } | null };
  const handle = old._handle;
  if (!handle || typeof handle.readStop !== 'function' || old.destroyed) return undefined;
  handle.readStop();
  handle.reading = false; // or the new socket would think it reads already
  old._handle = null;
  let early: Uint8Array[] = [];
  for (let c = old.read() as Buffer | null; c !== null; c = old.read() as Buffer | null) early.push(c);
  let handler: ((chunk: Uint8Array) => void) | undefined;
  const own = new Uint8Array(READ_SIZE);
  const socket = new net.Socket({
    handle: handle as never,
    readable: true,
    writable: true,
    onread: {
      buffer: own,
      callback: (n: number) => {
        if (handler) handler(own.subarray(0, n));
        else early.push(own.slice(0, n));
        return true;
      },
    },
  } as net.SocketConstructorOpts);
  socket.setNoDelay(true);
  return {
    socket,
    start(onChunk) {
      const queued = early;
      early = [];
      for (const c of queued) onChunk(c);
      handler = onChunk;
    },
  };
}
