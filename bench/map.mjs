// group.map() throughput against the obvious alternative, one gw.call() per item (a remoteExec
// each), with the same number of items in flight per gateway, measured in the same run.
// Usage: node bench/map.mjs [items=20000] [gateways=4] [rounds=3]   (after npm run build)
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Group } from '@tsnet/core';

const count = Number(process.argv[2] ?? 20_000);
const gateways = Number(process.argv[3] ?? 4);
const rounds = Number(process.argv[4] ?? 3);
const fn = (n) => n * 2;

/** One call() per item, at most `limit` in flight per gateway, round robin. */
async function perItemCalls(group, items, limit) {
  const gws = [...group];
  const results = new Array(items.length);
  let next = 0;
  const lane = async (gw) => {
    while (next < items.length) {
      const i = next++;
      results[i] = await gw.call(fn, items[i]);
    }
  };
  await Promise.all(gws.flatMap((gw) => Array.from({ length: limit }, () => lane(gw))));
  return results;
}

const items = Array.from({ length: count }, (_, i) => i);
const expected = items.map(fn);
const group = await Group.open(
  Array.from({ length: gateways }, () => 'popen'),
  { output: 'ignore' },
);
const runs = {
  'map, concurrency 16': () => group.map(fn, items),
  'map, concurrency 64': () => group.map(fn, items, { concurrency: 64 }),
  'call() per item, 16 in flight': () => perItemCalls(group, items, 16),
};
const times = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
try {
  await group.map(fn, items.slice(0, 1000)); // warm up both sides
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(runs)) {
      const t0 = performance.now();
      const got = await run();
      times[name].push(performance.now() - t0);
      if (got.length !== count || got.some((v, i) => v !== expected[i])) throw new Error(`${name}: wrong results`);
    }
  }
} finally {
  await group.terminate();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times['call() per item, 16 in flight']);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`node ${process.version}, ${cpus().length} cores, load ${load}; ${count} items, ${gateways} popen gateways, ${rounds} rounds`);
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(
    `${name.padEnd(30)} median ${m.toFixed(0).padStart(6)} ms  ${((count / m) * 1000).toFixed(0).padStart(8)} items/s  ${(base / m).toFixed(2)}× call() per item`,
  );
}
