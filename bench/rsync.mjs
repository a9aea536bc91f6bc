#!/usr/bin/env node
// @tsnet/rsync beside Debian's rsync, over the same private loopback sshd, in the same run.
//
//   npm run build && node bench/rsync.mjs [--runs 3] [--files 5000] [--big-mib 256] [--quick]
//                                         [--only noop,fanout] [--profile DIR]
//   (or: npm run bench -- rsync [...])
//
// The tree: --files small files (200 B to 20 KB, 50 directories) plus one --big-mib file of random
// bytes. Per run, interleaved (the order alternates between runs):
//   initial   copy into an empty destination: `rsync -a --stats src/ bench:dst/` against
//             makeGateway('ssh=bench') + RSync.send() + exit (both include connecting)
//   noop      the same again, nothing changed
//   delta     1 MiB in the middle of the big file rewritten: time, and bytes sent (rsync's
//             "Total bytes sent" from --stats; tsnet's report.bytesSent)
//   fanout    an initial copy to 4 popen gateways at once against one; beside it, as the machine's
//             reference, 4 local `rsync -a` at once against one (the same trees, the same disk)
// Prints one JSON line per sample, then a table of medians and ratios against the targets.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Group, registerTransport } from '@tsnet/core';
import { RSync } from '@tsnet/rsync';
import { createSsh } from '@tsnet/transport-ssh';
import '@tsnet/transport-popen';
import { median, parseArgs } from './lib/common.mjs';
import { startBenchSshd } from './lib/sshd.mjs';

// (`npm run bench -- rsync …` leaves the word rsync among the positionals)
const args = parseArgs(process.argv.slice(2), { valued: ['runs', 'files', 'big-mib', 'profile', 'only'], flags: ['quick'] });
const quick = Boolean(args.quick);
const RUNS = args.runs ?? (quick ? 1 : 3);
const FILES = args.files ?? (quick ? 500 : 5000);
const BIG = (args['big-mib'] ?? (quick ? 32 : 256)) * 1048576;
// --profile DIR: CPU profiles of both sides (local.cpuprofile, remote.cpuprofile: the first target's) of each tsnet step of the first run
const profileDir = args.profile === undefined ? null : String(args.profile);
const only = args.only === undefined ? null : new Set(String(args.only).split(','));
const results = {};
const record = (name, value, unit) => {
  (results[name] ??= { unit, values: [] }).values.push(value);
  console.log(JSON.stringify({ suite: 'tsnet-rsync', name, value: Math.round(value * 10) / 10, unit, load: loadavg()[0] }));
};

// ------------------------------------------------------------------ a private sshd (lib/sshd.mjs)
const { dir, config } = await startBenchSshd({ prefix: 'tsnet-bench-rsync-' });
process.on('SIGINT', () => process.exit(130));
registerTransport(createSsh({ configFile: config, agent: false }));

// ------------------------------------------------------------------ the tree
const src = join(dir, 'src');
let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
for (let d = 0; d < 50; d++) mkdirSync(join(src, `d${d}`, 'sub'), { recursive: true });
for (let i = 0; i < FILES; i++) {
  const size = 200 + Math.floor(rand() * 19800);
  writeFileSync(join(src, `d${i % 50}`, i % 3 ? 'sub' : '', `f${i}.txt`), randomBytes(size));
}
{
  const fd = openSync(join(src, 'big.bin'), 'w');
  for (let off = 0; off < BIG; off += 1 << 20) writeSync(fd, randomBytes(Math.min(1 << 20, BIG - off)));
  closeSync(fd);
}
console.error(
  `tree: ${FILES} small files + ${BIG / 1048576} MiB in ${src}; load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

// ------------------------------------------------------------------ the two tools
async function timeIt(fn) {
  const t0 = performance.now();
  const out = await fn();
  return { ms: performance.now() - t0, out };
}

function rsyncTo(dst) {
  const out = execFileSync('rsync', ['-a', '--stats', '-e', `ssh -F ${config}`, `${src}/`, `bench:${dst}/`], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const sent = /Total bytes sent: ([\d,.]+)/.exec(out);
  return { bytes: sent ? Number(sent[1].replace(/[,.]/g, '')) : Number.NaN };
}

function rsyncLocal(dsts) {
  const one = (d) =>
    new Promise((resolve, reject) => {
      const p = spawn('rsync', ['-a', `${src}/`, `${d}/`], { stdio: 'ignore' });
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rsync -a into ${d} exited with ${code}`))));
    });
  return Promise.all(dsts.map(one));
}

const REMOTE_PROFILER = `const { Session } = require('node:inspector/promises'); const s = new Session(); s.connect();
  await s.post('Profiler.enable'); await s.post('Profiler.start'); await channel.send('started'); const file = await channel.receive();
  const { profile } = await s.post('Profiler.stop'); require('node:fs').writeFileSync(file, JSON.stringify(profile)); await channel.send('written');`;

async function tsnetTo(specs, dsts, profileAs) {
  const group = new Group();
  try {
    const gws = await Promise.all(specs.map((s) => group.makeGateway(s, { output: 'ignore' })));
    const rs = new RSync(src);
    for (const [k, gw] of gws.entries()) rs.addTarget(gw, dsts[k]);
    let stop = async () => {};
    if (profileAs) {
      const { Session } = await import('node:inspector/promises');
      mkdirSync(profileDir, { recursive: true });
      const remote = gws[0].remoteExec(REMOTE_PROFILER);
      await remote.receive();
      const local = new Session();
      local.connect();
      await local.post('Profiler.enable');
      await local.post('Profiler.start');
      stop = async () => {
        const { profile } = await local.post('Profiler.stop');
        writeFileSync(join(profileDir, `${profileAs}.local.cpuprofile`), JSON.stringify(profile));
        await remote.send(join(profileDir, `${profileAs}.remote.cpuprofile`));
        await remote.receive();
      };
    }
    const t0 = performance.now();
    const report = await rs.send();
    await stop();
    return { bytes: report.targets.reduce((n, t) => n + t.bytesSent, 0), report, sendMs: performance.now() - t0 };
  } finally {
    await group.terminate();
  }
}

const SSH_SPEC = 'ssh=bench//node=/usr/bin/node';
for (let run = 0; run < RUNS; run++) {
  const dR = join(dir, `dst-rsync-${run}`);
  const dT = join(dir, `dst-tsnet-${run}`);
  const pair = async (name, withBytes) => {
    const order = run % 2 ? ['tsnet', 'rsync'] : ['rsync', 'tsnet'];
    for (const who of order) {
      const prof = profileDir && run === 0 && who === 'tsnet' ? name : undefined;
      const r = who === 'rsync' ? await timeIt(() => rsyncTo(dR)) : await timeIt(() => tsnetTo([SSH_SPEC], [dT], prof));
      record(`${name}.${who}`, r.ms, 'ms');
      if (who === 'tsnet') record(`${name}.tsnet.send_only`, r.out.sendMs, 'ms');
      if (withBytes) record(`${name}.${who}.bytes`, r.out.bytes, 'B');
    }
  };
  await pair('initial', true);
  if (!only || only.has('noop')) await pair('noop', true);
  // 1 MiB in the middle of the big file changes (same size, new mtime)
  {
    const fd = openSync(join(src, 'big.bin'), 'r+');
    writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, Math.floor(BIG / 2));
    closeSync(fd);
    const t = Date.now() / 1000 + run + 1;
    utimesSync(join(src, 'big.bin'), t, t);
  }
  if (!only || only.has('delta')) await pair('delta', true);
  // fan-out: 1 popen target, then 4 at once, each into empty destinations
  for (const n of only && !only.has('fanout') ? [] : run % 2 ? [4, 1] : [1, 4]) {
    const dsts = Array.from({ length: n }, (_, k) => join(dir, `dst-fan${n}-${run}-${k}`));
    const r = await timeIt(() => tsnetTo(Array(n).fill('popen'), dsts, profileDir && run === 0 ? `fanout${n}` : undefined));
    record(`fanout.${n}`, r.out.sendMs, 'ms');
    record(`fanout.${n}.with_start`, r.ms, 'ms');
    for (const d of dsts) rmSync(d, { recursive: true, force: true });
    // the machine's own cost of n trees at once: n local `rsync -a` (each its own sender and
    // receiver) into empty directories, as the reference for the 4-vs-1 ratio
    const rdsts = dsts.map((d) => `${d}-rsync`);
    const rr = await timeIt(() => rsyncLocal(rdsts));
    record(`fanout.rsync.${n}`, rr.ms, 'ms');
    for (const d of rdsts) rmSync(d, { recursive: true, force: true });
  }
  rmSync(dR, { recursive: true, force: true });
  rmSync(dT, { recursive: true, force: true });
}

// ------------------------------------------------------------------ summary
// Ratios are taken within each run (both measured side by side, under the same load) and their
// median is reported: the machine's load moves both figures of a run together.
const m = (name) => median(results[name]?.values ?? [Number.NaN]);
const ratio = (a, b) => {
  const xs = results[a]?.values ?? [];
  const ys = results[b]?.values ?? [];
  return median(xs.map((x, i) => x / ys[i]));
};
const rows = [
  ['initial copy (ms)', 'initial.tsnet', 'initial.rsync', 1.2],
  ['initial copy, send() only (ms)', 'initial.tsnet.send_only', 'initial.rsync', null],
  ['no-op resync (ms)', 'noop.tsnet', 'noop.rsync', 1.5],
  ['no-op resync, send() only (ms)', 'noop.tsnet.send_only', 'noop.rsync', null],
  ['delta resync, 1 MiB changed (ms)', 'delta.tsnet', 'delta.rsync', 1.5],
  ['delta resync, send() only (ms)', 'delta.tsnet.send_only', 'delta.rsync', null],
  ['delta resync, bytes sent', 'delta.tsnet.bytes', 'delta.rsync.bytes', 1.5],
  ['initial copy, bytes sent', 'initial.tsnet.bytes', 'initial.rsync.bytes', null],
  ['4 popen targets vs 1, send() (ms)', 'fanout.4', 'fanout.1', 1.5],
  ['4 popen targets vs 1, with gateway start (ms)', 'fanout.4.with_start', 'fanout.1.with_start', null],
  ['reference: 4 local rsync -a at once vs 1 (ms)', 'fanout.rsync.4', 'fanout.rsync.1', null],
];
console.log(
  `\n${FILES} files + ${BIG / 1048576} MiB, ${RUNS} runs; medians, and the median of the per-run ratios; load average at the end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log('| figure | tsnet | baseline | ratio | target | holds |\n|---|---:|---:|---:|---:|---|');
for (const [name, t, b, target] of rows) {
  const r = ratio(t, b);
  console.log(
    `| ${name} | ${Math.round(m(t))} | ${Math.round(m(b))} | ${r.toFixed(2)}× | ${target ? `≤ ${target}×` : '–'} | ${target ? (r <= target ? 'yes' : 'no') : '–'} |`,
  );
}
process.exit(0);
