/**
 * Handing an authenticated connection to the child (the server leaves the data path). Only a
 * plain TCP connection on a Node server: TLS and WebSocket bytes need the server's own state to
 * decrypt or unwrap them, and Bun and Deno cannot pass a socket to a child (`stdio` entries that
 * are sockets), so those connections keep the relay.
 */
import * as net from 'node:net';

type Handle = { readStop?(): number; reading?: boolean };

/** `kind` is the connection's: 'tcp', 'tls', 'ws' or 'wss'. */
export function canHandOff(stream: unknown, kind: string, runtime: string): stream is net.Socket {
  if (runtime !== 'node' || kind !== 'tcp' || !(stream instanceof net.Socket)) return false;
  const handle = (stream as { _handle?: Handle | null })._handle;
  return !!handle && typeof handle.readStop === 'function';
}

/**
 * Stops this process reading `socket` for good (what the kernel still holds is left for the child)
 * and returns what it had read but not yet delivered. `handle.reading` stays true on purpose: a
 * net.Socket restarts reading (`_read`) only when it believes the handle is not reading.
 */
export function stopReading(socket: net.Socket): Buffer[] {
  const handle = (socket as unknown as { _handle: Handle })._handle;
  handle.readStop?.();
  socket.pause();
  const buffered: Buffer[] = [];
  let chunk: Buffer | null;
  while ((chunk = socket.read() as Buffer | null) !== null) buffered.push(chunk);
  return buffered;
}

/** After spawn() with the socket as a stdio entry, which marks its handle not reading: keep a later read() from restarting it. */
export function keepStopped(socket: net.Socket): void {
  const handle = (socket as unknown as { _handle: Handle | null })._handle;
  if (handle) handle.reading = true;
}
