import { socket, ws } from './socket-provider.js';

export { socket, ws } from './socket-provider.js';
export { parseSocketSpec, type SocketTarget } from './socket-spec.js';
export { SocketTransport } from './socket-transport.js';
/** Found by @tsnet/core when a spec's type is `socket` or `ws`. */
export const transports = [socket, ws];
