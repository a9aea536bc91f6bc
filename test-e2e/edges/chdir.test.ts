// Issue 21: `popen//chdir=/proc/nope` must not spin (Node 20's recursive mkdir loops for ever under
// /proc): an error naming the path (a ConnectError for popen), directly and through via=, within
// the test's bound.
import { ConnectError, Group } from '@tsnet/core';
import { afterAll, beforeAll, expect, test } from 'vitest';

let group: Group;
beforeAll(() => {
  group = new Group();
});
afterAll(() => group.terminate({ timeout: 2000 }));

test.each([
  ['popen', 'popen//chdir=/proc/nope/deeper'],
  ['popen via a master', 'popen//via=m//chdir=/proc/nope'],
])('%s with chdir under /proc: an error naming the path, not a spinning process', { timeout: 20_000 }, async (_name, spec) => {
  if (spec.includes('via=') && !group.get('m')) await group.makeGateway('popen//id=m', { output: 'ignore' });
  const error = await group.makeGateway(spec, { output: 'ignore' }).catch((e: unknown) => e as Error);
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(/\/proc\/nope/);
  if (!spec.includes('via=')) expect(error).toBeInstanceOf(ConnectError);
});
