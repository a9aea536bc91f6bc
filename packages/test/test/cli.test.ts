/**
 * `tsnet test` through @tsnet/cli (which loads this package): its exit codes, and Ctrl-C over a
 * popen and an ssh gateway (a real sshd on 127.0.0.1), each running a file that waits: SIGINT stops
 * the run with exit code 130, and neither the gateways nor the test processes under them are left,
 * here or behind sshd. And -x: the first failing file stops the run and the file beside it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { killAll, survivors } from '../../../test-e2e/helpers/processes.js';
import { useSshd } from '../../../test-e2e/helpers/use-sshd.js';
import { PROJECT, TSNET } from './helpers/fixtures.js';

const server = useSshd();

test('SIGINT stops every gateway and leaves no process behind', { timeout: 60_000 }, async () => {
  const pids = mkdtempSync(join(tmpdir(), 'tsnet-test-pids-'));
  const cwd = new URL('./fixtures/slow/', import.meta.url).pathname;
  const ssh = server.spec(`//env:TSNET_TEST_PIDS=${pids}`);
  const child = spawn(process.execPath, [TSNET, 'test', '--tx', 'popen', '--tx', ssh], {
    cwd,
    env: { ...process.env, TSNET_TEST_PIDS: pids },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const seen: number[] = [];
  try {
    for (let i = 0; i < 300 && readdirSync(pids).length < 2; i++) await sleep(50);
    const files = readdirSync(pids);
    expect(files).toHaveLength(2);
    for (const f of files) seen.push(Number(f), Number(readFileSync(join(pids, f), 'utf8')));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('interrupted; every gateway was stopped');
    expect(await survivors(seen)).toEqual([]);
  } finally {
    killAll(seen);
    child.kill('SIGKILL');
    rmSync(pids, { recursive: true, force: true });
  }
});

test('-x stops at the first failing file: no file starts after it, the file running beside it is stopped, no process left', { timeout: 60_000 }, async () => {
  const pids = mkdtempSync(join(tmpdir(), 'tsnet-test-pids-'));
  const cwd = new URL('./fixtures/exitfirst/', import.meta.url).pathname;
  const seen: number[] = [];
  try {
    // a-fails and b-waits start at once on the two gateways; b-waits would wait 60 s, c and d pass
    const run = spawnSync(process.execPath, [TSNET, 'test', '-x', '-n', '2', '--reporter', 'tap'], {
      cwd,
      env: { ...process.env, TSNET_TEST_PIDS: pids },
      encoding: 'utf8',
      timeout: 30_000,
    });
    for (const f of readdirSync(pids)) seen.push(Number(f), Number(readFileSync(join(pids, f), 'utf8')));
    expect(seen).toHaveLength(2);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('not ok 1 - fails once b-waits runs');
    expect(run.stdout).not.toMatch(/must not run|waits to be stopped/);
    expect(run.stdout).toMatch(/# tests 1\n# suites 0\n# pass 0\n# fail 1\n/);
    expect(run.stderr).toContain('tsnet test: stopped after a-fails.test.mjs failed (-x): 3 of 4 files not run\n');
    expect(await survivors(seen)).toEqual([]);
  } finally {
    killAll(seen);
    rmSync(pids, { recursive: true, force: true });
  }
});

test('tsnet test exits 0 when all passed, 1 when a test failed, 2 for a usage mistake', { timeout: 60_000 }, () => {
  const run = (...argv: string[]) => spawnSync(process.execPath, [TSNET, 'test', ...argv], { cwd: PROJECT, encoding: 'utf8', timeout: 30_000 });
  const passed = run('--reporter', 'tap', 'pass.test.mjs');
  expect([passed.status, passed.stdout]).toEqual([0, expect.stringContaining('# pass 2')]);
  expect(run('-n', '2').status).toBe(1);
  const usage = run('--dist', 'nope');
  expect([usage.status, usage.stderr]).toEqual([2, 'tsnet test: --dist must be load or each, not "nope"\n']);
});
