import { chroot } from './chroot.js';
import { cmd } from './cmd.js';
import { cmdProvider } from './connect-cmd.js';
import { docker, podman } from './container.js';
import { kubectl } from './kubectl.js';
import { netns } from './netns.js';
import { sudo } from './sudo.js';

export { AuthenticationError, BootstrapError, ConnectError } from '@tsnet/core/transport';
export { CmdTransport } from './cmd-transport.js';
export type { CmdType, Failure, Template } from './cmd-type.js';
export { type CmdProviderOptions, cmdArgv, cmdProvider } from './connect-cmd.js';
export { type RuntimeCommand, runtimeCommand } from './runtime-command.js';
export { shellWords } from './shell-words.js';
export { SUDO_PROMPT } from './sudo.js';

/** The command types, by spec type. */
export const cmdTypes = { sudo, docker, podman, kubectl, chroot, netns, cmd } as const;

/** Found by @tsnet/core when a spec's type is one of these. */
export const transports = Object.values(cmdTypes).map((t) => cmdProvider(t));
