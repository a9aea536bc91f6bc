/**
 * How the socket server starts the child that serves a gateway: a fresh `node -e <first stage>`
 * (or the server's own runtime's equivalent) in its own process group, waiting for the bootstrap
 * on stdin, and what every child is told in its header. A spawn that fails throws (the session
 * logs it); the child's own failures arrive as its exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type * as net from 'node:net';
import type { BootConfig } from './boot-config.js';
import { firstStageArgs } from './runtime-launch.js';
import { RUNTIME } from './runtime-name.js';

/** The runtime the server runs on; its children run on it as well. */
export const SELF = RUNTIME;

/** What every child is told, whatever the client's header said: the server relies on fd 3 and the group. */
export const CHILD_CONFIG: BootConfig = { wireFd: 3, output: 'frames', killGroup: true, watchPpid: true };

/** The exit status pipe (exit-report.ts) of a child spawned with its connection, and of a spare. */
export const STATUS_FD = 4;
export const SPARE_STATUS_FD = 5;

/**
 * `wire`: a net.Socket is dup'ed into the child as its fd 3 (the handoff) and fd 4 is its exit
 * status pipe; 'ipc' (a spare child, Node only) gives it a pipe as fd 3, an IPC channel as fd 4,
 * over which a connection can be handed to it later (handoff.ts's sendWire), and the status pipe
 * as fd 5 (read by the server only after a handoff). Without `wire`: the relay's fd 3 pipe only.
 */
export function spawnChild(env: NodeJS.ProcessEnv, wire?: net.Socket | 'ipc'): ChildProcess {
  const ipc = wire === 'ipc' && SELF === 'node';
  const rest = ipc ? (['ipc', 'pipe'] as const) : wire === undefined || wire === 'ipc' ? [] : (['pipe'] as const);
  return spawn(process.execPath, firstStageArgs(SELF), {
    stdio: ['pipe', 'pipe', 'pipe', wire === undefined || wire === 'ipc' ? 'pipe' : wire, ...rest],
    detached: true,
    env,
    windowsHide: true,
  });
}
