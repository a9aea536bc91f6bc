// The bundled remote side runs on Node 18 and newer: run examples with node= pointing at a Node 18
// binary taken from the npm registry's `node` package.
import { execFileSync } from 'node:child_process';
import { type Channel, makeGateway } from '@tsnet/core';
import { beforeAll, expect, test } from 'vitest';

let node18 = '';
beforeAll(() => {
  node18 = execFileSync('npx', ['-y', '-p', 'node@18', 'node', '-p', 'process.execPath'], { encoding: 'utf8', timeout: 180_000 }).trim();
}, 200_000);

test('a Node 18 remote runs source, functions, modules and channels', async () => {
  const gw = await makeGateway(`popen//node=${node18}`);
  try {
    const info = await gw.remoteInfo();
    expect(info.versions.node).toMatch(/^18\./);
    const ch = gw.remoteExec('channel.send((await channel.receive()) + 1)');
    await ch.send(1);
    expect(await ch.receive()).toBe(2);
    const fn = gw.remoteExec(async (channel: Channel, kw: { n: number }) => channel.send(new Map([['n', BigInt(kw.n) * 2n]])), { n: 21 });
    expect(await fn.receive()).toEqual(new Map([['n', 42n]]));
    const mod = gw.remoteExec(new URL('../examples/remote1.ts', import.meta.url));
    expect(await mod.receive()).toBe('initialization complete');
    const c1 = gw.newChannel<string>();
    const sender = gw.remoteExec('const [c] = await channel.receive(); await c.send(process.version)');
    await sender.send([c1]);
    expect(await c1.receive()).toMatch(/^v18\./);
  } finally {
    await gw.exit();
  }
});
