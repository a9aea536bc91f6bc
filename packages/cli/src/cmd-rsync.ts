/**
 * `tsnet rsync SRC DEST`: @tsnet/rsync's RSync of the local directory SRC to DEST on every `--tx`
 * gateway, in one pass (the tree is read once for all targets). Progress goes to stderr (a bar on
 * a terminal, plain lines otherwise); stdout gets one summary line per gateway, or with --json the
 * report as one JSON object. Exit code 1 when the sync fails (nothing is reported as done that was
 * not), 130 after Ctrl-C (the sync is aborted through its signal), 2 for bad arguments.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TargetReport } from '@tsnet/rsync';
import { expandTx, flag, HELP_OPTION, parse, strs, TX_OPTION, UsageError } from './args.js';
import type { Context } from './context.js';
import { openGroup } from './gateways.js';
import { formatBytes, toJson, write } from './output.js';
import { createProgress } from './rsync-progress.js';

export const RSYNC_USAGE = `Usage: tsnet rsync SRC DEST [--tx SPEC]... [--delete] [--exclude PAT]... [--checksum] [--dry-run] [--json]

Copies the local directory SRC to the directory DEST on every gateway (created if missing):
content, modes, mtimes and symlinks; unchanged files (same size and mtime) are not sent.

  --tx SPEC       a gateway spec (repeatable; N*SPEC for N gateways; default popen)
  --delete        delete files in DEST that are not in SRC
  --exclude PAT   skip paths matching PAT (gitignore syntax, relative to SRC; repeatable)
  --checksum      compare content even when size and mtime agree
  --dry-run       change nothing; report what would be created, updated and deleted
  --json          print the report as one JSON object instead of the summary lines
  -h, --help      show this text

Progress goes to stderr: a bar per gateway on a terminal (files, bytes, rate, ETA), plain lines
when stderr is not a terminal or CI is set. stdout gets one summary line per gateway.
`;

export async function rsyncCommand(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse('tsnet rsync', argv, {
    ...TX_OPTION,
    ...HELP_OPTION,
    delete: { type: 'boolean' },
    exclude: { type: 'string', multiple: true },
    checksum: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (flag(values, 'help')) {
    await write(ctx.stdout, RSYNC_USAGE);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`tsnet rsync takes SRC and DEST, got ${positionals.length} argument(s) (see: tsnet rsync --help)`);
  const [src, dest] = positionals as [string, string];
  const sourceDir = resolve(ctx.cwd, src);
  try {
    if (!statSync(sourceDir).isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new UsageError(`tsnet rsync: SRC ${src} is not a readable directory (${(error as Error).message})`);
  }
  if (dest === '') throw new UsageError('tsnet rsync: DEST is empty: give the destination directory on the gateways');
  const specs = expandTx('tsnet rsync', strs(values, 'tx'));
  const dryRun = flag(values, 'dry-run');
  // Loaded here: the other commands do not pay for it.
  const { RSync, RSyncTargetError } = await import('@tsnet/rsync');

  await using gateways = await openGroup('tsnet rsync', specs, { stdout: ctx.stderr, stderr: ctx.stderr });
  const rsync = new RSync(sourceDir, { exclude: strs(values, 'exclude') ?? [], checksum: flag(values, 'checksum'), dryRun });
  for (const gw of gateways.group) rsync.addTarget(gw, dest, { delete: flag(values, 'delete') });

  const progress = createProgress(
    ctx.stderr,
    ctx.env,
    [...gateways.group].map((gw) => gw.id),
  );
  const abort = new AbortController();
  const onSigint = () => abort.abort(new Error('interrupted (Ctrl-C)'));
  process.once('SIGINT', onSigint);
  const started = performance.now();
  let report: { targets: TargetReport[] };
  try {
    report = await rsync.send({ signal: abort.signal, onProgress: (event) => progress.onProgress(event) });
  } catch (error) {
    progress.stop();
    if (abort.signal.aborted) {
      await write(ctx.stderr, 'tsnet rsync: interrupted; every file is either its old or its new version (none is half-written)\n');
      return 130;
    }
    // Some targets failed (RSyncTargetError): report the others as done, the failures on stderr.
    if (!(error instanceof RSyncTargetError)) throw error;
    const partial = error;
    await printReport(partial.reports, { json: flag(values, 'json'), dryRun, seconds: (performance.now() - started) / 1000, failures: partial.failures }, ctx);
    for (const f of partial.failures)
      await write(ctx.stderr, `tsnet rsync: ${f.gatewayId}:${f.destDir} failed: ${(f.error as Error)?.message ?? String(f.error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
  progress.stop();
  await printReport(report.targets, { json: flag(values, 'json'), dryRun, seconds: (performance.now() - started) / 1000, failures: [] }, ctx);
  return 0;
}

interface PrintOptions {
  json: boolean;
  dryRun: boolean;
  seconds: number;
  failures: Array<{ gatewayId: string; destDir: string; error: unknown }>;
}

async function printReport(targets: TargetReport[], { json, dryRun, seconds, failures }: PrintOptions, ctx: Context): Promise<void> {
  if (json) {
    const failed = failures.map((f) => ({ gatewayId: f.gatewayId, destDir: f.destDir, error: (f.error as Error)?.message ?? String(f.error) }));
    await write(ctx.stdout, `${toJson({ dryRun, seconds: Math.round(seconds * 1000) / 1000, targets, failed })}\n`);
    return;
  }
  for (const t of targets) await write(ctx.stdout, `${summaryLine(t, dryRun, seconds)}\n`);
}

/** `gw0: 12 created, 3 updated, 0 deleted, 85 unchanged; 40.0 MiB sent to /dest in 1.20s (33.3 MiB/s)` */
export function summaryLine(t: TargetReport, dryRun: boolean, seconds: number): string {
  const counts = [`${t.created.length} created`, `${t.updated.length} updated`, `${t.deleted.length} deleted`, `${t.unchanged} unchanged`];
  if (t.skipped?.length) counts.push(`${t.skipped.length} skipped`);
  const rate = seconds > 0 ? ` (${formatBytes(Math.round(t.bytesSent / seconds))}/s)` : '';
  return `${t.gatewayId}: ${dryRun ? 'dry run, would be ' : ''}${counts.join(', ')}; ${formatBytes(t.bytesSent)} sent to ${t.destDir} in ${seconds.toFixed(2)}s${rate}`;
}
