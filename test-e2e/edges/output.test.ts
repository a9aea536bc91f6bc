// Issue 21, output: remote output without a newline under the default output: 'inherit' is
// handled in linear time and bounded memory per line (asserted on memory: the local side's peak
// RSS for 32 MiB against a 1 MiB baseline, both in this run); remote stdout and stderr stay apart
// on every transport, and a remote child with stdio: 'inherit' cannot break the wire.
import { execFileSync, spawn } from 'node:child_process';
import { Group } from '@tsnet/core';
import { describe, expect, test } from 'vitest';
import { type GatewayKind, popenKind, socketKind, sshKind } from '../helpers/gateway-kinds.js';
import { useKindGroup } from '../helpers/use-kind.js';

const FIXTURE = new URL('../fixtures/edges-local.mjs', import.meta.url).pathname;

function peakRss(spec: string, mib: number): Promise<number> {
  // stderr is where 'inherit' writes the remote's text: thrown away here, unread
  const child = spawn(process.execPath, [FIXTURE, 'output', spec, String(mib)], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => {
    out += t;
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`fixture exited with ${code}: ${out}`));
      else resolve((JSON.parse(out.trim().split('\n').pop()!) as { maxRss: number }).maxRss);
    });
  });
}

test('32 MiB of remote stderr without a newline: peak local memory stays near the 1 MiB baseline', { timeout: 120_000 }, async () => {
  const baseline = await peakRss('popen', 1);
  const big = await peakRss('popen', 32);
  expect(big - baseline).toBeLessThan(48 << 20);
});

describe.each([popenKind, sshKind(), socketKind()] as GatewayKind[])('$name', (kind) => {
  const { open } = useKindGroup(kind);

  test("stdout and stderr stay apart, also from a child with stdio: 'inherit', and the wire survives it", async () => {
    const gw = await open();
    const out: Record<string, string> = { stdout: '', stderr: '' };
    gw.onOutput((stream, text) => {
      out[stream] += text;
    });
    const ch = gw.remoteExec(`
      console.log('js-out'); console.error('js-err');
      const { spawnSync } = require('node:child_process');
      const r = spawnSync('/bin/sh', ['-c', 'echo child-out; echo child-err >&2; printf "\\\\367garbage-on-fd1\\\\n"'], { stdio: 'inherit' });
      await channel.send(r.status);
      await channel.send(await channel.receive());
    `);
    expect(await ch.receive({ timeout: 20_000 })).toBe(0);
    await ch.send('still works');
    expect(await ch.receive({ timeout: 20_000 })).toBe('still works');
    // Output travels beside the channel's items, not in order with them.
    await expect.poll(() => out.stdout!.includes('garbage-on-fd1') && out.stderr!.includes('child-err'), { timeout: 10_000 }).toBe(true);
    await gw.exit({ timeout: 2000 });
    expect(out.stdout).toMatch(/js-out\n/);
    expect(out.stdout).toMatch(/child-out\n/);
    expect(out.stdout).toMatch(/garbage-on-fd1/);
    expect(out.stderr).toMatch(/js-err\n/);
    expect(out.stderr).toMatch(/child-err\n/);
    expect(out.stdout).not.toMatch(/err/);
    expect(out.stderr).not.toMatch(/out/);
  });
});

test("a Node 18 remote over ssh: a child's stdout still arrives as stdout (the FIFO on fd 1 works without native code)", { timeout: 240_000 }, async () => {
  const node18 = execFileSync('npx', ['-y', '-p', 'node@18', 'node', '-p', 'process.execPath'], { encoding: 'utf8', timeout: 180_000 }).trim();
  const kind = sshKind();
  await kind.setup();
  const group = new Group();
  try {
    const gw = await group.makeGateway(kind.spec(`//node=${node18}`), { output: 'ignore' });
    let stdout = '';
    gw.onOutput((stream, text) => {
      if (stream === 'stdout') stdout += text;
    });
    const ch = gw.remoteExec(`
      require('node:child_process').spawnSync('/bin/sh', ['-c', 'echo child-out-18'], { stdio: 'inherit' });
      await channel.send(process.version);
    `);
    expect(await ch.receive({ timeout: 20_000 })).toMatch(/^v18\./);
    await expect.poll(() => stdout, { timeout: 10_000 }).toMatch(/child-out-18\n/);
  } finally {
    await group.terminate({ timeout: 2000 });
    await kind.teardown();
  }
});
