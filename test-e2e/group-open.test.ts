// Group.open over many specs: the bound on opens in flight (seen by a counting transport that
// delegates to popen, so every gateway is a real process), onError 'skip' and 'throw'.

import { Group, GroupError, isTsnetError, registerTransport, type Transport, type TransportProvider } from '@tsnet/core';
import { popen } from '@tsnet/transport-popen';
import { expect, test } from 'vitest';
import { survivors } from './helpers/processes.js';

const quiet = { output: 'ignore' } as const;
const DEAD = 'counted//node=/nonexistent/node';

/**
 * A transport type `counted` that is popen underneath and records how many of its gateways are
 * being opened at once: from connect() until the remote runtime's first bytes (its hello) arrive,
 * or the connect fails. That is inside the group's own window for the open (which ends when
 * makeGateway resolves, after the hello), so its maximum is never above the group's bound.
 */
function countingTransport() {
  const stats = { started: 0, inFlight: 0, max: 0, pids: [] as number[], order: [] as string[] };
  const provider: TransportProvider = {
    type: 'counted',
    async connect(options) {
      stats.started++;
      stats.order.push(options.gatewayId);
      stats.max = Math.max(stats.max, ++stats.inFlight);
      let open = true;
      const done = () => {
        if (open) stats.inFlight--;
        open = false;
      };
      let transport: Transport;
      try {
        transport = await popen.connect(options);
      } catch (error) {
        done();
        throw error;
      }
      if (transport.pid !== undefined) stats.pids.push(transport.pid);
      void transport.closed.then(done);
      const onData = transport.onData.bind(transport);
      transport.onData = (handler) =>
        onData((chunk) => {
          done();
          handler(chunk);
        });
      return transport;
    },
  };
  registerTransport(provider);
  return stats;
}

test('at most `concurrency` gateways are being opened at once; all of them open', async () => {
  const stats = countingTransport();
  await using group = await Group.open(
    Array.from({ length: 10 }, () => 'counted'),
    { ...quiet, concurrency: 3 },
  );
  expect(group.size).toBe(10);
  expect(stats.started).toBe(10);
  expect(stats.max).toBe(3);
  expect([...group].map((g) => g.id)).toEqual(Array.from({ length: 10 }, (_, i) => `gw${i}`));
  expect(await group.remoteExec('channel.send(1)').receiveEach()).toEqual(Array(10).fill(1));
});

test('specs start round-robin over their targets; ids keep the order of the specs', async () => {
  const stats = countingTransport();
  const specs = ['counted=a', 'counted=a', 'counted=a', 'counted=b', 'counted=c', 'counted=c'];
  await using group = await Group.open(specs, { ...quiet, concurrency: 2 });
  expect([...group].map((g) => [g.id, String(g.spec.get('counted'))])).toEqual(specs.map((s, i) => [`gw${i}`, s.slice('counted='.length)]));
  // the first gateway of every target before the second of any
  expect(stats.order).toEqual(['gw0', 'gw3', 'gw4', 'gw1', 'gw5', 'gw2']);
});

test('the default bound is 16', async () => {
  const stats = countingTransport();
  await using group = await Group.open(
    Array.from({ length: 17 }, () => 'counted'),
    quiet,
  );
  expect(group.size).toBe(17);
  expect(stats.max).toBe(16);
});

test("onError 'skip': the group has the gateways that opened, `failures` the specs that did not", async () => {
  countingTransport();
  const specs = ['counted', DEAD, 'counted', 'counted//via=nobody', 'counted'];
  await using group = await Group.open(specs, { ...quiet, concurrency: 2, onError: 'skip' });
  expect(group.size).toBe(3);
  expect(group.failures.map((f) => f.spec)).toEqual([DEAD, 'counted//via=nobody']);
  expect(group.failures[0]!.error.message).toMatch(/\/nonexistent\/node/);
  expect(isTsnetError(group.failures[1]!.error, 'TSNET_ERR_GROUP')).toBe(true);
  // A spec refused before it got an id (via= naming nothing) takes none.
  expect(await group.remoteExec('channel.send(channel.gateway.id)').receiveEach()).toEqual(['gw0-worker', 'gw2-worker', 'gw3-worker']);
});

test("the default 'throw': the first failure rejects, what was opened is terminated, nothing after it starts", async () => {
  const stats = countingTransport();
  const specs = [...Array(4).fill('counted'), DEAD, ...Array(4).fill('counted')];
  const error = await Group.open(specs, { ...quiet, concurrency: 2 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(/\/nonexistent\/node/);
  // The failing spec was the fifth; with two in flight at most one more was started beside it.
  expect(stats.started).toBeLessThanOrEqual(6);
  expect(stats.pids.length).toBeGreaterThanOrEqual(4);
  expect(await survivors(stats.pids, 10_000)).toEqual([]);
});

test('bad options are refused before anything starts', async () => {
  const stats = countingTransport();
  await expect(Group.open(['counted'], { concurrency: 0 })).rejects.toBeInstanceOf(GroupError);
  await expect(Group.open(['counted'], { concurrency: 1.5 })).rejects.toThrow(/positive integer/);
  await expect(Group.open(['counted'], { onError: 'ignore' as never })).rejects.toThrow(/onError must be/);
  expect(stats.started).toBe(0);
});
