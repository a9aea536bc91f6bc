// group.terminate(): bounded, dependants first, kills what does not exit, and leaves no process
// behind; the default group is terminated when the process ends (execnet's test_termination.py
// and the terminate tests of test_multi.py, ported).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type Gateway, Group, isTsnetError } from '@tsnet/core';
import { expect, test } from 'vitest';
import { groupMembers, isAlive, survivors } from './helpers/processes.js';

const quiet = { output: 'ignore' } as const;
const pidOf = async (gw: Gateway) => (await gw.remoteInfo()).pid;

/** Remote code that starts a child of its own (in its process group) and sends its pid. */
/**
 * Remote code that tells us it is about to block its event loop for good. send() resolves before
 * the frame is written (writes are batched until the next tick), so it yields once first.
 */
const thenLoop = "await channel.send('looping'); while (true) {}";

const startGrandchild = `
  const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await channel.send(c.pid);
`;

test('terminate kills a busy loop and a remote that ignores SIGTERM, lets the idle one exit, and leaves no process', async () => {
  const group = await Group.open(['popen//id=idle', 'popen//id=busy', 'popen//id=stubborn'], quiet);
  const [idle, busy, stubborn] = [...group] as [Gateway, Gateway, Gateway];
  const grandchildren = [
    (await idle.remoteExec(startGrandchild).receive()) as number, // swept when idle exits
    (await stubborn.remoteExec(`${startGrandchild}; process.on('SIGTERM', () => {}); await new Promise(() => {})`).receive()) as number,
  ];
  const looping = busy.remoteExec(thenLoop);
  expect(await looping.receive()).toBe('looping');
  const pids = await Promise.all([idle, busy, stubborn].map(pidOf));

  const report = await group.terminate({ timeout: 500 });
  expect(report).toEqual({ exited: ['idle'], killed: ['busy', 'stubborn'] });
  expect(pids.filter(isAlive)).toEqual([]);
  expect(await survivors(grandchildren, 5000)).toEqual([]);
  for (const pid of pids) expect(groupMembers(pid)).toEqual([]);
  expect(group.size).toBe(0);
  expect((await busy.closed).signal).toBe('SIGKILL');
});

test('terminate of 32 gateways', { timeout: 180_000 }, async () => {
  const specs = Array.from({ length: 32 }, () => 'popen');
  const group = await Group.open(specs, quiet);
  expect(group.size).toBe(32);
  const mc = group.remoteExec('await channel.send(process.pid)');
  const pids = (await mc.receiveEach()) as number[];
  expect(new Set(pids).size).toBe(32);
  const report = await group.terminate({ timeout: 30_000 });
  expect([...report.exited, ...report.killed].sort()).toEqual(Array.from({ length: 32 }, (_, i) => `gw${i}`).sort());
  expect(pids.filter(isAlive)).toEqual([]);
  expect(group.size).toBe(0);
});

test('gateways reached via another end before it: a chain and a plain gateway', async () => {
  const group = await Group.open(['popen//id=m', 'popen//id=v//via=m', 'popen//id=w//via=v', 'popen//id=x'], quiet);
  const pids = await Promise.all([...group].map(pidOf));
  const report = await group.terminate({ timeout: 5000 });
  expect(report.killed).toEqual([]);
  // rounds: w and x (nobody goes through them), then v, then m
  expect(report.exited).toEqual(['w', 'x', 'v', 'm']);
  expect(pids.filter(isAlive)).toEqual([]);
});

test('terminate does not hang when a master is stuck in a busy loop with a gateway through it', async () => {
  const group = await Group.open(['popen//id=m', 'popen//id=v//via=m'], quiet);
  const [m, v] = [...group] as [Gateway, Gateway];
  const pids = await Promise.all([m, v].map(pidOf));
  const looping = m.remoteExec(thenLoop);
  expect(await looping.receive()).toBe('looping');
  const report = await group.terminate({ timeout: 300 });
  expect(report.killed).toEqual(['v', 'm']);
  expect(report.exited).toEqual([]);
  // m was SIGKILLed with its process group; v (a group of its own) follows by its watchdog.
  expect(await survivors(pids, 5000)).toEqual([]);
});

test('terminate stops gateways still being made', async () => {
  const group = new Group();
  const making = group.makeGateway('popen', quiet);
  const report = await group.terminate({ timeout: 1000 });
  expect(report).toEqual({ exited: [], killed: [] });
  await expect(making).rejects.toSatisfy((e) => isTsnetError(e, 'TSNET_ERR_GROUP'));
  await expect(making).rejects.toThrow(/terminated while gateway gw0 was being made/);
  expect(group.size).toBe(0);
});

test('a receive queue across members while one member is killed', async () => {
  await using group = await Group.open(['popen', 'popen', 'popen'], quiet);
  const victim = group.get(1)!;
  const victimPid = await pidOf(victim);
  const mc = group.remoteExec('for (let i = 0; i < 20; i++) await channel.send(i); await channel.receive()');
  const items = new Map<string, unknown[]>();
  let count = 0;
  for await (const [ch, item] of mc.makeReceiveQueue({ endmarker: 'END' })) {
    items.set(ch.gateway.id, [...(items.get(ch.gateway.id) ?? []), item]);
    if (++count === 60) {
      // everything sent: kill one member, let the others finish
      await victim.kill();
      for (const ch of mc) if (ch.gateway !== victim) await ch.send('done');
    }
  }
  const expected = [...Array.from({ length: 20 }, (_, i) => i), 'END'];
  expect(Object.fromEntries(items)).toEqual({ gw0: expected, gw1: expected, gw2: expected });
  const err = await mc.waitClose().catch((e: unknown) => e);
  expect(isTsnetError(err, 'TSNET_ERR_GATEWAY_CLOSED')).toBe(true);
  expect(isAlive(victimPid)).toBe(false);
  expect([...group].map((g) => g.id)).toEqual(['gw0', 'gw2']);
});

// ------------------------------------------------------------------ the default group at process end

async function runFixture(mode: string): Promise<{ child: ChildProcess; pids: number[] }> {
  const child = spawn(process.execPath, [new URL('./fixtures/default-group.mjs', import.meta.url).pathname, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  const pids = await new Promise<number[]>((resolve, reject) => {
    child.stdout!.on('data', (t: string) => {
      out += t;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as number[]);
    });
    child.once('exit', (code, signal) => reject(new Error(`fixture ended early (${code ?? signal}): ${out}`)));
  });
  return { child, pids };
}

test('the default group is terminated when the script ends by itself', async () => {
  const { child, pids } = await runFixture('end');
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
  expect(await survivors(pids, 5000)).toEqual([]);
});

test.each(['SIGINT', 'SIGTERM'] as const)('the default group is terminated on %s, then the process ends by it', async (signal) => {
  const { child, pids } = await runFixture('wait');
  child.kill(signal);
  const [code, by] = (await once(child, 'exit')) as [number | null, string | null];
  expect({ code, by }).toEqual({ code: null, by: signal });
  expect(await survivors(pids, 5000)).toEqual([]);
});

test('the default group is killed on process.exit()', async () => {
  const { child, pids } = await runFixture('exit');
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(3);
  expect(await survivors(pids, 5000)).toEqual([]);
});
