#!/usr/bin/env node
// tsnet's benchmark suite: tsnet beside Python's execnet, Node's own fork IPC and raw pipes
// between two Node processes, all measured in the same run, interleaved, compared as ratios.
//
//   npm run bench                         (= npm run build && node bench/run.mjs)
//   node bench/run.mjs [--quick] [--runs N] [--only startup,rtt,small,bulk,fanout,ssh,socket]
//                      [--json out.json] [--no-execnet] [--ssh-host tsnet-local]
//
// Prints a markdown table (figure, tsnet, each baseline, ratios, target, holds) and writes every
// sample plus the summary as JSON (default bench/results/<UTC>.json, and the raw samples as
// .jsonl in the schema of ../shared/anchors/aggregate.mjs). Figures are medians over the runs;
// ratios are taken within each run (tsnet and its baseline measured side by side) and their
// median is reported. See bench/README.md for what each figure measures.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname } from 'node:path';
import {
  BENCH,
  DEBIAN_PYTHON,
  EXECNET_SCRIPT,
  envWithoutExtraCa,
  execnetStatus,
  killRunningJobs,
  median,
  parseArgs,
  REPO,
  round,
  runJsonLines,
  sleep,
} from './lib/common.mjs';

// `npm run bench -- rsync [...]`: the directory-sync benchmark has a script of its own (it ends the process).
if (process.argv[2] === 'rsync') {
  await import('./rsync.mjs');
  process.exit(0);
}

const GROUPS = ['startup', 'rtt', 'small', 'bulk', 'fanout', 'ssh', 'socket'];
const opts = parseArgs(process.argv.slice(2), { valued: ['runs', 'only', 'json', 'ssh-host'], flags: ['quick', 'no-execnet', 'help'] });
if (opts.help) {
  console.log(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 13)
      .join('\n')
      .replace(/^\/\/ ?/gm, ''),
  );
  process.exit(0);
}
const quick = Boolean(opts.quick);
const runs = Number(opts.runs ?? (quick ? 1 : 3));
const only = opts.only ? new Set(String(opts.only).split(',')) : new Set(GROUPS);
for (const g of only) {
  if (!GROUPS.includes(g)) {
    console.error(`--only: unknown group "${g}"; groups: ${GROUPS.join(', ')}`);
    process.exit(2);
  }
}
const sshHost = String(opts['ssh-host'] ?? 'tsnet-local');
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const jsonPath = String(opts.json ?? `${BENCH}results/${stamp}.json`);

// Sizes: the same N and payloads as ../shared/anchors/execnet_bench.py; --quick is 1/10 (smoke test only).
const q = (full, small) => String(quick ? small : full);
const S = {
  startupSamples: q(10, 3),
  rttN: q(20000, 2000),
  smallN: q(200000, 20000),
  framedN: q(1000000, 100000),
  bulk4N: q(200, 20),
  bulk1N: q(800, 80),
  fanoutReps: q(3, 1),
  fanout32Reps: q(2, 1),
  sshStartup: q(5, 2),
  sshRttN: q(5000, 500),
  sshSmallN: q(50000, 5000),
  sshBulkN: q(50, 5),
};

const tsnetBench = `${BENCH}tsnet-bench.mjs`;
const nodeBaselines = `${BENCH}baselines/node-baselines.mjs`;
const hasExtraCa = Boolean(process.env.NODE_EXTRA_CA_CERTS);
const noCaEnv = envWithoutExtraCa();

// ------------------------------------------------------------------ what can run here

const skipped = [];
const notes = [];
const skip = (what, why) => {
  skipped.push({ what, why });
  console.error(`skip: ${what}: ${why}`);
};

async function canImport(pkg) {
  try {
    await import(pkg);
    return { ok: true };
  } catch (error) {
    return { ok: false, why: `${pkg} cannot be imported (${error.code ?? error.message})` };
  }
}

function sshWorks(host) {
  try {
    execFileSync('ssh', ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', host, 'true'], { stdio: 'ignore', timeout: 20_000 });
    return { ok: true };
  } catch {
    return { ok: false, why: `"ssh ${host} true" fails: start the loopback sshd (bash ../shared/anchors/start-sshd.sh) or pass --ssh-host` };
  }
}

const execnet = opts['no-execnet'] ? { ok: false, why: '--no-execnet' } : await execnetStatus();
if (!execnet.ok) skip('execnet columns', execnet.why);
if (!hasExtraCa) notes.push('NODE_EXTRA_CA_CERTS is not set here: the "env as is" startup figures are already without it');

let ssh = { ok: false };
if (only.has('ssh')) {
  const imp = await canImport('@tsnet/transport-ssh');
  if (!imp.ok) skip('ssh rows', `${imp.why}; they run once the ssh transport exists`);
  else {
    const s = sshWorks(sshHost);
    if (!s.ok) skip('ssh rows', s.why);
    else ssh = { ok: true };
  }
}

let socket = { ok: false };
if (only.has('socket')) {
  const imp = await canImport('@tsnet/transport-socket');
  if (!imp.ok) skip('socket rows', `${imp.why}; they run once the socket transport exists`);
  else socket = await startSocketServer();
}

/** Starts `node tsnet-bootstrap.js serve` on a free loopback port with a token file. */
async function startSocketServer() {
  let file;
  try {
    ({ BOOTSTRAP_FILE: file } = await import('@tsnet/bootstrap'));
  } catch (error) {
    skip('socket rows', `@tsnet/bootstrap cannot be imported (${error.message})`);
    return { ok: false };
  }
  if (!/serve/.test(readHelp(file))) {
    skip('socket rows', `${file} has no "serve" command yet`);
    return { ok: false };
  }
  const port = await freePort();
  const tokenFile = `${os.tmpdir()}/tsnet-bench-token-${process.pid}`;
  writeFileSync(tokenFile, `${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}\n`, { mode: 0o600 });
  const server = spawn(
    process.execPath,
    [file, 'serve', '--listen', `127.0.0.1:${port}`, '--token-file', tokenFile, ...(process.env.TSNET_BENCH_SOCKET_RELAY ? ['--relay'] : [])],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  for (let i = 0; i < 100; i++) {
    if (await accepts(port)) return { ok: true, server, spec: `socket=127.0.0.1:${port}//token-file=${tokenFile}` };
    if (server.exitCode !== null) break;
    await sleep(100);
  }
  server.kill('SIGKILL');
  skip('socket rows', `the socket server (${file} serve) did not listen on 127.0.0.1:${port} within 10 s`);
  return { ok: false };
}

function readHelp(file) {
  try {
    return execFileSync(process.execPath, [file, 'help'], { encoding: 'utf8', timeout: 20_000 });
  } catch {
    return '';
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ------------------------------------------------------------------ jobs per group

const node = (label, argv, env) => ({ label, command: process.execPath, args: argv, env });
const tsnet = (label, argv, env) => node(`tsnet ${label}`, [tsnetBench, ...argv], env);
const base = (label, argv) => node(`baseline ${label}`, [nodeBaselines, ...argv]);
const execnetJob = (label, argv) => ({ label: `execnet ${label}`, command: DEBIAN_PYTHON, args: [EXECNET_SCRIPT, ...(quick ? ['--quick'] : []), ...argv] });

// execnet's popen figures (startup, rtt, small_msgs, large_bytes) come from one invocation, run
// with the first selected group that needs it.
const execnetPopenGroup = ['startup', 'rtt', 'small', 'bulk'].find((g) => only.has(g));

function jobsFor(group) {
  const j = [];
  if (group === execnetPopenGroup && execnet.ok) j.push(execnetJob('popen', ['--no-ssh', '--only', 'popen']));
  switch (group) {
    case 'startup':
      j.push(tsnet('startup', ['startup', '--samples', S.startupSamples]));
      if (hasExtraCa) j.push(tsnet('startup (NODE_EXTRA_CA_CERTS unset)', ['startup', '--samples', S.startupSamples, '--tag', 'no_extra_ca'], noCaEnv));
      break;
    case 'rtt':
      // with the pipe ping-pong floor in the same process, in alternating blocks (see tsnet-bench.mjs)
      j.push(tsnet('rtt (beside the pipe floor)', ['rtt', '--n', S.rttN]));
      j.push(base('ipc json rtt', ['ipc', '--ser', 'json', '--what', 'rtt', '--n', S.rttN]));
      j.push(base('ipc advanced rtt', ['ipc', '--ser', 'advanced', '--what', 'rtt', '--n', S.rttN]));
      break;
    case 'small':
      for (const item of ['int', 'string', 'object']) {
        j.push(tsnet(`small ${item}`, ['small', '--n', S.smallN, '--item', item]));
        j.push(tsnet(`sendMany ${item}`, ['small', '--n', S.framedN, '--item', item, '--many']));
        j.push(base(`pipe_framed ${item}`, ['pipe_framed', '--n', S.framedN, '--item', item]));
      }
      j.push(base('pipe_framed int32', ['pipe_framed', '--n', S.framedN, '--item', 'int32']));
      j.push(tsnet('small int, not awaited', ['small', '--n', S.smallN, '--nowait']));
      j.push(base('ipc json small', ['ipc', '--ser', 'json', '--what', 'small', '--n', S.smallN]));
      j.push(base('ipc advanced small', ['ipc', '--ser', 'advanced', '--what', 'small', '--n', S.smallN]));
      break;
    case 'bulk':
      for (const dir of ['send', 'recv']) {
        for (const [mib, n] of [
          ['4', S.bulk4N],
          ['1', S.bulk1N],
        ]) {
          j.push(tsnet(`bulk ${dir} ${mib} MiB`, ['bulk', '--dir', dir, '--mib', mib, '--n', n]));
          j.push(base(`pipe_bw ${dir} ${mib} MiB`, ['pipe_bw', '--dir', dir, '--mib', mib, '--n', n]));
        }
      }
      j.push(base('ipc advanced 4 MiB', ['ipc', '--ser', 'advanced', '--what', 'large', '--mib', '4', '--n', S.bulk4N]));
      break;
    case 'fanout':
      for (const [k, reps] of [
        ['8', S.fanoutReps],
        ['32', S.fanout32Reps],
      ]) {
        j.push(tsnet(`fanout ${k}`, ['fanout', '--k', k, '--reps', reps]));
        if (hasExtraCa) j.push(tsnet(`fanout ${k} (NODE_EXTRA_CA_CERTS unset)`, ['fanout', '--k', k, '--reps', reps, '--tag', 'no_extra_ca'], noCaEnv));
        if (execnet.ok) j.push(execnetJob(`fanout ${k}`, ['--no-ssh', '--only', 'fanout', '--fanout', k, '--fanout-reps', reps]));
      }
      break;
    case 'ssh':
      if (!ssh.ok) break;
      j.push(tsnet('ssh startup', ['startup', '--spec', `ssh=${sshHost}`, '--prefix', 'ssh', '--samples', S.sshStartup, '--floor-ssh', sshHost]));
      j.push(tsnet('ssh rtt', ['rtt', '--spec', `ssh=${sshHost}`, '--prefix', 'ssh', '--n', S.sshRttN]));
      j.push(tsnet('ssh small', ['small', '--spec', `ssh=${sshHost}`, '--prefix', 'ssh', '--n', S.sshSmallN]));
      j.push(tsnet('ssh bulk', ['bulk', '--spec', `ssh=${sshHost}`, '--prefix', 'ssh', '--mib', '4', '--n', S.sshBulkN]));
      j.push(base('ssh cat', ['ssh_cat', '--host', sshHost, '--mib', '4', '--n', S.sshBulkN]));
      if (execnet.ok) {
        j.push(
          execnetJob('ssh', [
            '--only',
            'ssh',
            '--ssh-host',
            sshHost,
            '--startup-n',
            S.sshStartup,
            '--rtt-n',
            S.sshRttN,
            '--small-n',
            S.sshSmallN,
            '--ssh-large-n',
            quick ? '2' : '20',
          ]),
        );
      }
      break;
    case 'socket':
      if (!socket.ok) break;
      j.push(tsnet('socket startup', ['startup', '--spec', socket.spec, '--prefix', 'socket', '--samples', S.startupSamples, '--floor', 'none']));
      j.push(tsnet('socket rtt', ['rtt', '--spec', socket.spec, '--prefix', 'socket', '--n', S.rttN]));
      j.push(tsnet('socket small', ['small', '--spec', socket.spec, '--prefix', 'socket', '--n', S.smallN]));
      j.push(tsnet('socket bulk', ['bulk', '--spec', socket.spec, '--prefix', 'socket', '--mib', '4', '--n', S.bulk4N]));
      j.push(base('tcp_rtt', ['tcp_rtt', '--n', S.rttN]));
      j.push(base('tcp_bw', ['tcp_bw', '--mib', '4', '--n', S.bulk4N]));
      break;
  }
  return j;
}

// ------------------------------------------------------------------ run

// Jobs run in their own sessions, so Ctrl-C does not reach them: end them here.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killRunningJobs();
    if (socket.server) socket.server.kill('SIGKILL');
    process.exit(130);
  });
}

const samples = [];
const errors = [];
const t0 = Date.now();
const loadBefore = os.loadavg();
console.error(`tsnet bench: ${runs} run(s)${quick ? ', --quick (smoke test: do not quote these figures)' : ''}, groups ${[...only].join(',')}`);
for (let run = 1; run <= runs; run++) {
  for (const group of GROUPS) {
    if (!only.has(group)) continue;
    let jobs = jobsFor(group);
    // Alternate which side goes first from run to run, so a slow phase of the machine does not
    // always hit the same side.
    if (run % 2 === 0) jobs = jobs.reverse();
    for (const job of jobs) {
      const r = await runJsonLines(job.command, job.args, { env: job.env ?? process.env, timeoutMs: 10 * 60_000 });
      const figures = r.records.filter((x) => typeof x.value === 'number' && x.unit);
      for (const rec of figures) samples.push({ ...rec, run, group });
      const shown = figures.map((x) => `${x.name}=${fmt(x.value)} ${x.unit}`).join(', ');
      console.error(`[run ${run}/${runs}] ${job.label.padEnd(40)} ${r.seconds.toFixed(1).padStart(6)} s  ${shown}`);
      if (r.error) {
        errors.push({ run, job: job.label, error: r.error });
        console.error(`    error: ${r.error}`);
      }
    }
  }
}
if (socket.server) socket.server.kill('SIGTERM');

// ------------------------------------------------------------------ summary

const byKey = new Map(); // 'suite:name' -> samples
for (const s of samples) {
  const k = `${s.suite}:${s.name}`;
  if (!byKey.has(k)) byKey.set(k, []);
  byKey.get(k).push(s);
}
const figures = {};
for (const [k, xs] of byKey) {
  const values = xs.map((x) => x.value);
  figures[k] = { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values.length, unit: xs[0].unit };
}
const valueIn = (key, run) => byKey.get(key)?.find((x) => x.run === run)?.value;

/** Median over runs of tsnet/baseline (or tsnet − baseline), each pair from the same run. */
function compare(a, b, kind) {
  const per = [];
  for (let run = 1; run <= runs; run++) {
    const x = valueIn(a, run);
    const y = valueIn(b, run);
    if (typeof x === 'number' && typeof y === 'number' && y !== 0) per.push(kind === 'diff' ? x - y : x / y);
  }
  return per.length ? { value: median(per), perRun: per.map((v) => round(v)) } : null;
}

const E = (name) => `execnet:${name}`;
const T = (name) => `tsnet:${name}`;
const N = (name) => `node:${name}`;
const execnetBulkNote = 'execnet: 4 MiB local → remote, the only bulk figure execnet_bench.py measures';

// figure rows: tsnet key, baseline columns, comparisons (kind ratio = tsnet / baseline)
const ROWS = [
  {
    figure: 'startup popen, env as is',
    t: T('popen.startup'),
    execnet: E('popen.startup'),
    floor: N('startup.node_e'),
    floorName: "node -e ''",
    cmp: [
      { vs: 'floor', kind: 'diff', op: '<=', target: 10, label: "− node -e ''" },
      { vs: 'execnet', label: '× execnet' },
    ],
  },
  {
    figure: 'startup popen, NODE_EXTRA_CA_CERTS unset',
    t: T('popen.startup.no_extra_ca'),
    execnet: E('popen.startup'),
    floor: N('startup.node_e.no_extra_ca'),
    floorName: "node -e ''",
    cmp: [
      { vs: 'floor', kind: 'diff', op: '<=', target: 10, label: "− node -e ''" },
      { vs: 'execnet', label: '× execnet' },
    ],
  },
  {
    figure: 'round trip popen',
    t: T('popen.rtt'),
    execnet: E('popen.rtt'),
    floor: N('node.pipe_rtt'),
    floorName: 'pipe ping-pong',
    ipcJson: N('node.ipc_json.rtt'),
    ipcAdv: N('node.ipc_advanced.rtt'),
    cmp: [
      { vs: 'execnet', op: '<=', target: 0.6, label: '× execnet' },
      { vs: 'floor', op: '<=', target: 1.1, label: '× pipe' },
      { vs: 'ipcJson', label: '× ipc json' },
    ],
  },
  {
    figure: 'small msgs popen, int, awaited one by one',
    t: T('popen.small_msgs'),
    execnet: E('popen.small_msgs'),
    floor: N('node.pipe_framed.small_msgs'),
    floorName: 'framed JSON pipe',
    ipcJson: N('node.ipc_json.small_msgs'),
    ipcAdv: N('node.ipc_advanced.small_msgs'),
    note: 'each await resolves once the item is in the kernel (or, while the pipe is full, in tsnet memory)',
    cmp: [
      { vs: 'execnet', op: '>=', target: 3, label: '× execnet' },
      { vs: 'floor', label: '× framed pipe' },
      { vs: 'ipcJson', label: '× ipc json' },
    ],
  },
  {
    figure: 'small msgs popen, int, not awaited (awaited by 4096)',
    t: T('popen.small_msgs.nowait'),
    floor: T('popen.small_msgs'),
    floorName: 'awaited one by one',
    note: 'the cost of a resolved send() meaning delivered: awaiting each send ÷ this row (before, an awaited send resolved once queued, so both cost the same)',
    cmp: [{ vs: 'floor', label: '× awaited' }],
  },
  {
    figure: 'sendMany popen, int',
    t: T('popen.small_msgs.many'),
    execnet: E('popen.small_msgs'),
    floor: N('node.pipe_framed.small_msgs.int32'),
    floorName: 'framed int32 pipe',
    cmp: [
      { vs: 'floor', op: '>=', target: 0.25, label: '× framed pipe' },
      { vs: 'execnet', label: '× execnet' },
    ],
  },
  {
    figure: 'sendMany popen, short string',
    t: T('popen.small_msgs.string.many'),
    floor: N('node.pipe_framed.small_msgs.string'),
    floorName: 'framed JSON pipe',
    cmp: [{ vs: 'floor', op: '>=', target: 0.5, label: '× framed pipe' }],
  },
  {
    figure: 'sendMany popen, small object',
    t: T('popen.small_msgs.object.many'),
    floor: N('node.pipe_framed.small_msgs.object'),
    floorName: 'framed JSON pipe',
    cmp: [{ vs: 'floor', op: '>=', target: 0.7, label: '× framed pipe' }],
  },
  {
    figure: 'small msgs popen, short string',
    t: T('popen.small_msgs.string'),
    floor: N('node.pipe_framed.small_msgs.string'),
    floorName: 'framed JSON pipe',
    cmp: [{ vs: 'floor', label: '× framed pipe' }],
  },
  {
    figure: 'small msgs popen, small object',
    t: T('popen.small_msgs.object'),
    floor: N('node.pipe_framed.small_msgs.object'),
    floorName: 'framed JSON pipe',
    cmp: [{ vs: 'floor', label: '× framed pipe' }],
  },
  {
    figure: 'bulk popen, 4 MiB local → remote',
    t: T('popen.large_bytes'),
    execnet: E('popen.large_bytes'),
    floor: N('node.pipe_bw'),
    floorName: 'Node → Node pipe',
    ipcAdv: N('node.ipc_advanced.large_bytes'),
    cmp: [
      { vs: 'execnet', op: '>=', target: 3, label: '× execnet' },
      { vs: 'floor', op: '>=', target: 0.8, label: '× pipe' },
      { vs: 'ipcAdv', label: '× ipc adv' },
    ],
  },
  {
    figure: 'bulk popen, 1 MiB local → remote',
    t: T('popen.large_bytes.1mib'),
    execnet: E('popen.large_bytes'),
    floor: N('node.pipe_bw.1mib'),
    floorName: 'Node → Node pipe',
    note: execnetBulkNote,
    cmp: [
      { vs: 'execnet', op: '>=', target: 3, label: '× execnet' },
      { vs: 'floor', op: '>=', target: 0.6, label: '× pipe' },
    ],
  },
  {
    figure: 'bulk popen, 4 MiB remote → local',
    t: T('popen.large_bytes.recv'),
    execnet: E('popen.large_bytes'),
    floor: N('node.pipe_bw.recv'),
    floorName: 'Node → Node pipe',
    note: execnetBulkNote,
    cmp: [
      { vs: 'execnet', op: '>=', target: 3, label: '× execnet' },
      { vs: 'floor', op: '>=', target: 0.6, label: '× pipe' },
    ],
  },
  {
    figure: 'bulk popen, 1 MiB remote → local',
    t: T('popen.large_bytes.recv.1mib'),
    execnet: E('popen.large_bytes'),
    floor: N('node.pipe_bw.recv.1mib'),
    floorName: 'Node → Node pipe',
    note: execnetBulkNote,
    cmp: [
      { vs: 'execnet', op: '>=', target: 3, label: '× execnet' },
      { vs: 'floor', op: '>=', target: 0.6, label: '× pipe' },
    ],
  },
  {
    figure: 'fan-out 8 popen, env as is',
    t: T('fanout8.popen'),
    execnet: E('fanout8.popen'),
    floor: N('startup.node_e_x8_parallel'),
    floorName: "8 × node -e '' at once",
    cmp: [
      { vs: 'floor', op: '<=', target: 1.2, label: '× parallel node' },
      { vs: 'execnet', op: '<=', target: 1, label: '× execnet' },
    ],
  },
  {
    figure: 'fan-out 8 popen, NODE_EXTRA_CA_CERTS unset',
    t: T('fanout8.popen.no_extra_ca'),
    execnet: E('fanout8.popen'),
    floor: N('startup.node_e_x8_parallel.no_extra_ca'),
    floorName: "8 × node -e '' at once",
    cmp: [
      { vs: 'floor', op: '<=', target: 1.2, label: '× parallel node' },
      { vs: 'execnet', op: '<=', target: 1, label: '× execnet' },
    ],
  },
  {
    figure: 'fan-out 32 popen, env as is',
    t: T('fanout32.popen'),
    execnet: E('fanout32.popen'),
    floor: N('startup.node_e_x32_parallel'),
    floorName: "32 × node -e '' at once",
    cmp: [
      { vs: 'floor', label: '× parallel node' },
      { vs: 'execnet', label: '× execnet' },
    ],
  },
  {
    figure: 'fan-out 32 popen, NODE_EXTRA_CA_CERTS unset',
    t: T('fanout32.popen.no_extra_ca'),
    execnet: E('fanout32.popen'),
    floor: N('startup.node_e_x32_parallel.no_extra_ca'),
    floorName: "32 × node -e '' at once",
    cmp: [
      { vs: 'floor', label: '× parallel node' },
      { vs: 'execnet', label: '× execnet' },
    ],
  },
  {
    figure: `startup ssh=${sshHost}`,
    t: T('ssh.startup'),
    execnet: E('ssh.startup'),
    floor: N('startup.ssh_node_e'),
    floorName: `ssh ${sshHost} "node -e ''"`,
    cmp: [
      { vs: 'floor', kind: 'diff', label: '− ssh node -e' },
      { vs: 'execnet', label: '× execnet' },
    ],
  },
  { figure: 'round trip ssh', t: T('ssh.rtt'), execnet: E('ssh.rtt'), cmp: [{ vs: 'execnet', label: '× execnet' }] },
  { figure: 'small msgs ssh, int', t: T('ssh.small_msgs'), execnet: E('ssh.small_msgs'), cmp: [{ vs: 'execnet', label: '× execnet' }] },
  {
    figure: 'bulk ssh, 4 MiB local → remote',
    t: T('ssh.large_bytes'),
    execnet: E('ssh.large_bytes'),
    floor: 'ssh:ssh.raw_cat_bw',
    floorName: `ssh ${sshHost} 'cat > /dev/null'`,
    note: 'execnet forces ssh -C (zlib) on random bytes',
    cmp: [
      { vs: 'floor', op: '>=', target: 0.8, label: '× ssh cat' },
      { vs: 'execnet', label: '× execnet' },
    ],
  },
  {
    figure: 'bulk ssh, vs execnet without -C',
    t: T('ssh.large_bytes'),
    execnet: E('ssh_nocomp.large_bytes'),
    note: 'execnet with its forced ssh -C patched out (execnet_bench.py ssh_nocomp; not stock execnet)',
    cmp: [{ vs: 'execnet', label: '× execnet' }],
  },
  { figure: 'startup socket (server running)', t: T('socket.startup'), cmp: [] },
  {
    figure: 'round trip socket',
    t: T('socket.rtt'),
    floor: N('node.tcp_rtt'),
    floorName: 'TCP ping-pong',
    cmp: [{ vs: 'floor', op: '<=', target: 1.5, label: '× tcp' }],
  },
  { figure: 'small msgs socket, int', t: T('socket.small_msgs'), cmp: [] },
  {
    figure: 'bulk socket, 4 MiB local → remote',
    t: T('socket.large_bytes'),
    floor: N('node.tcp_bw'),
    floorName: 'Node → Node TCP',
    cmp: [{ vs: 'floor', op: '>=', target: 0.7, label: '× tcp' }],
  },
];

const rows = [];
for (const r of ROWS) {
  if (!figures[r.t]) continue;
  const row = { figure: r.figure, unit: figures[r.t].unit, tsnet: figures[r.t], baselines: {}, comparisons: [], note: r.note };
  for (const col of ['execnet', 'floor', 'ipcJson', 'ipcAdv']) {
    if (r[col] && figures[r[col]]) row.baselines[col] = { key: r[col], ...figures[r[col]], ...(col === 'floor' ? { name: r.floorName } : {}) };
  }
  for (const c of r.cmp) {
    const key = r[c.vs];
    const res = key && figures[key] ? compare(r.t, key, c.kind) : null;
    const target = c.op ? `${c.op === '<=' ? '≤' : '≥'} ${c.target}${c.kind === 'diff' ? ' ms' : '×'} ${c.label.replace(/^[×−] /, '')}` : null;
    const holds = res && c.op ? (c.op === '<=' ? res.value <= c.target : res.value >= c.target) : null;
    row.comparisons.push({ label: c.label, kind: c.kind ?? 'ratio', value: res?.value ?? null, perRun: res?.perRun ?? [], target, holds });
  }
  rows.push(row);
}

function fmt(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 100000) return `${(x / 1e6).toFixed(2)}M`;
  if (a >= 10000) return `${(x / 1e3).toFixed(0)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
const cell = (f) => (f ? fmt(f.median) : '–');
const cmpText = (c) =>
  c.value === null ? `${c.label}: –` : c.kind === 'diff' ? `${c.value >= 0 ? '+' : ''}${fmt(c.value)} ms ${c.label.slice(2)}` : `${fmt(c.value)}${c.label}`;

const lines = [];
lines.push('| figure | unit | tsnet | execnet | raw Node floor | fork IPC json / adv | ratios (same run) | target | holds |');
lines.push('|---|---|---:|---:|---:|---:|---|---|---|');
for (const row of rows) {
  const b = row.baselines;
  const floor = b.floor ? `${cell(b.floor)} (${b.floor.name})` : '–';
  const ipc = b.ipcJson || b.ipcAdv ? `${cell(b.ipcJson)} / ${cell(b.ipcAdv)}` : '–';
  const targets = row.comparisons.filter((c) => c.target);
  const targetText = targets.map((c) => c.target).join('; ') || '–';
  const holdsText = targets.map((c) => (c.holds === null ? 'n/a' : c.holds ? 'yes' : 'no')).join('; ') || '–';
  lines.push(
    `| ${row.figure} | ${row.unit} | ${cell(row.tsnet)} | ${cell(b.execnet)} | ${floor} | ${ipc} | ${row.comparisons.map(cmpText).join(', ') || '–'} | ${targetText} | ${holdsText} |`,
  );
}

// memory during bulk
const mem = [];
for (const [dir, label] of [
  ['', 'local → remote'],
  ['.recv', 'remote → local'],
]) {
  for (const [mib, mlabel] of [
    ['', '4 MiB'],
    ['.1mib', '1 MiB'],
  ]) {
    const loc = byKey.get(`tsnet:popen.peak_rss_local${dir}${mib}`);
    const rem = byKey.get(`tsnet:popen.peak_rss_remote${dir}${mib}`);
    if (!loc || !rem) continue;
    const m = (xs, f) => fmt(median(xs.map(f)));
    mem.push(
      `| popen ${label}, ${mlabel} | ${m(loc, (x) => x.value)} (idle ${m(loc, (x) => x.idle)}) | ${m(rem, (x) => x.value)} (idle ${m(rem, (x) => x.idle)}) | ${m(loc, (x) => x.vmhwm)} / ${m(rem, (x) => x.vmhwm)} |`,
    );
  }
}

// cost per message: CPU time (all threads) and read/write syscalls of each process, tsnet beside
// the raw Node baseline of the same figure
function perMsg(key) {
  const xs = (byKey.get(key) ?? []).map((x) => x.per_msg).filter(Boolean);
  if (xs.length === 0) return null;
  const m = (f) => median(xs.map((x) => x[f]));
  return {
    cpu: `${fcpu(m('cpu_us_local'))} / ${fcpu(m('cpu_us_remote'))}`,
    sys:
      xs[0].reads_local === undefined
        ? '–'
        : `${fsys(m('reads_local'))}r ${fsys(m('writes_local'))}w / ${fsys(m('reads_remote'))}r ${fsys(m('writes_remote'))}w`,
  };
}
const fcpu = (us) => (Number.isFinite(us) && us >= 10000 ? `${(us / 1000).toFixed(1)} ms` : fmt(us));
const fsys = (x) => (Number.isFinite(x) && Math.abs(x) < 0.1 ? x.toFixed(3) : fmt(x));
const costs = [];
for (const r of ROWS) {
  const t = perMsg(r.t);
  if (!t) continue;
  const f = r.floor ? perMsg(r.floor) : null;
  costs.push(`| ${r.figure} | ${t.cpu} | ${f ? f.cpu : '–'} | ${t.sys} | ${f ? f.sys : '–'} |`);
}

const seconds = (Date.now() - t0) / 1000;
const targetsAll = rows.flatMap((r) => r.comparisons.filter((c) => c.target).map((c) => ({ figure: r.figure, ...c })));
const held = targetsAll.filter((c) => c.holds === true).length;
const missed = targetsAll.filter((c) => c.holds === false);
const unmeasured = targetsAll.filter((c) => c.holds === null).length;

let out = `\n${lines.join('\n')}\n`;
if (mem.length) {
  out += '\nPeak RSS during bulk, MB (sampled every 20 ms; remote through remoteStatus())\n\n';
  out += '| run | local peak | remote peak | VmHWM local / remote |\n|---|---:|---:|---:|\n';
  out += `${mem.join('\n')}\n`;
}
if (costs.length) {
  out += '\nCost per message (per round trip for rtt, per start for startup), local / remote process: CPU µs (user + system, all threads;';
  out += ' for startup the remote side is its main thread, the floor is a bare node start) and read/write syscalls\n\n';
  out += '| figure | tsnet CPU µs | raw Node floor CPU µs | tsnet syscalls | raw Node floor syscalls |\n|---|---:|---:|---:|---:|\n';
  out += `${costs.join('\n')}\n`;
}
out += `\nTargets: ${held} hold, ${missed.length} missed${unmeasured ? `, ${unmeasured} not measured (baseline missing)` : ''}.`;
if (missed.length) out += ` Missed: ${missed.map((c) => `${c.figure} (${c.target}: ${cmpText(c)})`).join('; ')}.`;
out += '\n';
const notesAll = [
  ...notes,
  ...rows.filter((r) => r.note).map((r) => `${r.figure}: ${r.note}`),
  ...skipped.map((s) => `skipped ${s.what}: ${s.why}`),
  ...errors.map((e) => `error in run ${e.run}, ${e.job}: ${e.error}`),
];
if (notesAll.length) out += `\n${notesAll.map((n) => `- ${n}`).join('\n')}\n`;
const loadAfter = os.loadavg();
const meta = {
  date: new Date().toISOString(),
  command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  runs,
  quick,
  node: process.version,
  nproc: os.availableParallelism(),
  cpu: os.cpus()[0]?.model,
  kernel: os.release(),
  loadavg: { before: loadBefore.map((x) => round(x, 2)), after: loadAfter.map((x) => round(x, 2)) },
  NODE_EXTRA_CA_CERTS: hasExtraCa ? 'set' : 'unset',
  execnet: execnet.ok ? execnet.version : null,
  commit: gitCommit(),
  seconds: round(seconds, 1),
};
out += `\n${meta.runs} run(s), ${meta.seconds} s, ${meta.node}, ${meta.nproc} cores (${meta.cpu}), load ${meta.loadavg.before.join(' ')} → ${meta.loadavg.after.join(' ')}, NODE_EXTRA_CA_CERTS ${meta.NODE_EXTRA_CA_CERTS}, execnet ${meta.execnet ?? 'not run'}, commit ${meta.commit ?? '?'}\n`;
console.log(out);

mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify({ meta, sizes: S, skipped, errors, rows, figures, samples }, null, 1)}\n`);
writeFileSync(jsonPath.replace(/\.json$/, '') + '.jsonl', samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
console.error(`wrote ${jsonPath} (and .jsonl beside it)`);
process.exitCode = errors.length ? 1 : 0;

function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO, encoding: 'utf8' }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}
