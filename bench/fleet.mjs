#!/usr/bin/env node
// A fleet: N network-namespace hosts, each with its own OpenSSH sshd, M gateways on each, as one group.
//
//   npm run build && node bench/fleet.mjs [--hosts 16] [--per-host 4] [--concurrency 16]
//       [--keepalive 2] [--mb 50] [--costs] [--no-rsync] [--sshd-defaults]
//
// Needs root (ip netns). The hosts come from test-e2e/helpers/fleet.ts (bundled with esbuild at
// start, so the bench and the tests build hosts the same way). They share this machine's file
// system and CPU: every remote runtime runs here too, so on a small machine the group start is
// bound by CPU (N×M Node starts). A popen group of the same size, opened in the same run, is that
// floor (`popenGroupMs`).
//
// Phases, each printed as a JSON line:
//   first        one gateway to h1 alone on a fresh provider (handshake, login shell, node, bootstrap),
//                then a second gateway to h1 (one exec channel, no login shell: issue 13's ratio)
//   floor        what the same machine needs anyway: a popen group of N×M gateways (N×M Node
//                starts), OpenSSH's `ssh hI node -e ''` on every host at once, and OpenSSH doing the
//                group's work: a ControlMaster connection per host with M sessions running node
//                (`toOpenSsh` is the group against that)
//   group        Group.open of N×M specs (a fresh provider: every host learns its own setup)
//   fanout       group.remoteExec + receiveEach over every gateway
//   rsync        RSync of a --mb MB tree to one gateway of every host (@tsnet/rsync, if installed)
//   cut          the last host's link goes down (its veth in its namespace): how long until its
//                gateways' pending receives reject, and whether every other gateway answered
//   costs        (--costs) local fds / memory / CPU per host and per gateway; a via-tree (a gateway
//                on h1 opening the gateways to the other hosts itself); bootstrap with and without
//                the remote code cache
// The LAST line is { hosts, gateways, firstGatewayMs, groupStartMs, fanoutMs, cutHostRejectMs,
// othersOk, rsyncMs }. Everything is torn down at the end, on failure and on Ctrl-C.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { preamble } from '@tsnet/bootstrap';
import { Group, registerTransport } from '@tsnet/core';
import { createSsh, ssh } from '@tsnet/transport-ssh';
import { parseArgs } from './lib/common.mjs';
import { importTestHelpers } from './lib/test-helpers.mjs';

const args = parseArgs(process.argv.slice(2), {
  valued: ['hosts', 'per-host', 'concurrency', 'keepalive', 'mb'],
  flags: ['costs', 'no-rsync', 'sshd-defaults'],
});
const HOSTS = args.hosts ?? 16;
const PER_HOST = args['per-host'] ?? 4;
const CONCURRENCY = args.concurrency ?? 16;
const KEEPALIVE = args.keepalive ?? 2;
const MB = args.mb ?? 50;
const COSTS = Boolean(args.costs);
const RSYNC = !args['no-rsync'];
// --sshd-defaults: OpenSSH's own MaxSessions 10 and MaxStartups 10:30:100 (the test sshd allows more).
const SSHD_DEFAULTS = Boolean(args['sshd-defaults']);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const quiet = { output: 'ignore' };

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const emit = (phase, figures) => console.log(JSON.stringify({ suite: 'tsnet-fleet', phase, ...figures }));
const now = () => performance.now();
const round = (x, d = 1) => (x === null || x === undefined ? null : Math.round(x * 10 ** d) / 10 ** d);
const fds = () => readdirSync('/proc/self/fd').length;
/** A snapshot of this process's own costs: fds, RSS and heap after a GC, CPU (user+system, ms). */
function local() {
  gc();
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return { fds: fds(), rss: mem.rss, heap: mem.heapUsed + mem.external, cpu: (cpu.user + cpu.system) / 1000, at: now() };
}
const delta = (a, b) => ({
  fds: b.fds - a.fds,
  rssMiB: (b.rss - a.rss) / 2 ** 20,
  heapMiB: (b.heap - a.heap) / 2 ** 20,
  cpuMs: b.cpu - a.cpu,
  wallMs: b.at - a.at,
});

// ------------------------------------------------------------------ hosts (the test helper)
const { createFleet, cutLink } = await importTestHelpers('fleet-helpers', "export * from './fleet.ts'; export { cutLink } from './netns.ts';");

let fleet;
const groups = new Set();
let tearing;
async function teardown() {
  tearing ??= (async () => {
    await Promise.allSettled([...groups].map((g) => g.terminate({ timeout: 1000 })));
    registerTransport(ssh);
    await fleet?.teardown();
  })();
  return tearing;
}
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`fleet: ${signal}, tearing down`);
    void teardown().finally(() => process.exit(130));
  });
}

/** Group.open, with the group known to teardown() while it is still opening (Ctrl-C then ends it too). */
async function openGroup(specs, options) {
  const g = new Group(specs, options);
  groups.add(g);
  return g.ready;
}

const startLoad = loadavg()[0];
const spec = (h, extra = '') => `ssh=h${h}//keepalive=${KEEPALIVE}${extra}`;
const result = {
  hosts: HOSTS,
  gateways: HOSTS * PER_HOST,
  firstGatewayMs: null,
  groupStartMs: null,
  fanoutMs: null,
  cutHostRejectMs: null,
  othersOk: false,
  rsyncMs: null,
};

try {
  let t0 = now();
  fleet = await createFleet(HOSTS, SSHD_DEFAULTS ? { sshdConfig: ['MaxSessions 10', 'MaxStartups 10:30:100'] } : undefined);
  const nofile = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  emit('setup', {
    hosts: HOSTS,
    ms: round(now() - t0),
    cpus: cpus().length,
    load: round(startLoad, 2),
    nofileSoft: Number(nofile?.[1]),
    nofileHard: Number(nofile?.[2]),
  });

  // ---------------------------------------------------------------- one host alone
  {
    registerTransport(createSsh({ configFile: fleet.config, agent: false }));
    const g = new Group();
    groups.add(g);
    const a = local();
    await g.makeGateway(spec(1, '//id=first'), quiet);
    const b = local();
    await g.makeGateway(spec(1, '//id=second'), quiet);
    const c = local();
    result.firstGatewayMs = round(b.at - a.at);
    const first = delta(a, b);
    const second = delta(b, c);
    emit('first', {
      firstGatewayMs: round(first.wallMs),
      secondGatewayMs: round(second.wallMs),
      secondToFirst: round(second.wallMs / first.wallMs, 2),
      firstLocalCpuMs: round(first.cpuMs),
      secondLocalCpuMs: round(second.cpuMs),
      firstFds: first.fds,
      secondFds: second.fds,
    });
    await g.terminate();
    groups.delete(g);
  }

  // ---------------------------------------------------------------- the floor: a popen group of the same size
  let popenGroupMs;
  {
    t0 = now();
    const g = await openGroup(
      Array.from({ length: HOSTS * PER_HOST }, () => 'popen'),
      { ...quiet, concurrency: CONCURRENCY },
    );
    popenGroupMs = now() - t0;
    await g.terminate();
    groups.delete(g);
    emit('floor', { popenGroupMs: round(popenGroupMs), gateways: HOSTS * PER_HOST, concurrency: CONCURRENCY });
  }

  // ---------------------------------------------------------------- OpenSSH's own cost on every host at once
  let sshNodeAllHostsMs;
  {
    const run = (h) =>
      new Promise((resolve, reject) => {
        execFile('ssh', ['-F', fleet.config, '-o', 'BatchMode=yes', `h${h}`, "node -e ''"], { timeout: 120_000 }, (e) => (e ? reject(e) : resolve()));
      });
    t0 = now();
    await Promise.all(Array.from({ length: HOSTS }, (_, i) => run(i + 1)));
    const oneEach = now() - t0;
    // The same work as the group: one connection per host (ControlMaster), M sessions on it, each
    // running node, all hosts at once.
    const sh = (argv) =>
      new Promise((resolve, reject) =>
        execFile('ssh', ['-F', fleet.config, '-o', 'BatchMode=yes', ...argv], { timeout: 120_000 }, (e) => (e ? reject(e) : resolve())),
      );
    const cm = (h) => ['-o', `ControlPath=${join(fleet.dir, `cm-h${h}`)}`];
    t0 = now();
    await Promise.all(
      Array.from({ length: HOSTS }, async (_, i) => {
        await sh([...cm(i + 1), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=120', '-N', '-f', `h${i + 1}`]);
        await Promise.all(Array.from({ length: PER_HOST }, () => sh([...cm(i + 1), `h${i + 1}`, "node -e ''"])));
      }),
    );
    sshNodeAllHostsMs = now() - t0;
    await Promise.allSettled(Array.from({ length: HOSTS }, (_, i) => sh([...cm(i + 1), '-O', 'exit', `h${i + 1}`])));
    emit('floor', {
      sshNodeOnePerHostMs: round(oneEach),
      sshControlMasterMs: round(sshNodeAllHostsMs),
      what: `OpenSSH on every host at once: ssh hI node -e '' (one each); a ControlMaster per host with ${PER_HOST} sessions running node -e ''`,
    });
  }

  // ---------------------------------------------------------------- the whole group
  const provider = createSsh({ configFile: fleet.config, agent: false });
  registerTransport(provider);
  const specs = [];
  for (let h = 1; h <= HOSTS; h++) for (let j = 1; j <= PER_HOST; j++) specs.push(spec(h, `//id=h${h}g${j}`));
  const before = local();
  const group = await openGroup(specs, { ...quiet, concurrency: CONCURRENCY, onError: 'skip' });
  const after = local();
  result.groupStartMs = round(after.at - before.at);
  const opened = delta(before, after);
  emit('group', {
    groupStartMs: result.groupStartMs,
    toFirst: round(result.groupStartMs / result.firstGatewayMs, 2),
    toOpenSsh: round(result.groupStartMs / sshNodeAllHostsMs, 2),
    opened: group.size,
    failures: group.failures.map((f) => `${f.spec}: ${f.error.message}`),
    connections: provider.connections().length,
    localCpuMs: round(opened.cpuMs),
    fds: opened.fds,
  });
  if (group.failures.length) throw new Error(`${group.failures.length} gateways did not open: ${group.failures[0].error.message}`);

  // ---------------------------------------------------------------- fan-out
  t0 = now();
  const ids = await group.remoteExec('channel.send(channel.gateway.id)').receiveEach();
  result.fanoutMs = round(now() - t0);
  emit('fanout', { fanoutMs: result.fanoutMs, answers: ids.length });

  // ---------------------------------------------------------------- 1:N sync
  if (RSYNC) {
    let mod;
    try {
      mod = await import('@tsnet/rsync');
    } catch (error) {
      emit('rsync', { skipped: `@tsnet/rsync is not installed here (${error.code ?? error.message}); rsyncMs stays null` });
    }
    if (mod) {
      const src = join(fleet.dir, 'tree');
      const FILE = 256 * 1024;
      const files = Math.ceil((MB * 1e6) / FILE);
      for (let i = 0; i < files; i++) {
        const d = join(src, `d${i % 16}`, `e${i % 5}`);
        mkdirSync(d, { recursive: true });
        writeFileSync(join(d, `f${i}.bin`), randomBytes(FILE));
      }
      const rsync = new mod.RSync(src);
      for (let h = 1; h <= HOSTS; h++) rsync.addTarget(group.get(`h${h}g1`), join(fleet.dir, 'dest', `h${h}`));
      const a = local();
      const report = await rsync.send();
      const b = local();
      result.rsyncMs = round(b.at - a.at);
      const sent = report.targets.reduce((n, t) => n + t.bytesSent, 0);
      // Every file arrived whole at every host (the hosts share this file system: count and size them here).
      const arrived = (dir) =>
        readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && statSync(join(e.parentPath ?? e.path, e.name)).size === FILE)
          .length;
      emit('rsync', {
        rsyncMs: result.rsyncMs,
        files,
        treeMB: round((files * FILE) / 1e6),
        targets: report.targets.length,
        allArrived: Array.from({ length: HOSTS }, (_, h) => arrived(join(fleet.dir, 'dest', `h${h + 1}`))).every((n) => n === files),
        sentMB: round(sent / 1e6),
        MBps: round(sent / 1e3 / result.rsyncMs),
        localCpuMs: round(b.cpu - a.cpu),
      });
    }
  }

  // ---------------------------------------------------------------- one host cut
  if (HOSTS >= 2) {
    const echo = group.remoteExec('for await (const x of channel) await channel.send(x * 2)');
    await echo.sendEach(1);
    await echo.receiveEach();
    const cut = fleet.hosts[HOSTS - 1];
    const cutPrefix = `h${HOSTS}g`;
    cutLink(cut);
    const cutAt = now();
    const settled = await Promise.allSettled(
      [...echo].map(async (ch) => {
        await ch.send(2);
        try {
          return await ch.receive({ timeout: 60_000 });
        } catch (error) {
          error.at = now();
          throw error;
        }
      }),
    );
    let ok = 0;
    let rejectedAt = 0;
    let cutRejected = 0;
    const reasons = new Set();
    for (const [i, ch] of [...echo].entries()) {
      const r = settled[i];
      if (ch.gateway.id.startsWith(cutPrefix)) {
        if (r.status === 'rejected') {
          cutRejected++;
          rejectedAt = Math.max(rejectedAt, r.reason.at);
          reasons.add(r.reason.reason ?? r.reason.message);
        }
      } else if (r.status === 'fulfilled' && r.value === 4) ok++;
    }
    // The others keep working after the cut host is gone.
    const again = await group.remoteExec('channel.send(2)').receiveEach({ timeout: 30_000 });
    const others = HOSTS * PER_HOST - PER_HOST;
    result.cutHostRejectMs = cutRejected === PER_HOST ? round(rejectedAt - cutAt) : null;
    result.othersOk = ok === others && again.length === others && again.every((x) => x === 2);
    emit('cut', {
      cutHostRejectMs: result.cutHostRejectMs,
      keepaliveBoundMs: KEEPALIVE * 3 * 1000,
      cutRejected,
      othersAnswered: ok,
      othersAfter: again.length,
      reasons: [...reasons],
    });
  }

  // ---------------------------------------------------------------- costs for docs/scale.md
  if (COSTS) await costs(provider, group);
} catch (error) {
  // After Ctrl-C the teardown makes whatever was waiting fail: that is not worth a stack.
  if (!interrupted) console.error(`fleet: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await teardown();
  emit('load', { start: round(startLoad, 2), end: round(loadavg()[0], 2) });
  console.log(JSON.stringify(result));
}

async function costs(provider, group) {
  const bootstrapBytes = preamble({ wireFd: 1, output: 'fd', killGroup: true, watchPpid: true }).length;
  // Remote CPU of node's start + the bootstrap, as each runtime counts it, with and without the
  // V8 code cache (hosts share this file system, so the cache is warm for all of them by now).
  const remoteCpu = async (extra) => {
    const g = await openGroup(
      Array.from({ length: 4 }, (_, i) => spec(1, `${extra}//id=cc${i}`)),
      quiet,
    );
    const cpu = await g.remoteExec('const u = process.cpuUsage(); channel.send((u.user + u.system) / 1000)').receiveEach();
    await g.terminate();
    groups.delete(g);
    return cpu.sort((a, b) => a - b)[1];
  };
  emit('bootstrap', {
    bytesPerGateway: bootstrapBytes,
    bytesPerHost: bootstrapBytes * PER_HOST,
    remoteStartCpuMsCached: round(await remoteCpu('')),
    remoteStartCpuMsNoCache: round(await remoteCpu('//env:TSNET_CODE_CACHE=0')),
  });

  // Direct: this process holds one SSH connection per host, N×M channels. What the group holds is
  // what its end gives back: heap + external (Buffers: ssh2's packets, windows) after a GC, with
  // the group open and after it was terminated and its connections closed.
  const direct = { connections: provider.connections().length, gateways: group.size };
  const open = local();
  await group.terminate();
  groups.delete(group);
  await new Promise((r) => setTimeout(r, 1000));
  const closed = local();
  emit('memory', {
    gateways: direct.gateways,
    connections: direct.connections,
    heapAndExternalMiB: round((open.heap - closed.heap) / 2 ** 20, 2),
    perGatewayKiB: round((open.heap - closed.heap) / 1024 / direct.gateways),
    fdsHeld: open.fds - closed.fds,
  });

  if (HOSTS < 3) return;
  // Via-tree: one gateway on h1; its runtime loads tsnet from this checkout (the hosts share the
  // file system; elsewhere it would be installed or synced there) and opens the gateways to the
  // other hosts itself. This process sees one connection and one gateway.
  const a = local();
  const tree = new Group();
  groups.add(tree);
  const jump = await tree.makeGateway(spec(1, '//id=jump'), quiet);
  const core = pathToFileURL(join(REPO, 'packages/core/dist/index.js')).href;
  const sshUrl = pathToFileURL(join(REPO, 'packages/transport-ssh/dist/index.js')).href;
  const ch = jump.remoteExec(
    `const { Group, registerTransport } = await import(kwargs.core);
     const { createSsh } = await import(kwargs.ssh);
     registerTransport(createSsh({ configFile: kwargs.config, agent: false }));
     const t0 = performance.now();
     const g = await Group.open(kwargs.specs, { output: 'ignore', concurrency: kwargs.concurrency });
     const openMs = performance.now() - t0;
     const t1 = performance.now();
     const ids = await g.remoteExec('channel.send(channel.gateway.id)').receiveEach();
     const fanoutMs = performance.now() - t1;
     const u = process.cpuUsage();
     channel.send({ openMs, fanoutMs, answers: ids.length, jumpCpuMs: (u.user + u.system) / 1000, jumpRssMiB: process.memoryUsage().rss / 2 ** 20 });
     await channel.receive();
     await g.terminate();`,
    {
      core,
      ssh: sshUrl,
      config: fleet.config,
      concurrency: CONCURRENCY,
      specs: Array.from({ length: (HOSTS - 2) * PER_HOST }, (_, k) => spec(2 + Math.floor(k / PER_HOST))),
    },
  );
  const tr = await ch.receive({ timeout: 120_000 });
  const b = local();
  await ch.send('done');
  await ch.waitClose({ timeout: 30_000 }).catch(() => {});
  await tree.terminate();
  groups.delete(tree);
  const viaLocal = delta(a, b);
  emit('via-tree', {
    hostsBehind: HOSTS - 2,
    gatewaysBehind: (HOSTS - 2) * PER_HOST,
    openBehindMs: round(tr.openMs),
    fanoutBehindMs: round(tr.fanoutMs),
    answers: tr.answers,
    localFds: viaLocal.fds,
    localRssMiB: round(viaLocal.rssMiB),
    localCpuMs: round(viaLocal.cpuMs),
    jumpCpuMs: round(tr.jumpCpuMs),
    jumpRssMiB: round(tr.jumpRssMiB),
    directConnections: direct.connections,
    directGateways: direct.gateways,
  });
}
