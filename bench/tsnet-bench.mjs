// One tsnet measurement per invocation (run.mjs starts a fresh process for each, so JIT state and
// heap of one case do not leak into the next, and startup can run with a different environment).
//
//   node bench/tsnet-bench.mjs <case> [--spec popen] [--prefix popen] [--tag no_extra_ca] [sizes]
//
// Cases (definitions follow ../shared/anchors/execnet_bench.py; clocks are end to end):
//   startup   makeGateway() → first remoteExec answer, ms; interleaved with the floor command
//             (`node -e ''`; --floor-ssh HOST: `ssh HOST "node -e ''"`; --floor none: no floor)
//   rtt       ping-pong of a small int over one channel, µs per round trip. For popen, the floor (a
//             1-byte ping-pong over a Node child's stdin/stdout) runs in the same process at the same
//             time, in alternating blocks of --block round trips; both figures are medians of blocks
//   small     one-way stream of --item int|string|object, remote counts, msg/s
//   bulk      one-way --mib MiB Uint8Arrays, --dir send (local → remote) or recv, MB/s, with peak RSS
//             of both sides (local sampled every 20 ms, remote through remoteStatus())
//   fanout    Group.open() of --k gateways + one remoteExec on each + all answers, ms; interleaved
//             with k bare `node -e ''` started at once
// Prints JSON lines: { suite: 'tsnet', name, value, unit, ... } and floors as suite 'node'.
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Group } from '@tsnet/core';
import { costMeter, emit, exited, MiB, median, now, parseArgs, pingPong, procCounters, round, sleep } from './lib/common.mjs';

const args = parseArgs(process.argv.slice(2), {
  valued: [
    'spec',
    'prefix',
    'tag',
    'profile-remote',
    'profile-interval',
    'floor',
    'floor-ssh',
    'samples',
    'n',
    'warm',
    'paired',
    'block',
    'item',
    'mib',
    'dir',
    'k',
    'reps',
  ],
  flags: ['many', 'nowait', 'second'],
});
/** Monotonic µs, the clock of V8's .cpuprofile timestamps: profile.mjs keeps only the measured window. */
const clockUs = () => Number(process.hrtime.bigint() / 1000n);
const which = args._[0];
const spec = args.spec ?? 'popen';
const prefix = args.prefix ?? 'popen';
const tag = args.tag ? `.${args.tag}` : '';

/** The spec to open, or a transport provider that ships an unminified remote bundle under --cpu-prof. */
/** `n` samples each of `a` and `b`, alternating which goes first so drift hits both alike. */
async function interleaved(n, a, b) {
  const as = [];
  const bs = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return [as, bs];
}

async function gatewaySpec() {
  if (!args['profile-remote']) return spec;
  const { profilingPopen } = await import('./lib/profiling-popen.mjs');
  return profilingPopen(String(args['profile-remote']), args['profile-interval']);
}

async function open(group) {
  return group.makeGateway(await gatewaySpec());
}

// ------------------------------------------------------------------ remote programs

const ECHO = `
for (;;) {
  const x = await channel.receive();
  if (x === null) break;
  await channel.send(x);
}`;

// Counts items until null; answers [count, bytes]. Says 'ready' first: clocks start after it.
const COUNT = `
await channel.send('ready');
let n = 0, bytes = 0;
for (;;) {
  const x = await channel.receive();
  if (x === null) break;
  n++;
  if (x instanceof Uint8Array) bytes += x.length;
}
await channel.send([n, bytes]);`;

// COUNT with a callback instead of receive(): each item is handled as its frame is parsed, like
// the framed pipes' children parse each frame in their data handler (--many rows).
const COUNT_CALLBACK = `
let n = 0, bytes = 0, done;
const end = new Promise((r) => { done = r; });
channel.setCallback((x) => {
  if (x === null) return done();
  n++;
  if (x instanceof Uint8Array) bytes += x.length;
});
await channel.send('ready');
await end;
await channel.send([n, bytes]);`;

// Sends kwargs.n random Uint8Arrays of kwargs.size bytes after 'go', then null.
const PRODUCE = `
const { n, size } = kwargs;
const p = new Uint8Array(size);
require('node:crypto').randomFillSync(p);
await channel.send('ready');
await channel.receive();
for (let i = 0; i < n; i++) await channel.send(p);
await channel.send(null);`;

const ITEMS = {
  int: 12345,
  string: 'short string #12345',
  object: { id: 12345, name: 'item', ok: true, tags: ['a', 'b'] },
};

// ------------------------------------------------------------------ floors (bare process starts)

function spawnExit(command, argv, env = process.env) {
  // detached like a popen gateway: its own session, hence its own autogroup CPU share on Linux
  const child = spawn(command, argv, { stdio: 'ignore', env, detached: true });
  return exited(child).then(() => {
    if (child.exitCode !== 0) throw new Error(`${command} ${argv.join(' ')} exited with ${child.exitCode ?? child.signalCode}`);
  });
}

function floorCommand() {
  if (args.floor === 'none') return null;
  if (args['floor-ssh']) return ['ssh', ['-o', 'BatchMode=yes', String(args['floor-ssh']), "node -e ''"]];
  return [process.execPath, ['-e', '']];
}

// ------------------------------------------------------------------ cases

async function startup() {
  const samples = Number(args.samples ?? 10);
  const floorCmd = floorCommand();
  const handshake = [];
  const cpuLocal = [];
  const cpuRemote = [];
  // --second: then another gateway to the same host while the first is open (ssh: one more channel
  // on its connection), timed the same way, beside it
  const seconds = [];
  const one = async () => {
    const group = new Group();
    const c0 = process.cpuUsage();
    const t0 = now();
    const gw = await open(group);
    const t1 = now();
    const answer = await gw.remoteExec('await channel.send(1)').receive();
    const ms = now() - t0;
    const c = process.cpuUsage(c0);
    const remote = schedstatMs((await gw.remoteInfo()).pid);
    if (answer !== 1) throw new Error(`startup: remote answered ${answer}`);
    if (args.second) {
      const t2 = now();
      const gw2 = await open(group);
      if ((await gw2.remoteExec('await channel.send(2)').receive()) !== 2) throw new Error('startup: the second gateway answered wrong');
      seconds.push(now() - t2);
    }
    await group.terminate();
    handshake.push(t1 - t0);
    cpuLocal.push((c.user + c.system) / 1000);
    if (remote !== undefined) cpuRemote.push(remote);
    return ms;
  };
  const floor = async () => {
    if (!floorCmd) return Number.NaN;
    const t0 = now();
    await spawnExit(...floorCmd);
    return now() - t0;
  };
  // warm-up (discarded, as hyperfine --warmup): the first makeGateway also imports the transport
  const cold = await one();
  seconds.length = 0;
  handshake.length = 0;
  cpuLocal.length = 0;
  cpuRemote.length = 0;
  await floor();
  const [ts, fs] = await interleaved(samples, one, floor);
  const floorName = args['floor-ssh'] ? 'startup.ssh_node_e' : 'startup.node_e';
  const extra = (xs) => ({ n: xs.length, min: round(Math.min(...xs)), max: round(Math.max(...xs)), env: envNote() });
  // CPU per start (µs, for the cost table): wall-clock startup on a busy machine is mostly waiting
  // for a CPU share, CPU time is what a start really costs.
  const cpu = (local, remote) =>
    remote.length ? { per_msg: { cpu_us_local: round(median(local) * 1000, 0), cpu_us_remote: round(median(remote) * 1000, 0) } } : {};
  emit('tsnet', `${prefix}.startup${tag}`, median(ts), 'ms', {
    ...extra(ts),
    make_gateway_ms: round(median(handshake)),
    cold_ms: round(cold),
    spec,
    ...cpu(cpuLocal, cpuRemote),
  });
  if (seconds.length) {
    const ratios = seconds.map((x, i) => x / ts[i]);
    emit('tsnet', `${prefix}.startup_second${tag}`, median(seconds), 'ms', { ...extra(seconds), ratio_to_first: round(median(ratios), 3), spec });
  }
  if (floorCmd) {
    const fc = args['floor-ssh'] ? { local: [], remote: [] } : await floorCpu(3);
    emit('node', `${floorName}${tag}`, median(fs), 'ms', { ...extra(fs), command: [floorCmd[0], ...floorCmd[1]].join(' '), ...cpu(fc.local, fc.remote) });
  }
}

/** CPU ms the main thread of a process has used so far (/proc/<pid>/schedstat, ns), or undefined. */
function schedstatMs(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/** CPU of bare Node starts: the child reports its own main-thread CPU just before it ends. */
async function floorCpu(k) {
  const local = [];
  const remote = [];
  for (let i = 0; i < k; i++) {
    const c0 = process.cpuUsage();
    const child = spawn(process.execPath, ['-e', "process.stdout.write(require('fs').readFileSync('/proc/self/schedstat', 'utf8'))"], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
    });
    await exited(child);
    const c = process.cpuUsage(c0);
    const ns = Number(out.split(' ')[0]);
    if (Number.isFinite(ns) && ns > 0) {
      local.push((c.user + c.system) / 1000);
      remote.push(ns / 1e6);
    }
  }
  return { local, remote };
}

function envNote() {
  return process.env.NODE_EXTRA_CA_CERTS ? 'NODE_EXTRA_CA_CERTS set' : 'NODE_EXTRA_CA_CERTS unset';
}

async function rtt() {
  const n = Number(args.n ?? 20000);
  const warm = Number(args.warm ?? 1000);
  const group = new Group();
  const gw = await open(group);
  const remotePid = (await gw.remoteInfo()).pid;
  const ch = gw.remoteExec(ECHO);
  const tsnetRound = async (k) => {
    for (let i = 0; i < k; i++) {
      await ch.send(i);
      await ch.receive();
    }
  };
  await tsnetRound(warm);
  if (prefix === 'popen' && args.paired !== 'no') await pairedRtt(n, warm, remotePid, tsnetRound);
  else {
    const meter = costMeter(process.pid, remotePid);
    meter.start();
    const w0 = clockUs();
    const t0 = now();
    await tsnetRound(n);
    const dt = now() - t0;
    const window_us = [w0, clockUs()];
    const sys = meter.stop(n);
    emit('tsnet', `${prefix}.rtt`, (dt / n) * 1000, 'us', { n, spec, ...sys, window_us });
  }
  await ch.send(null);
  await ch.waitClose();
  await group.terminate();
}

/**
 * tsnet and the raw pipe floor side by side: both peers alive at once, blocks of round trips taken
 * in turn (ABBA order), so a slow phase of a shared machine hits both alike. The figures are the
 * medians of the blocks' µs per round trip; CPU and syscalls per round trip are counted per side
 * (local: this process during that side's blocks; remote: that side's peer).
 */
async function pairedRtt(n, warm, remotePid, tsnetRound) {
  const block = Number(args.block ?? 500);
  const child = spawn(process.execPath, [new URL('./baselines/node-baselines.mjs', import.meta.url).pathname, '--child', 'pipe-echo'], {
    detached: true,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let handler;
  child.stdout.on('data', (d) => handler(d));
  const pipeRound = (k) =>
    pingPong(
      (b) => child.stdin.write(b),
      (h) => {
        handler = h;
      },
      k,
    );
  await pipeRound(warm);
  const sides = {
    tsnet: { round: tsnetRound, us: [], cpu: 0, r: 0, w: 0, peer: remotePid },
    pipe: { round: pipeRound, us: [], cpu: 0, r: 0, w: 0, peer: child.pid },
  };
  const peers0 = { tsnet: procCounters(remotePid), pipe: procCounters(child.pid) };
  const w0 = clockUs();
  const blocks = Math.max(1, Math.round(n / block));
  for (let b = 0; b < blocks; b++) {
    for (const name of b % 2 === 0 ? ['tsnet', 'pipe'] : ['pipe', 'tsnet']) {
      const side = sides[name];
      const io0 = procCounters(process.pid);
      const c0 = process.cpuUsage();
      const t0 = now();
      await side.round(block);
      const dt = now() - t0;
      const c = process.cpuUsage(c0);
      const io1 = procCounters(process.pid);
      side.us.push((dt / block) * 1000);
      side.cpu += c.user + c.system;
      if (io0 && io1) {
        side.r += io1.r - io0.r;
        side.w += io1.w - io0.w;
      }
    }
  }
  const window_us = [w0, clockUs()];
  const total = blocks * block;
  const result = (name) => {
    const side = sides[name];
    const p0 = peers0[name];
    const p1 = procCounters(side.peer);
    // reading /proc/self/{io,stat} between blocks is 4 read syscalls of our own: not counted
    const per_msg = {
      cpu_us_local: round(side.cpu / total, 2),
      cpu_us_remote: p0 && p1 ? round((p1.cpu - p0.cpu) / total, 2) : null,
      reads_local: round(Math.max(0, side.r - 4 * blocks) / total),
      writes_local: round(side.w / total),
      reads_remote: p0 && p1 ? round((p1.r - p0.r) / total) : null,
      writes_remote: p0 && p1 ? round((p1.w - p0.w) / total) : null,
    };
    const mean = side.us.reduce((a, x) => a + x, 0) / side.us.length;
    return { n: total, block, blocks, paired: true, mean_us: round(mean, 2), per_msg, window_us };
  };
  emit('tsnet', `${prefix}.rtt`, median(sides.tsnet.us), 'us', { spec, ...result('tsnet') });
  emit('node', 'node.pipe_rtt', median(sides.pipe.us), 'us', result('pipe'));
  child.stdin.end();
  await exited(child);
}

async function small() {
  const n = Number(args.n ?? 200000);
  const kind = args.item ?? 'int';
  const item = ITEMS[kind];
  const group = new Group();
  const gw = await open(group);
  const meter = costMeter(process.pid, (await gw.remoteInfo()).pid);
  const ch = gw.remoteExec(args.many ? COUNT_CALLBACK : COUNT);
  if ((await ch.receive()) !== 'ready') throw new Error('counter did not start');
  meter.start();
  const w0 = clockUs();
  const t0 = now();
  // --many: one sendMany() of a generator (as many items per write as the window allows);
  // otherwise sequential awaited sends, each resolving once its bytes are in the kernel.
  if (args.many) {
    await ch.sendMany(
      (function* () {
        for (let i = 0; i < n; i++) yield item;
      })(),
    );
  } else if (args.nowait) {
    // what an awaited send cost before a resolved send() meant delivered: queued, coalesced per tick
    let last;
    for (let i = 0; i < n; i++) {
      last = ch.send(item);
      if (i % 4096 === 4095) await last;
    }
    await last;
  } else for (let i = 0; i < n; i++) await ch.send(item);
  await ch.send(null);
  const [count] = await ch.receive();
  const dt = (now() - t0) / 1000;
  const window_us = [w0, clockUs()];
  const sys = meter.stop(n);
  await ch.waitClose();
  await group.terminate();
  if (count !== n) throw new Error(`small: remote counted ${count}, expected ${n}`);
  const name = (kind === 'int' ? `${prefix}.small_msgs` : `${prefix}.small_msgs.${kind}`) + (args.many ? '.many' : args.nowait ? '.nowait' : '');
  emit('tsnet', name, n / dt, 'msg/s', { n, item: JSON.stringify(item), seconds: round(dt), spec, ...sys, window_us });
}

/** Peak RSS of the remote process from /proc (same host only: popen, ssh to 127.0.0.1). */
function vmHwm(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function bulk() {
  const mib = Number(args.mib ?? 4);
  const n = Number(args.n ?? 200);
  const dir = args.dir ?? 'send';
  const size = mib * MiB;
  const group = new Group();
  const gw = await open(group);
  const info = await gw.remoteInfo();
  let payload;
  let ch;
  if (dir === 'send') {
    payload = new Uint8Array(size);
    randomFillSync(payload);
    ch = gw.remoteExec(COUNT);
  } else {
    ch = gw.remoteExec(PRODUCE, { n, size });
  }
  if ((await ch.receive()) !== 'ready') throw new Error('bulk: remote did not start');
  const idleLocal = process.memoryUsage().rss;
  const idleRemote = (await gw.remoteStatus()).memory.rss;

  // memory sampling while the stream runs
  let peakLocal = idleLocal;
  const sampler = setInterval(() => {
    const r = process.memoryUsage().rss;
    if (r > peakLocal) peakLocal = r;
  }, 20);
  let peakRemote = idleRemote;
  let remoteSamples = 0;
  let running = true;
  const remoteSampler = (async () => {
    while (running) {
      try {
        const s = await gw.remoteStatus();
        remoteSamples++;
        if (s.memory.rss > peakRemote) peakRemote = s.memory.rss;
      } catch {
        return;
      }
      await sleep(20);
    }
  })();

  const meter = costMeter(process.pid, info.pid);
  meter.start();
  const w0 = clockUs();
  const t0 = now();
  let count = 0;
  let bytes = 0;
  if (dir === 'send') {
    for (let i = 0; i < n; i++) await ch.send(payload);
    await ch.send(null);
    [count, bytes] = await ch.receive();
  } else {
    await ch.send('go');
    for (;;) {
      const x = await ch.receive();
      if (x === null) break;
      count++;
      bytes += x.length;
    }
  }
  const dt = (now() - t0) / 1000;
  const window_us = [w0, clockUs()];
  const sys = meter.stop(n); // includes the remoteStatus() calls of the sampler (every 20 ms)
  running = false;
  clearInterval(sampler);
  await remoteSampler;
  const hwmRemote = vmHwm(info.pid);
  const hwmLocal = vmHwm(process.pid);
  await ch.waitClose();
  await group.terminate();
  if (count !== n || bytes !== n * size) throw new Error(`bulk: got ${count} items / ${bytes} bytes, expected ${n} / ${n * size}`);
  const suffix = `${dir === 'recv' ? '.recv' : ''}${mib === 4 ? '' : `.${mib}mib`}`;
  emit('tsnet', `${prefix}.large_bytes${suffix}`, bytes / dt / 1e6, 'MB/s', { n, msg_mib: mib, dir, seconds: round(dt), spec, ...sys, window_us });
  const mb = (x) => (x === undefined ? undefined : round(x / 1e6, 1));
  emit('tsnet', `${prefix}.peak_rss_local${suffix}`, mb(peakLocal), 'MB', { idle: mb(idleLocal), vmhwm: mb(hwmLocal), dir, msg_mib: mib });
  emit('tsnet', `${prefix}.peak_rss_remote${suffix}`, mb(peakRemote), 'MB', {
    idle: mb(idleRemote),
    vmhwm: mb(hwmRemote),
    samples: remoteSamples,
    dir,
    msg_mib: mib,
  });
}

async function fanout() {
  const k = Number(args.k ?? 8);
  const reps = Number(args.reps ?? 3);
  const one = async () => {
    const specs = [];
    for (let i = 0; i < k; i++) specs.push(await gatewaySpec());
    const t0 = now();
    const group = await Group.open(specs);
    const answers = await group.remoteExec('await channel.send(1)').receiveEach();
    const ms = now() - t0;
    await group.terminate();
    if (answers.length !== k || answers.some((a) => a !== 1)) throw new Error(`fanout: answers ${JSON.stringify(answers)}`);
    return ms;
  };
  const floor = async () => {
    const t0 = now();
    const all = [];
    for (let i = 0; i < k; i++) all.push(spawnExit(process.execPath, ['-e', '']));
    await Promise.all(all);
    return now() - t0;
  };
  // warm-up: one gateway, so module imports and the bundle read are not in the first sample
  const warm = new Group();
  await warm.makeGateway(await gatewaySpec());
  await warm.terminate();
  const [ts, fs] = await interleaved(reps, one, floor);
  const extra = (xs) => ({ n: xs.length, min: round(Math.min(...xs)), max: round(Math.max(...xs)), env: envNote() });
  emit('tsnet', `fanout${k}.${prefix}${tag}`, median(ts), 'ms', { ...extra(ts), k });
  emit('node', `startup.node_e_x${k}_parallel${tag}`, median(fs), 'ms', { ...extra(fs), k });
}

const cases = { startup, rtt, small, bulk, fanout };
if (!cases[which]) {
  console.error(`usage: node bench/tsnet-bench.mjs ${Object.keys(cases).join('|')} [options]`);
  process.exit(2);
}
try {
  await cases[which]();
  process.exit(0);
} catch (error) {
  console.error(`tsnet-bench ${which}: ${error?.stack ?? error}`);
  process.exit(1);
}
