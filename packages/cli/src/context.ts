/**
 * What a subcommand gets to work with: the process's streams, environment and working directory,
 * and whether to use colors. Subcommands write results to `stdout` only; everything else goes to
 * `stderr`. A subcommand package (such as @tsnet/test) receives the same object.
 */
import { expandTx, parse, parseJsonOption, UsageError } from './args.js';
import { openGroup } from './gateways.js';
import { type Streams, useColor, write } from './output.js';

export interface Context extends Streams {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Colors on stdout: a terminal, and NO_COLOR unset. */
  color: boolean;
  /** Colors on stderr. */
  colorErr: boolean;
  /** The shared helpers, so a subcommand package parses and opens gateways as the built-in ones do. */
  helpers: Helpers;
}

export interface Helpers {
  /** `node:util` parseArgs whose mistakes become UsageErrors. */
  parse: typeof parse;
  /** `--tx` values to spec strings (`N*SPEC` expanded, default popen), each checked. */
  expandTx: typeof expandTx;
  parseJsonOption: typeof parseJsonOption;
  /** Opens the gateways of a spec list as one group (remote output routed to the given streams). */
  openGroup: typeof openGroup;
  /** Throw one of these for a command-line mistake: main() prints its message, exit code 2. */
  UsageError: typeof UsageError;
  /** Writes, waiting for 'drain'. */
  write: typeof write;
}

export function processContext(): Context {
  const env = process.env;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env,
    cwd: process.cwd(),
    color: useColor(process.stdout, env),
    colorErr: useColor(process.stderr, env),
    helpers: { parse, expandTx, parseJsonOption, openGroup, UsageError, write },
  };
}
