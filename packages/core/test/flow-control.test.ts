// Credit flow control and wire limits, over an in-process master/worker pair (see helpers/memory-pair).

import { ChannelClosedError, DumpError, ProtocolError, SpecError } from '@tsnet/core';
import { encodeFrame, FrameDecoder, FrameType } from '@tsnet/core/worker';
import { describe, expect, test } from 'vitest';
import { type Direction, memoryPair } from './helpers/memory-pair.js';

const KiB = 1024;
const MiB = 1 << 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Decodes what travels in each direction and keeps the largest DATA payload seen. */
function frameWatch() {
  const largest: Record<Direction, number> = { toWorker: 0, toMaster: 0 };
  const decoders = {} as Record<Direction, FrameDecoder>;
  for (const d of ['toWorker', 'toMaster'] as const) {
    decoders[d] = new FrameDecoder(
      {
        onFrame: (type, _flags, _ch, _buf, start, end) => {
          if (type === FrameType.DATA) largest[d] = Math.max(largest[d], end - start);
        },
      },
      { maxPayload: 64 * MiB },
    );
  }
  // The master's stream starts with nothing but frames (the preamble is the transport's business).
  return { largest, tap: (d: Direction, bytes: Uint8Array) => decoders[d].push(bytes) };
}

function jsonData(channel: number, value: unknown, flags = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(value));
  const payload = new Uint8Array(json.length + 1);
  payload[0] = 1; // serializer tag: JSON
  payload.set(json, 1);
  return encodeFrame(FrameType.DATA, flags, channel, payload);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

describe('credit flow control', () => {
  test('a large item queued behind a small unread one still arrives (no credit deadlock)', async () => {
    const { gw } = await memoryPair();
    const ch = gw.remoteExec(`await channel.send('small'); await channel.send(new Uint8Array(10 << 20).fill(7)); await channel.send('end')`);
    await sleep(100); // let the small item queue up and the large one stall behind it
    expect(await ch.receive()).toBe('small');
    const big = (await ch.receive({ timeout: 10_000 })) as Uint8Array;
    expect(big.length).toBe(10 << 20);
    expect(big[big.length - 1]).toBe(7);
    expect(await ch.receive()).toBe('end');
    await gw.exit();
  });

  test('frames never exceed maxFrame, and a 32 MiB item crosses a 64 KiB window both ways', async () => {
    const watch = frameWatch();
    const { gw, worker } = await memoryPair({ window: 64 * KiB, tap: watch.tap });
    expect(gw._maxFrame).toBe(48 * KiB); // at most 3/4 of the window
    expect(worker._window).toBe(64 * KiB); // the worker adopts the local side's limits
    expect(worker._maxFrame).toBe(48 * KiB);
    const ch = gw.remoteExec('const v = await channel.receive(); await channel.send(v);');
    const big = new Uint8Array(32 * MiB);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    await ch.send(big);
    const back = (await ch.receive()) as Uint8Array;
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
    expect(watch.largest.toWorker).toBeLessThanOrEqual(48 * KiB);
    expect(watch.largest.toMaster).toBeLessThanOrEqual(48 * KiB);
    await gw.exit();
  });

  test('an unread channel stops its remote sender; another channel of the gateway keeps moving', async () => {
    const { gw } = await memoryPair({ window: 64 * KiB });
    const stalled = gw.remoteExec(
      'globalThis.stalledSends = 0; for (let i = 0; i < 100; i++) { await channel.send(new Uint8Array(16384)); globalThis.stalledSends++; }',
    );
    const moving = gw.remoteExec('for (let i = 0; i < 512; i++) await channel.send(new Uint8Array(16384).fill(i & 255));');
    for (let i = 0; i < 512; i++) expect(((await moving.receive()) as Uint8Array)[0]).toBe(i & 255);
    const sends = (await gw.remoteExec('channel.send(globalThis.stalledSends)').receive()) as number;
    // 64 KiB of window holds three 16 KiB items with their tag bytes, and the sender saw that.
    expect(sends).toBe(3);
    expect(stalled._queuedBytes).toBeLessThanOrEqual(64 * KiB);
    for (let i = 0; i < 100; i++) await stalled.receive();
    await stalled.waitClose();
    await gw.exit();
  });

  test('a channel the remote does not read stops the local sender; another channel keeps moving', async () => {
    const { gw } = await memoryPair({ window: 64 * KiB });
    const [stalled, moving] = [gw.newChannel(), gw.newChannel()];
    const ctl = gw.remoteExec(
      `let n = 0; for (let i = 0; i < 512; i++) n += (await kwargs.moving.receive()).length;
       await channel.send(n); await channel.receive();
       for (let i = 0; i < 100; i++) await kwargs.stalled.receive();
       await channel.send('drained');`,
      { stalled, moving },
    );
    let sends = 0;
    const sender = (async () => {
      for (let i = 0; i < 100; i++) {
        await stalled.send(new Uint8Array(16384));
        sends++;
      }
    })();
    for (let i = 0; i < 512; i++) await moving.send(new Uint8Array(16384));
    expect(await ctl.receive()).toBe(512 * 16384);
    expect(sends).toBe(3);
    await ctl.send('go');
    await sender;
    expect(await ctl.receive()).toBe('drained');
    await gw.exit();
  });

  test('a callback that is slow holds back only its own channel', async () => {
    const { gw } = await memoryPair({ window: 64 * KiB });
    const slow = gw.remoteExec('for (let i = 0; i < 50; i++) await channel.send(new Uint8Array(16384));');
    let slowSeen = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    slow.setCallback(async () => {
      slowSeen++;
      await gate;
    });
    const fast = gw.remoteExec('for (let i = 0; i < 256; i++) await channel.send(i);');
    for (let i = 0; i < 256; i++) expect(await fast.receive()).toBe(i);
    expect(slowSeen).toBe(1);
    expect(slow._queuedBytes).toBeLessThanOrEqual(64 * KiB);
    release();
    await slow.waitClose();
    expect(slowSeen).toBe(50);
    await gw.exit();
  });
});

describe('limits', () => {
  test('window and maxFrame options are checked', async () => {
    await expect(memoryPair({ window: 100 })).rejects.toThrow(SpecError);
    await expect(memoryPair({ window: 1.5 * MiB + 0.5 })).rejects.toThrow(/window must be an integer/);
    await expect(memoryPair({ maxFrame: 0 })).rejects.toThrow(/maxFrame/);
    await expect(memoryPair({ maxMessage: -1 })).rejects.toThrow(/maxMessage/);
  });

  test('send() of an item above maxMessage rejects with DumpError; the channel stays usable', async () => {
    const { gw, worker } = await memoryPair({ maxMessage: MiB });
    expect(worker._maxMessage).toBe(MiB);
    const ch = gw.remoteExec('channel.send(await channel.receive())');
    const err = await ch.send(new Uint8Array(2 * MiB)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect((err as Error).message).toMatch(/limit is 1048576 bytes \(maxMessage\)/);
    await ch.send('fine');
    expect(await ch.receive()).toBe('fine');
    await gw.exit();
  });

  test('a reference to a channel that was closed meanwhile arrives as a closed channel', async () => {
    const { gw } = await memoryPair();
    const mine = gw.newChannel();
    const ctl = gw.remoteExec('const c = kwargs.c; await c.close(); await channel.receive(); await channel.send(c);', { c: mine });
    await mine.waitClose();
    await sleep(20); // both CLOSE frames crossed: the local side forgot the channel
    await ctl.send('now');
    const back = (await ctl.receive()) as typeof mine;
    expect(back.isClosed()).toBe(true);
    await expect(back.receive()).rejects.toThrow(ChannelClosedError);
    await expect(back.send(1)).rejects.toThrow(ChannelClosedError);
    await gw.exit();
  });
});

describe('a peer that breaks the rules closes the gateway with a ProtocolError', () => {
  async function closedBy(inject: (p: Awaited<ReturnType<typeof memoryPair>>) => void, options?: Parameters<typeof memoryPair>[0]) {
    const pair = await memoryPair(options);
    inject(pair);
    const info = await pair.gw.closed;
    expect(info.error).toBeInstanceOf(ProtocolError);
    expect(info.reason).toMatch(/^protocol error: /);
    expect(typeof (info.error as ProtocolError).offset).toBe('number');
    return info.error as ProtocolError;
  }

  test('overrunning the window', async () => {
    const err = await closedBy(
      ({ injectToMaster }) => {
        for (let i = 0; i < 100; i++) injectToMaster(jsonData(2, 'x'.repeat(1000)));
      },
      { window: 64 * KiB },
    );
    expect(err.message).toMatch(/overran the flow-control window of channel 2/);
    expect(err.message).toMatch(/DATA frame at byte \d+/);
  });

  test('announcing a message above maxMessage', async () => {
    const err = await closedBy(({ injectToMaster }) => injectToMaster(encodeFrame(FrameType.DATA, 1, 2, u32(2 ** 31))));
    expect(err.message).toMatch(/announced a message of 2147483648 bytes on channel 2, above the limit of 1073741824/);
  });

  test('a message longer than announced', async () => {
    const err = await closedBy(({ injectToMaster }) => {
      injectToMaster(encodeFrame(FrameType.DATA, 1, 2, u32(3)));
      injectToMaster(encodeFrame(FrameType.DATA, 0, 2, new Uint8Array([1, 0x31, 0x32, 0x33])));
    });
    expect(err.message).toMatch(/more than the announced 3 bytes/);
  });

  test('a message shorter than announced', async () => {
    const err = await closedBy(({ injectToMaster }) => {
      injectToMaster(encodeFrame(FrameType.DATA, 1, 2, u32(10)));
      injectToMaster(encodeFrame(FrameType.DATA, 0, 2, new Uint8Array([1, 0x31])));
    });
    expect(err.message).toMatch(/2 bytes where 10 were announced/);
  });

  test('a frame for a channel this side never opened', async () => {
    const err = await closedBy(({ injectToMaster }) => injectToMaster(encodeFrame(FrameType.CREDIT, 0, 99, u32(5))));
    expect(err.message).toMatch(/bad CREDIT frame at byte \d+: channel 99 was never opened by this side/);
  });

  test('DATA after END on the same channel', async () => {
    const err = await closedBy(({ injectToMaster }) => {
      injectToMaster(jsonData(2, 'last'));
      injectToMaster(encodeFrame(FrameType.END, 0, 2));
      injectToMaster(jsonData(2, 'one too many'));
    });
    expect(err.message).toMatch(/DATA after END on channel 2 \(DATA frame at byte \d+\)/);
  });

  test('END on channel 0, or with a payload', async () => {
    expect((await closedBy(({ injectToMaster }) => injectToMaster(encodeFrame(FrameType.END, 0, 0)))).message).toMatch(
      /bad END frame at byte \d+: END on channel 0/,
    );
    expect((await closedBy(({ injectToMaster }) => injectToMaster(encodeFrame(FrameType.END, 0, 2, new Uint8Array(1))))).message).toMatch(
      /bad END frame at byte \d+: END with a payload/,
    );
  });

  test('a control frame on a channel other than 0', async () => {
    const err = await closedBy(({ injectToMaster }) => injectToMaster(encodeFrame(FrameType.OUTPUT, 0, 4, new Uint8Array(1))));
    expect(err.message).toMatch(/bad OUTPUT frame at byte \d+: channel 4 given/);
  });

  test('an undecodable message names the frame and the payload offset', async () => {
    const err = await closedBy(({ injectToMaster }) => injectToMaster(encodeFrame(FrameType.DATA, 0, 2, new Uint8Array([1, 0x7b]))));
    expect(err.message).toMatch(/undecodable message in the DATA frame at byte \d+, payload byte 1: payload is not valid JSON/);
  });

  test('bytes that are not a frame are refused at their first byte, naming stray output', async () => {
    const pair = await memoryPair();
    const ch = pair.gw.remoteExec('await channel.receive()');
    pair.injectToMaster(new TextEncoder().encode('hi'));
    const info = await pair.gw.closed;
    const err = info.error as ProtocolError;
    expect(err.message).toMatch(/expected magic 0xf7, got 68 69 \("hi"\)/);
    expect(err.message).toMatch(/stdout/);
    // what was waiting on the gateway fails with the cause
    await expect(ch.receive()).rejects.toThrow(/protocol error: bad frame at byte \d+/);
  });
});

describe('the int32 fast path of send()', () => {
  test('puts the same bytes on the wire as the serializer, and every edge value comes back exact, both ways', async () => {
    const frames: Uint8Array[] = [];
    let channelId = -1;
    const decoder = new FrameDecoder({
      onFrame: (type, _flags, id, buf, start, end) => {
        if (type === FrameType.DATA && id === channelId) frames.push(buf.slice(start, end));
      },
    });
    const { gw } = await memoryPair({ window: 64 * KiB, tap: (d, bytes) => d === 'toWorker' && decoder.push(bytes) });
    const values = [0, 1, -1, 255, 256, 12345, -12345, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -0, 1.5, Number.NaN];
    // the remote echoes with send() too, so its fast path is checked on the way back
    const ch = gw.remoteExec('for (;;) { const x = await channel.receive(); if (x === "end") break; await channel.send(x); }');
    channelId = ch.id;
    for (const v of values) {
      await ch.send(v);
      expect(Object.is(await ch.receive(), v)).toBe(true);
    }
    // many in a row: past the credit threshold, so some go the slow way behind CREDIT frames
    const back = (async () => {
      for (let i = 0; i < 30_000; i++) expect(await ch.receive()).toBe(i);
    })();
    for (let i = 0; i < 30_000; i++) await ch.send(i);
    await back;
    await ch.send('end');
    await ch.waitClose();
    const items = frames.slice(frames.length - (values.length + 30_000 + 1)); // before them: the exec request
    const int32 = (v: number) => Uint8Array.from([5, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
    for (const [i, v] of [0, 1, -1, 255, 256, 12345, -12345, 2 ** 31 - 1, -(2 ** 31)].entries()) expect(items[i]).toEqual(int32(v));
    expect(items[9]![0]).not.toBe(5); // 2 ** 31 is not an int32
    expect(items[values.length + 29_999]).toEqual(int32(29_999));
    await gw.exit();
  });
});
