/**
 * `tsnet test`: the subcommand @tsnet/cli loads through its plugin hook (`tsnetCommand.run(argv,
 * context)` resolving with the exit code). Options follow `node --test` and pytest-xdist (see the
 * README). Exit codes: 0 all passed, 1 a test failed or a file could not run, 2 a usage mistake
 * (thrown as the context's UsageError), 130 interrupted by Ctrl-C (every gateway killed first).
 */
import { parseArgs } from 'node:util';
import { isTsnetError } from '@tsnet/core';
import { TestRunError } from './errors.js';
import type { ReporterSpec } from './reporters.js';
import { runTests } from './run-tests.js';

/** The part of @tsnet/cli's Context this command uses (structural, so no dependency on the CLI). */
export interface CommandContext {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
  helpers?: { UsageError?: new (message: string) => Error };
}

export const USAGE = `Usage: tsnet test [options] [FILES or globs…]

Runs node:test files on gateways and reports here. Without files: what \`node --test\` would run.

  --tx SPEC                 a gateway (repeat; N*SPEC for N of them); default popen
  -n N                      N local gateways (N*popen), like pytest-xdist's -n
  --dist load|each          load: each file once, to whichever gateway is free (default);
                            each: every file on every gateway, results labelled by gateway
  --rsync-dir DIR           sync DIR to gateways that do not see this file system (same path)
  --reporter NAME           spec (default), tap, dot, junit, json, or a module (repeat)
  --reporter-destination D  stdout (default), stderr or a file, one per --reporter
  --max-worker-restart N    crashes tolerated before the rest is given up (default 4 per gateway)
  -x, --exitfirst           stop at the first failing file: start no other, kill the gateways
                            still running one (those files are not run)
  -h, --help                this text
`;

function expand(tx: string[]): string[] {
  return tx.flatMap((t) => {
    const m = /^(\d+)\*(.+)$/.exec(t);
    return m ? Array.from({ length: Number(m[1]) }, () => m[2] as string) : [t];
  });
}

export async function runCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const Usage = ctx.helpers?.UsageError ?? TestRunError;
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new Usage(`tsnet test: ${(error as Error).message}; see tsnet test --help`);
  }
  const v = parsed.values;
  if (v.help) {
    ctx.stdout.write(USAGE);
    return 0;
  }
  const tx = expand(v.tx ?? []);
  if (v.n !== undefined) {
    if (!/^\d+$/.test(v.n) || Number(v.n) < 1) throw new Usage(`tsnet test: -n takes a number of gateways ≥ 1, not "${v.n}"`);
    tx.push(...expand([`${v.n}*popen`]));
  }
  const dist = v.dist ?? 'load';
  if (dist !== 'load' && dist !== 'each') throw new Usage(`tsnet test: --dist must be load or each, not "${dist}"`);
  const names = [...(v.reporter ?? []), ...(v['test-reporter'] ?? [])];
  const dests = [...(v['reporter-destination'] ?? []), ...(v['test-reporter-destination'] ?? [])];
  if (dests.length > Math.max(names.length, 1)) throw new Usage('tsnet test: more --reporter-destination than --reporter; give one per reporter');
  if (names.length > 1 && dests.length !== names.length) throw new Usage('tsnet test: with several --reporter, give one --reporter-destination each');
  const reporters: ReporterSpec[] = (names.length ? names : ['spec']).map((name, i) => {
    const d = dests[i] ?? 'stdout';
    return { name, destination: d === 'stdout' ? ctx.stdout : d === 'stderr' ? ctx.stderr : d };
  });
  let maxWorkerRestart: number | undefined;
  if (v['max-worker-restart'] !== undefined) {
    if (!/^\d+$/.test(v['max-worker-restart'])) throw new Usage(`tsnet test: --max-worker-restart takes a number ≥ 0, not "${v['max-worker-restart']}"`);
    maxWorkerRestart = Number(v['max-worker-restart']);
  }
  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error('interrupted'));
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const result = await runTests({
      tx,
      dist,
      files: parsed.positionals,
      cwd: ctx.cwd,
      reporters,
      ...(v['rsync-dir'] !== undefined ? { rsyncDir: v['rsync-dir'] } : {}),
      ...(maxWorkerRestart !== undefined ? { maxWorkerRestart } : {}),
      ...(v.exitfirst ? { exitFirst: true } : {}),
      signal: controller.signal,
      log: (line) => ctx.stderr.write(`tsnet test: ${line}\n`),
    });
    if (result.aborted) {
      ctx.stderr.write('tsnet test: interrupted; every gateway was stopped\n');
      return 130;
    }
    return result.exitCode;
  } catch (error) {
    // A spec no transport takes is a command-line mistake too (exit 2), as for the CLI's own commands.
    if (error instanceof TestRunError || isTsnetError(error, 'TSNET_ERR_SPEC')) throw new Usage(`tsnet test: ${(error as Error).message}`);
    throw error;
  } finally {
    // After an interrupt the listeners stay: Node would otherwise end the process by the same
    // signal (exit status SIGINT, not 130) when the last listener goes while it is delivered.
    if (!controller.signal.aborted) {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      tx: { type: 'string', multiple: true },
      n: { type: 'string', short: 'n' },
      dist: { type: 'string' },
      'rsync-dir': { type: 'string' },
      reporter: { type: 'string', multiple: true },
      'test-reporter': { type: 'string', multiple: true },
      'reporter-destination': { type: 'string', multiple: true },
      'test-reporter-destination': { type: 'string', multiple: true },
      'max-worker-restart': { type: 'string' },
      exitfirst: { type: 'boolean', short: 'x' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
