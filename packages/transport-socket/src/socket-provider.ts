import * as net from 'node:net';
import { preamble } from '@tsnet/bootstrap';
import { ConnectError, type ConnectOptions, type Transport, type TransportProvider, timeoutSignal } from '@tsnet/core/transport';
import { askExit } from './ask-exit.js';
import { clientHandshake } from './client-handshake.js';
import { inPlaceSocket } from './in-place-socket.js';
import { type OpenStream, openStream } from './open-stream.js';
import { parseSocketSpec, readToken } from './socket-spec.js';
import { SocketTransport } from './socket-transport.js';

/** How long connecting and authenticating may take before makeGateway() gives up, unless connectTimeout says. */
const CONNECT_TIMEOUT_MS = 30_000;

async function connect(options: ConnectOptions): Promise<Transport> {
  const target = parseSocketSpec(options.spec);
  const token = readToken(options.spec, target);
  const bound = options.timeout ?? CONNECT_TIMEOUT_MS;
  const timeout = timeoutSignal(bound, options.signal);
  const { signal } = timeout;
  let opened: OpenStream | undefined;
  let leftover: Buffer;
  let session: string;
  let phase = target.kind === 'ws' ? 'TCP/WebSocket connect' : 'TCP connect';
  const onAbort = (): void => opened?.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    opened = await openStream(target, signal);
    phase = 'tsnet handshake (authentication)';
    ({ leftover, session } = await clientHandshake(opened.stream, target, token));
  } catch (error) {
    opened?.destroy();
    opened?.stream.destroy();
    if (options.signal?.aborted) {
      throw new ConnectError(`${target.label}: aborted by the signal during the ${phase}`, { cause: options.signal.reason });
    }
    if (timeout.timedOut) {
      throw new ConnectError(`${target.label}: connectTimeout (${bound} ms) ran out during the ${phase}; check the address and the server's log`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    timeout.dispose();
  }
  // Plain TCP is read in place (as popen's pipe is); TLS and WebSocket streams as streams.
  const inPlace = target.kind === 'tcp' && !target.tls && opened.stream instanceof net.Socket ? inPlaceSocket(opened.stream) : undefined;
  if (inPlace) {
    const s = inPlace.socket;
    s.on('error', () => {}); // surfaces as 'close' (and in the transport)
    opened = {
      stream: s,
      socket: s,
      destroy: () => {
        if (s.destroyed) return;
        try {
          s.resetAndDestroy(); // a reset: the server sees a kill, not a goodbye
        } catch {
          s.destroy();
        }
      },
    };
  }
  const transport = new SocketTransport({
    label: target.label,
    stream: opened.stream,
    destroy: opened.destroy,
    socket: opened.socket,
    leftover,
    ...(inPlace ? { start: inPlace.start } : {}),
    websocket: target.kind === 'ws',
    askExit: () => askExit(target, token, session),
  });
  // Remote console output comes back as OUTPUT frames: a socket has no stderr stream.
  transport.write(preamble({ wireFd: 3, output: 'frames', killGroup: true, watchPpid: true }));
  return transport;
}

/** `socket=HOST:PORT` gateways: TCP, or TLS with `//tls`. */
export const socket: TransportProvider = { type: 'socket', connect };

/** `ws=ws://HOST:PORT/PATH` and `ws=wss://…` gateways: the same server, through HTTP proxies and load balancers. */
export const ws: TransportProvider = { type: 'ws', connect };
