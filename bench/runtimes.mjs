#!/usr/bin/env node
// tsnet per remote runtime over popen: Node (this one, 18, 22, 24), Bun and Deno from
// scripts/install-runtimes.mjs. For each: startup beside the runtime's bare start (`node -e 0`,
// `bun -e 0`, `deno eval 0`, measured interleaved in the same run), round trip and bulk.
//
//   npm run build && node bench/runtimes.mjs [--runs 10] [--rtt 5000] [--mib 64] [--only bun,deno]
//   bun bench/runtimes.mjs … / deno run -A bench/runtimes.mjs …   (the local side on Bun or Deno)
//
// startup: makeGateway() until the first remoteExec answer arrived, ms (exit not timed); bare: spawn
//          until exit of the runtime with a trivial program; both medians of --runs, interleaved.
// rtt:     ping-pong of a small int over one channel, µs per round trip (median of 5 blocks).
// bulk:    --mib MiB as 1 MiB Uint8Arrays, local → remote (send) and remote → local (recv), MB/s.
// NODE_EXTRA_CA_CERTS is removed from the environment of every runtime started (it costs ~90 ms per
// Node start on these machines, see run.mjs); --keep-extra-ca keeps it.
// Prints JSON lines ({ suite: 'runtimes', name, value, unit }) and a markdown table at the end.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeGateway } from '@tsnet/core';
import { emit, exited, MiB, median, now, parseArgs, round } from './lib/common.mjs';

const args = parseArgs(process.argv.slice(2), { valued: ['runs', 'rtt', 'mib', 'only'], flags: ['keep-extra-ca'] });
const runs = Number(args.runs ?? 10);
const rttN = Number(args.rtt ?? 5000);
const mib = Number(args.mib ?? 64);
if (!args['keep-extra-ca']) delete process.env.NODE_EXTRA_CA_CERTS;
const local = process.versions.bun ? 'bun' : process.versions.deno ? 'deno' : 'node';
const paths = JSON.parse(
  execFileSync(local === 'node' ? process.execPath : 'node', [fileURLToPath(new URL('../scripts/install-runtimes.mjs', import.meta.url)), '--quiet'], {
    encoding: 'utf8',
  }),
);
const localNode = local === 'node' ? process.execPath : execFileSync('node', ['-p', 'process.execPath'], { encoding: 'utf8' }).trim();
const remotes = [
  { name: `node ${execFileSync(localNode, ['-v'], { encoding: 'utf8' }).trim()}`, runtime: 'node', exe: localNode },
  { name: 'node 18', runtime: 'node', exe: paths.node18 },
  { name: 'node 22', runtime: 'node', exe: paths.node22 },
  { name: 'node 24', runtime: 'node', exe: paths.node24 },
  { name: 'bun', runtime: 'bun', exe: paths.bun },
  { name: 'deno', runtime: 'deno', exe: paths.deno },
].filter(
  (r) =>
    !args.only ||
    String(args.only)
      .split(',')
      .some((o) => r.name.replace(' ', '').startsWith(o.replace(' ', ''))),
);

const BARE = { node: ['-e', '0'], bun: ['-e', '0'], deno: ['eval', '0'] };
const specOf = (r) => (r.runtime === 'node' ? `popen//node=${r.exe}` : `popen//runtime=${r.runtime}//exe=${r.exe}`);

async function bare(r) {
  const t0 = now();
  const child = spawn(r.exe, BARE[r.runtime], { stdio: 'ignore' });
  await exited(child);
  return now() - t0;
}

async function tsnetStart(r) {
  const t0 = now();
  const gw = await makeGateway(specOf(r), { output: 'ignore' });
  await gw.remoteExec('channel.send(1)').receive();
  const ms = now() - t0;
  await gw.exit();
  return ms;
}

async function startup(r) {
  const a = [];
  const b = [];
  // warm: page cache, the runtimes' code caches (tsnet's for Node, Deno's own for its eval'd module)
  for (let i = 0; i < 3; i++) {
    await bare(r);
    await tsnetStart(r);
  }
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      a.push(await tsnetStart(r));
      b.push(await bare(r));
    } else {
      b.push(await bare(r));
      a.push(await tsnetStart(r));
    }
  }
  if (process.env.BENCH_DEBUG) console.error(r.name, a.map(Math.round), b.map(Math.round));
  return { tsnet: median(a), bare: median(b) };
}

async function transfer(r) {
  const gw = await makeGateway(specOf(r), { output: 'ignore' });
  try {
    const echo = gw.remoteExec('for await (const x of channel) await channel.send(x)');
    const block = Math.max(1, Math.floor(rttN / 5));
    for (let i = 0; i < 500; i++) {
      await echo.send(i);
      await echo.receive();
    }
    const blocks = [];
    for (let b = 0; b < 5; b++) {
      const t0 = now();
      for (let i = 0; i < block; i++) {
        await echo.send(i);
        await echo.receive();
      }
      blocks.push(((now() - t0) / block) * 1000);
    }
    await echo.close();
    const chunk = new Uint8Array(MiB).fill(7);
    const sink = gw.remoteExec('let n = 0; for (let b; (b = await channel.receive()) !== null; ) n += b.length; await channel.send(n)');
    let t0 = now();
    for (let i = 0; i < mib; i++) await sink.send(chunk);
    await sink.send(null);
    const got = await sink.receive();
    const sendMs = now() - t0;
    if (got !== mib * MiB) throw new Error(`${r.name}: the remote counted ${got} bytes of ${mib * MiB}`);
    const source = gw.remoteExec('const c = new Uint8Array(1 << 20).fill(3); for (let i = 0; i < kwargs; i++) await channel.send(c)', mib);
    t0 = now();
    let n = 0;
    for (let i = 0; i < mib; i++) n += (await source.receive()).length;
    const recvMs = now() - t0;
    if (n !== mib * MiB) throw new Error(`${r.name}: received ${n} bytes of ${mib * MiB}`);
    return { rtt: median(blocks), send: (mib * MiB) / 1e6 / (sendMs / 1000), recv: (mib * MiB) / 1e6 / (recvMs / 1000) };
  } finally {
    await gw.exit();
  }
}

// All starts first: after a bulk transfer this process's heap is large, and the next starts would
// pay for its garbage collection (up to +150 ms on the first few here).
const starts = [];
for (const r of remotes) starts.push(await startup(r));
const rows = [];
for (const [i, r] of remotes.entries()) {
  const s = starts[i];
  const t = await transfer(r);
  const key = r.name.replace(/\s+/g, '');
  emit('runtimes', `${key}.startup`, s.tsnet, 'ms', { local });
  emit('runtimes', `${key}.bare_start`, s.bare, 'ms', { local });
  emit('runtimes', `${key}.rtt`, t.rtt, 'us', { local });
  emit('runtimes', `${key}.bulk_send`, t.send, 'MB/s', { local, mib });
  emit('runtimes', `${key}.bulk_recv`, t.recv, 'MB/s', { local, mib });
  rows.push({ r, s, t });
}
const cells = (xs) => `| ${xs.join(' | ')} |`;
console.log(
  `\nlocal side: ${local} ${process.versions[local]}; popen; medians of ${runs} starts (interleaved with the bare start), ${rttN} round trips, ${mib} MiB\n`,
);
console.log(cells(['remote', 'bare start ms', 'tsnet startup ms', 'ratio', 'tsnet - bare ms', 'rtt µs', 'bulk send MB/s', 'bulk recv MB/s']));
console.log(cells(Array(8).fill('---')));
for (const { r, s, t } of rows) {
  console.log(
    cells([
      r.name,
      round(s.bare, 1),
      round(s.tsnet, 1),
      `${round(s.tsnet / s.bare, 2)}×`,
      round(s.tsnet - s.bare, 1),
      round(t.rtt, 1),
      round(t.send, 0),
      round(t.recv, 0),
    ]),
  );
}
