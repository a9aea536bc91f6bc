/**
 * A fixture project (passing, failing, skipped, a test/ directory, a node_modules file that must not
 * run) over popen gateways: the file list is node --test's, each reporter prints what node:test's
 * own would, `--dist load` runs every file once, and the exit code says whether anything failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tsnet/transport-popen';
import { expect, test } from 'vitest';
import { findTestFiles, runTests, tsnetCommand } from '../src/index.js';
import { PROJECT } from './helpers/fixtures.js';
import { collect } from './helpers/output.js';

test('the default file list is what node --test runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-test-files-'));
  try {
    const lister = join(dir, 'files-reporter.mjs');
    writeFileSync(
      lister,
      "export default async function* (s) { const f = new Set(); for await (const e of s) if (e.data?.file) f.add(e.data.file); yield [...f].sort().join('\\n'); }\n",
    );
    // It exits 1 (fail.test.mjs fails): only its list matters.
    const byNode = spawnSync(process.execPath, ['--test', `--test-reporter=${lister}`], { cwd: PROJECT, encoding: 'utf8', timeout: 30_000 }).stdout.split('\n');
    const ours = await findTestFiles([], PROJECT);
    expect(ours).toEqual(byNode);
    expect(ours.map((f) => f.slice(PROJECT.length))).toEqual(['fail.test.mjs', 'pass.test.mjs', 'test/unit.mjs']);
    expect(await findTestFiles(['pass.test.mjs', 'test/*.mjs'], PROJECT)).toEqual([join(PROJECT, 'pass.test.mjs'), join(PROJECT, 'test/unit.mjs')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spec (default) over 2 gateways with --dist load: every file once, failures detailed, exit code 1', async () => {
  const out = collect();
  const result = await runTests({ cwd: PROJECT, tx: ['popen', 'popen'], reporters: [{ name: 'spec', destination: out.stream }] });
  expect(result).toMatchObject({ exitCode: 1, files: 3, tests: 6, pass: 4, fail: 1, skipped: 1, restarts: 0 });
  const text = out.text();
  for (const name of ['adds', 'concatenates', 'in a test directory', 'passes too']) expect(text.split(`✔ ${name}`)).toHaveLength(2);
  expect(text).toContain('✖ compares wrongly');
  expect(text).toContain('42 !== 43');
  expect(text).toContain('ℹ tests 6\nℹ suites 1\nℹ pass 4\nℹ fail 1');
  expect(text).toContain('✖ failing tests:');
  expect(text).not.toContain('must not run');
});

test('tap, junit and json to their destinations at once; a passing run exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-test-rep-'));
  try {
    const tap = collect();
    const result = await runTests({
      cwd: PROJECT,
      reporters: [
        { name: 'tap', destination: tap.stream },
        { name: 'junit', destination: join(dir, 'out.xml') },
        { name: 'json', destination: join(dir, 'events.jsonl') },
      ],
    });
    expect(result.exitCode).toBe(1);
    expect(tap.text()).toMatch(/^TAP version 13\n/);
    expect(tap.text()).toContain('not ok 2 - compares wrongly');
    expect(tap.text()).toContain('# tests 6');
    const xml = readFileSync(join(dir, 'out.xml'), 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(6);
    expect(xml).toMatch(/<testcase name="compares wrongly"[^>]*>\s*<failure/);
    const events = readFileSync(join(dir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === 'test:fail').map((e) => e.data.name)).toEqual(['compares wrongly']);
    const passing = await runTests({ cwd: PROJECT, files: ['pass.test.mjs'], reporters: [{ name: 'dot', destination: tap.stream }] });
    expect(passing).toMatchObject({ exitCode: 0, files: 1, pass: 2 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no files, a bad reporter and a bad option are TestRunErrors before anything runs', async () => {
  await expect(runTests({ cwd: PROJECT, files: ['nothing-*.mjs'] })).rejects.toMatchObject({
    code: 'TSNET_ERR_TEST',
    message: expect.stringContaining('no test files'),
  });
  await expect(runTests({ cwd: PROJECT, reporters: [{ name: 'nope', destination: 'stdout' }] })).rejects.toMatchObject({
    code: 'TSNET_ERR_TEST',
    message: expect.stringContaining('reporter "nope" could not be loaded'),
  });
  await expect(runTests({ cwd: PROJECT, maxWorkerRestart: -1 })).rejects.toMatchObject({ code: 'TSNET_ERR_TEST' });
});

test('tsnetCommand (the hook @tsnet/cli calls): --help, usage mistakes as the context UsageError, -n and the exit code', async () => {
  class UsageError extends Error {}
  const out = collect();
  const ctx = { stdout: out.stream, stderr: collect().stream, cwd: PROJECT, helpers: { UsageError } };
  expect(await tsnetCommand.run(['--help'], ctx)).toBe(0);
  expect(out.text()).toContain('Usage: tsnet test');
  for (const argv of [
    ['--dist', 'all'],
    ['-n', '0'],
    ['--max-worker-restart', 'x'],
    ['--bogus'],
    ['nothing-*.mjs'],
    ['--reporter', 'tap', '--reporter', 'spec', '--reporter-destination', 'x'],
  ])
    await expect(tsnetCommand.run(argv, ctx), argv.join(' ')).rejects.toBeInstanceOf(UsageError);
  const tap = collect();
  expect(await tsnetCommand.run(['-n', '2', '--reporter', 'tap', 'pass.test.mjs'], { ...ctx, stdout: tap.stream })).toBe(0);
  expect(tap.text()).toContain('# pass 2');
  expect(await tsnetCommand.run(['--test-reporter', 'dot', 'fail.test.mjs'], ctx)).toBe(1);
});

test('exitFirst on one gateway: the first failing file (fail.test.mjs, the first in order) ends the run, the rest is not run', async () => {
  const out = collect();
  const result = await runTests({ cwd: PROJECT, exitFirst: true, reporters: [{ name: 'tap', destination: out.stream }] });
  expect(result).toMatchObject({ exitCode: 1, files: 3, tests: 2, pass: 1, fail: 1, notRun: 2, stoppedBy: 'fail.test.mjs' });
  expect(out.text()).not.toContain('adds');
});
