import { popen } from './popen-transport.js';

export { popen, popenCommand, PopenTransport, type PopenCommand } from './popen-transport.js';
/** Found by @tsnet/core when a spec's type is `popen`. */
export const transports = [popen];
