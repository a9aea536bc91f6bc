/**
 * How each runtime is started with the first stage: the one place every transport that starts a
 * runtime (popen, ssh, the command transports) takes its argv from. The spec keys are
 * `runtime=node|bun|deno` (default node), `exe=PATH` (the executable; default: the runtime's name on
 * PATH, or for popen with runtime=node this process's Node) and `node=PATH [flags]`, shorthand for
 * `runtime=node//exe=PATH` (the older form; it may carry Node flags after a space).
 *
 * - node: `node [flags] -e <FIRST_STAGE>`.
 * - bun: `bun [flags] -e <FIRST_STAGE>`: Bun's `-e` runs CommonJS-style code with `require`.
 * - deno: `deno eval --ext=js [flags] <prefix + FIRST_STAGE>`. `deno eval` has every permission
 *   implicitly (as `deno run -A`): tsnet's remote code is the local user's code, as on Node, so no
 *   permission is narrowed. Its code is an ES module, without `require`; the prefix makes one with
 *   `createRequire` for builtins (remote code gets one that resolves packages from the working
 *   directory, as on Node). `--ext=js`: no TypeScript transpile.
 *
 * Nothing here throws: the spec's keys were validated when it was parsed (XSpec), and a missing or
 * wrong executable is found when it runs: the gateway's BootstrapError names it (pass the runtime
 * in the boot config, `preamble({ runtime })`, and as `Transport.runtime`).
 */
import { FIRST_STAGE } from './first-stage.js';

export const RUNTIMES = ['node', 'bun', 'deno'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/** What a spec says about the runtime to start. */
export interface RuntimeLaunch {
  runtime: RuntimeName;
  /** The executable as the spec gives it (a path or a name on PATH); undefined: the transport's default. */
  exe: string | undefined;
  /** Flags for the runtime that come before the first stage (only `node=PATH flags…` gives any). */
  flags: string[];
}

/** The part of an XSpec this module reads. */
export interface RuntimeKeys {
  getString(key: string): string | undefined;
}

/** Reads `runtime=`, `exe=` and `node=` from a spec. */
export function runtimeLaunch(spec: RuntimeKeys): RuntimeLaunch {
  const named = spec.getString('runtime');
  const runtime: RuntimeName = named === 'bun' || named === 'deno' ? named : 'node';
  const node = spec.getString('node');
  if (node !== undefined) {
    const [exe, ...flags] = node.trim().split(/\s+/);
    return { runtime: 'node', exe, flags };
  }
  return { runtime, exe: spec.getString('exe'), flags: [] };
}

/**
 * Deno's eval is an ES module, without `require`: the prefix makes one for builtins (the first stage
 * and the bundle). Remote code gets its own, resolving from the working directory (remote.ts: this
 * one's `require.main` is not undefined).
 */
const DENO_PREFIX = "import{createRequire as R}from'node:module';const require=R('/');";

/** The argv after the executable that runs the first stage on `runtime` (it then reads the bootstrap from stdin). */
export function firstStageArgs(runtime: RuntimeName, flags: readonly string[] = []): string[] {
  switch (runtime) {
    case 'deno':
      return ['eval', '--ext=js', ...flags, DENO_PREFIX + FIRST_STAGE];
    default:
      return [...flags, '-e', FIRST_STAGE];
  }
}

/** The executable used when the spec names none and the transport has no better default. */
export function defaultExe(runtime: RuntimeName): string {
  return runtime;
}
