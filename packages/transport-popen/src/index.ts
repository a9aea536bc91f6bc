import { popen } from './popen-transport.js';

export { Lifeline, LifelineShell } from './lifeline.js';
export { type PopenCommand, PopenTransport, popen, popenCommand } from './popen-transport.js';
/** Found by @tsnet/core when a spec's type is `popen`. */
export const transports = [popen];
