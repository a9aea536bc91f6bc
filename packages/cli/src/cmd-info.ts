/**
 * `tsnet info`: remoteInfo() and remoteStatus() of every `--tx` gateway, as a table or (--json) as
 * one JSON object `{ "gateways": [{ "gateway", "spec", "info", "status" }] }`. Exit code 1 when a
 * gateway cannot be opened or does not answer, 2 for bad arguments.
 */
import { expandTx, flag, HELP_OPTION, parse, strs, TX_OPTION, UsageError } from './args.js';
import type { Context } from './context.js';
import { openGroup } from './gateways.js';
import { formatBytes, formatDuration, toJson, write } from './output.js';
import { table } from './table.js';

export const INFO_USAGE = `Usage: tsnet info [--tx SPEC]... [--json]

Opens each gateway and shows what its runtime says about itself (runtime and version, platform,
host, pid, working directory) and its status (open channels, running code, uptime, memory).

  --tx SPEC     a gateway spec (repeatable; N*SPEC for N gateways; default popen)
  --json        one JSON object: {"gateways": [{"gateway", "spec", "info", "status"}]}, with
                info as remoteInfo() and status as remoteStatus() return them
  -h, --help    show this text
`;

export async function infoCommand(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse('tsnet info', argv, { ...TX_OPTION, ...HELP_OPTION, json: { type: 'boolean' } });
  if (flag(values, 'help')) {
    await write(ctx.stdout, INFO_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`tsnet info takes no arguments, got ${JSON.stringify(positionals[0])} (see: tsnet info --help)`);
  const specs = expandTx('tsnet info', strs(values, 'tx'));
  await using gateways = await openGroup('tsnet info', specs, { stdout: ctx.stderr, stderr: ctx.stderr });
  const rows = await Promise.all(
    [...gateways.group].map(async (gw) => ({ gateway: gw.id, spec: String(gw.spec), info: await gw.remoteInfo(), status: await gw.remoteStatus() })),
  );
  if (flag(values, 'json')) {
    await write(ctx.stdout, `${toJson({ gateways: rows })}\n`);
    return 0;
  }
  const header = ['GATEWAY', 'SPEC', 'RUNTIME', 'PLATFORM', 'HOST', 'PID', 'CWD', 'CHANNELS', 'RUNNING', 'UPTIME', 'RSS', 'HEAP'];
  const cells = rows.map(({ gateway, spec, info, status }) => [
    gateway,
    spec,
    `${info.runtime} ${info.versions[info.runtime] ?? info.versions.node ?? '?'}`,
    `${info.platform}-${info.arch}`,
    info.hostname,
    String(info.pid),
    info.cwd,
    String(status.numChannels),
    String(status.numExecuting),
    formatDuration(status.uptime),
    formatBytes(status.memory.rss),
    formatBytes(status.memory.heapUsed),
  ]);
  await write(ctx.stdout, table(header, cells, new Set([5, 7, 8, 9, 10, 11])));
  return 0;
}
