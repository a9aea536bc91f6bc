/**
 * Pieces for transports and the remote side (the bootstrap bundle imports only this entry, so it
 * carries no local-only code). Not part of the stable public API.
 */
export { WorkerGateway, type WorkerHost, type MasterHello } from './worker-gateway.js';
export { BaseGateway, type WireOptions, DEFAULT_WINDOW, DEFAULT_MAX_FRAME } from './base-gateway.js';
export { execute, type ExecutorScope } from './executor.js';
export type { ExecRequest } from './remote-source.js';
export { FrameDecoder, type FrameSink } from './frame-decoder.js';
export { FrameType, FrameFlag, MAGIC, HEADER_SIZE, PROTOCOL_VERSION, encodeFrame, writeHeader } from './frame.js';
export { dumpParts, concat, MAX_DEPTH } from './serializer.js';
export {
  describeError,
  ConnectError,
  AuthenticationError,
  HostKeyError,
  BootstrapError,
  ProtocolError,
  SpecError,
  type RemoteErrorInfo,
} from './errors.js';
export type { Transport, TransportExit, TransportProvider, ConnectOptions } from './transport.js';
export { Channel } from './channel.js';
