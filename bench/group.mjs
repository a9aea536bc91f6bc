// Time to start and to terminate groups of popen gateways (and of gateways via one master).
// Usage: node bench/group.mjs [sizes=8,32] [rounds=5]   (after npm run build)
// Start: Group.open() until every handshake is done. Terminate: group.terminate() of idle gateways
// until every remote process has ended. Prints the median and the range of each.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Group } from '@tsnet/core';

const sizes = (process.argv[2] ?? '8,32').split(',').map(Number);
const rounds = Number(process.argv[3] ?? 5);
const quiet = { output: 'ignore' };

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms (${s[0].toFixed(0)}–${s.at(-1).toFixed(0)})`;
};

async function measure(label, specs) {
  const start = [];
  const stop = [];
  for (let r = 0; r < rounds; r++) {
    let t0 = process.hrtime.bigint();
    const group = await Group.open(specs(), quiet);
    start.push(ms(t0));
    const pids = await group.remoteExec('await channel.send(process.pid)').receiveEach();
    t0 = process.hrtime.bigint();
    const report = await group.terminate({ timeout: 10_000 });
    stop.push(ms(t0));
    const alive = pids.filter((p) => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
      } catch {
        return false;
      }
    });
    if (alive.length || report.killed.length) throw new Error(`round ${r}: ${alive.length} left, ${report.killed.length} killed`);
  }
  console.log(`${label.padEnd(28)} start ${stats(start)}   terminate ${stats(stop)}`);
}

console.log(
  `node ${process.version}, ${cpus().length} cores, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, ${rounds} rounds`,
);
for (const n of sizes) await measure(`${n} popen`, () => Array.from({ length: n }, () => 'popen'));
for (const n of sizes.filter((n) => n <= 8)) {
  await measure(`1 popen + ${n} via it`, () => ['popen//id=m', ...Array.from({ length: n }, () => 'popen//via=m')]);
}
