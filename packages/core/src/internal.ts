/**
 * Pieces for transports and the remote side (the bootstrap bundle imports only this entry, so it
 * carries no local-only code). Not part of the stable public API.
 */

export { BaseGateway, DEFAULT_MAX_FRAME, DEFAULT_WINDOW, type WireOptions } from './base-gateway.js';
export { builtin } from './builtin.js';
export { Channel } from './channel.js';
export { type DirectReadHooks, directRead, nextReadBuffer, READ_SIZE } from './direct-read.js';
export {
  AuthenticationError,
  BootstrapError,
  ConnectError,
  describeError,
  HostKeyError,
  ProtocolError,
  type RemoteErrorInfo,
  SpecError,
} from './errors.js';
export { type ExecutorScope, execute } from './executor.js';
export { encodeFrame, FrameFlag, FrameType, HEADER_SIZE, MAGIC, PROTOCOL_VERSION, writeHeader } from './frame.js';
export { FrameDecoder, type FrameSink } from './frame-decoder.js';
export { openRawPipe, type RawPipe, rawPipeOf } from './raw-pipe.js';
export type { ExecRequest } from './remote-source.js';
export { concat, dumpParts, MAX_DEPTH } from './serializer.js';
export type { ConnectOptions, Transport, TransportExit, TransportProvider } from './transport.js';
export { type MasterHello, WorkerGateway, type WorkerHost } from './worker-gateway.js';
