// What TSNET_DEBUG tracing costs: an int32 stream (remote → local) and sequential round trips,
// measured with tracing off on this tree, off on a baseline tree (e.g. main before issue 14, given
// with --baseline DIR), and on (TSNET_DEBUG=channel,exec,gateway, and * with every frame traced,
// its stderr going to /dev/null). Every measurement is a fresh process; variants are interleaved
// over --runs runs and the median is printed, with the ratio to "off" measured in the same run.
//
//   node bench/trace-cost.mjs [--baseline DIR] [--runs 3] [--items 200000] [--rtts 3000]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    runs: { type: 'string', default: '3' },
    items: { type: 'string', default: '200000' },
    rtts: { type: 'string', default: '3000' },
    child: { type: 'string' },
  },
});

if (values.child) {
  const { makeGateway } = await import(`${values.child}/packages/core/dist/index.js`);
  const gw = await makeGateway('popen', { output: 'ignore' });
  const n = Number(values.items);
  const stream = gw.remoteExec('for (let i = 0; i < kwargs.n; i++) await channel.send(i);', { n });
  let t = performance.now();
  let cpu = process.cpuUsage();
  let count = 0;
  for await (const _ of stream) count++;
  const streamPerSec = count / ((performance.now() - t) / 1000);
  let used = process.cpuUsage(cpu);
  const streamCpuNs = ((used.user + used.system) * 1000) / count;
  const echo = gw.remoteExec('for await (const x of channel) await channel.send(x)');
  const rtts = Number(values.rtts);
  t = performance.now();
  cpu = process.cpuUsage();
  for (let i = 0; i < rtts; i++) {
    await echo.send(i);
    await echo.receive();
  }
  const rttUs = ((performance.now() - t) * 1000) / rtts;
  used = process.cpuUsage(cpu);
  const rttCpuUs = (used.user + used.system) / rtts;
  await gw.exit();
  console.log(JSON.stringify({ streamPerSec, streamCpuNs, rttUs, rttCpuUs }));
  process.exit(0);
}

const here = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const variants = [
  ...(values.baseline ? [{ name: 'baseline (off)', root: values.baseline, debug: undefined }] : []),
  { name: 'off', root: here, debug: undefined },
  { name: 'on: gateway,channel,exec', root: here, debug: 'gateway,channel,exec' },
  { name: 'on: * (every frame)', root: here, debug: '*' },
];
const results = new Map(variants.map((v) => [v.name, []]));
for (let run = 0; run < Number(values.runs); run++) {
  const order = run % 2 ? [...variants].reverse() : variants;
  for (const v of order) {
    const env = { ...process.env };
    delete env.TSNET_DEBUG;
    if (v.debug) env.TSNET_DEBUG = v.debug;
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', v.root, '--items', values.items, '--rtts', values.rtts], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
    });
    results.get(v.name).push(JSON.parse(r.stdout.trim().split('\n').at(-1)));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const off = results.get('off');
// Wall-clock figures, and the local process's CPU time per item (less sensitive to a loaded machine).
console.log('| variant | int32 stream (items/s) | ratio | local CPU ns/item | ratio | round trip (µs) | ratio | local CPU µs/round trip | ratio |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [name, rs] of results) {
  const cell = (key, digits) => {
    const m = median(rs.map((r) => r[key]));
    const ratio = median(rs.map((r, i) => r[key] / off[i][key]));
    return `${m.toFixed(digits)} | ${ratio.toFixed(3)}`;
  };
  console.log(`| ${name} | ${cell('streamPerSec', 0)} | ${cell('streamCpuNs', 0)} | ${cell('rttUs', 1)} | ${cell('rttCpuUs', 1)} |`);
}
console.log(`(medians over ${values.runs} interleaved runs; ratios to "off" taken within each run)`);
