/**
 * Subcommands that live in packages of their own (`tsnet test` in @tsnet/test), loaded only when
 * called. The hook: the package's main entry exports `tsnetCommand: TsnetCommand`; `tsnet NAME …`
 * calls `tsnetCommand.run(argv, context)` with the arguments after NAME and resolves with the exit
 * code it returns (a UsageError it throws prints as one line, exit 2). A package that is not
 * installed: one line saying what to install, exit 2; nothing else is tried.
 */
import { UsageError } from './args.js';
import type { Context } from './context.js';
import { write } from './output.js';

/** What a subcommand package exports as `tsnetCommand`. */
export interface TsnetCommand {
  /** Runs the subcommand; resolves with the exit code. `--help` is the command's own to handle. */
  run(argv: string[], context: Context): Promise<number>;
}

export const PLUGINS: Record<string, { pkg: string; summary: string }> = {
  test: { pkg: '@tsnet/test', summary: 'run node:test files on gateways' },
};

export async function runPlugin(name: string, argv: string[], ctx: Context): Promise<number> {
  const { pkg, summary } = PLUGINS[name]!;
  let mod: { tsnetCommand?: Partial<TsnetCommand> };
  try {
    mod = (await import(pkg)) as typeof mod;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && (error as Error).message.includes(`'${pkg}'`);
    if (!missing) throw new Error(`loading ${pkg} failed: ${(error as Error).message}`, { cause: error });
    if (argv.includes('--help') || argv.includes('-h')) {
      await write(
        ctx.stdout,
        `Usage: tsnet ${name} …\n\n${summary[0]!.toUpperCase()}${summary.slice(1)}. Provided by ${pkg}, which is not installed: npm install ${pkg}\n`,
      );
      return 0;
    }
    throw new UsageError(`tsnet ${name}: ${pkg} is not installed: npm install ${pkg} (it provides "tsnet ${name}")`);
  }
  const command = mod.tsnetCommand;
  if (typeof command?.run !== 'function') {
    throw new UsageError(`tsnet ${name}: ${pkg} is installed but exports no tsnetCommand.run(); update it to a version that matches @tsnet/cli`);
  }
  return command.run(argv, ctx);
}
