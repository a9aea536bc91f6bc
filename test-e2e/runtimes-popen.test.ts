// The channel contract and the value table with a Bun remote and a Deno remote over popen (binaries
// from the npm registry, see scripts/install-runtimes.mjs).
import { dirname } from 'node:path';
import { Group, makeGateway } from '@tsnet/core';
import { describe, expect, test } from 'vitest';
import { runtimeKind } from './helpers/gateway-kinds.js';
import { runtimePaths } from './helpers/runtimes.js';
import { sigkillGatewayOpener } from './helpers/sigkilled-local.js';
import { binaryWire } from './suites/binary-wire.js';
import { channelContract } from './suites/channel-contract.js';

const paths = runtimePaths();
describe('Bun over popen', () => {
  const kind = runtimeKind('bun', paths.bun, 'popen');
  channelContract(kind);
  binaryWire(kind);
});
describe('Deno over popen', () => {
  const kind = runtimeKind('deno', paths.deno, 'popen');
  channelContract(kind);
  binaryWire(kind);
});

test('Bun and Deno remotes through via= (started by a Node master), and Node remotes via a Bun and a Deno master', async () => {
  await using group = await Group.open(
    [
      'popen//id=m',
      `popen//id=b//via=m//runtime=bun//exe=${paths.bun}`,
      `popen//id=d//via=m//runtime=deno//exe=${paths.deno}`,
      `popen//id=bm//runtime=bun//exe=${paths.bun}`,
      `popen//id=n//via=bm//node=${process.execPath}`,
      `popen//id=dm//runtime=deno//exe=${paths.deno}`,
      `popen//id=n2//via=dm//node=${process.execPath}`,
    ],
    { output: 'ignore' },
  );
  const m = await group.get('m')!.remoteInfo();
  const bm = await group.get('bm')!.remoteInfo();
  const dm = await group.get('dm')!.remoteInfo();
  const got = await Promise.all(
    ['b', 'd', 'n', 'n2'].map(async (id) => {
      const info = await group.get(id)!.remoteInfo();
      const echo = group.get(id)!.remoteExec('channel.send([await channel.receive(), process.pid])');
      await echo.send(new Map([[id, 1n]]));
      return [info.runtime, info.ppid, await echo.receive()];
    }),
  );
  expect(got).toEqual([
    ['bun', m.pid, [new Map([['b', 1n]]), expect.any(Number)]],
    ['deno', m.pid, [new Map([['d', 1n]]), expect.any(Number)]],
    ['node', bm.pid, [new Map([['n', 1n]]), expect.any(Number)]],
    ['node', dm.pid, [new Map([['n2', 1n]]), expect.any(Number)]],
  ]);
});

test('runtime=bun and runtime=deno without exe= find the runtime on PATH', async () => {
  for (const runtime of ['bun', 'deno'] as const) {
    const path = `${dirname(paths[runtime])}:/usr/bin:/bin`;
    await using gw = await makeGateway(`popen//runtime=${runtime}//env:PATH=${path}`, { output: 'ignore' });
    const info = await gw.remoteInfo();
    expect([info.runtime, info.executable]).toEqual([runtime, paths[runtime]]);
  }
});

test.each(['bun', 'deno'] as const)('a SIGKILLed local process takes its %s remotes (and what they started) with it within 2 s', async (runtime) => {
  const { pids, allAliveBefore, left } = await sigkillGatewayOpener(`popen//runtime=${runtime}//exe=${paths[runtime]}`);
  expect(pids).toHaveLength(5); // four remote runtimes and a process one of them started
  expect(allAliveBefore).toBe(true);
  expect(left).toEqual([]);
});
