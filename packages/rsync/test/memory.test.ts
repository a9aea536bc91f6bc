/**
 * Bounded memory: a 1 GiB file pushed, re-synced as a delta after 1 MiB in its middle changed,
 * and pulled, with the peak RSS of both sides sampled (this process, and the remote runtime
 * through a second remoteExec on the same gateway). Each side must stay within 100 MiB of its
 * baseline: no file is ever held whole.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, statSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Gateway, makeGateway } from '@tsnet/core';
import '@tsnet/transport-popen';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REMOTE_RSS_SAMPLER, RssSampler, report } from '../../../test-e2e/helpers/memory.js';
import { pullDir, RSync } from '../src/index.js';
import { tempDir } from './helpers.js';

const GiB = 1 << 30;
const MiB = 1 << 20;
let gw: Gateway;
beforeAll(async () => {
  gw = await makeGateway('popen//id=mem');
});
afterAll(() => gw?.exit());

/** Runs `fn` while sampling the RSS here and in the remote runtime; returns both growths in MiB. */
async function measured(fn: () => Promise<unknown>): Promise<{ local: number; remote: number }> {
  const remote = gw.remoteExec(`${REMOTE_RSS_SAMPLER}; await channel.send('started'); await channel.receive(); await channel.send(rss.stop());`);
  await remote.receive();
  const local = await RssSampler.start();
  await fn();
  const l = local.stop();
  await remote.send('stop');
  const r = (await remote.receive()) as { growthMiB: number };
  return { local: l.growthMiB, remote: r.growthMiB };
}

function fill(path: string, size: number): void {
  const fd = openSync(path, 'w');
  const block = randomBytes(MiB);
  for (let off = 0; off < size; off += MiB) {
    for (let i = 0; i < MiB; i += 4096) block.writeDoubleLE(off + i, i); // no two 4 KiB pieces alike
    writeSync(fd, block);
  }
  closeSync(fd);
}

function sameContent(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  const ba = Buffer.allocUnsafe(8 * MiB);
  const bb = Buffer.allocUnsafe(8 * MiB);
  try {
    for (let pos = 0; ; pos += ba.length) {
      const n = readSync(fa, ba, 0, ba.length, pos);
      const m = readSync(fb, bb, 0, bb.length, pos);
      if (n !== m) return false;
      if (n === 0) return true;
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

test('1 GiB: push, delta resync and pull each stay within 100 MiB of RSS on both sides', { timeout: 300_000 }, async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  await import('node:fs').then((fs) => fs.mkdirSync(source));
  fill(join(source, 'big'), GiB);

  const push = async () => {
    const rs = new RSync(source);
    rs.addTarget(gw, dest);
    return (await rs.send()).targets[0]!;
  };
  let r: Awaited<ReturnType<typeof push>> | undefined;
  const initial = await measured(async () => {
    r = await push();
  });
  expect(r!.created).toEqual(['big']);
  expect(sameContent(join(source, 'big'), join(dest, 'big'))).toBe(true);

  const fd = openSync(join(source, 'big'), 'r+');
  writeSync(fd, Buffer.alloc(MiB, 0x5a), 0, MiB, GiB / 2 + 12345);
  closeSync(fd);
  utimesSync(join(source, 'big'), 1_000_000, 1_000_000);
  const delta = await measured(async () => {
    r = await push();
  });
  expect(r!.updated).toEqual(['big']);
  expect(r!.bytesSent).toBeLessThan(4 * MiB);
  expect(sameContent(join(source, 'big'), join(dest, 'big'))).toBe(true);

  const pulled = join(t.path, 'pulled');
  const pull = await measured(() => pullDir(gw, source, pulled));
  expect(sameContent(join(source, 'big'), join(pulled, 'big'))).toBe(true);

  report('rsync 1 GiB RSS growth (MiB)', { initial, delta, pull, deltaBytesSent: r!.bytesSent });
  for (const m of [initial, delta, pull]) {
    expect(m.local).toBeLessThan(100);
    expect(m.remote).toBeLessThan(100);
  }
});
