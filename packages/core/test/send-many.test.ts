// sendMany() and the quick path of send() (small items serialized straight into the writer's
// slab), over an in-process master/worker pair: same bytes as the serializer, order, credits.

import { ChannelClosedError, DumpError, dumps } from '@tsnet/core';
import { FrameDecoder, FrameType } from '@tsnet/core/worker';
import { describe, expect, test } from 'vitest';
import { memoryPair } from './helpers/memory-pair.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records the DATA payloads sent to the worker on channel `id()`. */
function dataTap(id: () => number) {
  const payloads: Uint8Array[] = [];
  const decoder = new FrameDecoder({
    onFrame: (type, _flags, ch, buf, start, end) => {
      if (type === FrameType.DATA && ch === id()) payloads.push(buf.slice(start, end));
    },
  });
  return { payloads, tap: (d: string, bytes: Uint8Array) => d === 'toWorker' && decoder.push(bytes) };
}

// Every kind of item the quick path takes, and its edges that it must leave to the serializer.
const ITEMS: unknown[] = [
  0,
  -1,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  -0,
  Number.NaN,
  1.5,
  '',
  'short string #12345',
  'ünïcödé € 𝄞',
  'lone \ud800 surrogate',
  'x'.repeat(3000), // 3 bytes a unit would not fit a small frame: the serializer's path
  { id: 12345, name: 'item', ok: true, tags: ['a', 'b'] },
  {},
  [],
  [1, 'two', null, false, [3.5]],
  { nested: { deeper: { s: 'é' } } },
  { u: undefined },
  { n: Number.NaN },
  new Map([[1, 'a']]),
  new Uint8Array([1, 2, 3]),
  undefined,
  null,
  true,
];

describe('sendMany and the quick path of send()', () => {
  test('put the same bytes on the wire as the serializer, and every item comes back exact', async () => {
    let channelId = -1;
    const watch = dataTap(() => channelId);
    const { gw } = await memoryPair({ tap: watch.tap });
    const ch = gw.remoteExec('for (;;) { const x = await channel.receive(); if (x === "end") break; await channel.send(x); }');
    channelId = ch.id;
    await sleep(10); // the exec request is not an item
    watch.payloads.length = 0;
    for (const x of ITEMS) await ch.send(x);
    await ch.sendMany(ITEMS);
    const back: unknown[] = [];
    for (let i = 0; i < 2 * ITEMS.length; i++) back.push(await ch.receive());
    await ch.send('end');
    await ch.waitClose();
    const expected = [...ITEMS, ...ITEMS];
    expect(watch.payloads.length).toBe(expected.length + 1);
    for (const [i, x] of expected.entries()) {
      expect(Buffer.from(watch.payloads[i]!).toString('hex'), `item ${i}`).toBe(Buffer.from(dumps(x)).toString('hex'));
    }
    expect(back).toEqual(expected);
    for (const [i, x] of expected.entries()) if (typeof x === 'number') expect(Object.is(back[i], x)).toBe(true);
    await gw.exit();
  });

  test('an array and a generator arrive in order; the generator is pulled only as the window allows', async () => {
    const { gw } = await memoryPair({ window: 4096 });
    // The remote runs in this process: it starts reading when the test calls globalThis.sendManyGo.
    const ch = gw.remoteExec(`
      await new Promise((r) => { globalThis.sendManyGo = r; });
      let bad = -1, n = 0;
      for (;;) {
        const x = await channel.receive();
        if (x === null) break;
        const want = n < 1000 ? n : { i: n, s: 'item ' + n };
        if (bad < 0 && JSON.stringify(x) !== JSON.stringify(want)) bad = n;
        n++;
      }
      await channel.send([n, bad]);`);
    let pulled = 0;
    function* objects() {
      for (let i = 1000; i < 20_000; i++) {
        pulled++;
        yield { i, s: `item ${i}` };
      }
    }
    const sent = (async () => {
      await ch.sendMany(Array.from({ length: 1000 }, (_, i) => i));
      await ch.sendMany(objects());
      await ch.send(null);
    })();
    await sleep(200);
    // Unread, 1000 ints (5 bytes each) and a few objects fill the 4 KiB window; the generator
    // waits with the first item that found no room.
    expect(pulled).toBeLessThan(100);
    expect(ch.stats().itemsOut).toBeLessThan(1100);
    expect(ch.stats().windowStalls).toBe(1);
    (globalThis as { sendManyGo?: () => void }).sendManyGo!();
    await sent;
    expect(await ch.receive()).toEqual([20_000, -1]);
    expect(pulled).toBe(19_000);
    expect(ch.stats().itemsOut).toBe(20_002); // and the exec request
    await ch.waitClose();
    await gw.exit();
  });

  test('stops at the first item that cannot be sent; the items before it went out, the channel stays usable', async () => {
    const { gw } = await memoryPair();
    const ch = gw.remoteExec('for (;;) { const x = await channel.receive(); if (x === "end") break; await channel.send(x); }');
    let pulled = 0;
    function* items() {
      for (const x of [1, 'two', { three: 3 }, () => 4, 5]) {
        pulled++;
        yield x;
      }
    }
    await expect(ch.sendMany(items() as Iterable<unknown>)).rejects.toThrow(DumpError);
    expect(pulled).toBe(4);
    expect([await ch.receive(), await ch.receive(), await ch.receive()]).toEqual([1, 'two', { three: 3 }]);
    await ch.sendMany([6]);
    expect(await ch.receive()).toBe(6);
    await ch.send('end');
    await ch.waitClose();
    // after close: rejected, nothing pulled
    pulled = 0;
    await expect(ch.sendMany(items() as Iterable<unknown>)).rejects.toThrow(ChannelClosedError);
    expect(pulled).toBe(1);
    await gw.exit();
  });

  test("an item above the peer's maxMessage is refused on the quick path too", async () => {
    const { gw } = await memoryPair({ maxMessage: 16 });
    const ch = gw.remoteExec('await channel.receive(); await channel.send(await channel.receive());');
    await ch.sendMany([123456, 'fifteen bytes!']); // 5 and 15 bytes: they fit
    await expect(ch.sendMany(['sixteen bytes!!!'])).rejects.toThrow(/limit is 16 bytes \(maxMessage\)/);
    await expect(ch.send({ a: 'b'.repeat(20) })).rejects.toThrow(DumpError);
    expect(await ch.receive()).toBe('fifteen bytes!');
    await ch.waitClose();
    await gw.exit();
  });
});

describe('a callback fed by a sendMany stream', () => {
  // The remote streams 50 000 small items in one sendMany(): many arrive per read, and the
  // callback is called for each in one loop over what is queued.
  const STREAM = 'await channel.sendMany((function* () { for (let i = 0; i < 50000; i++) yield i % 2 ? i : { i }; })()); await channel.send("done");';
  const itemIndex = (x: unknown) => (typeof x === 'number' ? x : (x as { i: number }).i);

  test('gets every item in order, then the endmarker once', async () => {
    const { gw } = await memoryPair();
    const ch = gw.remoteExec(STREAM);
    const got: number[] = [];
    let ends = 0;
    ch.setCallback(
      (x) => {
        if (x === 'END') ends++;
        else if (x !== 'done') got.push(itemIndex(x));
      },
      { endmarker: 'END' },
    );
    await ch.waitClose();
    await sleep(10);
    expect(got.length).toBe(50_000);
    expect(got.every((v, i) => v === i)).toBe(true);
    expect(ends).toBe(1);
    await gw.exit();
  });

  test('that throws mid-run: no item after the one that threw, the channel closes with the error, the sender learns', async () => {
    const { gw } = await memoryPair({ window: 64 * 1024 });
    const ch = gw.remoteExec(`try { ${STREAM} } catch (e) { globalThis.sendManyError = e.remoteMessage ?? e.message; }`);
    const got: number[] = [];
    let ends = 0;
    ch.setCallback(
      (x) => {
        if (x === 'END') return ends++;
        got.push(itemIndex(x));
        if (got.length === 1234) throw new Error('callback gave up at 1233');
      },
      { endmarker: 'END' },
    );
    await expect(ch.waitClose()).rejects.toThrow('callback gave up at 1233');
    await sleep(50);
    expect(got.length).toBe(1234);
    expect(got[1233]).toBe(1233);
    expect(ends).toBe(0); // a callback that failed is not called again
    const check = gw.remoteExec(
      'for (let i = 0; i < 200 && !globalThis.sendManyError; i++) await new Promise((r) => setTimeout(r, 10)); await channel.send(globalThis.sendManyError);',
    );
    // its sendMany() stopped with the channel's close, not after 50 000 items
    expect(await check.receive()).toMatch(/channel \d+ on gateway \S+ is closed/);
    await gw.exit();
  });

  test('that closes the channel mid-run: no item after it, the endmarker once, the rest dropped and counted', async () => {
    const { gw } = await memoryPair({ window: 64 * 1024 });
    const ch = gw.remoteExec(`try { ${STREAM} } catch {}`);
    const got: number[] = [];
    let ends = 0;
    let closing: Promise<void> | undefined;
    ch.setCallback(
      (x) => {
        if (x === 'END') return ends++;
        got.push(itemIndex(x));
        if (got.length === 777) closing = ch.close();
      },
      { endmarker: 'END' },
    );
    for (let i = 0; i < 500 && !closing; i++) await sleep(10);
    await closing;
    await sleep(50);
    expect(got.length).toBe(777);
    expect(got[776]).toBe(776);
    expect(ends).toBe(1);
    // what the peer had sent meanwhile arrived after our close: dropped, and waitClose() says so
    await expect(ch.waitClose()).rejects.toThrow(/dropped|after/);
    await gw.exit();
  });
});
