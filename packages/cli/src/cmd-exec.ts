/**
 * `tsnet exec`: runs code on every `--tx` gateway and prints what it sends, as it arrives. Exit code
 * 0 when every gateway's code finished, 1 when any threw (its name, message and stack go to stderr)
 * or its gateway died; 2 for bad arguments (nothing started). Remote stdout goes to stdout in text
 * mode and to stderr with --json (so stdout stays one JSON object per line); remote stderr to stderr.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Gateway, GatewayClosedError, RemoteError } from '@tsnet/core';
import { expandTx, flag, HELP_OPTION, parse, parseJsonOption, str, strs, TX_OPTION, UsageError } from './args.js';
import type { Context } from './context.js';
import { openGroup } from './gateways.js';
import { formatItem, prefixLines, toJson, write } from './output.js';

export const EXEC_USAGE = `Usage: tsnet exec [--tx SPEC]... (-e CODE | FILE) [--kwargs JSON] [--json]

Runs code on every gateway and prints each item it sends, as it arrives.

  -e, --eval CODE     the body of an async function with channel and kwargs in scope
                      (top-level await works), e.g. -e 'await channel.send(process.pid)'
  FILE                a file of such code; a module (.ts .mts .cts .tsx .mjs, or any file with
                      --module) is bundled with its relative imports and its default export is
                      called as fn(channel, kwargs); "-" reads the code from stdin
  --module            run FILE as a module whatever its extension
  --kwargs JSON       the kwargs value, e.g. --kwargs '{"n": 3}'
  --tx SPEC           a gateway spec (repeatable; N*SPEC for N gateways; default popen)
  --json              one JSON line per item: {"gateway": "gw0", "item": ...}; a remote error is a
                      line {"gateway": "gw0", "error": {"name", "message", "stack"}}
  -h, --help          show this text

Strings print as they are, bytes raw, other values as util.inspect shows them; with several
gateways each line starts with [gwN]. Exit code 1 if the code threw on any gateway.
`;

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx', '.mjs']);

export async function execCommand(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse('tsnet exec', argv, {
    ...TX_OPTION,
    ...HELP_OPTION,
    eval: { type: 'string', short: 'e' },
    kwargs: { type: 'string' },
    json: { type: 'boolean' },
    module: { type: 'boolean' },
  });
  if (flag(values, 'help')) {
    await write(ctx.stdout, EXEC_USAGE);
    return 0;
  }
  const code = str(values, 'eval');
  if (code !== undefined && positionals.length > 0) throw new UsageError(`tsnet exec: give -e CODE or FILE, not both (got -e and ${positionals[0]})`);
  if (code === undefined && positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'tsnet exec: nothing to run: give -e CODE or FILE (see: tsnet exec --help)'
        : `tsnet exec: one FILE only, got ${positionals.length}`,
    );
  }
  const source = code ?? loadSource(positionals[0]!, flag(values, 'module'), ctx);
  const kwargsText = str(values, 'kwargs');
  const kwargs = kwargsText === undefined ? undefined : parseJsonOption('tsnet exec', '--kwargs', kwargsText);
  const specs = expandTx('tsnet exec', strs(values, 'tx'));
  const json = flag(values, 'json');

  await using gateways = await openGroup('tsnet exec', specs, { stdout: json ? ctx.stderr : ctx.stdout, stderr: ctx.stderr });
  const several = specs.length > 1;
  const results = await Promise.all([...gateways.group].map((gw) => runOn(gw, source, kwargs, { json, several, ctx })));
  return results.every(Boolean) ? 0 : 1;
}

function loadSource(file: string, asModule: boolean, ctx: Context): string | URL {
  if (file === '-') return readFileSync(0, 'utf8');
  const path = resolve(ctx.cwd, file);
  if (asModule || MODULE_EXTENSIONS.has(extname(path))) {
    try {
      if (!statSync(path).isFile()) throw new Error('not a file');
    } catch (error) {
      throw new UsageError(`tsnet exec: cannot read ${file}: ${(error as Error).message}`);
    }
    return pathToFileURL(path);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`tsnet exec: cannot read ${file}: ${(error as Error).message}`);
  }
}

interface RunOptions {
  json: boolean;
  several: boolean;
  ctx: Context;
}

/** Prints one gateway's items; resolves false (after printing the error) when its code failed. */
async function runOn(gw: Gateway, source: string | URL, kwargs: unknown, { json, several, ctx }: RunOptions): Promise<boolean> {
  const prefix = several ? `[${gw.id}] ` : '';
  try {
    const channel = gw.remoteExec(source, kwargs);
    for await (const item of channel) {
      if (json) await write(ctx.stdout, `${toJson({ gateway: gw.id, item })}\n`);
      else if (item instanceof Uint8Array && !several) await write(ctx.stdout, item);
      else {
        const text = formatItem(item, ctx.color);
        await write(ctx.stdout, prefixLines(prefix, text.endsWith('\n') ? text : `${text}\n`));
      }
    }
    return true;
  } catch (error) {
    const { name, message, stack } = describe(error);
    if (json) await write(ctx.stdout, `${toJson({ gateway: gw.id, error: { name, message, stack } })}\n`);
    const body = stack.startsWith(`${name}: ${message}`) ? stack : `${name}: ${message}\n${stack}`;
    await write(ctx.stderr, `tsnet exec: the code failed on ${gw.id} (${String(gw.spec)}):\n${prefixLines('  ', body)}`);
    return false;
  }
}

function describe(error: unknown): { name: string; message: string; stack: string } {
  if (error instanceof RemoteError) return { name: error.remoteName, message: error.remoteMessage, stack: error.remoteStack };
  if (error instanceof GatewayClosedError) return { name: 'GatewayClosedError', message: error.message, stack: '' };
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack ?? '' };
}
