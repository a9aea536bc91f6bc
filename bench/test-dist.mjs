#!/usr/bin/env node
// `tsnet test` (@tsnet/test) beside `node --test` on this machine, both measured in the same run,
// interleaved (which side goes first alternates), each a fresh process timed from spawn to exit.
//
//   npm run build && node bench/test-dist.mjs [--runs 3] [--cpu-ms 250] [--sleep-ms 1000]
//
// cpu:   32 files, each one test spinning --cpu-ms of CPU: `tsnet test --tx 2*popen` against
//        `node --test --test-concurrency=2` (both two processes working at once on 2 cores).
// sleep: 16 files, each one test sleeping --sleep-ms: `tsnet test --tx 16*popen` against
//        `node --test --test-concurrency=1` (the same suite serially).
// Both sides use the dot reporter, written to a pipe this script drains. NODE_EXTRA_CA_CERTS is
// removed for both (it costs every Node start ~90 ms here, see run.mjs). Prints JSON lines
// ({ suite: 'test-dist', name, value, unit }) and a markdown table with the median wall times and
// the median of the per-run ratios.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emit, envWithoutExtraCa, median, now, parseArgs, REPO, round } from './lib/common.mjs';

const args = parseArgs(process.argv.slice(2), { valued: ['runs', 'cpu-ms', 'sleep-ms'] });
const runs = Number(args.runs ?? 3);
const cpuMs = Number(args['cpu-ms'] ?? 250);
const sleepMs = Number(args['sleep-ms'] ?? 1000);
const env = envWithoutExtraCa(process.env);

// `tsnet test` through @tsnet/cli when it is built here, else the same hook called directly.
const cli = join(REPO, 'packages/cli/bin/tsnet.js');
const hook = `import { tsnetCommand } from ${JSON.stringify(join(REPO, 'packages/test/dist/index.js'))};
process.exitCode = await tsnetCommand.run(process.argv.slice(1), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });`;
const tsnetTest = (argv) => (existsSync(cli) ? [cli, 'test', ...argv] : ['--input-type=module', '-e', hook, '--', ...argv]);

const dir = mkdtempSync(join(tmpdir(), 'tsnet-bench-test-'));
const cpuDir = join(dir, 'cpu');
const sleepDir = join(dir, 'sleep');
mkdirSync(cpuDir);
mkdirSync(sleepDir);
// A fixed amount of work per file (calibrated once here), so both sides do the same.
let iterations = 1e6;
for (;;) {
  const t0 = now();
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0;
  if (x === 0.5) break;
  const took = now() - t0;
  if (took > 50) {
    iterations = Math.round((iterations * cpuMs) / took);
    break;
  }
  iterations *= 4;
}
for (let i = 0; i < 32; i++)
  writeFileSync(
    join(cpuDir, `cpu-${i}.test.mjs`),
    `import { test } from 'node:test';\ntest('spin ${i}', () => { let x = 0; for (let i = 0; i < ${iterations}; i++) x = (x * 31 + i) | 0; if (x === 0.5) throw new Error('x'); });\n`,
  );
for (let i = 0; i < 16; i++)
  writeFileSync(
    join(sleepDir, `sleep-${i}.test.mjs`),
    `import { test } from 'node:test';\ntest('sleep ${i}', () => new Promise((r) => setTimeout(r, ${sleepMs})));\n`,
  );

async function wall(argv, cwd) {
  const t0 = now();
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8').on('data', (t) => (err += t));
  const code = await new Promise((resolve) => child.once('exit', (c, sig) => resolve(c ?? sig)));
  const ms = now() - t0;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited with ${code}: ${err}`);
  return ms;
}

const cases = [
  {
    name: 'cpu',
    cwd: cpuDir,
    tsnet: tsnetTest(['--tx', '2*popen', '--reporter', 'dot']),
    base: ['--test', '--test-concurrency=2', '--test-reporter=dot'],
    label: `32 files × ${cpuMs} ms CPU: --tx 2*popen vs node --test --test-concurrency=2`,
  },
  {
    name: 'sleep',
    cwd: sleepDir,
    tsnet: tsnetTest(['--tx', '16*popen', '--reporter', 'dot']),
    base: ['--test', '--test-concurrency=1', '--test-reporter=dot'],
    label: `16 files × ${sleepMs} ms sleep: --tx 16*popen vs node --test --test-concurrency=1`,
  },
];

const samples = Object.fromEntries(cases.map((c) => [c.name, { tsnet: [], base: [], ratio: [] }]));
try {
  for (let run = 0; run < runs; run++) {
    for (const c of cases) {
      const order = run % 2 === 0 ? ['tsnet', 'base'] : ['base', 'tsnet'];
      const got = {};
      for (const side of order) got[side] = await wall(c[side], c.cwd);
      samples[c.name].tsnet.push(got.tsnet);
      samples[c.name].base.push(got.base);
      samples[c.name].ratio.push(got.base / got.tsnet);
      emit('test-dist', `${c.name}.tsnet`, round(got.tsnet, 1), 'ms', { run });
      emit('test-dist', `${c.name}.node`, round(got.base, 1), 'ms', { run });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log('\n| suite | tsnet test (ms) | node --test (ms) | speed-up (node / tsnet) |');
console.log('| --- | --- | --- | --- |');
for (const c of cases) {
  const s = samples[c.name];
  console.log(`| ${c.label} | ${round(median(s.tsnet), 0)} | ${round(median(s.base), 0)} | ${round(median(s.ratio), 2)}× |`);
}
console.log(`\n(${runs} runs, medians; ${existsSync(cli) ? 'through packages/cli' : 'through the tsnetCommand hook'}; ${iterations} iterations per CPU file)`);
