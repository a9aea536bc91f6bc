#!/usr/bin/env node
// Top functions of a V8 .cpuprofile (from `node --cpu-prof`) by self time.
//
//   node bench/profile-summary.mjs FILE.cpuprofile [--top 20] [--window START_US,END_US] [--json]
//
// Self time is the sum of the sampling intervals that landed in the function; "total" counts a
// sample once for every distinct function on its stack (inclusive time). Functions are keyed by
// name + file + line. Files are shown relative to the repo; frames of the unminified remote bundle
// that bench/lib/profiling-popen.mjs ships, and the built dist/*.js files, are mapped to their
// packages/<pkg>/src/*.ts line through the source maps beside them.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, REPO } from './lib/common.mjs';

const maps = new Map();

const B64 = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));

/** Decodes a source map v3 into, per generated line, sorted [column, sourceIndex, sourceLine] segments. */
function decodeMap(map) {
  const lines = [];
  let src = 0;
  let srcLine = 0;
  for (const line of map.mappings.split(';')) {
    const segs = [];
    let col = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const f = [];
      let value = 0;
      let shift = 0;
      for (const c of seg) {
        const d = B64.get(c);
        value += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          f.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      col += f[0];
      if (f.length >= 4) {
        src += f[1];
        srcLine += f[2]; // (source column and name index are not needed here)
        segs.push([col, src, srcLine]);
      }
    }
    lines.push(segs);
  }
  return lines;
}

/** The source map next to a generated file, if any: { sources, lines } or null. */
function mapFor(path) {
  if (!maps.has(path)) {
    let m = null;
    const file = `${path}.map`;
    if (existsSync(file)) {
      try {
        const raw = JSON.parse(readFileSync(file, 'utf8'));
        const base = new URL('.', pathToFileURL(file));
        const sources = raw.sources.map((s) => fileURLToPath(new URL(s, base)));
        m = { sources, lines: decodeMap(raw) };
      } catch {
        m = null;
      }
    }
    maps.set(path, m);
  }
  return maps.get(path);
}

function relative(path) {
  let p = path.startsWith(REPO) ? path.slice(REPO.length) : path;
  p = p.replace(/^packages\//, '').replace(/^node_modules\//, '');
  return p;
}

function where(callFrame) {
  const { url, lineNumber, columnNumber } = callFrame;
  if (!url) return '';
  if (!url.startsWith('file://')) return `${url}:${lineNumber + 1}`;
  const path = fileURLToPath(url);
  // The remote bundle runs inside `new Function(...)`, whose source starts two lines before the body.
  const remote = path.endsWith('.unminified.js');
  const line = remote ? lineNumber - 2 : lineNumber;
  const map = mapFor(path);
  const segs = map?.lines[line];
  if (segs && segs.length > 0) {
    let best = segs[0];
    for (const s of segs) {
      if (s[0] <= columnNumber) best = s;
      else break;
    }
    return `${remote ? 'remote:' : ''}${relative(map.sources[best[1]])}:${best[2] + 1}`;
  }
  return `${remote ? 'remote bundle' : relative(path)}:${line + 1}`;
}

/** `window`: [startUs, endUs] on the monotonic clock of the profile's timestamps; samples outside are ignored. */
export function summarize(profile, top = 20, window = null) {
  const byId = new Map();
  for (const n of profile.nodes) byId.set(n.id, n);
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n) => {
    const cf = n.callFrame;
    return `${cf.functionName || '(anonymous)'}\t${where(cf)}`;
  };
  const self = new Map();
  const total = new Map();
  let all = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    const dt = Math.max(0, (deltas[i + 1] ?? deltas[i] ?? 0) / 1000); // µs → ms; delta i+1 is the time spent in sample i
    all += dt;
    const leaf = byId.get(samples[i]);
    const k = keyOf(leaf);
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const kk = keyOf(byId.get(id));
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, ms]) => {
      const [fn, loc] = k.split('\t');
      return { function: fn, where: loc, selfMs: ms, selfPct: (100 * ms) / all, totalPct: (100 * (total.get(k) ?? 0)) / all };
    });
  return { totalMs: all, rows };
}

export function formatSummary({ totalMs, rows }, title = '') {
  const lines = [];
  if (title) lines.push(`${title} (${totalMs.toFixed(0)} ms sampled)`);
  lines.push('| self ms | self % | total % | function | where |', '|---:|---:|---:|---|---|');
  for (const r of rows) {
    lines.push(`| ${r.selfMs.toFixed(1)} | ${r.selfPct.toFixed(1)} | ${r.totalPct.toFixed(1)} | ${r.function} | ${r.where} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2), { valued: ['top', 'window'], flags: ['json'] });
  if (args._.length === 0) {
    console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [more files] [--top 20] [--json]');
    process.exit(2);
  }
  for (const file of args._) {
    const window = args.window ? String(args.window).split(',').map(Number) : null;
    const s = summarize(JSON.parse(readFileSync(file, 'utf8')), Number(args.top ?? 20), window);
    if (args.json) console.log(JSON.stringify({ file, ...s }, null, 1));
    else console.log(`${formatSummary(s, file)}\n`);
  }
}
