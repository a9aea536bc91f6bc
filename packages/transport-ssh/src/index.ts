import { ssh } from './ssh-provider.js';

export { ssh, createSsh, parseTarget, NodeNotFoundError, MIN_NODE, type SshOptions, type SshProvider } from './ssh-provider.js';
export { resolveHostConfig, type HostConfig, type ResolveOptions, type StrictHostKeyChecking } from './host-config.js';
export { type AuthOptions } from './auth.js';
export { type HostKeyPolicy, DEFAULT_KEEPALIVE_S } from './connection.js';
export { fingerprint, knownHostsName, readKnownHosts, checkHostKey, type KnownHostEntry, type HostKeyVerdict } from './known-hosts.js';
export { remoteCommand, shq } from './remote-command.js';
export { SshTransport } from './ssh-transport.js';
export { AuthenticationError, HostKeyError } from '@tsnet/core';
/** Found by @tsnet/core when a spec's type is `ssh`. */
export const transports = [ssh];
