// The receive side of a channel on its own: its ring of queued items (wrap-around, growth while
// wrapped, shrinking once drained) and the credit it grants back as items are taken.

import { describe, expect, test } from 'vitest';
import { Inbox, type InboxHost } from '../src/channel/inbox.js';
import { FrameFlag } from '../src/wire/frame.js';
import { dumps, loadsAt } from '../src/wire/serializer.js';

function host(window = 1 << 20) {
  const credits: number[] = [];
  const h: InboxHost = {
    id: 'test',
    _window: window,
    _creditThreshold: Math.floor(window / 4),
    _maxMessage: 1 << 30,
    _load: (buf, start, end) => loadsAt(buf, start, end),
    _writeCredit: (_id, bytes) => credits.push(bytes),
  };
  return { h, credits };
}

/** Feeds one item as a DATA frame's payload; returns its length on the wire. */
function feed(inbox: Inbox, value: unknown): number {
  const b = dumps(value);
  expect(inbox.onData(0, b, 0, b.length, true)).toBe(true);
  return b.length;
}

describe('Inbox', () => {
  test('keeps order across wrap-around and growth while wrapped; queuedBytes counts what is queued', () => {
    const { h } = host();
    const inbox = new Inbox(h, 3);
    let next = 0; // next value to feed
    let taken = 0; // next value expected
    let queued = 0;
    const lengths: number[] = [];
    const put = (n: number) => {
      for (let i = 0; i < n; i++) {
        const len = feed(inbox, next % 3 === 0 ? next : { n: next, s: `v${next}` });
        lengths[next++] = len;
        queued += len;
      }
    };
    const take = (n: number) => {
      for (let i = 0; i < n; i++) {
        const v = inbox.take();
        expect(v).toEqual(taken % 3 === 0 ? taken : { n: taken, s: `v${taken}` });
        queued -= lengths[taken++]!;
      }
    };
    // the ring starts at 16 items: fill part, take part, so that the next ones wrap
    put(12);
    take(10);
    put(14); // wraps: 16 queued, head in the middle
    expect(inbox.size).toBe(16);
    expect(inbox.queuedBytes).toBe(queued);
    put(30); // grows while wrapped
    expect(inbox.size).toBe(46);
    expect(inbox.queuedBytes).toBe(queued);
    take(20);
    put(100);
    take(inbox.size);
    expect(taken).toBe(next);
    expect(inbox.queuedBytes).toBe(0);
    // a burst far beyond the ring, drained: the ring shrinks, and works as before
    put(10_000);
    take(10_000);
    put(5);
    expect(inbox.queuedBytes).toBe(queued);
    take(5);
    expect(inbox.size).toBe(0);
  });

  test('grants credit for what was taken, a quarter window at a time, and never after granting stops', () => {
    const { h, credits } = host(4096);
    const inbox = new Inbox(h, 3);
    let fed = 0;
    for (let i = 0; i < 600; i++) fed += feed(inbox, i); // 5 bytes each: 3000 of the 4096
    expect(credits).toEqual([]);
    for (let i = 0; i < 300; i++) inbox.take();
    // 1500 bytes taken: one grant once 1024 were owed (at the 205th item)
    expect(credits).toEqual([1025]);
    for (let i = 0; i < 300; i++) fed += feed(inbox, i); // room again: 1025 granted back
    for (let i = 0; i < 500; i++) inbox.take();
    expect(credits.reduce((a, b) => a + b, 0)).toBe(3075);
    inbox.granting = false;
    for (let i = 0; i < 100; i++) inbox.take();
    expect(credits.reduce((a, b) => a + b, 0)).toBe(3075);
    expect(inbox.size).toBe(0);
    expect(fed).toBe(4500);
  });

  test('a peer that overruns the window is refused', () => {
    const { h } = host(4096);
    const inbox = new Inbox(h, 3);
    for (let i = 0; i < 819; i++) feed(inbox, i); // 4095 bytes
    expect(() => feed(inbox, 1)).toThrow(/overran the flow-control window of channel 3/);
  });

  test('a message in several frames behind queued items is granted once the reader caught up', () => {
    const { h, credits } = host(4096);
    const inbox = new Inbox(h, 5);
    for (let i = 0; i < 20; i++) feed(inbox, i); // 100 bytes queued
    const big = dumps(new Uint8Array(3000).fill(9));
    const announce = new Uint8Array(4);
    new DataView(announce.buffer).setUint32(0, big.length);
    expect(inbox.onData(FrameFlag.MORE, announce, 0, 4, true)).toBe(false);
    expect(inbox.onData(FrameFlag.MORE, big, 0, 2000, false)).toBe(false);
    expect(inbox.onData(0, big, 2000, big.length, false)).toBe(true);
    expect(inbox.size).toBe(21);
    for (let i = 0; i < 20; i++) expect(inbox.take()).toBe(i);
    const got = inbox.take() as Uint8Array;
    expect(got.length).toBe(3000);
    expect(got[2999]).toBe(9);
    // everything granted back: 100 + 4 + 3002 bytes
    expect(credits.reduce((a, b) => a + b, 0)).toBe(100 + 4 + big.length);
  });
});
