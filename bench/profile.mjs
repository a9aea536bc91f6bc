#!/usr/bin/env node
// Runs tsnet benchmarks under `node --cpu-prof` on both sides and prints the top functions by
// self time for each side. The remote side runs an unminified build of the remote bundle
// (bench/lib/profiling-popen.mjs), so its frames carry the names from packages/core/src.
//
//   node bench/profile.mjs [--cases startup,rtt,small,small_object,many,many_object,bulk,bulk_recv] [--top 20] [--out DIR]
//
// Profiles and summary.md go to bench/results/profiles/<UTC>/<case>/ (git-ignored). Build first
// (npm run build): the local side uses the built packages.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { BENCH, envWithoutExtraCa, parseArgs, runJsonLines } from './lib/common.mjs';
import { formatSummary, summarize } from './profile-summary.mjs';

const args = parseArgs(process.argv.slice(2), { valued: ['cases', 'top', 'out'] });
// startup: makeGateway() → first answer, 3 gateways (one warm-up), sampled every 100 µs, with
// NODE_EXTRA_CA_CERTS unset so that tsnet's own share is not buried under the certificate load.
const CASES = {
  startup: ['startup', '--samples', '2', '--floor', 'none', '--profile-interval', '100'],
  rtt: ['rtt', '--n', '20000', '--paired', 'no'], // tsnet alone in the window (no pipe floor blocks)
  small: ['small', '--n', '200000'],
  small_object: ['small', '--n', '200000', '--item', 'object'],
  many: ['small', '--n', '1000000', '--many'],
  many_object: ['small', '--n', '300000', '--item', 'object', '--many'],
  bulk: ['bulk', '--n', '100', '--mib', '4'],
  bulk_recv: ['bulk', '--n', '100', '--mib', '4', '--dir', 'recv'],
};
const chosen = String(args.cases ?? 'rtt,small,bulk').split(',');
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const outRoot = String(args.out ?? `${BENCH}results/profiles/${stamp}`);
const top = Number(args.top ?? 20);

let report = '';
for (const name of chosen) {
  const argv = CASES[name];
  if (!argv) {
    console.error(`unknown case ${name}; known: ${Object.keys(CASES).join(', ')}`);
    process.exit(2);
  }
  const dir = `${outRoot}/${name}`;
  mkdirSync(dir, { recursive: true });
  console.error(`== profiling ${name}`);
  const local = ['--cpu-prof', `--cpu-prof-dir=${dir}/local`, ...(name === 'startup' ? ['--cpu-prof-interval=100'] : [])];
  const r = await runJsonLines(process.execPath, [...local, `${BENCH}tsnet-bench.mjs`, ...argv, '--profile-remote', `${dir}/remote`], {
    env: name === 'startup' ? envWithoutExtraCa() : process.env,
  });
  if (r.error) {
    console.error(r.error);
    continue;
  }
  const figure = r.records.find((x) => x.suite === 'tsnet');
  let section = `## ${name}: ${figure ? `${figure.name} = ${figure.value} ${figure.unit} (under the profiler)` : ''}\n\n`;
  for (const side of ['local', 'remote']) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (the others: the remote watchdog)
    const files = readdirSync(`${dir}/${side}`).filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    for (const f of files) {
      // only the measured window (clock started → final answer), not process start and setup
      const s = summarize(JSON.parse(readFileSync(`${dir}/${side}/${f}`, 'utf8')), top, figure?.window_us ?? null);
      section += `${formatSummary(s, `### ${side} side${figure?.window_us ? ', measured window only' : ''}: ${f}`)}\n\n`;
    }
  }
  writeFileSync(`${dir}/summary.md`, section);
  report += section;
  console.log(section);
}
writeFileSync(`${outRoot}/summary.md`, report);
console.error(`profiles and summaries in ${outRoot}`);
