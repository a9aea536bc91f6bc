// Issue 21, output: remote output without a newline under the default output: 'inherit' is
// handled in linear time and bounded memory per line (asserted on memory: the local side's peak
// RSS for 32 MiB against a 1 MiB baseline, both in this run); remote stdout and stderr stay apart
// on every transport, and a remote child with stdio: 'inherit' cannot break the wire; over ssh a
// native write to fd 1 is stdout on Node 18, Bun and Deno too.
import { spawn } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { type GatewayKind, popenKind, runtimeKind, socketKind, sshKind } from '../helpers/gateway-kinds.js';
import { runtimePaths } from '../helpers/runtimes.js';
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

// Bun and Deno read the FIFO on fd 1 through an fs stream (Deno as /proc/self/fd/4), Node 18 without
// native code: over ssh, a native write to fd 1 and a child's stdout arrive as stdout on each.
describe.each([
  ['node', () => runtimePaths().node18],
  ['bun', () => runtimePaths().bun],
  ['deno', () => runtimePaths().deno],
] as const)('%s over ssh', (runtime, exe) => {
  const kind = runtimeKind(runtime, exe(), 'ssh');
  const { open } = useKindGroup(kind);

  test("a native write to fd 1 and a child's stdout arrive as stdout, not stderr", { timeout: 60_000 }, async () => {
    const gw = await open();
    const out: Record<string, string> = { stdout: '', stderr: '' };
    gw.onOutput((stream, text) => {
      out[stream] += text;
    });
    const ch = gw.remoteExec(`
        require('node:fs').writeSync(1, 'native-out\\n');
        require('node:child_process').spawnSync('/bin/sh', ['-c', 'echo child-out; echo child-err >&2'], { stdio: 'inherit' });
        await channel.send(process.execPath);
      `);
    expect(await ch.receive({ timeout: 20_000 })).toBe(kind.runtime!.executable);
    await expect.poll(() => out.stdout, { timeout: 10_000 }).toMatch(/native-out\n[\s\S]*child-out\n/);
    await expect.poll(() => out.stderr, { timeout: 10_000 }).toMatch(/child-err\n/);
    expect(out.stderr).not.toMatch(/out/);
  });
});
