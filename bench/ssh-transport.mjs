#!/usr/bin/env node
// SSH gateway startup and bulk throughput beside OpenSSH's own client, on this machine.
//
//   npm run build && node bench/ssh-transport.mjs [--runs 3] [--startups 10] [--mib 1024] [--quick] [--plain-home]
//
// Starts a private sshd on 127.0.0.1 (throwaway keys in a temp dir; ~/.ssh is not touched), then
// measures, interleaved run by run:
//   startup.first    makeGateway('ssh=…') on a new connection (handshake, login, shell, node, bootstrap)
//   startup.shared   another gateway to the same host while one is open (one more exec channel;
//                    no login shell: it reuses the node path and environment the first one learned)
//   startup.shared_ratio  shared / first of the same run (target ≤ 0.3 for the default node)
//   (each with the default node from the PATH of a login shell, and with node=/usr/bin/node)
//   startup.ssh_true `ssh host true` with OpenSSH
//   startup.session_shell  the user's shell as sshd runs it for a command (`$SHELL -c true` with
//                    SSH_CLIENT set: bash then reads ~/.bashrc); in every gateway's start
//   bulk.upload      MiB of 1 MiB Buffers sent on a channel, remote counts; MB/s
//   bulk.download    the same from remote to local
//   bulk.ssh_cat     `head -c N /dev/zero | ssh host 'cat > /dev/null'`, wall clock incl. connection
//   bulk.ssh_dd      the same timed on the remote side (`dd of=/dev/null`, excludes connection setup)
//   bulk.ssh2_cat    ssh2 alone: an exec channel to `cat > /dev/null` (what tsnet adds on top)
// MB/s = 10^6 bytes/s. Prints one JSON object per figure and a summary table (medians).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Group, registerTransport } from '@tsnet/core';
import { createSsh } from '@tsnet/transport-ssh';
import ssh2 from 'ssh2';
import { median, parseArgs } from './lib/common.mjs';
import { startBenchSshd } from './lib/sshd.mjs';

const args = parseArgs(process.argv.slice(2), { valued: ['runs', 'startups', 'mib'], flags: ['quick', 'plain-home'] });
const quick = Boolean(args.quick);
const PLAIN_HOME = Boolean(args['plain-home']);
const RUNS = args.runs ?? (quick ? 1 : 3);
const STARTUPS = args.startups ?? (quick ? 3 : 10);
const MIB = args.mib ?? (quick ? 128 : 1024);
const MB = (MIB * 1048576) / 1e6;
const results = {};
const record = (name, value, unit) => {
  (results[name] ??= { unit, values: [] }).values.push(value);
  console.log(JSON.stringify({ suite: 'tsnet-ssh', name, value: unit === 'ratio' ? Math.round(value * 100) / 100 : Math.round(value * 10) / 10, unit }));
};

// ------------------------------------------------------------------ a private sshd (lib/sshd.mjs)
const { dir, port, user, config, identity } = await startBenchSshd({
  prefix: 'tsnet-bench-sshd-',
  // --plain-home: sessions get an empty HOME, so the user's shell reads no rc files (what a host
  // whose ~/.bashrc returns early for non-interactive shells costs).
  extraConfig: (d) => (PLAIN_HOME ? [`SetEnv HOME=${join(d, 'home')}`] : []),
});
if (PLAIN_HOME) mkdirSync(join(dir, 'home'));
registerTransport(createSsh({ configFile: config, agent: false }));
const sh = (command) => execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const SSH = `ssh -F ${config} bench`;

// ------------------------------------------------------------------ measurements
async function timeIt(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function startups() {
  const group = new Group();
  for (let i = 0; i < STARTUPS; i++) {
    // A fresh provider each time: "first" is a host this process never reached (what the first
    // gateway learns about the host, kept per provider, would make later "first"s cheaper).
    registerTransport(createSsh({ configFile: config, agent: false }));
    record('startup.ssh_true', await timeIt(() => sh(`${SSH} true`)), 'ms');
    // What the user's shell costs in every session sshd starts (bash reads ~/.bashrc when run by
    // sshd, login shell or not); the sshd is on this machine, so it is measured here directly.
    record(
      'startup.session_shell',
      await timeIt(() =>
        sh(`env SSH_CLIENT='127.0.0.1 1 22' SHLVL=0 ${PLAIN_HOME ? `HOME=${join(dir, 'home')} ` : ''}"${process.env.SHELL || '/bin/sh'}" -c true`),
      ),
      'ms',
    );
    for (const [label, spec] of [
      ['', 'ssh=bench'],
      ['.abs_node', 'ssh=bench//node=/usr/bin/node'],
    ]) {
      let gw;
      record(`startup.first${label}`, await timeIt(async () => (gw = await group.makeGateway(spec, { output: 'ignore' }))), 'ms');
      let second;
      const firstMs = results[`startup.first${label}`].values.at(-1);
      record(`startup.shared${label}`, await timeIt(async () => (second = await group.makeGateway(spec, { output: 'ignore' }))), 'ms');
      record(`startup.shared_ratio${label}`, results[`startup.shared${label}`].values.at(-1) / firstMs, 'ratio');
      await second.exit();
      await gw.exit();
    }
  }
}

async function bulk() {
  const group = new Group();
  const gw = await group.makeGateway('ssh=bench//node=/usr/bin/node', { output: 'ignore' });
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  // upload
  const up = gw.remoteExec('let n = 0; for (let c; (c = await channel.receive()) !== null; ) n += c.length; channel.send(n)');
  let t = performance.now();
  for (let i = 0; i < MIB; i++) await up.send(chunk);
  await up.send(null);
  if ((await up.receive()) !== MIB * 1048576) throw new Error('upload: wrong byte count');
  record('bulk.upload', MB / ((performance.now() - t) / 1000), 'MB/s');
  // download
  const down = gw.remoteExec('const c = Buffer.alloc(1 << 20, 0x5a); for (let i = 0; i < kwargs.n; i++) await channel.send(c); await channel.send(null)', {
    n: MIB,
  });
  t = performance.now();
  let n = 0;
  for (;;) {
    const item = await down.receive();
    if (item === null) break;
    n += item.length;
  }
  if (n !== MIB * 1048576) throw new Error('download: wrong byte count');
  record('bulk.download', MB / ((performance.now() - t) / 1000), 'MB/s');
  await group.terminate();

  // OpenSSH
  t = performance.now();
  sh(`head -c ${MIB * 1048576} /dev/zero | ${SSH} 'cat > /dev/null'`);
  record('bulk.ssh_cat', MB / ((performance.now() - t) / 1000), 'MB/s');
  const dd = sh(`head -c ${MIB * 1048576} /dev/zero | ${SSH} 'LC_ALL=C dd of=/dev/null bs=1M 2>&1'`);
  const m = /([\d.]+) s,/.exec(dd);
  if (m) record('bulk.ssh_dd', MB / Number(m[1]), 'MB/s');

  // ssh2 alone
  const client = new ssh2.Client();
  await new Promise((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({ host: '127.0.0.1', port, username: user, privateKey: readFileSync(identity), hostVerifier: () => true });
  });
  const ch = await new Promise((resolve, reject) => client.exec('cat > /dev/null', (e, c) => (e ? reject(e) : resolve(c))));
  ch.resume();
  ch.stderr.resume();
  t = performance.now();
  await new Promise((resolve) => {
    let i = 0;
    const pump = () => {
      while (i < MIB) {
        i++;
        if (!ch.write(chunk)) return void ch.once('drain', pump);
      }
      ch.end();
    };
    ch.on('close', resolve);
    pump();
  });
  record('bulk.ssh2_cat', MB / ((performance.now() - t) / 1000), 'MB/s');
  client.end();
}

for (let run = 0; run < RUNS; run++) {
  await startups();
  await bulk();
}

console.log('\n| figure | median | runs | unit |\n|---|---:|---:|---|');
for (const [name, { unit, values }] of Object.entries(results)) {
  console.log(`| ${name} | ${unit === 'ratio' ? Math.round(median(values) * 100) / 100 : Math.round(median(values) * 10) / 10} | ${values.length} | ${unit} |`);
}
process.exit(0);
