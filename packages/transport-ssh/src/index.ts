import { ssh } from './ssh-provider.js';

export { AuthenticationError, HostKeyError } from '@tsnet/core/transport';
export type { AuthOptions } from './auth.js';
export { DEFAULT_KEEPALIVE_S, type HostKeyPolicy } from './connection.js';
export { type HostConfig, type ResolveOptions, resolveHostConfig, type StrictHostKeyChecking } from './host-config.js';
export { checkHostKey, fingerprint, type HostKeyVerdict, type KnownHostEntry, knownHostsName, readKnownHosts } from './known-hosts.js';
export { remoteCommand, shq } from './remote-command.js';
export { createSsh, MIN_NODE, NodeNotFoundError, parseTarget, type SshOptions, type SshProvider, ssh } from './ssh-provider.js';
export { SshTransport } from './ssh-transport.js';
/** Found by @tsnet/core when a spec's type is `ssh`. */
export const transports = [ssh];
