import { preamble } from '@tsnet/bootstrap';
import { ConnectError, type ConnectOptions, type Transport, type TransportProvider } from '@tsnet/core/transport';
import { clientHandshake } from './client-handshake.js';
import { type OpenStream, openStream } from './open-stream.js';
import { parseSocketSpec, readToken } from './socket-spec.js';
import { SocketTransport } from './socket-transport.js';

/** How long connecting and authenticating may take before makeGateway() gives up. */
const CONNECT_TIMEOUT_MS = 30_000;

async function connect(options: ConnectOptions): Promise<Transport> {
  const target = parseSocketSpec(options.spec);
  const token = readToken(options.spec, target);
  const timeout = AbortSignal.timeout(CONNECT_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let opened: OpenStream | undefined;
  let leftover: Buffer;
  const onAbort = (): void => opened?.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    opened = await openStream(target, signal);
    leftover = await clientHandshake(opened.stream, target, token);
  } catch (error) {
    opened?.destroy();
    opened?.stream.destroy();
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted) {
      throw new ConnectError(`${target.label}: no connection and handshake within ${CONNECT_TIMEOUT_MS / 1000} s; check the address and the server's log`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  const transport = new SocketTransport({
    label: target.label,
    stream: opened.stream,
    destroy: opened.destroy,
    leftover,
    websocket: target.kind === 'ws',
  });
  // Remote console output comes back as OUTPUT frames: a socket has no stderr stream.
  transport.write(preamble({ wireFd: 3, output: 'frames', killGroup: true, watchPpid: true }));
  return transport;
}

/** `socket=HOST:PORT` gateways: TCP, or TLS with `//tls`. */
export const socket: TransportProvider = { type: 'socket', connect };

/** `ws=ws://HOST:PORT/PATH` and `ws=wss://…` gateways: the same server, through HTTP proxies and load balancers. */
export const ws: TransportProvider = { type: 'ws', connect };
