/**
 * The delta algorithm on its own: for random old files and random edits (overwrites, insertions
 * and deletions that shift everything after them, appends, truncations), the ops from the Matcher,
 * applied to the old file by StreamWriter, rebuild the new content exactly, whatever the chunking
 * (through one reused chunk buffer, as the sender feeds them);
 * and unchanged regions travel as block copies, not literals.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { Matcher, signatureOf } from '../src/delta.js';
import { createHasher } from '../src/hash.js';
import { blockSizeFor } from '../src/protocol.js';
import { WEAK_MEMORY, weakSumJs, weakSummer } from '../src/weak-sum.js';
import { StreamWriter } from '../src/writer.js';
import { tempDir } from './helpers.js';

const hasher = await createHasher();
const blockHasher = await createHasher();
const spare = await createHasher(); // the matcher's recipe hash

function roundTrip(dir: string, oldContent: Uint8Array, newContent: Uint8Array, chunk: number): { literal: number } {
  const basis = join(dir, 'old');
  writeFileSync(basis, oldContent);
  const fd = openSync(basis, 'r');
  const { sig, full, identity } = signatureOf(fd, oldContent.length, hasher);
  closeSync(fd);
  const m = new Matcher(sig, blockHasher, spare);
  const out = join(dir, 'new');
  const w = new StreamWriter(out, hasher, { path: basis, blockSize: sig.blockSize, size: sig.size, full, identity });
  const apply = (ops: ReturnType<Matcher['feed']>) => {
    for (const op of ops) {
      if (op instanceof Uint8Array) w.literal(op);
      else w.copy(op[0], op[1]);
    }
  };
  // one buffer for every chunk, as the sender does (a Buffer: its slice() is a view, a trap)
  const reused = Buffer.alloc(chunk);
  for (let off = 0; off < newContent.length; off += chunk) {
    const piece = newContent.subarray(off, off + chunk);
    reused.set(piece);
    const ops = m.feed(reused.subarray(0, piece.length));
    reused.fill(0xa5); // the matcher must keep nothing of it, and the ops must be copies
    apply(ops);
  }
  apply(m.finish());
  expect(w.commit(m.recipe(), 0o644, Date.now())).toBe(true);
  expect(Buffer.compare(readFileSync(out), Buffer.from(newContent))).toBe(0);
  return { literal: m.literalBytes };
}

const edit = fc.oneof(
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 5000 }) }),
);

function applyEdits(base: Buffer, edits: Array<{ kind: 'overwrite' | 'insert' | 'delete'; at: number; len: number }>): Buffer {
  let b = base;
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % b.length;
    if (e.kind === 'overwrite') b = Buffer.concat([b.subarray(0, at), randomBytes(e.len), b.subarray(Math.min(b.length, at + e.len))]);
    else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), randomBytes(e.len), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + e.len))]);
  }
  return b;
}

test('random edits round-trip exactly, for any chunking', () => {
  using t = tempDir();
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 600_000 }), fc.array(edit, { maxLength: 6 }), fc.constantFrom(1000, 65_536, 1 << 20), (size, edits, chunk) => {
      const old = randomBytes(size);
      roundTrip(t.path, old, applyEdits(old, edits), chunk);
    }),
    { numRuns: 40, seed: 1515 },
  );
});

test('an insertion near the start of a 4 MiB file: everything after it still travels as block copies', () => {
  using t = tempDir();
  const old = randomBytes(4 << 20);
  const changed = Buffer.concat([old.subarray(0, 1000), randomBytes(777), old.subarray(1000)]);
  const { literal } = roundTrip(t.path, old, changed, 1 << 20);
  expect(literal).toBeLessThan(777 + 2 * blockSizeFor(old.length));
});

test('the block size follows rsync: 700 bytes for small files, √size rounded to 8, at most 128 KiB', () => {
  expect(blockSizeFor(10_000)).toBe(700);
  expect(blockSizeFor(256 << 20)).toBe(16_384);
  expect(blockSizeFor(1 << 30)).toBe(32_768);
  expect(blockSizeFor(2 ** 40)).toBe(128 * 1024);
});

test('the WebAssembly weak sum equals the JavaScript one, for any offset and length', () => {
  const s = weakSummer();
  expect(s.wasm).toBe(true); // Node has WebAssembly SIMD: the module must validate
  s.memory.set(randomBytes(s.memory.length));
  s.memory.fill(255, 0, 200_000); // the largest bytes: the lane sums must not overflow what is kept
  const reference = (from: number, len: number) => weakSumJs(s.memory, from, from + len);
  for (const [from, len] of [
    [0, 0],
    [0, 1],
    [3, 15],
    [0, 16],
    [1, 17],
    [5, 700],
    [0, 131072],
    [9, WEAK_MEMORY - 9],
  ] as const) {
    expect(s.weak(from, len)).toBe(reference(from, len));
  }
  fc.assert(
    fc.property(fc.nat({ max: WEAK_MEMORY - 1 }), fc.nat({ max: 140_000 }), (from, n) => {
      const len = Math.min(n, WEAK_MEMORY - from);
      expect(s.weak(from, len)).toBe(reference(from, len));
    }),
    { numRuns: 300 },
  );
});
