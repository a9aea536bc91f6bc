// Time to open a command gateway (@tsnet/transport-cmd) beside popen, on the built packages (npm
// run build first), as root: sudo (to root and to nobody), chroot into a root file system made of
// the node binary and its libraries, ip netns exec into a fresh namespace, cmd=env, and podman exec
// into a container made from that root file system (docker= with podman as the client too).
// Specs take turns, one gateway at a time, so they see the same machine load.
//
//   node bench/cmd-start.mjs [--runs 10]
//
// "open" is makeGateway() until it resolves (the tool starts, the runtime's marker, the bootstrap,
// the handshake); "open+exec+exit" adds one remoteExec round trip and gw.exit().
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from './lib/common.mjs';
import { formatSpread, spread, timeGatewayStart } from './lib/gateway-start.mjs';

// sudo resets the environment and podman exec passes none of ours: give popen, cmd=, chroot= and
// netns= (which inherit it) the same start. NODE_EXTRA_CA_CERTS alone (set on the development
// machines) costs every node start there about 170 ms reading the CA bundle.
delete process.env.NODE_EXTRA_CA_CERTS;

const runs = parseArgs(process.argv.slice(2), { valued: ['runs'] }).runs ?? 10;
const dir = mkdtempSync(join(tmpdir(), 'tsnet-bench-cmd-'));
const root = join(dir, 'root');
const node = realpathSync(process.execPath);
for (const f of new Set([node, ...execFileSync('ldd', [node], { encoding: 'utf8' }).matchAll(/(\/\S+)/g)].map((m) => (typeof m === 'string' ? m : m[1])))) {
  const to = join(root, f);
  mkdirSync(dirname(to), { recursive: true });
  try {
    linkSync(realpathSync(f), to);
  } catch {
    copyFileSync(realpathSync(f), to);
    chmodSync(to, 0o755);
  }
}
for (const d of ['tmp', 'proc', 'dev', 'sys', 'etc']) mkdirSync(join(root, d), { recursive: true });
writeFileSync(
  join(dir, 'containers.conf'),
  '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
);
const podman = join(dir, 'podman');
writeFileSync(
  podman,
  `#!/bin/sh\nCONTAINERS_CONF='${dir}/containers.conf'; export CONTAINERS_CONF\nexec podman --root '${dir}/storage' --runroot '${dir}/run' --tmpdir '${dir}/tmp' --storage-driver vfs "$@"\n`,
  { mode: 0o755 },
);
const box = `tsnet-bench-${process.pid}`;
const ns = `tsnet-bench-${process.pid}`;
execFileSync(podman, ['run', '-d', '--name', box, '--network', 'none', '--rootfs', root, '/usr/bin/node', '-e', 'setInterval(()=>{},1<<30)'], {
  stdio: 'ignore',
});
execFileSync('ip', ['netns', 'add', ns]);

const specs = [
  ['popen', 'popen'],
  ['cmd=env', 'cmd=env'],
  ['sudo (root)', 'sudo'],
  ['sudo=nobody', 'sudo=nobody//chdir=/tmp'],
  ['chroot=DIR', `chroot=${root}`],
  ['netns=NAME', `netns=${ns}`],
  ['podman=CONTAINER', `podman=${box}//podman-bin=${podman}`],
  ['docker=CONTAINER (podman)', `docker=${box}//docker-bin=${podman}`],
];

try {
  const times = new Map(specs.map(([name]) => [name, { open: [], full: [] }]));
  for (let i = 0; i < runs + 1; i++) {
    for (const [name, spec] of specs) {
      const t = await timeGatewayStart(spec);
      if (i === 0) continue; // warm-up round: module loading, code caches of each target
      times.get(name).open.push(t.open);
      times.get(name).full.push(t.full);
    }
  }
  const popen = spread(times.get('popen').open).median;
  console.log(`time to open a gateway, ${runs} runs each after one warm-up, specs in turn (ms; median / p90 / min)`);
  console.log(`${'spec'.padEnd(28)} ${'open'.padEnd(22)} ${'open+exec+exit'.padEnd(22)} open vs popen`);
  const rows = {};
  for (const [name] of specs) {
    const t = times.get(name);
    const open = spread(t.open);
    rows[name] = { openMs: Math.round(open.median * 10) / 10, ratio: Math.round((open.median / popen) * 100) / 100 };
    console.log(`${name.padEnd(28)} ${formatSpread(open)} ${formatSpread(spread(t.full))} ${(open.median / popen).toFixed(2)}x`);
  }
  console.log(JSON.stringify(rows));
} finally {
  try {
    execFileSync(podman, ['rm', '-f', '-t', '0', box], { stdio: 'ignore' });
  } catch {}
  execFileSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
