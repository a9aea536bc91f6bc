// The fan-out tool of issue 22: SHA-256 of many small files over 4 gateways, written twice, and
// timed in the same run beside hashing them in this process alone.
// Usage: node bench/hash-files.mjs [files=20000] [gateways=4] [rounds=3]   (after npm run build)
//
// `handRolled` is what the docs alone led to before group.map() (issue 22's first paragraph): one
// served loop per gateway, a shared cursor, a window of requests in flight per channel, replies
// matched by index. `withMap` is the same tool with group.map(). Both must give every hash, in order.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Group } from '@tsnet/core';

const count = Number(process.argv[2] ?? 20_000);
const gateways = Number(process.argv[3] ?? 4);
const rounds = Number(process.argv[4] ?? 3);

// --- before: hand-rolled dispatch (40 lines) -------------------------------------------------
async function handRolled(group, files) {
  const serve = `
    const { createHash } = require('node:crypto');
    const { readFile } = require('node:fs/promises');
    for await (const [i, file] of channel) {
      readFile(file).then(
        (bytes) => channel.send([i, createHash('sha256').update(bytes).digest('hex')]),
        (error) => channel.send([i, null, error.message]),
      );
    }`;
  const results = new Array(files.length);
  let next = 0;
  let done = 0;
  const channels = [];
  await new Promise((resolve, reject) => {
    for (const gw of group) {
      const ch = gw.remoteExec(serve);
      channels.push(ch);
      let inFlight = 0;
      const feed = () => {
        while (inFlight < 16 && next < files.length) {
          inFlight++;
          const i = next++;
          ch.send([i, files[i]]).catch(reject);
        }
      };
      ch.setCallback(([i, hash, error]) => {
        if (error) return reject(new Error(`${files[i]}: ${error}`));
        results[i] = hash;
        inFlight--;
        // Closing when this channel's last request went out dropped its replies still in flight
        // (the trap that lost 1,075 of 48,691 results): close only once every result is in.
        if (++done === files.length) resolve();
        else feed();
      });
      ch.waitClose().catch(reject);
      feed();
    }
  });
  await Promise.all(channels.map((ch) => ch.close()));
  return results;
}

// --- after: group.map() -------------------------------------------------------------------------
function withMap(group, files) {
  return group.map(
    async (file) => {
      const { createHash } = await import('node:crypto');
      const { readFile } = await import('node:fs/promises');
      return createHash('sha256')
        .update(await readFile(file))
        .digest('hex');
    },
    files,
    { concurrency: 16 },
  );
}

/** The same with require() (in scope remotely, synchronous and cached): no promise per import per item. */
function withMapRequire(group, files) {
  return group.map(
    (file) =>
      require('node:fs/promises')
        .readFile(file)
        .then((b) => require('node:crypto').createHash('sha256').update(b).digest('hex')),
    files,
    {
      concurrency: 16,
    },
  );
}

// --- the run --------------------------------------------------------------------------------------
function localAlone(files) {
  return files.map((f) => createHash('sha256').update(readFileSync(f)).digest('hex'));
}

const dir = join(tmpdir(), `tsnet-hash-bench-${process.pid}`);
mkdirSync(dir, { recursive: true });
const files = [];
for (let i = 0; i < count; i++) {
  const f = join(dir, `f${i}.txt`);
  writeFileSync(f, `file ${i}\n`.repeat(1 + (i % 64)));
  files.push(f);
}
const expected = localAlone(files);
const group = await Group.open(
  Array.from({ length: gateways }, () => 'popen'),
  { output: 'ignore' },
);
const times = { local: [], handRolled: [], withMap: [], withMapRequire: [] };
try {
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of [
      ['local', async () => localAlone(files)],
      ['handRolled', () => handRolled(group, files)],
      ['withMap', () => withMap(group, files)],
      ['withMapRequire', () => withMapRequire(group, files)],
    ]) {
      const t0 = performance.now();
      const got = await run();
      times[name].push(performance.now() - t0);
      const wrong = got.findIndex((h, i) => h !== expected[i]);
      if (got.length !== files.length || wrong !== -1) throw new Error(`${name}: result ${wrong} of ${got.length} is wrong`);
    }
  }
} finally {
  await group.terminate();
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`node ${process.version}, ${cpus().length} cores, load ${load}; ${count} files of 7 B-0.5 KB, ${gateways} popen gateways, ${rounds} rounds`);
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(
    `${name.padEnd(14)} median ${m.toFixed(0).padStart(6)} ms  ${((count / m) * 1000).toFixed(0).padStart(7)} files/s  ${(m / median(times.local)).toFixed(2)}× local alone  ${(m / median(times.handRolled)).toFixed(2)}× hand-rolled`,
  );
}
console.log(JSON.stringify({ files: count, gateways, ...Object.fromEntries(Object.entries(times).map(([k, v]) => [`${k}Ms`, Math.round(median(v))])) }));
