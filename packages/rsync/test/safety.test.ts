/**
 * Atomic replacement, interruption and confinement through the real agent: a watcher in another
 * process polls a destination file during a 100 MB replacement and sees only the old or the new
 * size; an aborted sync leaves no temporary file and no partial file; a killed one leaves at most a
 * temporary, which the next run removes; links in the destination are replaced, never followed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Gateway, makeGateway } from '@tsnet/core';
import '@tsnet/transport-popen';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RSync, RSyncTargetError } from '../src/index.js';
import { TEMP_RE } from '../src/protocol.js';
import { allNames, snapshot, tempDir, write } from './helpers.js';

let gw: Gateway;
beforeAll(async () => {
  gw = await makeGateway('popen');
});
afterAll(() => gw?.exit());

const MB = 1_000_000;
const temps = (root: string) => allNames(root).filter((p) => TEMP_RE.test(p.split('/').at(-1)!));

const patterns = new Map<string, Buffer>();
function pattern(size: number, seed: number): Buffer {
  const key = `${size}/${seed}`;
  if (!patterns.has(key)) patterns.set(key, randomBytes(size));
  return patterns.get(key)!;
}

/** Polls `file`'s size in a separate process until told to stop; resolves with every size seen and the poll count. */
function watch(file: string): { stop(): Promise<{ sizes: number[]; polls: number }> } {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('node:fs'); const seen = new Set(); let polls = 0; const end = Date.now() + 120000;
       process.stdin.on('data', () => { process.stdout.write(JSON.stringify({ sizes: [...seen], polls })); process.exit(0); });
       (function poll() { for (let i = 0; i < 20; i++) { try { seen.add(fs.statSync(process.argv[1]).size); } catch { seen.add(-1); } polls++; }
         if (Date.now() < end) setTimeout(poll, 1); })();`,
      file,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    async stop() {
      child.stdin!.write('stop\n');
      await exited;
      return JSON.parse(out) as { sizes: number[]; polls: number };
    },
  };
}

test('a 100 MB replacement: a watcher polling the destination sees only the old or the new size', { timeout: 120_000 }, async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(dest, 'big', pattern(40_000, 1)); // small: the new content goes whole (a delta against unrelated bytes gains nothing)
  write(source, 'big', pattern(100 * MB, 2));
  const watcher = watch(join(dest, 'big'));
  await new Promise((r) => setTimeout(r, 100));
  const rs = new RSync(source);
  rs.addTarget(gw, dest);
  const report = await rs.send();
  await new Promise((r) => setTimeout(r, 100));
  const { sizes, polls } = await watcher.stop();
  expect(report.targets[0]!.updated).toEqual(['big']);
  expect(polls).toBeGreaterThan(100);
  expect(sizes.sort((a, b) => a - b)).toEqual([40_000, 100 * MB]);
  expect(readFileSync(join(dest, 'big')).equals(pattern(100 * MB, 2))).toBe(true);
  expect(temps(dest)).toEqual([]);
});

async function whenTempAppears(dest: string, signalWhen: () => void): Promise<void> {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    try {
      if (readdirSync(dest).some((n) => TEMP_RE.test(n))) return signalWhen();
    } catch {
      // dest not made yet
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('no temporary file appeared within 60 s');
}

test('an aborted sync: send() rejects with the reason, the receiver removes its temporary, the old file stays whole', { timeout: 120_000 }, async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(dest, 'big', 'old content');
  write(source, 'big', pattern(200 * MB, 3));
  const controller = new AbortController();
  const rs = new RSync(source);
  rs.addTarget(gw, dest);
  const sending = rs.send({ signal: controller.signal }).catch((e: unknown) => e);
  await whenTempAppears(dest, () => controller.abort(new Error('stop now')));
  const error = await sending;
  expect((error as Error).message).toMatch(/stop now/);
  const end = Date.now() + 10_000;
  while (temps(dest).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(temps(dest)).toEqual([]);
  expect(readFileSync(join(dest, 'big'), 'utf8')).toBe('old content');
  // the gateway is still usable
  expect(await gw.remoteExec('channel.send(1)').receive()).toBe(1);
});

test('a killed receiver leaves no partial file under the real name; the next run removes its temporary', { timeout: 120_000 }, async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(source, 'big', pattern(200 * MB, 4));
  write(source, 'small', 'small');
  const victim = await makeGateway('popen//id=victim');
  const rs = new RSync(source);
  rs.addTarget(victim, dest);
  const sending = rs.send().catch((e: unknown) => e);
  await whenTempAppears(dest, () => victim.kill());
  expect(await sending).toBeInstanceOf(Error);
  expect(existsSync(join(dest, 'big'))).toBe(false);
  // a temporary from an even earlier interrupted run, in a subdirectory
  mkdirSync(join(dest, 'sub'), { recursive: true });
  writeFileSync(join(dest, 'sub', '.~tsnet-rsync.1-1-abc.tmp'), 'partial');
  const again = new RSync(source);
  again.addTarget(gw, dest, { delete: true });
  const report = await again.send();
  expect(temps(dest)).toEqual([]);
  expect(report.targets[0]!.deleted).toEqual(['sub']);
  expect(snapshot(dest)).toEqual(snapshot(source));
});

test('a link replaced by a directory between two runs, and a destination holding a link to elsewhere: nothing outside is touched', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  const outside = join(t.path, 'outside');
  write(outside, 'precious', 'keep me');
  symlinkSync(outside, join(mkdirSync(source, { recursive: true }) ?? source, 'a'));
  let rs = new RSync(source);
  rs.addTarget(gw, dest);
  await rs.send();
  expect(readlinkSync(join(dest, 'a'))).toBe(outside);
  // now `a` is a directory on the source side
  await import('node:fs').then((fs) => fs.unlinkSync(join(source, 'a')));
  write(source, 'a/precious', 'overwritten?');
  write(source, 'a/new', 'new');
  // and the destination holds a link to elsewhere where the source has a directory, and one where it has a file
  symlinkSync(outside, join(dest, 'b'));
  write(source, 'b/inner', 'inner');
  symlinkSync(join(outside, 'precious'), join(dest, 'c'));
  write(source, 'c', 'a file now');
  symlinkSync(outside, join(dest, 'extra'));
  rs = new RSync(source);
  rs.addTarget(gw, dest, { delete: true });
  const report = await rs.send();
  expect(readdirSync(outside)).toEqual(['precious']);
  expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('keep me');
  expect(statSync(join(dest, 'a')).isDirectory()).toBe(true);
  expect(snapshot(dest)).toEqual(snapshot(source));
  expect(report.targets[0]!.deleted).toEqual(['extra']);
  expect(report.targets[0]!.updated.sort()).toEqual(['a', 'b', 'c']);
});

test('dry run: the lists say what would change and nothing is written', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(source, 'new', 'n');
  write(source, 'changed', 'new content');
  write(dest, 'changed', 'old');
  write(dest, 'extra/file', 'x');
  const before = snapshot(dest);
  const rs = new RSync(source, { dryRun: true });
  rs.addTarget(gw, dest, { delete: true });
  const report = await rs.send();
  expect(report.targets[0]).toMatchObject({ created: ['new'], updated: ['changed'], deleted: ['extra', 'extra/file'], unchanged: 0 });
  expect(snapshot(dest)).toEqual(before);
});

test('checksum: a file with the same size and mtime but other content is found only with checksum', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(source, 'f', 'aaaa', now);
  write(dest, 'f', 'bbbb', now);
  let rs = new RSync(source);
  rs.addTarget(gw, dest);
  expect((await rs.send()).targets[0]!.unchanged).toBe(1);
  expect(readFileSync(join(dest, 'f'), 'utf8')).toBe('bbbb');
  rs = new RSync(source, { checksum: true });
  rs.addTarget(gw, dest);
  expect((await rs.send()).targets[0]!.updated).toEqual(['f']);
  expect(readFileSync(join(dest, 'f'), 'utf8')).toBe('aaaa');
});

const now = Date.now() - 3_600_000;

test('one target failing does not stop the others: send() rejects naming it, the others are complete', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  write(source, 'a/b', 'content');
  const blocked = join(t.path, 'blocked');
  writeFileSync(blocked, 'a file where a directory should be');
  const other = await makeGateway('popen//id=other');
  try {
    const rs = new RSync(source);
    rs.addTarget(gw, join(blocked, 'dest'));
    rs.addTarget(other, join(t.path, 'ok'));
    const error = (await rs.send().catch((e: unknown) => e)) as RSyncTargetError;
    expect(error).toBeInstanceOf(RSyncTargetError);
    expect(error.failures.map((f) => f.destDir)).toEqual([join(blocked, 'dest')]);
    expect(error.message).toMatch(/ENOTDIR|EEXIST/);
    expect(error.reports.map((r) => r.gatewayId)).toEqual(['other']);
    expect(snapshot(join(t.path, 'ok'))).toEqual(snapshot(source));
    // the failed target's gateway still works
    expect(await gw.remoteExec('channel.send(2)').receive()).toBe(2);
  } finally {
    await other.exit();
  }
});
