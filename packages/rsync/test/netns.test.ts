/**
 * 1:N to four hosts, each a network namespace with its own address and its own OpenSSH sshd
 * (test-e2e/helpers/fleet.ts): one RSync pushes to all four at once (each source file read
 * once), then a delta resync to all four, then a pull from one. The hosts share this file
 * system, so each gets its own destination directory.
 */
import { join } from 'node:path';
import { Group, registerTransport } from '@tsnet/core';
import { createSsh, ssh } from '@tsnet/transport-ssh';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createFleet, type Fleet } from '../../../test-e2e/helpers/fleet.js';
import { pullDir, RSync } from '../src/index.js';
import { changeBig, makeTree, snapshot, tempDir } from './helpers.js';

const N = 4;
let fleet: Fleet | undefined;
let hosts: Fleet['hosts'] = [];

beforeAll(async () => {
  fleet = await createFleet(N);
  hosts = fleet.hosts;
  registerTransport(createSsh({ configFile: fleet.config, agent: false }));
}, 90_000);

afterAll(async () => {
  registerTransport(ssh);
  await fleet?.teardown();
}, 60_000);

test('push to four netns hosts at once, delta resync to all four, pull from one', { timeout: 180_000 }, async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  makeTree(source);
  const group = await Group.open(hosts.map((_h, i) => `ssh=h${i + 1}//node=/usr/bin/node//id=h${i + 1}`));
  try {
    const dests = hosts.map((_h, i) => join(t.path, `dest-h${i + 1}`));
    let rs = new RSync(source);
    for (const [i, gw] of [...group].entries()) rs.addTarget(gw, dests[i]!);
    let report = await rs.send();
    expect(report.targets.map((r) => r.gatewayId)).toEqual(['h1', 'h2', 'h3', 'h4']);
    for (const d of dests) expect(snapshot(d)).toEqual(snapshot(source));

    changeBig(source, 9);
    rs = new RSync(source);
    for (const [i, gw] of [...group].entries()) rs.addTarget(gw, dests[i]!);
    report = await rs.send();
    for (const r of report.targets) {
      expect(r.updated).toEqual(['big.bin']);
      expect(r.bytesSent).toBeLessThan(200_000);
    }
    for (const d of dests) expect(snapshot(d)).toEqual(snapshot(source));

    const pulled = join(t.path, 'pulled');
    await pullDir(group.get('h2')!, dests[1]!, pulled);
    expect(snapshot(pulled)).toEqual(snapshot(source));
  } finally {
    await group.terminate();
  }
});
