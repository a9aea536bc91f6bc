// The value table over every codec path of the serializer: which path a value takes (its tag byte)
// and that it comes back exact. The fast paths (0x05 INT32, 0x06 STRING, the quick plain-JSON walk)
// must hand everything they cannot carry exactly to the full paths (JSON after the full walk,
// SUPERJSON, BYTES, UNDEFINED).
import { dumps, LoadError, loads } from '@tsnet/core';
import { describe, expect, test } from 'vitest';

const TAG = { JSON: 1, SUPERJSON: 2, BYTES: 3, UNDEFINED: 4, INT32: 5, STRING: 6 } as const;
const big = Array.from({ length: 40 }, (_, i) => ({ i, s: `n${i}` }));
const shared = { x: 1 };
const cyclic: { self?: unknown } = {};
cyclic.self = cyclic;
const longText = 'x'.repeat(70_000);

const TABLE: Array<[string, unknown, number]> = [
  ['int', 42, TAG.INT32],
  ['int32 min', -(2 ** 31), TAG.INT32],
  ['short string', 'short string #12345', TAG.STRING],
  ['empty string', '', TAG.STRING],
  ['unicode string', 'ünïcødé 🚀 \u0000 \u2028', TAG.STRING],
  ['a string holding U+FFFD', 'a\uFFFDb', TAG.STRING],
  ['a lone surrogate (JSON keeps it)', 'a\uD800b\uDFFFc', TAG.JSON],
  ['a long string (full path)', longText, TAG.JSON],
  ['small object (quick walk)', { id: 12345, name: 'item', ok: true, tags: ['a', 'b'] }, TAG.JSON],
  ['nested arrays (quick walk)', [1, 'a', null, [2, [3.5, false]]], TAG.JSON],
  ['40 objects (past the quick walk, full walk)', big, TAG.JSON],
  ['float', 3.25, TAG.JSON],
  ['negative big int', -(2 ** 40), TAG.JSON],
  ['true', true, TAG.JSON],
  ['null', null, TAG.JSON],
  ['undefined', undefined, TAG.UNDEFINED],
  ['an object holding undefined', { a: 1, u: undefined }, TAG.SUPERJSON],
  ['NaN, -0, Infinity in an array', [Number.NaN, -0, Number.POSITIVE_INFINITY], TAG.SUPERJSON],
  ['-0', -0, TAG.SUPERJSON],
  ['bigint', 12345678901234567890123n, TAG.SUPERJSON],
  ['Map, Set, Date', [new Map<unknown, unknown>([[1, { a: 'x' }]]), new Set([1, 'b']), new Date(1700000000000)], TAG.SUPERJSON],
  ['shared references', { a: shared, b: shared }, TAG.SUPERJSON],
  ['a cycle', cyclic, TAG.SUPERJSON],
  ['an Error', new RangeError('out of range'), TAG.SUPERJSON],
  ['a null-prototype object', Object.assign(Object.create(null), { a: 1 }), TAG.SUPERJSON],
  ['binary inside a value', { bytes: new Uint8Array([1, 2, 3]) }, TAG.SUPERJSON],
  ['a Uint8Array', new Uint8Array([9, 8, 7]), TAG.BYTES],
];

describe('every codec path', () => {
  test.each(TABLE)('%s', (_name, value, tag) => {
    const bytes = dumps(value);
    expect(bytes[0]).toBe(tag);
    const back = loads(bytes);
    if (value instanceof Error) {
      expect(back).toBeInstanceOf(Error);
      expect((back as Error).name).toBe('RangeError');
      expect((back as Error).message).toBe(value.message);
      return;
    }
    expect(back).toEqual(value);
    if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
    if (value === cyclic) expect((back as { self: unknown }).self).toBe(back);
  });

  test('the quick walk leaves a throwing getter to the full walk, which refuses it (or carries what it read)', () => {
    const o = {
      get bad(): number {
        throw new Error('getter says no');
      },
    };
    expect(() => dumps(o)).toThrow();
  });

  test('a STRING payload that is not valid UTF-8 is refused with LoadError', () => {
    expect(() => loads(new Uint8Array([TAG.STRING, 0x61, 0xff, 0x62]))).toThrow(LoadError);
    expect(() => loads(new Uint8Array([TAG.STRING, 0xed, 0xa0, 0x80]))).toThrow(LoadError);
  });

  test('a channel-branded plain object is not taken by the quick walk', () => {
    expect(() => dumps({ [Symbol.for('tsnet.channel')]: true, id: 3 })).toThrow(/channel/);
  });
});
