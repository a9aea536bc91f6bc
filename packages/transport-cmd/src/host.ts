/**
 * Where a command transport runs its tool: this machine, or the host of another gateway (`via=`).
 * `start()` starts the tool with the runtime command, wire on its stdout; `run()` runs a short
 * command to its end (the kill helper). Both are bounded: `run()` kills its command after
 * `timeoutMs`; a via host whose gateway went down rejects.
 *
 * A tool that is not installed rejects `start()` with a `MissingTool` error (code ENOENT), which the
 * caller turns into a message naming the `-bin=` key to use.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { Gateway, Transport } from '@tsnet/core/transport';
import { connectVia } from '@tsnet/core/transport';
import { Lifeline } from '@tsnet/transport-popen';
import { DeathLifeline, LIFELINE_SCRIPT, lifelineWords } from './death-lifeline.js';
import { ProcessTransport } from './process-transport.js';

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface Host {
  /** For messages: "this machine (name)" or "the host of gateway gw0". */
  readonly where: string;
  start(argv: string[], what: string, signal?: AbortSignal): Promise<Transport>;
  run(argv: string[], options: { input?: string; timeoutMs: number }): Promise<RunResult>;
  /**
   * Runs `argv` on this host when the local side dies without a word (see DeathLifeline; on a via
   * host, when the master's runtime loses us), unless released first. Undefined where it cannot.
   */
  guard(argv: string[]): Guard | undefined;
}

export interface Guard {
  /** Settles once the command is registered where it runs (via=: a round trip to the master). */
  armed?: Promise<unknown>;
  release(): void;
}

/** How long a via= guard may take to say it is armed (it is a round trip to the master). */
const KILL_ARM_MS = 5000;

/** The tool itself could not be started: not installed, or not at that path. */
export class MissingTool extends Error {
  readonly code = 'ENOENT';
  readonly tool: string;
  constructor(tool: string, message: string) {
    super(message);
    this.tool = tool;
  }
}

export const localHost: Host = {
  where: `this machine (${hostname()})`,
  async start(argv, what) {
    const [command, ...args] = argv as [string, ...string[]];
    // Its own process group, no controlling terminal: sudo's use_pty and docker never see a TTY.
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
    // From here on our death takes the tool's process group with it (see Lifeline).
    const lifeline = child.pid === undefined ? undefined : Lifeline.shared();
    if (lifeline && child.pid !== undefined) void lifeline.guard(child.pid);
    await new Promise<void>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(error.code === 'ENOENT' ? new MissingTool(command, error.message) : error);
      });
      child.once('spawn', () => resolve());
    });
    const pid = child.pid!;
    return new ProcessTransport(child, what, lifeline ? () => lifeline.release(pid) : undefined);
  },
  run(argv, options) {
    const [command, ...args] = argv as [string, ...string[]];
    return new Promise<RunResult>((resolve) => {
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (t: string) => {
        stdout += t;
      });
      child.stderr!.setEncoding('utf8').on('data', (t: string) => {
        stderr += t;
      });
      child.stdin!.on('error', () => {});
      child.stdin!.end(options.input ?? '');
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, options.timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        resolve({ code: null, signal: null, stdout, stderr: `${stderr}${error.message}\n` });
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  },
  guard(argv) {
    const lifeline = DeathLifeline.shared();
    const id = lifeline?.register(argv);
    return id === undefined ? undefined : { release: () => lifeline!.release(id) };
  },
};

/** Runs on the master's host (shipped with remoteExec): the same as localHost.run there. */
const RUN_SOURCE = `
const cp = require('node:child_process');
const [command, ...args] = kwargs.argv;
const result = await new Promise((resolve) => {
  const child = cp.spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t) => { stdout += t; });
  child.stderr.setEncoding('utf8').on('data', (t) => { stderr += t; });
  child.stdin.on('error', () => {});
  child.stdin.end(kwargs.input);
  const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, kwargs.timeoutMs);
  child.once('error', (e) => { clearTimeout(timer); resolve({ code: null, signal: null, stdout, stderr: stderr + e.message + '\\n' }); });
  child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
});
await channel.send(result);
`;

/**
 * Runs on the master's host (shipped with remoteExec) for as long as the guarded runtime lives. The
 * master's runtime may die before it could run anything (its watchdog SIGKILLs it, group and all,
 * once sshd let go of it, racing its own end-of-input handling on a loaded machine), so the kill
 * command is registered on a lifeline shell there (one per master runtime, started detached: the
 * same script as DeathLifeline), whose end of input is the master's death however it comes; then
 * 'armed' is sent. When the channel ends without a 'release' first (the master's runtime lost the
 * local side, or was told to exit) the command also starts at once, in a process group of its own.
 */
const GUARD_SOURCE = `
const cp = require('node:child_process');
const key = Symbol.for('tsnet.cmd.lifeline');
let life = globalThis[key];
if ((!life || life.dead) && kwargs.words !== undefined && require('node:fs').existsSync('/bin/sh')) {
  life = undefined;
  try {
    const sh = cp.spawn('/bin/sh', ['-c', kwargs.script, 'tsnet-cmd-lifeline'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    const l = { sh, dead: false, next: 1 };
    const dead = () => { l.dead = true; };
    sh.stdin.on('error', dead);
    sh.once('error', dead);
    sh.once('exit', dead);
    sh.unref();
    sh.stdin.unref?.();
    globalThis[key] = life = l;
  } catch {}
}
const write = (line) => { if (life && !life.dead && !life.sh.stdin.destroyed) life.sh.stdin.write(line); };
const id = life && !life.dead && kwargs.words !== undefined ? life.next++ : undefined;
if (id !== undefined) write('+' + id + ' ' + kwargs.words + '\\n');
let released = false;
const end = {};
const ended = new Promise((resolve) => {
  channel.setCallback((item) => {
    if (item === 'release') released = true;
    else if (item === end) resolve();
  }, { endmarker: end });
});
channel.send(id !== undefined ? 'armed' : 'unarmed').catch(() => {});
await ended;
if (id !== undefined) write('-' + id + '\\n');
if (!released) {
  try {
    const [command, ...args] = kwargs.argv;
    cp.spawn(command, args, { stdio: 'ignore', detached: true }).unref();
  } catch {}
}
`;

/** The host of gateway \`master\`: the tool is started by the master's runtime (see connectVia). */
export function viaHost(master: Gateway): Host {
  return {
    where: `the host of gateway ${master.id}`,
    async start(argv, what, signal) {
      const [command, ...args] = argv as [string, ...string[]];
      try {
        return await connectVia(master, { what, command, args, env: {}, wireFd: 1, ...(signal ? { signal } : {}) });
      } catch (error) {
        const cause = (error as { cause?: { remoteCode?: unknown; remoteMessage?: unknown } }).cause;
        if (cause?.remoteCode === 'ENOENT') throw new MissingTool(command, String(cause.remoteMessage));
        throw error;
      }
    },
    async run(argv, options) {
      const channel = master.remoteExec(RUN_SOURCE, { argv, input: options.input ?? '', timeoutMs: options.timeoutMs });
      try {
        return (await channel.receive({ timeout: options.timeoutMs + 2000 })) as RunResult;
      } finally {
        await channel.close().catch(() => {});
      }
    },
    guard(argv) {
      if (master.isDown) return undefined;
      const words = lifelineWords(argv);
      const channel = master.remoteExec(GUARD_SOURCE, { argv, script: LIFELINE_SCRIPT, ...(words === undefined ? {} : { words }) });
      return {
        armed: channel.receive({ timeout: KILL_ARM_MS }),
        release: () => {
          channel
            .send('release')
            .then(() => channel.close())
            .catch(() => {});
        },
      };
    },
  };
}
