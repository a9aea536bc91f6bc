/** What one gateway learns about a host, shared with the next: one learner at a time. */
import { expect, test } from 'vitest';
import { HostSetups } from '../src/host-setup.js';

const setup = { node: '/opt/node/bin/node', env: "export PATH='/opt/node/bin:/usr/bin'" };

test('one learner; the others wait for it and then use what it found', async () => {
  const setups = new HostSetups();
  const first = await setups.take('h1');
  expect(first.learn).toBeTypeOf('function');
  let second: Awaited<ReturnType<HostSetups['take']>> | undefined;
  const waiting = setups.take('h1').then((t) => {
    second = t;
  });
  await new Promise((r) => setTimeout(r, 10));
  expect(second).toBeUndefined(); // still waiting for the learner
  expect((await setups.take('h2')).learn).toBeTypeOf('function'); // another host: not held up
  first.learn!(setup);
  await waiting;
  expect(second).toEqual({ setup });
});

test('a failed learner hands the duty to the next; nothing usable means: login shell, no more learning', async () => {
  const setups = new HostSetups();
  const first = await setups.take('h1');
  const next = setups.take('h1');
  first.learn!(undefined);
  const second = await next;
  expect(second.learn).toBeTypeOf('function');
  second.learn!(null);
  expect(await setups.take('h1')).toEqual({});
});

test('forget drops what was learned; an abort stops the wait', async () => {
  const setups = new HostSetups();
  (await setups.take('h1')).learn!(setup);
  setups.forget('h1', setup);
  const again = await setups.take('h1');
  expect(again.learn).toBeTypeOf('function');
  const ac = new AbortController();
  const waiting = setups.take('h1', ac.signal);
  ac.abort(new Error('stop'));
  await expect(waiting).rejects.toThrow('stop');
  again.learn!(setup);
  expect(await setups.take('h1')).toEqual({ setup });
});
