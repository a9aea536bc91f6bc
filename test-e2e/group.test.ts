// Group and MultiChannel over popen gateways (execnet's testing/test_multi.py, ported).

import {
  type Channel,
  defaultGroup,
  type Gateway,
  GatewayClosedError,
  Group,
  isTsnetError,
  makeGateway,
  type RemoteError,
  SpecError,
  XSpec,
} from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive, survivors } from './helpers/processes.js';

const quiet = { output: 'ignore' } as const;

async function pidsOf(group: Iterable<Gateway>): Promise<number[]> {
  return Promise.all([...group].map(async (gw) => (await gw.remoteInfo()).pid));
}

describe('MultiChannel', () => {
  let group: Group;
  beforeAll(async () => {
    group = await Group.open(['popen', 'popen'], quiet);
  });
  afterAll(async () => {
    await group.terminate();
  });

  test('container basics: size, order, get, includes', async () => {
    const mc = group.remoteExec('await channel.send(channel.gateway.id)');
    expect(mc.size).toBe(2);
    const chans = [...mc];
    expect(chans.map((c) => c.gateway)).toEqual([...group]);
    expect(mc.get(0)).toBe(chans[0]);
    expect(mc.includes(chans[1]!)).toBe(true);
    expect(mc.includes(group.get(0)!.newChannel())).toBe(false);
    expect(await mc.receiveEach()).toEqual(['gw0-worker', 'gw1-worker']);
  });

  test('receiveEach with and without channels', async () => {
    const mc = group.remoteExec<number>('await channel.send(kwargs); await channel.send(kwargs + 1)', 10);
    expect(await mc.receiveEach()).toEqual([10, 10]);
    const pairs = await mc.receiveEach({ withChannel: true });
    expect(pairs.map(([ch, x]) => [ch, x])).toEqual([...mc].map((ch) => [ch, 11]));
  });

  test('sendEach, then receiveEach', async () => {
    const mc = group.remoteExec<number>('await channel.send((await channel.receive()) * 2)');
    await mc.sendEach(21);
    expect(await mc.receiveEach()).toEqual([42, 42]);
    await mc.waitClose();
  });

  test('a receive queue yields [channel, item] from both gateways, then an endmarker for each', async () => {
    const mc = group.remoteExec<number>('for (let i = 0; i < 3; i++) await channel.send(i); await channel.receive()');
    const queue = mc.makeReceiveQueue({ endmarker: 'END' });
    expect(mc.makeReceiveQueue({ endmarker: 'other' })).toBe(queue); // the same queue
    await expect(mc.get(0)!.receive()).rejects.toSatisfy((e) => isTsnetError(e, 'TSNET_ERR_CALLBACK_SET'));
    const got = new Map<Channel, unknown[]>();
    let seen = 0;
    for await (const [ch, item] of queue) {
      got.set(ch, [...(got.get(ch) ?? []), item]);
      if (++seen === 6) await mc.sendEach(0); // all six items are in: let the members finish
    }
    expect([...got.keys()].sort((a, b) => a.gateway.id.localeCompare(b.gateway.id))).toEqual([...mc]);
    for (const items of got.values()) expect(items).toEqual([0, 1, 2, 'END']);
  });

  test('a receive queue holds back a member nobody reads (its credit stops it)', async () => {
    const mc = group.remoteExec(`
      globalThis.sent = 0;
      const chunk = new Uint8Array(100 * 1024);
      for (let i = 0; i < 200; i++) { await channel.send(chunk); globalThis.sent = i + 1 }
    `);
    const queue = mc.makeReceiveQueue({ endmarker: null });
    const sent = async () => (await group.get(0)!.remoteExec('await channel.send(globalThis.sent)').receive()) as number;
    // 200 × 100 KiB is more than the queue's mark plus a channel's window: the sender must stop
    // short. Wait until its count stops moving (bounded), then look.
    let last = -1;
    let still = 0;
    for (let i = 0; i < 100 && still < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await sent();
      still = now === last ? still + 1 : 0;
      last = now;
    }
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(200);
    let items = 0;
    let ends = 0;
    for await (const [, item] of queue) {
      if (item === null) ends++;
      else items++;
    }
    expect({ items, ends }).toEqual({ items: 400, ends: 2 });
  });

  test('waitClose waits for all, then rejects with the first RemoteError', async () => {
    const mc = group.remoteExec(`
      await new Promise((r) => setTimeout(r, channel.gateway.id === 'gw0-worker' ? 100 : 0));
      if (channel.gateway.id === 'gw0-worker') throw new RangeError('first member failed');
    `);
    const err = (await mc.waitClose().catch((e: unknown) => e)) as RemoteError;
    expect(err.code).toBe('TSNET_ERR_REMOTE');
    expect(err.remoteName).toBe('RangeError');
    expect(err.gatewayId).toBe('gw0');
    for (const ch of mc) expect(ch.isClosed()).toBe(true);
  });

  test('waitClose with a timeout rejects with TimeoutError', async () => {
    const mc = group.remoteExec('await channel.receive()');
    await expect(mc.waitClose({ timeout: 50 })).rejects.toSatisfy((e) => isTsnetError(e, 'TSNET_ERR_TIMEOUT'));
    await mc.sendEach(null);
    await mc.waitClose();
  });
});

describe('Group', () => {
  test('creation order and ids are kept; terminate empties the group', async () => {
    const group = await Group.open(['popen', 'popen//id=named', 'popen'], quiet);
    expect([...group].map((g) => g.id)).toEqual(['gw0', 'named', 'gw1']);
    expect(String(group)).toBe('<Group [gw0, named, gw1]>');
    expect(group.size).toBe(3);
    const pids = await pidsOf(group);
    const report = await group.terminate({ timeout: 5000 });
    expect(report.exited.sort()).toEqual(['gw0', 'gw1', 'named']);
    expect(report.killed).toEqual([]);
    expect(group.size).toBe(0);
    expect(String(group)).toBe('<Group []>');
    expect(pids.filter(isAlive)).toEqual([]);
  });

  test('16 concurrent makeGateway calls keep their call order', async () => {
    await using group = new Group();
    const made = await Promise.all(Array.from({ length: 16 }, () => group.makeGateway('popen', quiet)));
    const ids = Array.from({ length: 16 }, (_, i) => `gw${i}`);
    expect(made.map((g) => g.id)).toEqual(ids);
    expect([...group].map((g) => g.id)).toEqual(ids);
    expect(group.get(5)).toBe(made[5]);
  });

  test('allocateId before creation; explicit ids are kept', async () => {
    await using group = new Group();
    const spec = new XSpec('popen');
    expect(group.allocateId(spec)).toBe('gw0');
    expect(spec.id).toBe('gw0');
    expect(group.allocateId(spec)).toBe('gw0'); // re-entrant
    expect(group.allocateId(new XSpec('popen//id=mine'))).toBe('mine');
    const gw = await group.makeGateway(spec, quiet);
    expect(gw.id).toBe('gw0');
    expect((await group.makeGateway('popen', quiet)).id).toBe('gw1');
  });

  test('an id in use is a GroupError, also while the first is still being made; nothing is started', async () => {
    await using group = new Group();
    const first = group.makeGateway('popen//id=same', quiet);
    const clash = group.makeGateway('popen//id=same', quiet);
    await expect(clash).rejects.toSatisfy((e) => isTsnetError(e, 'TSNET_ERR_GROUP'));
    await expect(clash).rejects.toThrow(/"same" is already in use/);
    await first;
    await expect(group.makeGateway('popen//id=same')).rejects.toThrow(/already in use/);
    expect(group.size).toBe(1);
  });

  test('get by id or index, has, and exit() removes the gateway from the group', async () => {
    await using group = await Group.open(['popen', 'popen//id=b'], quiet);
    const b = group.get('b')!;
    expect(group.get(1)).toBe(b);
    expect(group.has('b')).toBe(true);
    expect(group.has(b)).toBe(true);
    expect(group.get('nope')).toBeUndefined();
    await b.exit();
    expect(group.has('b')).toBe(false);
    expect(group.get('b')).toBeUndefined();
    expect([...group].map((g) => g.id)).toEqual(['gw0']);
  });

  test('defaultSpec is used for makeGateway() and ""; a bad one is a SpecError', async () => {
    await using group = new Group();
    expect(group.defaultSpec).toBe('popen');
    group.defaultSpec = 'popen//env:TSNET_FROM_DEFAULT=yes';
    const gw = await group.makeGateway('', quiet);
    expect(await gw.remoteExec('await channel.send(process.env.TSNET_FROM_DEFAULT)').receive()).toBe('yes');
    group.defaultSpec = 'nonsense';
    await expect(group.makeGateway()).rejects.toBeInstanceOf(SpecError);
  });

  test('the top-level makeGateway adds to defaultGroup', async () => {
    const gw = await makeGateway('popen//id=in-default', quiet);
    expect(defaultGroup.get('in-default')).toBe(gw);
    await gw.exit();
    expect(defaultGroup.has('in-default')).toBe(false);
  });

  test('group.remoteExec with kwargs returns a MultiChannel', async () => {
    await using group = await Group.open(['popen', 'popen'], quiet);
    const mc = group.remoteExec(async (channel: Channel, kw: { n: number }) => channel.send(kw.n + 1), { n: 1 });
    expect(await mc.receiveEach()).toEqual([2, 2]);
  });

  test('new Group(specs) starts at once and `ready` resolves with it; a failure terminates the others', async () => {
    const group = new Group(['popen', 'popen'], quiet);
    expect(await group.ready).toBe(group);
    expect(group.size).toBe(2);
    await group.terminate();

    const bad = new Group(['popen', 'popen//node=/nonexistent/node'], quiet);
    await expect(bad.ready).rejects.toThrow(/cannot start the remote runtime/);
    expect(bad.size).toBe(0);
    await expect(Group.open(['popen//via=nobody'])).rejects.toSatisfy((e) => isTsnetError(e, 'TSNET_ERR_GROUP'));
  });

  test('await using ends a gateway and a group when the block is left', async () => {
    let pids: number[];
    {
      await using group = await Group.open(['popen', 'popen'], quiet);
      await using solo = await makeGateway('popen', quiet);
      pids = [...(await pidsOf(group)), (await solo.remoteInfo()).pid];
      expect(pids.filter(isAlive)).toHaveLength(3);
    }
    expect(pids.filter(isAlive)).toEqual([]);
  });
});

describe('status, information and output', () => {
  let group: Group;
  let gw: Gateway;
  beforeAll(async () => {
    group = await Group.open(['popen', 'popen'], quiet);
    gw = group.get(0)!;
  });
  afterAll(async () => {
    await group.terminate();
  });

  test('remoteStatus answers while remote code is busy, with its counters', async () => {
    const busy = gw.remoteExec(`
      globalThis.stop = false;
      const until = Date.now() + 60000;
      while (!globalThis.stop && Date.now() < until) {
        for (let i = 0; i < 1e5; i++);  // computing, yielding now and then
        await new Promise((r) => setImmediate(r));
      }
    `);
    const status = await gw.remoteStatus();
    expect(status.numExecuting).toBeGreaterThanOrEqual(1);
    expect(status.numChannels).toBeGreaterThanOrEqual(1);
    expect(status.uptime).toBeGreaterThan(0);
    expect(status.memory.rss).toBeGreaterThan(0);
    expect(status.memory.heapUsed).toBeGreaterThan(0);
    await gw.remoteExec('globalThis.stop = true').waitClose();
    await busy.waitClose();
  });

  test('remoteStatus counts queued bytes in both directions', async () => {
    // in: remote code that does not read yet; out: remote code whose sends we do not read.
    const sink = gw.remoteExec('await new Promise((r) => { globalThis.release = r }); for await (const _ of channel);');
    await sink.send(new Uint8Array(1 << 20));
    const source = gw.remoteExec('for (let i = 0; i < 8; i++) await channel.send(new Uint8Array(1 << 20))');
    let status = await gw.remoteStatus();
    for (let i = 0; i < 100 && (status.queuedBytesIn < 1 << 20 || status.queuedBytesOut === 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = await gw.remoteStatus();
    }
    expect(status.queuedBytesIn).toBeGreaterThanOrEqual(1 << 20);
    expect(status.queuedBytesOut).toBeGreaterThan(0);
    for await (const _ of source);
    await gw.remoteExec('globalThis.release()').waitClose();
    await sink.close();
  });

  test('remoteInfo is cached; refresh asks again', async () => {
    const info = await gw.remoteInfo();
    expect(await gw.remoteInfo()).toBe(info);
    const fresh = await gw.remoteInfo({ refresh: true });
    expect(fresh).not.toBe(info);
    expect(fresh.pid).toBe(info.pid);
    expect(await gw.remoteInfo()).toBe(fresh);
  });

  test('output per gateway as streams and as group events, with the gateway id', async () => {
    const events: string[] = [];
    const off = group.onOutput((stream, text, id) => events.push(`${id} ${stream} ${text.trim()}`));
    const out = gw.outputStream('stdout');
    const err = group.get(1)!.outputStream('stderr');
    expect(out.gatewayId).toBe('gw0');
    expect(err.gatewayId).toBe('gw1');
    const chunks: string[] = [];
    out.on('data', (t: string) => chunks.push(t));
    const errChunks: string[] = [];
    err.on('data', (t: string) => errChunks.push(t));
    await group.remoteExec("console.log('out of ' + channel.gateway.id); console.error('err of ' + channel.gateway.id)").waitClose();
    for (let i = 0; i < 100 && events.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    off();
    expect(events.sort()).toEqual([
      'gw0 stderr err of gw0-worker',
      'gw0 stdout out of gw0-worker',
      'gw1 stderr err of gw1-worker',
      'gw1 stdout out of gw1-worker',
    ]);
    expect(chunks.join('')).toBe('out of gw0-worker\n');
    expect(errChunks.join('')).toBe('err of gw1-worker\n');
    out.destroy();
    err.destroy();
  });

  test('an output stream ends when its gateway closes', async () => {
    const extra = await group.makeGateway('popen', quiet);
    const out = extra.outputStream('stdout');
    const text: string[] = [];
    out.on('data', (t: string) => text.push(t));
    const ended = new Promise((r) => out.on('end', r));
    await extra.remoteExec('console.log("last words")').waitClose();
    await extra.exit();
    await ended;
    expect(text.join('')).toBe('last words\n');
  });
});

test('a gateway killed from outside leaves the group and rejects its pending calls', async () => {
  await using group = await Group.open(['popen', 'popen'], quiet);
  const victim = group.get(1)!;
  const pending = victim.remoteExec('await channel.receive()').receive();
  process.kill((await victim.remoteInfo()).pid, 'SIGKILL');
  await expect(pending).rejects.toBeInstanceOf(GatewayClosedError);
  await victim.closed;
  expect([...group].map((g) => g.id)).toEqual(['gw0']);
  expect(await survivors([(await victim.remoteInfo()).pid], 0)).toEqual([]);
});
