/**
 * execnet's testing/test_rsync.py, ported: two targets with delete on one, a second send()
 * refused, no targets, permissions, read-only directories, links inside and outside the tree,
 * the callback totals (our progress events), a file vanishing during the walk. Real popen
 * gateways, real files in temp dirs.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Gateway, isTsnetError, makeGateway } from '@tsnet/core';
import '@tsnet/transport-popen';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type ProgressEvent, pullDir, RSync, RSyncError } from '../src/index.js';
import { snapshot, tempDir, write } from './helpers.js';

let gw1: Gateway;
let gw2: Gateway;
beforeAll(async () => {
  [gw1, gw2] = await Promise.all([makeGateway('popen//id=gw1'), makeGateway('popen//id=gw2')]);
});
afterAll(async () => {
  await Promise.all([gw1?.exit(), gw2?.exit()]);
});

test('no targets: send() throws a TsnetError', async () => {
  using t = tempDir();
  const rs = new RSync(t.path);
  const error = await rs.send().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RSyncError);
  expect(isTsnetError(error, 'TSNET_ERR_RSYNC')).toBe(true);
  expect((error as Error).message).toMatch(/addTarget/);
});

test('dirsync: two targets, content updates, a deleted source file stays unless delete is set on that target', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest1 = join(t.path, 'dest1');
  const dest2 = join(t.path, 'dest2');
  for (const s of ['content1', 'content2', 'content2-a-bit-longer']) {
    write(source, 'subdir/file1', s);
    const rs = new RSync(source);
    rs.addTarget(gw1, dest1);
    rs.addTarget(gw2, dest2);
    await rs.send();
    for (const d of [dest1, dest2]) {
      expect(statSync(join(d, 'subdir')).isDirectory()).toBe(true);
      expect(readFileSync(join(d, 'subdir/file1'), 'utf8')).toBe(s);
      utimesSync(join(d, 'subdir/file1'), 0, 0); // as execnet's test: a changed mtime alone must not break the next round
    }
  }
  unlinkSync(join(source, 'subdir/file1'));
  let rs = new RSync(source);
  rs.addTarget(gw2, dest2);
  rs.addTarget(gw1, dest1);
  await rs.send();
  expect(existsSync(join(dest1, 'subdir/file1'))).toBe(true);
  expect(existsSync(join(dest2, 'subdir/file1'))).toBe(true);
  rs = new RSync(source);
  rs.addTarget(gw1, dest1, { delete: true });
  rs.addTarget(gw2, dest2);
  const report = await rs.send();
  expect(existsSync(join(dest1, 'subdir/file1'))).toBe(false);
  expect(existsSync(join(dest2, 'subdir/file1'))).toBe(true);
  expect(report.targets.map((r) => [r.gatewayId, r.deleted])).toEqual([
    ['gw1', ['subdir/file1']],
    ['gw2', []],
  ]);
});

test('dirsync twice: a second send() needs a new addTarget()', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  write(source, 'hello', '');
  const rs = new RSync(source);
  let finished = 0;
  rs.addTarget(gw1, join(t.path, 'dest1'), { finished: () => finished++ });
  await rs.send();
  expect(finished).toBe(1);
  expect(existsSync(join(t.path, 'dest1/hello'))).toBe(true);
  const again = await rs.send().catch((e: unknown) => e);
  expect(isTsnetError(again, 'TSNET_ERR_RSYNC')).toBe(true);
  expect((again as Error).message).toMatch(/again without new targets/);
  rs.addTarget(gw1, join(t.path, 'dest2'));
  await rs.send();
  expect(existsSync(join(t.path, 'dest2/hello'))).toBe(true);
  await expect(rs.send()).rejects.toThrow(RSyncError);
});

test('permissions: file and directory modes are copied, and re-copied when only the mode changes', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(source, 'sub/file', 'x');
  chmodSync(join(source, 'sub/file'), 0o741);
  chmodSync(join(source, 'sub'), 0o751);
  let rs = new RSync(source);
  rs.addTarget(gw1, dest);
  await rs.send();
  expect(statSync(join(dest, 'sub/file')).mode & 0o7777).toBe(0o741);
  expect(statSync(join(dest, 'sub')).mode & 0o7777).toBe(0o751);
  chmodSync(join(source, 'sub/file'), 0o604);
  rs = new RSync(source);
  rs.addTarget(gw1, dest);
  const report = await rs.send();
  expect(statSync(join(dest, 'sub/file')).mode & 0o7777).toBe(0o604);
  expect(report.targets[0]!.updated).toEqual(['sub/file']);
  expect(snapshot(dest)).toEqual(snapshot(source));
});

test('read-only directories: copied with their mode, and a later sync still writes into them', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  mkdirSync(join(source, 'sub/subsub'), { recursive: true });
  write(source, 'sub/subsub/f', 'one');
  chmodSync(join(source, 'sub/subsub'), 0o500);
  chmodSync(join(source, 'sub'), 0o500);
  try {
    let rs = new RSync(source);
    rs.addTarget(gw1, dest);
    await rs.send();
    expect(statSync(join(dest, 'sub')).mode & 0o7777).toBe(0o500);
    expect(statSync(join(dest, 'sub/subsub')).mode & 0o7777).toBe(0o500);
    chmodSync(join(source, 'sub/subsub'), 0o700);
    write(source, 'sub/subsub/f', 'two, longer');
    chmodSync(join(source, 'sub/subsub'), 0o500);
    rs = new RSync(source);
    rs.addTarget(gw1, dest);
    await rs.send();
    expect(readFileSync(join(dest, 'sub/subsub/f'), 'utf8')).toBe('two, longer');
    expect(statSync(join(dest, 'sub/subsub')).mode & 0o7777).toBe(0o500);
  } finally {
    for (const d of [source, dest]) {
      for (const p of ['sub', 'sub/subsub']) if (existsSync(join(d, p))) chmodSync(join(d, p), 0o700);
    }
  }
});

test('symlinks: relative links kept, absolute links into the tree made relative, links outside verbatim, dangling ones too', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(source, 'existant', 'e');
  write(source, 'sub/inner', 'i');
  symlinkSync('existant', join(source, 'rellink'));
  symlinkSync(join(source, 'existant'), join(source, 'abslink'));
  symlinkSync(join(source, 'sub/inner'), join(source, 'sub/absinner'));
  symlinkSync('/etc/hostname', join(source, 'outside'));
  symlinkSync('../../nowhere', join(source, 'dangling'));
  const rs = new RSync(source);
  rs.addTarget(gw1, dest);
  await rs.send();
  expect(readlinkSync(join(dest, 'rellink'))).toBe('existant');
  expect(readlinkSync(join(dest, 'abslink'))).toBe('existant');
  expect(readlinkSync(join(dest, 'sub/absinner'))).toBe('inner');
  expect(readFileSync(join(dest, 'abslink'), 'utf8')).toBe('e');
  expect(readlinkSync(join(dest, 'outside'))).toBe('/etc/hostname');
  expect(readlinkSync(join(dest, 'dangling'))).toBe('../../nowhere');
  expect(lstatSync(join(dest, 'sub/absinner')).isSymbolicLink()).toBe(true);
});

test('callback totals: progress events per target with file and byte totals (execnet: list 110, ack 100, ack 10)', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  write(source, 'existant', 'a'.repeat(100));
  write(source, 'existant2', 'a'.repeat(10));
  const events: ProgressEvent[] = [];
  const rs = new RSync(source);
  rs.addTarget(gw1, join(t.path, 'dest'));
  await rs.send({ onProgress: (e) => events.push(e) });
  expect(events).toEqual([
    { gatewayId: 'gw1', phase: 'scan', files: 0, totalFiles: 2, bytes: 0, totalBytes: 110 },
    { gatewayId: 'gw1', phase: 'transfer', path: 'existant', files: 1, totalFiles: 2, bytes: 100, totalBytes: 110 },
    { gatewayId: 'gw1', phase: 'transfer', path: 'existant2', files: 2, totalFiles: 2, bytes: 110, totalBytes: 110 },
    { gatewayId: 'gw1', phase: 'done', files: 2, totalFiles: 2, bytes: 110, totalBytes: 110 },
  ]);
});

test('a file vanishing during the walk is skipped', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(source, 'ex', 'a'.repeat(100));
  write(source, 'ex2', 'a'.repeat(100));
  let removed = 0;
  const rs = new RSync(source, {
    filter: (rel) => {
      if (rel === 'ex2') {
        removed++;
        rmSync(join(source, 'ex2'));
      }
      return true;
    },
  });
  rs.addTarget(gw1, dest);
  const report = await rs.send();
  expect(removed).toBe(1);
  expect(readdirSync(dest)).toEqual(['ex']);
  expect(readdirSync(source)).toEqual(['ex']);
  expect(report.targets[0]!.skipped).toEqual(['ex2']);
  expect(report.targets[0]!.created).toEqual(['ex']);
});

test('a missing source is an error, not an empty tree (delete would empty the destination); push and pull', async () => {
  using t = tempDir();
  write(t.path, 'dest/keep', 'k');
  const rs = new RSync(join(t.path, 'missing'));
  rs.addTarget(gw1, join(t.path, 'dest'), { delete: true });
  const error = await rs.send().catch((e: unknown) => e);
  expect(isTsnetError(error, 'TSNET_ERR_RSYNC')).toBe(true);
  expect((error as Error).message).toContain(join(t.path, 'missing'));
  const pulled = await pullDir(gw1, join(t.path, 'missing'), join(t.path, 'dest'), { delete: true }).catch((e: unknown) => e);
  expect(isTsnetError(pulled, 'TSNET_ERR_REMOTE')).toBe(true);
  expect((pulled as { remoteCode?: unknown }).remoteCode).toBe('TSNET_ERR_RSYNC');
  expect(readdirSync(join(t.path, 'dest'))).toEqual(['keep']);
});

test('sockets and FIFOs are skipped and listed in skipped (execnet raised ValueError)', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  write(source, 'plain', 'p');
  execFileSync('mkfifo', [join(source, 'fifo')]);
  const server = createServer();
  await new Promise<void>((r) => server.listen(join(source, 'sock'), r));
  try {
    const rs = new RSync(source);
    rs.addTarget(gw1, join(t.path, 'dest'));
    const [report] = (await rs.send()).targets;
    expect(report!.skipped.sort()).toEqual(['fifo', 'sock']);
    expect(report!.created).toEqual(['plain']);
    expect(readdirSync(join(t.path, 'dest'))).toEqual(['plain']);
  } finally {
    server.close();
  }
});
