import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { defaultExe, firstStageArgs, preamble, type RuntimeLaunch, runtimeLaunch } from '@tsnet/bootstrap';
import {
  BootstrapError,
  ConnectError,
  type ConnectOptions,
  connectVia,
  directRead,
  killGroup,
  type RawPipe,
  rawPipeOf,
  STDIO_GRACE_MS,
  streamFlushed,
  type Transport,
  type TransportExit,
  type TransportProvider,
} from '@tsnet/core/transport';
import { Lifeline } from './lifeline.js';

export interface PopenCommand {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The runtime the spec asks for (runtime=, exe=, node=). */
  launch: RuntimeLaunch;
}

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir loops for ever where a parent refuses with
 * ENOENT although it exists (under /proc: Node 20); this loop runs once per path component.
 */
function makeDirectory(path: string): void {
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    try {
      if (statSync(p).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: ${p} is not a directory`), { code: 'ENOTDIR' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw error;
      missing.push(p);
    }
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * This process's Node, when it is one: the default executable of runtime=node. Under Bun or Deno
 * (the local side may run there), `process.execPath` is that runtime, so `node` on PATH is used.
 */
function localNode(): string {
  const v = process.versions as Record<string, string | undefined>;
  return v.bun || v.deno ? 'node' : process.execPath;
}

/** argv for a popen gateway: `node [flags] -e <first stage>` or the runtime's equivalent (execnet's popen_args). */
export function popenCommand(options: ConnectOptions): PopenCommand {
  const { spec } = options;
  const launch = runtimeLaunch(spec);
  const command = launch.exe ?? (launch.runtime === 'node' ? localNode() : defaultExe(launch.runtime));
  const chdir = spec.getString('chdir');
  const cwd = chdir ? resolvePath(chdir) : process.cwd();
  return {
    launch,
    command,
    args: firstStageArgs(launch.runtime, launch.flags),
    cwd,
    // spawn() copies the environment anyway: one copy fewer when the spec adds nothing
    env: Object.keys(spec.env).length === 0 ? process.env : { ...process.env, ...spec.env },
  };
}

/**
 * Spawns a fresh Node runtime in its own process group. Frames go in on its stdin and come back on
 * fd 3 (a pipe of their own), so nothing the remote writes to stdout, even natively, can corrupt
 * the wire; its stdout and stderr are read as text.
 */
export const popen: TransportProvider = {
  type: 'popen',
  async connect(options: ConnectOptions): Promise<Transport> {
    if (options.via) return connectPopenVia(options);
    const cmd = popenCommand(options);
    const { spec } = options;
    if (spec.getString('chdir')) {
      try {
        makeDirectory(cmd.cwd);
      } catch (error) {
        throw new ConnectError(`popen: cannot create chdir=${cmd.cwd}: ${(error as Error).message}. Give a directory that exists or can be created.`, {
          cause: error,
        });
      }
    }
    const child = spawn(cmd.command, cmd.args, {
      cwd: cmd.cwd,
      env: cmd.env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
    // Registered at once, before any await: from here on our death takes the runtime with it.
    const lifeline = child.pid === undefined ? undefined : Lifeline.shared();
    const guarded = lifeline ? lifeline.guard(child.pid!) : Promise.resolve(false);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        const message = `popen: cannot start the remote runtime ${JSON.stringify(cmd.command)}: ${error.message}. `;
        // a missing or unusable executable is a BootstrapError (api-contract, Runtimes); the rest cannot connect
        reject(
          error.code === 'ENOENT' || error.code === 'EACCES'
            ? new BootstrapError(message + missingHint(cmd.launch), { cause: error })
            : new ConnectError(message, { cause: error }),
        );
      };
      child.once('error', onError);
      child.once('spawn', () => {
        child.removeListener('error', onError);
        resolve();
      });
    });
    const nice = spec.getString('nice');
    if (nice !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, Math.min(19, getPriority(child.pid) + Number(nice)));
      } catch (error) {
        child.kill('SIGKILL');
        lifeline?.release(child.pid);
        throw new ConnectError(`popen: cannot apply nice=${nice}: ${(error as Error).message}`, { cause: error });
      }
    }
    const transport = new PopenTransport(child, (await guarded) ? lifeline : undefined, { name: cmd.launch.runtime, exe: cmd.command });
    // Without a lifeline the remote runs a watchdog thread of its own instead (about 6 ms of its startup).
    transport.write(preamble({ wireFd: 3, output: 'fd', killGroup: true, watchPpid: !transport.hasLifeline, runtime: cmd.launch.runtime }));
    return transport;
  },
};

/**
 * `popen//via=gw0`: the same runtime, started by gw0's runtime on its host. Its node, chdir and env
 * are resolved there (the master's `process.execPath`, cwd and environment); the bundle travels
 * from here through the master.
 */
async function connectPopenVia(options: ConnectOptions): Promise<Transport> {
  const { spec, via } = options;
  const launch = runtimeLaunch(spec);
  // runtime=node without exe: the master's own Node (its process.execPath), as the master decides
  const command = launch.exe ?? (launch.runtime === 'node' ? undefined : defaultExe(launch.runtime));
  const chdir = spec.getString('chdir');
  const nice = spec.getString('nice');
  let transport: Transport;
  try {
    transport = await connectVia(via!, {
      what: 'popen',
      ...(command ? { command } : {}),
      args: firstStageArgs(launch.runtime, launch.flags),
      ...(chdir ? { chdir } : {}),
      env: spec.env,
      ...(nice !== undefined ? { nice: Number(nice) } : {}),
      wireFd: 3,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    const cause = (error as { cause?: { remoteCode?: unknown; remoteMessage?: unknown } }).cause;
    if (cause?.remoteCode === 'ENOENT') {
      throw new BootstrapError(
        `popen via ${via!.id}: cannot start the remote runtime ${JSON.stringify(command ?? 'node')} on the host of ${via!.id} ` +
          `(${String(cause.remoteMessage)}). ${missingHint(launch)}`,
        { cause },
      );
    }
    throw error;
  }
  transport.write(preamble({ wireFd: 3, output: 'fd', killGroup: true, watchPpid: true, runtime: launch.runtime }));
  return transport;
}

/** What to do when the executable is missing. */
function missingHint(launch: RuntimeLaunch): string {
  if (launch.runtime === 'node') return 'Is Node installed at that path? Pass node=/path/to/node in the spec.';
  const name = launch.runtime === 'bun' ? 'Bun' : 'Deno';
  return `Is ${name} installed at that path (or on PATH)? Pass runtime=${launch.runtime}//exe=/path/to/${launch.runtime} in the spec.`;
}

export class PopenTransport implements Transport {
  readonly label: string;
  /** The runtime this transport started and the executable it ran (see Transport.runtime). */
  readonly runtime: { name: string; exe: string } | undefined;
  readonly pid: number;
  readonly closed: Promise<TransportExit>;
  readonly #child: ChildProcess;
  readonly #wire: Readable;
  /** Writes to the child's stdin pipe without its Writable (see rawPipeOf), where possible. */
  readonly #raw: RawPipe | undefined;
  #exited = false;

  readonly #lifeline: Lifeline | undefined;
  /** The socket that reads the wire once onData took its pipe over (see directRead). */
  #direct: Socket | undefined;
  #target: (() => Uint8Array | undefined) | undefined;
  #landed: ((n: number) => void) | undefined;

  /** `lifeline`: guards the runtime's process group if we die (see Lifeline). */
  constructor(child: ChildProcess, lifeline?: Lifeline, runtime?: { name: string; exe: string }) {
    this.runtime = runtime;
    this.#child = child;
    this.#lifeline = lifeline;
    this.pid = child.pid!;
    this.label = `popen:${this.pid}`;
    this.#wire = child.stdio[3] as Readable;
    const stdin = child.stdin!;
    stdin.on('error', () => {}); // EPIPE after the remote died: `closed` reports it
    this.#raw = rawPipeOf(stdin);
    this.#raw?.onError(() => {}); // the same: later writes are dropped
    this.#wire.on('error', () => {});
    this.closed = new Promise<TransportExit>((resolve) => {
      let exit: TransportExit | undefined;
      const finish = () => {
        if (exit) resolve(exit);
      };
      child.once('exit', (code, signal) => {
        this.#exited = true;
        this.#lifeline?.release(this.pid);
        exit = { code, signal };
        // The runtime is gone; what it started in its process group goes with it (the group id
        // stays reserved while members are left, so this reaches only them).
        killGroup(this.pid);
        // stdio normally closes right after; a grandchild may hold it open, so do not wait long.
        setTimeout(() => {
          for (const s of child.stdio) s?.destroy();
          this.#direct?.destroy();
          finish();
        }, STDIO_GRACE_MS).unref();
      });
      child.once('close', finish);
    });
  }

  /** True when a lifeline process guards the remote (it then runs no watchdog thread). */
  get hasLifeline(): boolean {
    return this.#lifeline !== undefined;
  }

  readInto(target: () => Uint8Array | undefined, landed: (n: number) => void): void {
    this.#target = target;
    this.#landed = landed;
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    const wire = this.#wire;
    const direct = directRead(wire, { onChunk: handler, target: this.#target, landed: this.#landed });
    if (!direct) {
      wire.on('data', handler);
      return;
    }
    this.#direct = direct;
    direct.on('error', () => {});
    // The child's 'close' waits for the stdio stream whose pipe we took: it ends with ours.
    direct.once('close', () => wire.destroy());
  }

  onDrain(handler: () => void): void {
    if (this.#raw) this.#raw.onDrain(handler);
    else this.#child.stdin!.on('drain', handler);
  }

  onStderr(handler: (text: string) => void): void {
    const s = this.#child.stderr!;
    s.setEncoding('utf8');
    s.on('data', handler);
  }

  onStdout(handler: (text: string) => void): void {
    const s = this.#child.stdout!;
    s.setEncoding('utf8');
    s.on('data', handler);
  }

  write(chunk: Uint8Array): boolean {
    const stdin = this.#child.stdin!;
    if (stdin.destroyed || stdin.writableEnded) return true;
    return this.#raw ? this.#raw.write([chunk]) : stdin.write(chunk);
  }

  writev(chunks: Uint8Array[]): boolean {
    const stdin = this.#child.stdin!;
    if (stdin.destroyed || stdin.writableEnded) return true;
    if (this.#raw) return this.#raw.write(chunks);
    stdin.cork();
    let ok = true;
    for (const c of chunks) ok = stdin.write(c);
    stdin.uncork();
    return ok;
  }

  flushed(callback: () => void): void {
    const stdin = this.#child.stdin!;
    if (this.#raw) this.#raw.flushed(callback);
    else streamFlushed(stdin, callback);
  }

  end(): void {
    const stdin = this.#child.stdin!;
    if (!stdin.destroyed && !stdin.writableEnded) stdin.end();
  }

  ref(): void {
    this.#child.ref();
    for (const s of this.#streams()) s.ref?.();
  }

  unref(): void {
    this.#child.unref();
    for (const s of this.#streams()) s.unref?.();
  }

  /** The streams with a handle: fd 3's stream gave its pipe to #direct (and would queue a listener per call). */
  #streams(): Array<{ ref?: () => void; unref?: () => void }> {
    const all = [...this.#child.stdio] as Array<{ ref?: () => void; unref?: () => void } | null>;
    if (this.#direct) all[3] = this.#direct;
    return all.filter((s) => s !== null);
  }

  /** SIGKILLs the remote process group (the runtime and everything it started). */
  async kill(): Promise<TransportExit> {
    if (!this.#exited && !killGroup(this.pid)) {
      try {
        this.#child.kill('SIGKILL');
      } catch {
        // already gone
      }
    } else if (!this.#exited) {
      // Struck off at once: at process.exit() the exit event that would do it never comes, and the
      // lifeline would report runtimes it did not have to kill.
      this.#lifeline?.release(this.pid);
    }
    return this.closed;
  }
}
