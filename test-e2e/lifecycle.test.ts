// The remote side ends when the local side goes away, and an idle gateway does not keep a script alive.
import { execFileSync } from 'node:child_process';
import { makeGateway } from '@tsnet/core';
import { expect, test } from 'vitest';
import { survivors } from './helpers/processes.js';

test('a script that never calls exit() still ends, and its remote process with it', async () => {
  const out = execFileSync(process.execPath, [new URL('./fixtures/forgets-exit.mjs', import.meta.url).pathname], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  const { result, pid } = JSON.parse(out) as { result: number; pid: number };
  expect(result).toBe(2);
  expect(await survivors([pid], 2000)).toEqual([]);
});

test('end of input ends an idle remote process', async () => {
  const gw = await makeGateway('popen', { output: 'ignore' });
  const { pid } = await gw.remoteInfo();
  // what exit() does without asking politely first: the remote sees EOF on its stdin
  (gw as unknown as { transport: { end(): void } }).transport.end();
  expect(await survivors([pid], 2000)).toEqual([]);
  const info = await gw.closed;
  expect(info.exitCode).toBe(0);
});
