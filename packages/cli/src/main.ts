/**
 * `tsnet <command>`: dispatches to the subcommands and turns their failures into exit codes:
 * 0 done, 1 the work failed (remote error, gateway down, sync failed), 2 a command-line mistake
 * (one line on stderr, nothing started). Never throws: main() resolves with the exit code.
 */
import { readFileSync } from 'node:fs';
import { isTsnetError } from '@tsnet/core';
import { UsageError } from './args.js';
import { type Context, processContext } from './context.js';
import { exitQuietlyOnEpipe, write } from './output.js';
import { PLUGINS, runPlugin } from './plugins.js';

export const USAGE = `Usage: tsnet <command> [options]

Commands:
  exec      run code on gateways and print what it sends
  rsync     copy a directory to gateways (progress bar on a terminal)
  info      remote information and status of each gateway
  repl      an interactive prompt on a remote runtime
  serve     the standalone socket server (as tsnet-bootstrap.js serve)
${Object.entries(PLUGINS)
  .map(([name, p]) => `  ${name.padEnd(8)}  ${p.summary} (needs ${p.pkg})`)
  .join('\n')}

Commands that open gateways take --tx SPEC: repeatable, N*SPEC for N gateways of SPEC, default
popen (a local subprocess); e.g. --tx 4*popen --tx ssh=build01//node=/usr/bin/node.
Run "tsnet <command> --help" for the options of each.

  -h, --help      show this text
  -v, --version   print the version of tsnet
`;

type Command = (argv: string[], ctx: Context) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  exec: async () => (await import('./cmd-exec.js')).execCommand,
  rsync: async () => (await import('./cmd-rsync.js')).rsyncCommand,
  info: async () => (await import('./cmd-info.js')).infoCommand,
  repl: async () => (await import('./cmd-repl.js')).replCommand,
  serve: async () => (await import('./cmd-serve.js')).serveCommand,
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs `tsnet` with these arguments (without node and the script) and resolves with its exit code. */
export async function main(argv: string[], ctx: Context = processContext()): Promise<number> {
  exitQuietlyOnEpipe(ctx.stdout);
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
      if (name === 'help' && rest[0]) return await main([rest[0], '--help'], ctx);
      await write(name === undefined ? ctx.stderr : ctx.stdout, USAGE);
      return name === undefined ? 2 : 0;
    }
    if (name === '-v' || name === '--version') {
      await write(ctx.stdout, `${version()}\n`);
      return 0;
    }
    const load = COMMANDS[name];
    if (load) return await (await load())(rest, ctx);
    if (PLUGINS[name]) return await runPlugin(name, rest, ctx);
    throw new UsageError(
      name.startsWith('-')
        ? `tsnet: options go after the command: tsnet <command> ${name} … (see: tsnet --help)`
        : `tsnet: unknown command ${JSON.stringify(name)}; the commands are ${[...Object.keys(COMMANDS), ...Object.keys(PLUGINS)].join(', ')} (see: tsnet --help)`,
    );
  } catch (error) {
    if (error instanceof UsageError) {
      await write(ctx.stderr, `${error.message}\n`);
      return 2;
    }
    const where = name && (COMMANDS[name] || PLUGINS[name]) ? `tsnet ${name}` : 'tsnet';
    if (isTsnetError(error)) await write(ctx.stderr, `${where}: ${(error as Error).message}\n`);
    else await write(ctx.stderr, `${where}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
