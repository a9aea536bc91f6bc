/**
 * A spare child of the socket server gets its connection over the IPC channel (handoff.ts's
 * sendWire): `receiveWire` asks for it and passes the socket on, `receivedWire` drives it both ways.
 * A channel that closes before the socket came (the server died) ends the process with code 0.
 */
import { closeSync } from 'node:fs';
import type * as net from 'node:net';
import { builtin, type DirectReadHooks, ExitCode, nextReadBuffer, READ_SIZE } from '@tsnet/core/worker';
import type { BootConfig } from './boot-config.js';
import { socketOut, type WireIn, type WireOut } from './wire-transport.js';

/**
 * The connection a spare child got over IPC, both ways through one new net.Socket on its handle
 * (as directRead does, whose socket cannot write): reads land in place (`onread`, no Readable per
 * read), writes go through the socket. Bytes that arrive before `read()` is called wait in a queue.
 */
export function receivedWire(from: net.Socket): { input: WireIn; output: WireOut } {
  const { Socket } = builtin<typeof net>('node:net');
  const old = from as net.Socket & { _handle?: { readStop(): number; reading?: boolean } | null };
  const handle = old._handle!;
  handle.readStop();
  handle.reading = false; // or the new socket would think it reads already
  old._handle = null;
  let early: Uint8Array[] = [];
  for (let c = old.read() as Buffer | null; c !== null; c = old.read() as Buffer | null) early.push(c);
  let hooks: DirectReadHooks | undefined;
  const own = new Uint8Array(READ_SIZE);
  const sock = new Socket({
    handle: handle as never,
    readable: true,
    writable: true,
    onread: {
      buffer: () => (hooks ? nextReadBuffer(hooks, own) : own),
      callback: (n: number, buf: Uint8Array) => {
        if (!hooks) early.push(own.slice(0, n));
        else if (buf === own) hooks.onChunk(own.subarray(0, n));
        else hooks.landed!(n);
        return true;
      },
    },
  } as net.SocketConstructorOpts);
  sock.on('error', () => {}); // reported through onEnd and the output's onError
  const input: WireIn = {
    read(h, onEnd) {
      hooks = h;
      const queued = early;
      early = [];
      // Delivered on the next tick, as a stream would (the caller may still be setting up).
      if (queued.length > 0)
        process.nextTick(() => {
          for (const c of queued) h.onChunk(c);
        });
      let ended = false;
      const end = (error?: Error): void => {
        if (ended) return;
        ended = true;
        onEnd(error);
      };
      sock.on('end', () => end());
      sock.on('close', () => end());
      sock.on('error', end);
    },
  };
  return { input, output: socketOut(sock, (b) => sock.write(b)) };
}

/**
 * A spare child of the socket server: asks for its connection over the IPC channel and serves it
 * once it came. Its fd `wireFd` (a pipe nobody uses now) is closed first, so that the received
 * socket lands there (a received fd takes the lowest free number): remote code that writes the
 * wire by number (`fs.writeSync(3, …)`) reaches the connection, as on every other path. A channel
 * that closes first (the server died) ends the process, as a lost wire does.
 */
export function receiveWire(config: BootConfig, serve: (config: BootConfig, socket: net.Socket) => void): void {
  const onMessage = (message: unknown, handle: unknown): void => {
    if (message !== 'tsnet-wire' || !handle) return;
    process.off('message', onMessage);
    process.off('disconnect', onGone);
    // The channel was for this socket only: remote code gets no process.send().
    process.disconnect();
    serve({ ...config, wireIpc: false }, handle as net.Socket);
  };
  const onGone = (): void => process.exit(ExitCode.OK);
  try {
    closeSync(config.wireFd);
  } catch {
    // not open: the socket lands on another number (only wire writes by number miss it)
  }
  process.on('message', onMessage);
  process.on('disconnect', onGone);
  if (process.send) process.send('tsnet-wire?', undefined, {}, (error: Error | null) => error && onGone());
  else onGone();
}
