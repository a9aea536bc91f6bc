/**
 * `@tsnet/core/transport`: what transport packages (`@tsnet/transport-*`) use. The Transport and
 * provider contract, the errors a transport raises, via= plumbing (connectVia, connectTcpVia), the
 * spec and the registry. Every transport takes these names from here and nowhere else.
 */
export {
  AbortError,
  AuthenticationError,
  abortError,
  BootstrapError,
  ConnectError,
  formatStderrTail,
  HostKeyError,
  keepErrorNames,
  ProtocolError,
  SpecError,
  TimeoutError,
} from './errors.js';
export type { Gateway } from './gateway/gateway.js';
export { directRead } from './io/direct-read.js';
export { type RawPipe, rawPipeOf } from './io/raw-pipe.js';
export { registerTransport } from './spec/transport-registry.js';
export type { ConnectOptions, Transport, TransportExit, TransportProvider } from './spec/transport-types.js';
export { XSpec } from './spec/xspec.js';
export { deadline, raceSignal, withTimeout } from './util/deadline.js';
export { killGroup, STDIO_GRACE_MS } from './util/process-group.js';
export { streamFlushed } from './util/stream-flushed.js';
export { type TimeoutSignal, timeoutSignal } from './util/timeout-signal.js';
export { connectTcpVia } from './via/via-socket.js';
export { connectVia, type ViaCommand } from './via/via-transport.js';
export { PROTOCOL_VERSION } from './wire/frame.js';
