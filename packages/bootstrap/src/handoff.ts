/**
 * Handing an authenticated connection to the child (the server leaves the data path). Only a
 * plain TCP connection on a Node server: TLS and WebSocket bytes need the server's own state to
 * decrypt or unwrap them, and Bun and Deno cannot pass a socket to a child (`stdio` entries that
 * are sockets), so those connections keep the relay.
 */
import type { ChildProcess } from 'node:child_process';
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

/** What a spare child sends when it is ready for its connection, and what the server answers with the socket. */
export const WIRE_ASK = 'tsnet-wire?';
export const WIRE_GIVE = 'tsnet-wire';

/**
 * Hands `socket` to a spare child over its IPC channel (spawned with one: session.ts's spawnChild)
 * once the child asks (a message before its 'message' listener exists would be lost); the child
 * closes the channel once it has the socket. The server keeps its own copy of the socket (keepOpen): it watches the connection
 * and ends it after the child's exit. `onError` is told when the socket cannot be sent.
 */
export function sendWire(child: ChildProcess, socket: net.Socket, onError: (error: Error) => void): void {
  const ask = (message: unknown): void => {
    if (message !== WIRE_ASK) return;
    child.off('message', ask);
    // A socket of a net.Server would be registered as shared with a cluster worker: it is not.
    const s = socket as unknown as { server: unknown };
    const server = s.server;
    s.server = null;
    try {
      child.send(WIRE_GIVE, socket, { keepOpen: true }, (error) => {
        if (error) onError(error);
      });
    } catch (error) {
      onError(error as Error);
    } finally {
      s.server = server;
    }
  };
  child.on('message', ask);
}

/** Once the child is gone: read (and drop) what still comes, so that the client's close is seen at once. */
export function readAgain(socket: net.Socket): void {
  socket.on('data', () => {});
  socket.resume();
  // The stream still believes a read is under way (stopReading cut it short): start the handle itself.
  const handle = (socket as unknown as { _handle: (Handle & { readStart?(): number }) | null })._handle;
  handle?.readStart?.();
}
