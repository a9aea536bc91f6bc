// The host/worker rule is checked by scripts/check-worker-imports.mjs (run by npm test): the
// remote side's import graph holds no host-only module. These run the script as a child process,
// once on the real entries and once on a host entry, so a check that stopped detecting would fail.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = `${root}scripts/check-worker-imports.mjs`;

test('nothing host-only is reachable from @tsnet/core/worker or the bootstrap worker part', async () => {
  const { stdout } = await run(process.execPath, [script], { cwd: root, timeout: 30_000 });
  expect(stdout).toMatch(/none host-only/);
});

test('the check names the host-only modules and packages an entry reaches', async () => {
  const failure = await run(process.execPath, [script, '--entry', 'packages/core/src/gateway/group.ts'], { cwd: root, timeout: 30_000 }).then(
    () => null,
    (error: { code?: number; stderr?: string }) => error,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr).toMatch(/packages\/core\/src\/gateway\/gateway\.ts is host-only/);
  expect(failure?.stderr).toMatch(/imports the host-only package acorn/);
  expect(failure?.stderr).toMatch(/imports the host-only package esbuild/);
});
