/**
 * `--dist each` as a runtime matrix: the fixture project on Node 20/18/24, Bun and Deno popen gateways at
 * once, every file on every gateway, each result labelled with its gateway. Bun and Deno run the
 * files with their own runners (bun test, deno test), whose JUnit reports come back as events.
 */
import '@tsnet/transport-popen';
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { runtimePaths } from '../../../test-e2e/helpers/runtimes.js';
import { runTests } from '../src/index.js';
import { CRASHES, PROJECT } from './helpers/fixtures.js';
import { collect } from './helpers/output.js';

test('--dist each over popen (Node 20, 18, 24), Bun and Deno: every file on each, results labelled', { timeout: 120_000 }, async () => {
  const { bun, deno, node18, node24 } = runtimePaths();
  const specs = ['popen', `popen//runtime=bun//exe=${bun}`, `popen//runtime=deno//exe=${deno}`, `popen//node=${node18}`, `popen//node=${node24}`];
  const out = collect();
  const result = await runTests({ cwd: PROJECT, tx: specs, dist: 'each', reporters: [{ name: 'spec', destination: out.stream }] });
  expect(result).toMatchObject({ exitCode: 1, files: 3, fail: 5, restarts: 0 });
  const text = out.text();
  // Labels: the spec without the executable's path, the runtime and version it reported instead.
  const labels = [
    'popen',
    `popen//runtime=bun (bun ${version(bun, '--version')})`,
    `popen//runtime=deno (deno ${version(deno, '--version')})`,
    `popen (node ${version(node18, '-v')})`,
    `popen (node ${version(node24, '-v')})`,
  ];
  for (const label of labels) {
    for (const name of ['adds', 'passes too', 'in a test directory']) expect(text).toContain(`✔ [${label}] ${name}`);
    expect(text).toContain(`✖ [${label}] compares wrongly`);
  }
  // Bun nests describe() as node:test does; Deno flattens its steps to "suite > test".
  expect(text).toContain(`▶ [${labels[1]}] strings\n  ✔ concatenates`);
  expect(text).toContain(`✔ [${labels[2]}] strings > concatenates`);
  for (const node of [labels[0], labels[3], labels[4]]) expect(text).toContain(`▶ [${node}] strings\n  ✔ concatenates`);
  expect(text.match(/42 !== 43/g)?.length).toBeGreaterThanOrEqual(5);
});

test('on Bun, a file that calls process.exit(3) is a failure with its stderr', { timeout: 60_000 }, async () => {
  const spec = `popen//runtime=bun//exe=${runtimePaths().bun}`;
  const out = collect();
  const result = await runTests({ cwd: CRASHES, tx: [spec], files: ['exits.test.mjs', 'ok.test.mjs'], reporters: [{ name: 'tap', destination: out.stream }] });
  expect(result).toMatchObject({ exitCode: 1, pass: 1, fail: 1, restarts: 1 });
  expect(out.text()).toContain('exits.test.mjs exited with code 3');
  expect(out.text()).toContain('about to call process.exit(3)');
});

/** What the runtime says its version is (`v18.20.8`, `1.4.5`, `deno 2.9.6 (…)` → `2.9.6`). */
function version(exe: string, flag: string): string {
  const out = execFileSync(exe, [flag], { encoding: 'utf8' }).trim();
  return /^deno (\S+)/.exec(out)?.[1] ?? out;
}
