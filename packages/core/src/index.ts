export { makeGateway, Group, defaultGroup, type GatewaySpec, type TerminateReport } from './group.js';
export { Gateway, type GatewayOptions, type RemoteInfo, type RemoteStatus, type OutputListener } from './gateway.js';
export { Channel, type ReceiveOptions, type CallbackOptions } from './channel.js';
export { MultiChannel } from './multi-channel.js';
export { XSpec } from './xspec.js';
export { dumps, loads } from './serializer.js';
export {
  TsnetError,
  isTsnetError,
  SpecError,
  SourceError,
  ConnectError,
  AuthenticationError,
  HostKeyError,
  BootstrapError,
  ProtocolError,
  GatewayClosedError,
  GroupError,
  ChannelClosedError,
  RemoteError,
  TimeoutError,
  DumpError,
  LoadError,
  type ErrorCode,
  type GatewayCloseInfo,
} from './errors.js';
export type { Transport, TransportExit, TransportProvider, ConnectOptions } from './transport.js';
export { registerTransport } from './transports.js';
/** For transport packages: start a `via=` gateway's command on its master's host. */
export { connectVia, type ViaCommand } from './via-transport.js';
export { connectTcpVia } from './via-socket.js';
export { PROTOCOL_VERSION } from './frame.js';
