#!/usr/bin/env node
// The serializer beside the alternatives, in one process: dumps() + loads() per second of an int,
// a short string, a small object and a 100-element array of objects, against
// JSON.parse(JSON.stringify()) (which loses undefined, Map, Date, BigInt, -0, cycles, binary) and
// msgpackr pack/unpack (which carries most of them but not the same wire on Bun/Deno remotes
// without its package). Prints JSON lines (suite "serializer") and a markdown table.
//
//   node bench/serializer.mjs [--ms 300]
import { dumps, loads } from '@tsnet/core';
import { Packr } from 'msgpackr';
import { parseArgs } from './lib/common.mjs';

const args = parseArgs(process.argv.slice(2), { valued: ['ms'] });
const MS = Number(args.ms ?? 300);
const packr = new Packr({ moreTypes: true, structuredClone: false, useRecords: false });
const VALUES = {
  int: 12345,
  'short string': 'short string #12345',
  'small object': { id: 12345, name: 'item', ok: true, tags: ['a', 'b'] },
  'array of 100 objects': Array.from({ length: 100 }, (_, i) => ({ id: i, name: `n${i}`, score: i / 3 })),
};
const CODECS = {
  tsnet: (v) => loads(dumps(v)),
  JSON: (v) => JSON.parse(JSON.stringify(v)),
  msgpackr: (v) => packr.unpack(packr.pack(v)),
};

function rate(fn, v) {
  for (let i = 0; i < 2000; i++) fn(v);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MS) {
    for (let i = 0; i < 500; i++) fn(v);
    n += 500;
    t = performance.now();
  }
  return (n / (t - t0)) * 1000;
}

const rows = [];
for (const [what, v] of Object.entries(VALUES)) {
  const r = {};
  for (const [name, fn] of Object.entries(CODECS)) {
    r[name] = rate(fn, v);
    console.log(JSON.stringify({ suite: 'serializer', name: `${name}.${what.replace(/ /g, '_')}`, value: Math.round(r[name]), unit: 'ops/s' }));
  }
  rows.push([what, r]);
}
const f = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`);
console.log('\n| value | tsnet dumps+loads /s | JSON round trip /s | msgpackr /s | tsnet ÷ JSON | tsnet ÷ msgpackr |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [what, r] of rows)
  console.log(`| ${what} | ${f(r.tsnet)} | ${f(r.JSON)} | ${f(r.msgpackr)} | ${(r.tsnet / r.JSON).toFixed(2)} | ${(r.tsnet / r.msgpackr).toFixed(2)} |`);
