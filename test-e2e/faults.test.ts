// Every way a process can die, and misuse, over real popen gateways. Each case runs
// TSNET_FAULT_RUNS times (default 20) so that a flake shows up in CI rather than in the field.
import { performance } from 'node:perf_hooks';
import { type Channel, ChannelClosedError, type Gateway, GatewayClosedError, isTsnetError, makeGateway } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from './helpers/processes.js';
import { sigkillGatewayOpener } from './helpers/sigkilled-local.js';

const RUNS = Number(process.env.TSNET_FAULT_RUNS ?? 20);
const runs = Array.from({ length: RUNS }, (_, i) => i + 1);
const open = () => makeGateway('popen', { output: 'ignore' });

/** Settles to the error a promise rejects with, or fails the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

// A gateway that must stay healthy while others die around it.
let bystander: Gateway;
beforeAll(async () => {
  bystander = await makeGateway('popen//id=bystander', { output: 'ignore' });
});
afterAll(async () => {
  await bystander.exit();
});
async function bystanderWorks(): Promise<void> {
  const ch = bystander.remoteExec('channel.send((await channel.receive()) * 2)');
  await ch.send(21);
  expect(await ch.receive()).toBe(42);
}

describe('the remote process is SIGKILLed', () => {
  test.for(runs)('run %i: 10 waiting receives reject with GatewayClosedError within 1 s, callbacks get their endmarker', async () => {
    const gw = await open();
    const { pid } = await gw.remoteInfo();
    const waiting = Array.from({ length: 10 }, () => gw.remoteExec('await new Promise(() => {})'));
    const settled = waiting.map((ch) => rejection(ch.receive()).then((error) => ({ error, at: performance.now() })));
    const calls: unknown[] = [];
    const withCallback = gw.remoteExec('await channel.send(1); await new Promise(() => {})');
    let first!: () => void;
    const gotFirst = new Promise<void>((r) => {
      first = r;
    });
    withCallback.setCallback(
      (item) => {
        calls.push(item);
        first();
      },
      { endmarker: 'END' },
    );
    await gotFirst;

    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    for (const { error, at } of await Promise.all(settled)) {
      expect(error).toBeInstanceOf(GatewayClosedError);
      expect((error as GatewayClosedError).signal).toBe('SIGKILL');
      expect((error as GatewayClosedError).reason).toBe('the remote process was killed by SIGKILL');
      expect(at - killedAt).toBeLessThan(1000);
    }
    await expect(withCallback.waitClose()).rejects.toBeInstanceOf(GatewayClosedError);
    expect(calls).toEqual([1, 'END']);
    const info = await gw.closed;
    expect(info).toMatchObject({ reason: 'the remote process was killed by SIGKILL', signal: 'SIGKILL' });
    // and everything after it fails the same way
    expect(() => gw.remoteExec('1')).toThrow(GatewayClosedError);
    await bystanderWorks();
  });
});

describe('the local process is SIGKILLed', () => {
  test.for(runs)('run %i: every remote process it started (and their children) exits within 2 s', async () => {
    const { pids, allAliveBefore, left } = await sigkillGatewayOpener();
    expect(pids).toHaveLength(5); // four remote runtimes and a process one of them started
    expect(allAliveBefore).toBe(true);
    expect(left).toEqual([]);
  });
});

describe('remote code that never returns', () => {
  test.for(runs)('run %i: exit({ timeout }) kills it and resolves; its channels reject', async () => {
    const gw = await open();
    const { pid } = await gw.remoteInfo();
    const spinning = gw.remoteExec('await channel.send("spinning"); for (;;) {}');
    const hanging = gw.remoteExec('await new Promise(() => {})');
    expect(await spinning.receive()).toBe('spinning');
    await gw.exit({ timeout: 200 });
    expect(isAlive(pid)).toBe(false);
    for (const ch of [spinning, hanging]) expect(await rejection(ch.receive())).toBeInstanceOf(GatewayClosedError);
    const info = await gw.closed;
    expect(info.signal).toBe('SIGKILL');
    expect(info.reason).toBe('killed by SIGKILL: the remote side did not exit within 200 ms of gw.exit()');
  });
});

describe('the remote runtime ends itself', () => {
  test.for(runs)('run %i: process.exit(3) closes the gateway naming the code; what was sent first arrives', async () => {
    const gw = await open();
    const waiting = gw.remoteExec('await channel.receive()');
    const exiting = gw.remoteExec('await channel.send("last words"); process.exit(3)');
    expect(await exiting.receive()).toBe('last words');
    const error = (await rejection(exiting.receive())) as GatewayClosedError;
    expect(error).toBeInstanceOf(GatewayClosedError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/exited with code 3/);
    expect(await rejection(waiting.receive())).toBe(error);
    expect(await gw.closed).toMatchObject({ reason: 'the remote process exited with code 3', exitCode: 3 });
    await bystanderWorks();
  });

  test.for(runs)('run %i: an exception thrown from a timer, or a rejection nobody handles, closes the gateway with that reason', async () => {
    const [timer, rejecting] = await Promise.all([open(), open()]);
    const a = timer.remoteExec('setTimeout(() => { throw new RangeError("timer boom") }, 5); await channel.receive()');
    const b = rejecting.remoteExec('Promise.reject(new TypeError("nobody caught me")); await channel.receive()');
    const ea = (await rejection(a.receive())) as GatewayClosedError;
    const eb = (await rejection(b.receive())) as GatewayClosedError;
    expect(ea).toBeInstanceOf(GatewayClosedError);
    expect(ea.reason).toBe('the remote runtime crashed with an uncaught RangeError: timer boom');
    expect(ea.exitCode).toBe(70);
    expect(ea.stderr).toMatch(/RangeError: timer boom/);
    expect(eb.reason).toBe('the remote runtime crashed with an uncaught TypeError: nobody caught me');
    expect((await timer.closed).reason).toBe(ea.reason);
    await bystanderWorks();
  });
});

describe('callbacks', () => {
  test.for(runs)('run %i: a callback that throws and one that is slow hold back no other channel', async () => {
    const gw = await open();
    try {
      const throwing = gw.remoteExec(`
        await channel.send('first');
        try { await channel.receive(); } catch (e) { globalThis.peerSaw = e.name + ' / ' + e.remoteMessage; }`);
      throwing.setCallback(() => {
        throw new Error('callback failed');
      });
      let slowCalls = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const slow = gw.remoteExec('for (let i = 0; i < 100; i++) await channel.send(new Uint8Array(65536));');
      slow.setCallback(async () => {
        slowCalls++;
        await gate;
      });
      const busy = gw.remoteExec('for (let i = 0; i < 2000; i++) await channel.send(i);');
      let n = 0;
      for await (const v of busy) {
        if (v !== n) throw new Error(`item ${n} was ${String(v)}`);
        n++;
      }
      expect(n).toBe(2000);
      // the throwing callback closed its own channel with its error; the peer saw a RemoteError
      await expect(throwing.waitClose()).rejects.toThrow('callback failed');
      const peerSaw = await gw.remoteExec('while (!globalThis.peerSaw) await new Promise((r) => setTimeout(r, 5)); channel.send(globalThis.peerSaw)').receive();
      expect(peerSaw).toBe('RemoteError / callback failed');
      // the slow one got one item and waits; the rest arrive once it goes on
      expect(slowCalls).toBe(1);
      release();
      await slow.waitClose();
      expect(slowCalls).toBe(100);
    } finally {
      await gw.exit();
    }
  });
});

describe('misuse has defined results', () => {
  test.for(runs)('run %i: send/receive on closed channels, closing and exiting twice, using an exited gateway', async () => {
    const gw = await open();
    // closed here: close() twice is a no-op; send and receive fail with ChannelClosedError
    const mine = gw.newChannel();
    await mine.close();
    await mine.close();
    const sendErr = (await rejection(mine.send(1))) as ChannelClosedError;
    expect(sendErr).toBeInstanceOf(ChannelClosedError);
    expect(sendErr.by).toBe('local');
    expect(await rejection(mine.receive())).toBeInstanceOf(ChannelClosedError);

    // closed by the peer: queued items first, then ChannelClosedError; send fails too
    const theirs = gw.remoteExec('await channel.send("x")');
    await theirs.waitClose();
    expect(await theirs.receive()).toBe('x');
    const recvErr = (await rejection(theirs.receive())) as ChannelClosedError;
    expect(recvErr).toBeInstanceOf(ChannelClosedError);
    expect(recvErr.by).toBe('remote');
    expect(((await rejection(theirs.send(1))) as ChannelClosedError).by).toBe('remote');
    await theirs.close(); // closing a channel the peer closed: a no-op

    // callbacks: one per channel, and receive() is refused while one is set
    const cb = gw.newChannel();
    cb.setCallback(() => {});
    expect(() => cb.setCallback(() => {})).toThrow(expect.objectContaining({ code: 'TSNET_ERR_CALLBACK_SET' }));
    expect(await rejection(cb.receive())).toMatchObject({ code: 'TSNET_ERR_CALLBACK_SET' });

    // exit twice: the same promise, resolved once the remote process is gone
    const open1: Channel = gw.remoteExec('await channel.receive()');
    const first = gw.exit();
    expect(gw.exit()).toBe(first);
    await first;
    await gw.exit();
    await gw.kill(); // after exit: nothing left to kill, resolves

    // an exited gateway: synchronous throws for new work, rejections for pending and later calls
    expect(() => gw.remoteExec('1')).toThrow(GatewayClosedError);
    expect(() => gw.newChannel()).toThrow(GatewayClosedError);
    await expect(gw.remoteStatus()).rejects.toBeInstanceOf(GatewayClosedError);
    const afterExit = (await rejection(open1.send(1))) as GatewayClosedError;
    expect(afterExit).toBeInstanceOf(GatewayClosedError);
    expect(afterExit.reason).toBe('exit() was called on the gateway');
    expect(await rejection(open1.receive())).toBe(afterExit);
    await expect(open1.waitClose()).rejects.toBe(afterExit);
    await open1.close(); // no-op
    // channels closed before the gateway went down keep their own story
    expect(await rejection(mine.send(1))).toBeInstanceOf(ChannelClosedError);
    // every error is typed
    for (const e of [sendErr, recvErr, afterExit]) expect(isTsnetError(e)).toBe(true);
  });
});
