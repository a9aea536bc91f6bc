// via=: gateways started by another gateway's runtime, with frames routed through it (execnet's
// proxy gateways). The channel contract over them is in via-channel.test.ts.

import { type Gateway, GatewayClosedError, Group, isTsnetError } from '@tsnet/core';
import { expect, test } from 'vitest';
import { groupMembers, isAlive, survivors } from './helpers/processes.js';

const quiet = { output: 'ignore' } as const;
const pidOf = async (gw: Gateway) => (await gw.remoteInfo()).pid;

test('via= starts the runtime on the host of its master, as a child of the master runtime; chains of three hops', async () => {
  await using group = await Group.open(['popen', 'popen//via=gw0', 'popen//via=gw1'], quiet);
  const [gw0, gw1, gw2] = [...group] as [Gateway, Gateway, Gateway];
  const [i0, i1, i2] = await Promise.all([gw0, gw1, gw2].map((g) => g.remoteInfo()));
  expect(i0!.ppid).toBe(process.pid);
  expect(i1!.ppid).toBe(i0!.pid);
  expect(i2!.ppid).toBe(i1!.pid);
  expect(String((gw2 as unknown as { transport: { label: string } }).transport.label)).toBe(`popen:${i2!.pid} via gw1`);
  // frames of all three travel through one another; each still answers on its own
  const mc = group.remoteExec('await channel.send(process.pid)');
  expect(await mc.receiveEach()).toEqual([i0!.pid, i1!.pid, i2!.pid]);
});

test('a gateway and the one it goes through can be made concurrently', async () => {
  await using group = await Group.open(['popen//id=m', 'popen//id=v//via=m'], quiet);
  expect((await group.get('v')!.remoteInfo()).ppid).toBe(await pidOf(group.get('m')!));
});

test('via= naming no open gateway of the group is a GroupError', async () => {
  await using group = await Group.open(['popen//id=m'], quiet);
  await expect(group.makeGateway('popen//via=x')).rejects.toSatisfy((e) => isTsnetError(e, 'TSNET_ERR_GROUP'));
  await expect(group.makeGateway('popen//via=x')).rejects.toThrow(/via=x names no open gateway of this group \(it has m\)/);
  await group.get('m')!.exit();
  await expect(group.makeGateway('popen//via=m')).rejects.toThrow(/via=m names no open gateway/);
  expect(group.size).toBe(0);
});

test('when a master dies, the gateways through it close with a GatewayClosedError naming it, and their processes go', async () => {
  const group = await Group.open(['popen//id=m', 'popen//id=v//via=m', 'popen//id=w//via=v'], quiet);
  const [m, v, w] = [...group] as [Gateway, Gateway, Gateway];
  const pids = await Promise.all([m, v, w].map(pidOf));
  const onV = v.remoteExec('await channel.receive()').receive();
  const onW = w.remoteExec('await channel.receive()').receive();
  process.kill(pids[0]!, 'SIGKILL');
  const errV = (await onV.catch((e: unknown) => e)) as GatewayClosedError;
  const errW = (await onW.catch((e: unknown) => e)) as GatewayClosedError;
  expect(errV).toBeInstanceOf(GatewayClosedError);
  expect(errV.gatewayId).toBe('v');
  expect(errV.reason).toMatch(/^its master gateway m closed: the remote process was killed by SIGKILL/);
  expect(errW.reason).toMatch(/^its master gateway v closed: its master gateway m closed/);
  expect((await v.closed).reason).toBe(errV.reason);
  expect(() => w.remoteExec('1')).toThrow(GatewayClosedError);
  expect(group.size).toBe(0);
  // v and w have process groups of their own: their watchdogs end them once their parent is gone.
  expect(await survivors(pids, 5000)).toEqual([]);
  expect(await group.terminate()).toEqual({ exited: [], killed: [] });
});

test("a master's exit() ends the gateways through it first: once it resolves, their processes are gone", async () => {
  await using group = await Group.open(['popen//id=m', 'popen//id=v//via=m'], quiet);
  const [m, v] = [...group] as [Gateway, Gateway];
  const vPid = await pidOf(v);
  const pending = v.remoteExec('await channel.receive()').receive();
  await m.exit();
  expect(isAlive(vPid)).toBe(false);
  const err = (await pending.catch((e: unknown) => e)) as GatewayClosedError;
  expect(err.reason).toBe('its master gateway m closed: exited on request (gw.exit())');
});

test("kill() of a gateway through another kills its process group on the master's host", async () => {
  await using group = await Group.open(['popen//id=m', 'popen//id=v//via=m'], quiet);
  const v = group.get('v')!;
  const vPid = await pidOf(v);
  const grandchild = (await v
    .remoteExec(`
      const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      await channel.send(c.pid);
      await new Promise(() => {});
    `)
    .receive()) as number;
  await v.kill();
  expect(isAlive(vPid)).toBe(false);
  expect(await survivors([grandchild], 5000)).toEqual([]);
  expect(groupMembers(vPid)).toEqual([]);
  expect((await v.closed).signal).toBe('SIGKILL');
  // the master is unharmed and no longer runs a relay
  const status = await group.get('m')!.remoteStatus();
  expect(status.numExecuting).toBe(0);
});

test("chdir and env of a gateway through another apply on the master's host, on top of the master's environment", async () => {
  await using group = await Group.open(['popen//id=m//env:NODE_PATH=/nonexistent'], quiet);
  const v = await group.makeGateway('popen//via=m//chdir=/tmp//env:TSNET_VIA_VAR=1', quiet);
  const got = await v.remoteExec('await channel.send([process.cwd(), process.env.TSNET_VIA_VAR, process.env.NODE_PATH])').receive();
  // cwd and env come from the spec, on top of the master's environment
  expect(got).toEqual(['/tmp', '1', '/nonexistent']);
});
