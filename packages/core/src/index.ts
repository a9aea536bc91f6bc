export { type CallbackOptions, Channel, type ReceiveOptions } from './channel.js';
export type { ExecFailure, ExecOptions, ExecResult } from './command-exec.js';
export {
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
export { PROTOCOL_VERSION } from './frame.js';
export {
  Gateway,
  type GatewayOptions,
  type KwargsOf,
  type OutputListener,
  type RemoteFunction,
  type RemoteInfo,
  type RemoteStatus,
} from './gateway.js';
export { defaultGroup, type GatewaySpec, Group, makeGateway, type TerminateReport } from './group.js';
export type { MapFunction, MapOptions } from './group-map.js';
export { MultiChannel } from './multi-channel.js';
export { type ProcessExit, RemoteProcess, type SpawnOptions } from './remote-process.js';
export { dumps, loads } from './serializer.js';
export type { ConnectOptions, Transport, TransportExit, TransportProvider } from './transport.js';
export { registerTransport } from './transports.js';
export { connectTcpVia } from './via-socket.js';
/** For transport packages: start a `via=` gateway's command on its master's host. */
export { connectVia, type ViaCommand } from './via-transport.js';
export { XSpec } from './xspec.js';
