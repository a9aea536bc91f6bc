// TSNET_DEBUG's parsing (util/trace.ts) and ChannelTable's shared id counter (worker-thread execs).
import { afterEach, expect, test } from 'vitest';
import type { Channel } from '../src/channel/channel.js';
import { ChannelTable } from '../src/channel/channel-table.js';
import { ProtocolError } from '../src/errors.js';
import { setTrace, trace, tracing } from '../src/util/trace.js';

afterEach(() => setTrace('', () => {}));

test('setTrace turns on the areas listed (or all with *), and trace() writes one prefixed line', () => {
  const lines: string[] = [];
  setTrace('channel, exec', (l) => lines.push(l));
  expect(tracing).toEqual({ gateway: false, channel: true, frame: false, exec: true });
  trace('exec', 'gw3', 'start 1');
  expect(lines).toEqual(['tsnet:exec gw3 start 1\n']);
  setTrace('*', () => {});
  expect(Object.values(tracing)).toEqual([true, true, true, true]);
  setTrace(undefined, () => {});
  expect(Object.values(tracing)).toEqual([false, false, false, false]);
});

test('a sink that throws does not fail the traced code', () => {
  setTrace('*', () => {
    throw new Error('stderr gone');
  });
  expect(() => trace('frame', 'gw0', 'x')).not.toThrow();
});

test("tables sharing an id counter never hand out the same id, and each accepts the other's ids as its own parity", () => {
  const make = (id: number) => ({ id }) as unknown as Channel;
  const bad = (what: string) => new ProtocolError(what);
  const parent = new ChannelTable('worker', make, bad);
  parent.open(); // 2
  const thread = new ChannelTable('worker', make, bad);
  thread.share(parent.share());
  const ids = [parent.open().id, thread.open().id, parent.open().id, thread.open().id];
  expect(ids).toEqual([4, 6, 8, 10]);
  // a late frame for an id the thread issued finds nothing in the parent, instead of a protocol error
  expect(parent.lookup(10, true)).toBeUndefined();
  expect(() => parent.lookup(12, true)).toThrow(/never opened/);
});
