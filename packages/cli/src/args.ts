/**
 * Command-line parsing shared by every subcommand: `node:util` parseArgs with strict options, the
 * `--tx` list (`N*SPEC` expands to N specs), and JSON arguments. Every mistake throws a UsageError,
 * which main() prints as one line on stderr with exit code 2; nothing here touches a gateway.
 */
import { parseArgs } from 'node:util';
import { XSpec } from '@tsnet/core';

/** A command-line mistake: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** The options every gateway subcommand takes. */
export const TX_OPTION = { tx: { type: 'string', multiple: true } } as const;
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** parseArgs, with its errors turned into UsageErrors that name the command. */
export function parse(command: string, argv: string[], options: OptionSpec, allowPositionals = true): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      // parseArgs explains "--" at length; the first sentence is the one line that matters.
      const first = (error as Error).message.split(/\. (?=To specify)/)[0]!.replace(/\.$/, '');
      throw new UsageError(`${command}: ${first} (see: ${command} --help)`);
    }
    throw error;
  }
}

/**
 * Expands `--tx` values into spec strings: `3*popen` is three `popen`s (as pytest-xdist's --tx),
 * nothing given is one `popen`. Each spec is parsed here, so a malformed one is a UsageError
 * before any gateway starts.
 */
export function expandTx(command: string, values: string[] | undefined): string[] {
  const specs: string[] = [];
  for (const raw of values ?? ['popen']) {
    const m = /^(\d+)\*(.*)$/s.exec(raw);
    const count = m ? Number(m[1]) : 1;
    const text = m ? m[2]! : raw;
    if (m && !(count >= 1 && count <= 1024)) throw new UsageError(`${command}: --tx ${raw}: the count before "*" must be 1 to 1024`);
    try {
      const spec = new XSpec(text);
      if (count > 1 && spec.id !== undefined)
        throw new UsageError(`${command}: --tx ${raw}: ${count} gateways cannot share the id "${spec.id}"; drop id= or the count`);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`${command}: --tx ${raw}: ${(error as Error).message}`);
    }
    for (let i = 0; i < count; i++) specs.push(text);
  }
  return specs;
}

/** Parses a JSON option's value, or throws a UsageError saying where it went wrong. */
export function parseJsonOption(command: string, option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${command}: ${option} is not valid JSON (${(error as Error).message}): ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}`,
    );
  }
}

export function str(values: Parsed['values'], key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

export function strs(values: Parsed['values'], key: string): string[] | undefined {
  const v = values[key];
  return Array.isArray(v) ? (v as string[]) : undefined;
}

export function flag(values: Parsed['values'], key: string): boolean {
  return values[key] === true;
}
