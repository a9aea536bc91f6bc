/**
 * The runtime command a command transport puts after its tool's argv: how to start the runtime
 * with the tsnet first stage (`node -e <first stage>`), with a small prelude in front of the first
 * stage. The prelude applies `chdir=` and `env:` inside the target (the tool may have no way to:
 * sudo resets the environment, chroot has no working-directory option, kubectl neither) and then
 * writes one marker line with the runtime's pid (as the target sees it) to stderr, before reading
 * anything: that line says the runtime runs inside the target, so failures before it are the
 * tool's (no such container, password needed) and failures after it are the runtime's.
 *
 * `runtimeCommand()` is the one call that says how a runtime is started (through @tsnet/bootstrap's
 * runtimeLaunch/firstStageArgs); everything else treats its result as an opaque argv.
 */
import { defaultExe, FIRST_STAGE, firstStageArgs, type RuntimeName, runtimeLaunch } from '@tsnet/bootstrap';
import type { XSpec } from '@tsnet/core/transport';

export interface RuntimeCommand {
  /** The runtime's executable as the target resolves it (a name on the target's PATH, or a path there). */
  exe: string;
  runtime: RuntimeName;
  argv: string[];
}

/** Exit code of the prelude when chdir= fails (as the ssh start script uses). */
export const EXIT_CHDIR_FAILED = 122;

/**
 * How to start the spec's runtime with the first stage (`runtime=node|bun|deno`, `exe=`, `node=`:
 * @tsnet/bootstrap's runtimeLaunch/firstStageArgs, as popen and ssh). For a command transport the
 * default executable is the runtime's name on the target's PATH: the local `process.execPath` may
 * not exist in a container or a chroot.
 */
export function runtimeCommand(spec: XSpec): RuntimeCommand {
  const launch = runtimeLaunch(spec);
  const exe = launch.exe ?? defaultExe(launch.runtime);
  return { exe, runtime: launch.runtime, argv: [exe, ...firstStageArgs(launch.runtime, launch.flags)] };
}

export interface PreludeOptions {
  /** Printed (followed by a space, the pid and a newline) on stderr once the runtime runs. */
  marker: string;
  chdir?: string | undefined;
  env?: Record<string, string>;
}

/** The runtime command with the prelude in front of its first stage. */
export function withPrelude(cmd: RuntimeCommand, options: PreludeOptions): string[] {
  // The first stage ends its argument (Deno's has a prefix that makes `require`, which the prelude needs too).
  const at = cmd.argv.findIndex((a) => a.endsWith(FIRST_STAGE));
  if (at === -1) throw new Error('transport-cmd: the runtime command carries no first stage');
  const argv = [...cmd.argv];
  const code = argv[at]!;
  argv[at] = code.slice(0, code.length - FIRST_STAGE.length) + prelude(options) + FIRST_STAGE;
  return argv;
}

function prelude(o: PreludeOptions): string {
  const parts = ["{const P=require('fs');"];
  const env = o.env ?? {};
  if (Object.keys(env).length > 0) parts.push(`Object.assign(process.env,${JSON.stringify(env)});`);
  if (o.chdir) {
    // Created when missing, as popen and ssh do.
    parts.push(
      `const d=${JSON.stringify(o.chdir)};try{try{process.chdir(d)}catch(e){P.mkdirSync(d,{recursive:true});process.chdir(d)}}`,
      `catch(e){P.writeSync(2,'tsnet: cannot change directory to '+d+' (chdir=): '+e.message+'\\n');process.exit(${EXIT_CHDIR_FAILED})}`,
    );
  }
  parts.push(`P.writeSync(2,${JSON.stringify(`${o.marker} `)}+process.pid+'\\n')}`);
  return parts.join('');
}

/** A runtime command that SIGKILLs the process group of `pid` (or the process alone), as the target sees it. */
export function killArgv(cmd: RuntimeCommand, pid: number): string[] {
  const p = Math.trunc(pid);
  const code = `try{process.kill(-${p},'SIGKILL')}catch(e){try{process.kill(${p},'SIGKILL')}catch(e){}}`;
  return cmd.runtime === 'deno' ? [cmd.exe, 'eval', code] : [cmd.exe, '-e', code];
}
