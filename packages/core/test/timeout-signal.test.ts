// timeoutSignal(): the connect bound of ssh= and socket= (util/timeout-signal.ts). It aborts with a
// TimeoutError after its time, with the parent's reason when the parent aborts first, at once for
// an already aborted parent, and never after dispose().
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { timeoutSignal } from '../src/util/timeout-signal.js';

test('aborts with a TimeoutError DOMException after its time, and says the timeout did it', async () => {
  const t = timeoutSignal(20);
  await new Promise((resolve) => t.signal.addEventListener('abort', resolve, { once: true }));
  expect(t.timedOut).toBe(true);
  expect((t.signal.reason as DOMException).name).toBe('TimeoutError');
});

test("the parent's abort comes through with its reason, and the timer is gone", async () => {
  const parent = new AbortController();
  const t = timeoutSignal(30, parent.signal);
  const reason = new Error('caller gave up');
  parent.abort(reason);
  expect(t.signal.aborted).toBe(true);
  expect(t.signal.reason).toBe(reason);
  await sleep(60);
  expect(t.timedOut).toBe(false);
});

test('an aborted parent aborts it at once; without ms only the parent can', () => {
  const parent = new AbortController();
  parent.abort('early');
  expect(timeoutSignal(1000, parent.signal).signal.reason).toBe('early');
  const open = new AbortController();
  const t = timeoutSignal(undefined, open.signal);
  expect(t.signal.aborted).toBe(false);
  open.abort('late');
  expect(t.signal.reason).toBe('late');
});

test('after dispose() neither the timer nor the parent aborts it', async () => {
  const parent = new AbortController();
  const t = timeoutSignal(20, parent.signal);
  t.dispose();
  await sleep(50);
  parent.abort('after');
  expect(t.signal.aborted).toBe(false);
});
