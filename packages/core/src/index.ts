/**
 * `@tsnet/core`: the user's API (gateways, groups, channels, errors, the serializer, specs).
 * Transport packages import from `@tsnet/core/transport`; the bootstrap bundle from `@tsnet/core/worker`.
 */
export { type CallbackOptions, Channel, type ReceiveOptions } from './channel/channel.js';
export { MultiChannel } from './channel/multi-channel.js';
export {
  AbortError,
  AuthenticationError,
  BootstrapError,
  ChannelClosedError,
  ConnectError,
  DumpError,
  type ErrorCode,
  GatewayClosedError,
  type GatewayCloseInfo,
  GroupError,
  HostKeyError,
  isTsnetError,
  LoadError,
  ProtocolError,
  RemoteError,
  SourceError,
  SpecError,
  TimeoutError,
  TsnetError,
} from './errors.js';
export type { ExecFailure, ExecOptions, ExecResult } from './exec/command-exec.js';
export { type ProcessExit, RemoteProcess, type SpawnOptions } from './exec/remote-process.js';
export {
  Gateway,
  type GatewayOptions,
  type KwargsOf,
  type OutputListener,
  type RemoteFunction,
  type RemoteInfo,
  type RemoteStatus,
} from './gateway/gateway.js';
export { defaultGroup, type GatewaySpec, Group, makeGateway, type TerminateReport } from './gateway/group.js';
export type { MapFunction, MapOptions } from './gateway/group-map.js';
export { DEFAULT_OPEN_CONCURRENCY, type GroupFailure, type GroupOpenOptions } from './gateway/group-open.js';
export { registerTransport } from './spec/transport-registry.js';
export type { ConnectOptions, Transport, TransportExit, TransportProvider } from './spec/transport-types.js';
export { XSpec } from './spec/xspec.js';
export { connectTcpVia } from './via/via-socket.js';
export { PROTOCOL_VERSION } from './wire/frame.js';
export { dumps, loads } from './wire/serializer.js';
