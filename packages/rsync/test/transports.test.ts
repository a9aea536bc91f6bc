/**
 * Any gateway: a push, a delta resync and a pull over a real OpenSSH sshd on 127.0.0.1, and a push
 * through via= (a runtime started by another gateway). The agent is the same script each time;
 * nothing is installed on the far side.
 */
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Group } from '@tsnet/core';
import '@tsnet/transport-popen';
import { expect, test } from 'vitest';
import { useSshd } from '../../../test-e2e/helpers/use-sshd.js';
import { pullDir, RSync } from '../src/index.js';
import { changeBig, makeTree, snapshot, tempDir } from './helpers.js';

const server = useSshd({ registerSsh: true });

test('over ssh: push, delta resync, pull', { timeout: 120_000 }, async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  makeTree(source);
  const group = new Group();
  try {
    const gw = await group.makeGateway(`ssh=${server.sshd.alias}//node=/usr/bin/node`);
    let rs = new RSync(source);
    rs.addTarget(gw, dest);
    const first = (await rs.send()).targets[0]!;
    expect(first.created.length).toBe(Object.keys(snapshot(source)).length);
    expect(snapshot(dest)).toEqual(snapshot(source));

    changeBig(source, 7);
    unlinkSync(join(source, 'd1/f1.txt'));
    rs = new RSync(source);
    rs.addTarget(gw, dest, { delete: true });
    const second = (await rs.send()).targets[0]!;
    expect(second).toMatchObject({ updated: ['big.bin'], deleted: ['d1/f1.txt'] });
    expect(second.bytesSent).toBeLessThan(200_000); // 50 KB changed in 3 MiB, plus the list
    expect(snapshot(dest)).toEqual(snapshot(source));

    const pulled = join(t.path, 'pulled');
    const back = await pullDir(gw, dest, pulled);
    expect(back.gatewayId).toBe(gw.id);
    expect(snapshot(pulled)).toEqual(snapshot(source));
  } finally {
    await group.terminate();
  }
});

test('through via=: a runtime started by another gateway', { timeout: 60_000 }, async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  makeTree(source);
  const group = new Group();
  try {
    await group.makeGateway('popen//id=master');
    const gw = await group.makeGateway('popen//id=proxied//via=master');
    const rs = new RSync(source);
    rs.addTarget(gw, join(t.path, 'dest'));
    const [report] = (await rs.send()).targets;
    expect(report!.gatewayId).toBe('proxied');
    expect(snapshot(join(t.path, 'dest'))).toEqual(snapshot(source));
    const pulled = join(t.path, 'pulled');
    await pullDir(gw, source, pulled);
    expect(snapshot(pulled)).toEqual(snapshot(source));
  } finally {
    await group.terminate();
  }
});
