/**
 * @tsnet/transport-ssh: gateways over SSH (`ssh=[user@]host[:port]`). The errors it raises
 * (`HostKeyError`, `AuthenticationError`, `ConnectError`) are exported by `@tsnet/core`.
 */
import { ssh } from './ssh-provider.js';

export type { AuthOptions } from './auth.js';
export type { HostKeyPolicy } from './host-key-verifier.js';
export { fingerprint } from './known-hosts.js';
export { createSsh, NodeNotFoundError, type SshOptions, type SshProvider, ssh } from './ssh-provider.js';
/** Found by @tsnet/core when a spec's type is `ssh`. */
export const transports = [ssh];
