/**
 * `tsnet rsync` as a child process on popen gateways (each with a working directory of its own, so
 * a relative DEST is a different directory per gateway), piped and in a real terminal (tmux).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { BIN, escapeCodes, runTsnet, shellQuote, Tmux } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsnet-cli-rsync-'));
const sessions: Tmux[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tree of `files` files of `size` random bytes in `dirs` directories. */
function makeTree(root: string, dirs: number, files: number, size: number): void {
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < files / dirs; f++) writeFileSync(join(root, `d${d}`, `f${f}.bin`), randomBytes(size));
  }
}

function listTree(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    if (statSync(join(root, p)).isDirectory()) out.push(`${p}/`, ...listTree(root, p));
    else out.push(`${p} ${readFileSync(join(root, p)).toString('base64').slice(0, 24)}`);
  }
  return out;
}

describe('tsnet rsync', () => {
  test('piped: syncs to every gateway, plain progress lines on stderr, one summary line per gateway, no escape codes', async () => {
    const src = join(tmp, 'src1');
    makeTree(src, 3, 30, 5000);
    writeFileSync(join(src, 'notes.log'), 'excluded');
    const [a, b] = [join(tmp, 'a'), join(tmp, 'b')];
    const r = await runTsnet(['rsync', src, 'dest', '--tx', `popen//chdir=${a}`, '--tx', `popen//chdir=${b}`, '--exclude', '*.log']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^gw0: 33 created, 0 updated, 0 deleted, 0 unchanged; [\d.]+ KiB sent to dest in [\d.]+s/);
    expect(lines[1]).toMatch(/^gw1: 33 created/);
    expect(r.stderr).toMatch(/^gw0: (scan|transfer) /m);
    expect(r.stderr).toMatch(/^gw1: done 30\/30 files, 146 KiB\/146 KiB$/m);
    expect(escapeCodes(r.stdout + r.stderr)).toEqual([]);
    const expected = listTree(src).filter((l) => !l.startsWith('notes.log'));
    expect(listTree(join(a, 'dest'))).toEqual(expected);
    expect(listTree(join(b, 'dest'))).toEqual(expected);
  });

  test('--json report; --dry-run changes nothing; --delete; --checksum sees a same-size, same-mtime change', async () => {
    const src = join(tmp, 'src2');
    makeTree(src, 1, 4, 100);
    const dest = join(tmp, 'dest2');
    const first = await runTsnet(['rsync', src, dest, '--json']);
    const report = JSON.parse(first.stdout) as { dryRun: boolean; targets: Array<{ gatewayId: string; created: string[]; bytesSent: number }> };
    expect(report.dryRun).toBe(false);
    expect(report.targets).toHaveLength(1);
    expect(report.targets[0]!.created.sort()).toEqual(['d0', 'd0/f0.bin', 'd0/f1.bin', 'd0/f2.bin', 'd0/f3.bin']);

    writeFileSync(join(dest, 'd0', 'extra.txt'), 'only in dest');
    writeFileSync(join(src, 'd0', 'f0.bin'), 'changed');
    const dry = JSON.parse((await runTsnet(['rsync', src, dest, '--json', '--dry-run', '--delete'])).stdout);
    expect(dry).toMatchObject({ dryRun: true, targets: [{ updated: ['d0/f0.bin'], deleted: ['d0/extra.txt'], unchanged: 4 }] });
    expect(readFileSync(join(dest, 'd0', 'extra.txt'), 'utf8')).toBe('only in dest');
    expect(readFileSync(join(dest, 'd0', 'f0.bin')).length).toBe(100);

    const real = await runTsnet(['rsync', src, dest, '--delete']);
    expect(real.stdout).toMatch(/^gw0: 0 created, 1 updated, 1 deleted, 4 unchanged;/);
    expect(readFileSync(join(dest, 'd0', 'f0.bin'), 'utf8')).toBe('changed');

    // Same size and mtime, other content: only --checksum sees it.
    const f1 = join(src, 'd0', 'f1.bin');
    const { mtime } = statSync(f1);
    writeFileSync(f1, Buffer.alloc(100, 7));
    utimesSync(f1, mtime, mtime);
    expect((await runTsnet(['rsync', src, dest])).stdout).toMatch(/ 0 updated, 0 deleted, 5 unchanged;/);
    expect((await runTsnet(['rsync', src, dest, '--checksum'])).stdout).toMatch(/ 1 updated, 0 deleted, 4 unchanged;/);
    expect(readFileSync(join(dest, 'd0', 'f1.bin'))).toEqual(Buffer.alloc(100, 7));
  });

  test('bad arguments: exit code 2 and one line', async () => {
    for (const [args, message] of [
      [['rsync', tmp], /^tsnet rsync takes SRC and DEST, got 1 argument/],
      [['rsync', join(tmp, 'missing'), 'x'], /^tsnet rsync: SRC .*missing is not a readable directory/],
      [['rsync', tmp, 'x', '--exclude'], /^tsnet rsync: Option '--exclude <value>' argument missing/],
      [['rsync', tmp, 'x', '--tx', 'popen//a//a'], /^tsnet rsync: --tx popen\/\/a\/\/a: gateway spec/],
    ] as const) {
      const r = await runTsnet([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  test('in a terminal: a progress bar per gateway (files, bytes, rate, ETA) redrawn during a large sync; CI=1 gives plain lines', async () => {
    const src = join(tmp, 'big');
    makeTree(src, 10, 800, 128 * 1024); // 100 MiB
    const log = join(tmp, 'terminal.log');
    const t = new Tmux(
      `${shellQuote(process.execPath)} ${shellQuote(BIN)} rsync ${shellQuote(src)} dest --tx popen//chdir=${shellQuote(join(tmp, 'tty-a'))} --tx popen//chdir=${shellQuote(join(tmp, 'tty-b'))}`,
    );
    sessions.push(t);
    t.record(log);
    const screen = await t.waitFor(/^\[exited \d+\]$/m, 120_000);
    expect(screen).toMatch(/^\[exited 0\]$/m);
    // The last frame stays on screen, above the summary lines.
    expect(screen).toMatch(/^gw0 █+ 100% \| 800\/800 files \| 100 MiB\/100 MiB \| [\d.]+ [KMG]iB\/s \| ETA 0s \(done\)$/m);
    expect(screen).toMatch(/^gw1 █+ 100% \|/m);
    expect(screen).toMatch(/^gw0: 810 created, 0 updated, 0 deleted, 0 unchanged; 100 MiB sent to dest/m);
    // Frames drawn while it ran: a partly filled bar with a rate and an ETA.
    const frames = readFileSync(log, 'utf8');
    const partial = [...frames.matchAll(/gw\d █*░+ +(\d+)% \| (\d+)\/800 files \| [\d.]+ [KM]i?B\/100 MiB \| ([\d.]+ [KMG]iB\/s) \| ETA (\d[\dms.]*)/g)];
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.some((m) => Number(m[1]) > 0 && Number(m[1]) < 100)).toBe(true);

    const ci = new Tmux(
      `${shellQuote(process.execPath)} ${shellQuote(BIN)} rsync ${shellQuote(src)} dest --tx popen//chdir=${shellQuote(join(tmp, 'tty-c'))}`,
      { CI: 'true' },
    );
    sessions.push(ci);
    const plain = await ci.waitFor(/^\[exited \d+\]$/m, 120_000);
    expect(plain).toMatch(/^gw0: done 800\/800 files, 100 MiB\/100 MiB$/m);
    expect(plain).not.toContain('█');
  }, 240_000);
});
