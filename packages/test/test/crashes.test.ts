/**
 * Files whose process dies: process.exit(3), SIGSEGV, and one that SIGKILLs its gateway. Each is a
 * failed test named after the file with its stderr; the lost gateway is replaced and the remaining
 * file still runs; past --max-worker-restart the rest is reported as not run.
 */
import '@tsnet/transport-popen';
import { expect, test } from 'vitest';
import { runTests } from '../src/index.js';
import { CRASHES } from './helpers/fixtures.js';
import { collect } from './helpers/output.js';

test('crashes are failures with their stderr; the killed gateway is replaced and the rest runs', async () => {
  const out = collect();
  const log: string[] = [];
  const result = await runTests({ cwd: CRASHES, reporters: [{ name: 'spec', destination: out.stream }], log: (l) => log.push(l) });
  expect(result).toMatchObject({ exitCode: 1, files: 4, tests: 4, pass: 1, fail: 3, restarts: 3 });
  const text = out.text();
  expect(text).toContain('✖ exits.test.mjs');
  expect(text).toContain('exits.test.mjs exited with code 3\n  --- stderr ---\n  about to call process.exit(3)');
  expect(text).toContain('segfault.test.mjs was killed by SIGSEGV\n  --- stderr ---\n  about to segfault');
  expect(text).toMatch(/the gateway popen was lost while running kills-gateway\.test\.mjs: .*SIGKILL/);
  // Its own stderr line may die in the gateway's pipe with the gateway: not asserted.
  expect(text).toContain('✔ still runs after the crashes');
  expect(log).toEqual([expect.stringContaining('gateway lost under kills-gateway.test.mjs; opening a new one')]);
});

test('--max-worker-restart 0: after the first crash the other files are reported as not run', async () => {
  const out = collect();
  const result = await runTests({ cwd: CRASHES, maxWorkerRestart: 0, reporters: [{ name: 'tap', destination: out.stream }] });
  expect(result).toMatchObject({ exitCode: 1, files: 4, pass: 0, fail: 4, restarts: 1 });
  expect(out.text().match(/not run: more than --max-worker-restart 0 crashes/g)).toHaveLength(3);
});
