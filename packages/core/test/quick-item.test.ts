// The quick path's serializer (wire/quick-item.ts) writes exactly the bytes dumps() gives, for
// random small plain trees with every kind of character, key and number; and leaves everything
// else, or what does not fit, to the ordinary path.

import { describe, expect, test } from 'vitest';
import { writeQuickItem } from '../src/wire/quick-item.js';
import { dumps } from '../src/wire/serializer.js';

const buf = new Uint8Array(1 << 20);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
function quick(value: unknown, limit = buf.length): Uint8Array | null {
  const end = writeQuickItem(buf, 0, limit, value);
  return end < 0 ? null : buf.slice(0, end);
}

// A deterministic generator (xorshift), so that a failure can be reproduced.
let seed = 0x9e3779b9;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}
const CHARS = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\r',
  '\t',
  '\b',
  '\f',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  '€',
  '\u2028',
  '\uffff',
  '𝄞',
  '\ud800',
  '\udfff',
  '😀',
];
function str(): string {
  let s = '';
  for (let i = rand(12); i > 0; i--) s += CHARS[rand(CHARS.length)];
  return s;
}
const NUMBERS = [
  0,
  1,
  -1,
  7,
  10,
  99,
  100,
  12345,
  -12345,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  2 ** 53,
  1e21,
  1e-7,
  0.1,
  -1.5,
  5e-324,
  1.7976931348623157e308,
  123.456,
];
function leaf(): unknown {
  switch (rand(5)) {
    case 0:
      return str();
    case 1:
      return NUMBERS[rand(NUMBERS.length)];
    case 2:
      return rand(2) === 0;
    case 3:
      return null;
    default:
      return rand(1000) - 500;
  }
}
function tree(depth: number, budget: { nodes: number }): unknown {
  if (depth > 3 || budget.nodes <= 0 || rand(3) === 0) return leaf();
  budget.nodes--;
  if (rand(2) === 0) return Array.from({ length: rand(5) }, () => tree(depth + 1, budget));
  const o: Record<string, unknown> = {};
  for (let i = rand(5); i > 0; i--) o[rand(4) === 0 ? String(rand(20)) : str()] = tree(depth + 1, budget);
  return o;
}

describe('writeQuickItem', () => {
  test('writes the bytes of dumps() for 5000 random small plain trees and strings', () => {
    let quickOnes = 0;
    for (let i = 0; i < 5000; i++) {
      const v = i % 5 === 0 ? str() : tree(0, { nodes: 30 });
      const got = quick(v);
      const want = dumps(v);
      if (got === null) {
        // only null, a number or boolean (not a tree), or a bare string with a lone surrogate is left to the serializer
        const wellFormed = typeof v === 'string' && (v as unknown as { isWellFormed(): boolean }).isWellFormed();
        expect(v === null || (typeof v !== 'object' && !wellFormed), JSON.stringify(v)).toBe(true);
        continue;
      }
      quickOnes++;
      expect(hex(got), JSON.stringify(v)).toBe(hex(want));
    }
    expect(quickOnes).toBeGreaterThan(3000);
  });

  test('leaves to the ordinary path what plain JSON does not carry exactly', () => {
    const shared = { a: 1 };
    class Point {
      x = 1;
    }
    const holey = [1, 2, 3];
    delete holey[1];
    const cases: unknown[] = [
      5,
      null,
      undefined,
      true,
      'lone \ud800',
      'x'.repeat(65_537),
      { big: 'x'.repeat(65_537) },
      new Map(),
      new Set([1]),
      new Date(0),
      new Uint8Array(2),
      new Point(),
      Object.create(null),
      { n: -0 },
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { u: undefined },
      { f: () => 1 },
      { s: Symbol('s') },
      { b: 1n },
      holey,
      [shared, shared],
      { ['__proto__']: 1 },
      JSON.parse('{"__proto__": 1}'),
      { constructor: 1 },
      {
        get boom() {
          throw new Error('boom');
        },
      },
      Array.from({ length: 33 }, () => ({})),
      { [Symbol.for('tsnet.channel')]: true, id: 3 },
    ];
    for (const v of cases) expect(quick(v), String(typeof v === 'object' ? JSON.stringify(Object.keys(v ?? {})) : v)).toBeNull();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(quick(cyclic)).toBeNull();
  });

  test('stops at the limit: a payload that fits exactly is written, one byte less is refused', () => {
    for (const v of ['short string #12345', 'é€𝄞', { id: 12345, name: 'item', ok: true, tags: ['a', 'b'] }, [1.5, 'x\n'], {}]) {
      const n = dumps(v).length;
      expect(quick(v, n)?.length).toBe(n);
      expect(quick(v, n - 1)).toBeNull();
    }
  });
});
