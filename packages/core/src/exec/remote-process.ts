/**
 * gw.spawn(): a command run on the remote host, with its stdin, stdout and stderr as streams.
 *
 * - `command` is an argv array (run as is, no shell: `['ls', '-l', dir]`) or a string, run by the
 *   remote's `/bin/sh -c` (pipes, globs and `$VAR` work; quoting is yours).
 * - Each stream is a channel of its own, so each has its own flow control: a stdout nobody reads
 *   stops the remote command once 4 MiB (the window) wait, as a full pipe would, and does not
 *   hold back stderr. Bytes are carried as they are (binary-safe).
 * - `exited` resolves with `{ code, signal, timedOut }` once the command ended and all its output
 *   was sent; it rejects with a RemoteError when the command could not be started (no such file,
 *   bad cwd: the message names the command and the cause), and with GatewayClosedError when the
 *   gateway goes down (the remote command is then killed with its runtime's process group).
 * - Ending `stdin` closes the command's stdin. Destroying `stdout`/`stderr` closes that pipe of the
 *   command (it gets EPIPE/SIGPIPE on its next write), as a reader going away would.
 * - `kill(signal)` signals the remote command. `timeout` (ms) kills it remotely with `killSignal`
 *   (default SIGTERM), then SIGKILL 2 s later; `exited` then says `timedOut: true`.
 */
import type { Readable, Writable } from 'node:stream';
import type { Channel } from '../channel/channel.js';
import { TsnetError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';

export interface SpawnOptions {
  /** Remote working directory (default: the remote runtime's). */
  cwd?: string;
  /** Variables added to the remote runtime's environment; `undefined` removes one. */
  env?: Record<string, string | undefined>;
  /** Milliseconds after which the command is killed (remotely, with `killSignal`). */
  timeout?: number;
  /** Default SIGTERM. */
  killSignal?: string;
  /** Aborting kills the command with `killSignal`. */
  signal?: AbortSignal;
}

export interface ProcessExit {
  /** The exit code, or null when a signal ended the command. */
  code: number | null;
  /** The signal that ended it (`'SIGTERM'`), or null. */
  signal: string | null;
  /** True when `timeout` expired and the command was killed. */
  timedOut: boolean;
}

/** What the remote side of a spawn is given. */
interface SpawnKwargs {
  file: string;
  args: string[];
  display: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeout?: number;
  killSignal: string;
  stdin: Channel<unknown>;
  stdout: Channel<unknown>;
  stderr: Channel<unknown>;
}

/**
 * The remote side (shipped with remoteExec, so it uses only its own scope and the remote's
 * globals). The control channel carries `{ pid }` first and `{ code, signal, timedOut }` last;
 * the local side may send `['kill', signal]` on it.
 */
async function remoteSpawn(channel: Channel<unknown>, kw: SpawnKwargs): Promise<void> {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  let env: Record<string, string | undefined> | undefined;
  if (kw.env) {
    env = { ...process.env };
    for (const [k, v] of Object.entries(kw.env)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
  }
  const closeAll = (): void => {
    for (const ch of [kw.stdin, kw.stdout, kw.stderr]) void ch.close().catch(() => {});
  };
  let child: import('node:child_process').ChildProcessWithoutNullStreams;
  try {
    child = spawn(kw.file, kw.args, { cwd: kw.cwd, env: env ?? process.env, stdio: 'pipe', windowsHide: true });
  } catch (error) {
    closeAll();
    throw Object.assign(new Error(`cannot run ${kw.display}: ${(error as Error).message}`), { code: (error as { code?: unknown }).code });
  }
  const failed = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', resolve);
  });
  if (failed) {
    closeAll();
    const where = kw.cwd === undefined ? '' : ` in ${kw.cwd}`;
    const code = (failed as { code?: unknown }).code;
    const hint =
      code === 'ENOENT'
        ? kw.cwd === undefined
          ? ` (no ${kw.file} on the remote PATH)`
          : ` (no ${kw.file} on the remote PATH, or no directory ${kw.cwd})`
        : code === 'EACCES'
          ? ` (${kw.file} is not executable there)`
          : '';
    throw Object.assign(new Error(`cannot run ${kw.display}${where} on ${require('node:os').hostname()}: ${failed.message}${hint}`), {
      code: (failed as { code?: unknown }).code,
    });
  }
  child.on('error', () => {}); // a kill() after exit, say: the exit status says what happened
  child.stdin.on('error', () => {}); // EPIPE: the command stopped reading; that is its business
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once('close', (code, signal) => resolve([code, signal])));
  await channel.send({ pid: child.pid });

  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (kw.timeout !== undefined) {
    timer = setTimeout(() => {
      timedOut = true;
      child.kill(kw.killSignal as NodeJS.Signals);
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    }, kw.timeout);
  }
  void (async () => {
    for await (const message of channel) {
      const [what, signal] = message as [string, string];
      if (what === 'kill') child.kill(signal as NodeJS.Signals);
    }
  })().catch(() => {});
  void (async () => {
    try {
      for await (const chunk of kw.stdin) {
        if (!child.stdin.write(chunk as Uint8Array | string)) {
          await new Promise<void>((resolve) => {
            child.stdin.once('drain', resolve);
            child.stdin.once('close', resolve);
          });
        }
      }
    } catch {
      // the local side went away: end the command's stdin as well
    }
    child.stdin.end();
  })();
  const pump = async (stream: import('node:stream').Readable, ch: Channel<unknown>): Promise<void> => {
    try {
      for await (const chunk of stream) await ch.send(chunk);
      await ch.close();
    } catch {
      stream.destroy(); // nobody reads this stream locally any more: close the pipe
    }
  };
  const pumps = Promise.all([pump(child.stdout, kw.stdout), pump(child.stderr, kw.stderr)]);
  const [code, signal] = await exited;
  if (timer !== undefined) clearTimeout(timer);
  await pumps;
  void kw.stdin.close().catch(() => {});
  await channel.send({ code, signal, timedOut });
}

/** The channels of one remote command. */
export interface ProcessChannels {
  control: Channel<unknown>;
  stdin: Channel<unknown>;
  stdout: Channel<unknown>;
  stderr: Channel<unknown>;
  /** `{ pid }`, once started; rejects like `exit`. */
  started: Promise<number>;
  /** The final status; RemoteError when it could not start, GatewayClosedError when the gateway went down. */
  exit: Promise<ProcessExit>;
  display: string;
}

/** Checks `command` and starts it remotely; `api` names the caller in messages. */
export function startProcess(gateway: Gateway, command: string | readonly string[], options: SpawnOptions | undefined, api: string): ProcessChannels {
  let file: string;
  let args: string[];
  let display: string;
  if (typeof command === 'string') {
    if (command.length === 0) throw new TsnetError(`${api}: the command is an empty string`);
    file = '/bin/sh';
    args = ['-c', command];
    display = `/bin/sh -c ${JSON.stringify(command)}`;
  } else if (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string')) {
    file = command[0] as string;
    args = command.slice(1) as string[];
    display = JSON.stringify(command);
  } else {
    throw new TsnetError(
      `${api}: the command must be an argv array of strings (run without a shell, e.g. ['ls', '-l']) or a string (run by /bin/sh -c), got ${describe(command)}`,
    );
  }
  const timeout = options?.timeout;
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0)) {
    throw new TsnetError(`${api}: timeout must be a number of milliseconds ≥ 0, got ${String(timeout)}`);
  }
  if (options?.signal?.aborted) throw options.signal.reason;
  const stdin = gateway.newChannel();
  const stdout = gateway.newChannel();
  const stderr = gateway.newChannel();
  const kwargs: SpawnKwargs = {
    file,
    args,
    display,
    killSignal: options?.killSignal ?? 'SIGTERM',
    stdin,
    stdout,
    stderr,
    ...(options?.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options?.env !== undefined ? { env: options.env } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
  };
  const control = gateway.remoteExec(remoteSpawn, kwargs as never) as Channel<unknown>;
  const started = control.receive().then((m) => (m as { pid: number }).pid);
  const exit = started.then(() => control.receive() as Promise<ProcessExit>);
  exit.then(
    () => control.close(),
    () => {
      for (const ch of [stdin, stdout, stderr]) void ch.close().catch(() => {});
    },
  );
  // Whoever awaits these sees the failure; an unawaited one is not an unhandled rejection.
  started.catch(() => {});
  exit.catch(() => {});
  const signal = options?.signal;
  if (signal) {
    const onAbort = (): void => void control.send(['kill', options?.killSignal ?? 'SIGTERM']).catch(() => {});
    signal.addEventListener('abort', onAbort, { once: true });
    void exit.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
  }
  return { control, stdin, stdout, stderr, started, exit, display };
}

/** A command running on the remote host (gw.spawn()). */
export class RemoteProcess {
  /** The command's stdin: end it to close the command's input. */
  readonly stdin: Writable;
  /** Its stdout, as Buffers; ends when the command closed it. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The remote pid, once the command started. */
  readonly pid: Promise<number>;
  /** Resolves once the command ended and all its output was sent; see the module contract. */
  readonly exited: Promise<ProcessExit>;
  readonly #control: Channel<unknown>;

  /** @internal use gw.spawn() */
  constructor(channels: ProcessChannels) {
    this.#control = channels.control;
    this.stdin = channels.stdin.makeFile('w', { proxyClose: true });
    this.stdout = channels.stdout.makeFile('r');
    this.stderr = channels.stderr.makeFile('r');
    // A write after the command stopped reading fails its callback; the stream must not crash the process.
    this.stdin.on('error', () => {});
    this.pid = channels.started;
    this.exited = channels.exit;
  }

  /** Sends `signal` (default SIGTERM) to the remote command; false if it has already ended. */
  kill(signal = 'SIGTERM'): boolean {
    if (this.#control.isClosed()) return false;
    void this.#control.send(['kill', signal]).catch(() => {});
    return true;
  }

  /** `await using p = gw.spawn(…)` kills the command (if still running) and waits for it at scope end. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
    await this.exited.catch(() => {});
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : `an array holding ${v.map((a) => typeof a).join(', ')}`;
  return v === null ? 'null' : typeof v;
}
