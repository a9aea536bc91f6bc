import { DumpError, dumps, LoadError, loads } from '@tsnet/core';
import { describe, expect, test } from 'vitest';

const rt = <T>(v: T): T => loads(dumps(v)) as T;

describe('serializer round trips', () => {
  test.each([
    ['undefined', undefined],
    ['null', null],
    ['true', true],
    ['false', false],
    ['int', 42],
    ['negative big int', -(2 ** 40)],
    ['float', 3.25],
    ['string', 'hello'],
    ['empty string', ''],
    ['unicode', 'ünïcødé 🚀 \u0000 \u2028'],
    ['array', [1, 'a', null, [2]]],
    ['object', { a: 1, b: { c: [true] } }],
  ])('%s', (_name, v) => {
    expect(rt(v)).toEqual(v);
  });

  test('NaN, ±Infinity and -0', () => {
    const v = rt([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]);
    expect(Number.isNaN(v[0])).toBe(true);
    expect(v[1]).toBe(Number.POSITIVE_INFINITY);
    expect(v[2]).toBe(Number.NEGATIVE_INFINITY);
    expect(Object.is(v[3], -0)).toBe(true);
    expect(Object.is(rt(-0), -0)).toBe(true);
  });

  test('bigint', () => {
    expect(rt(12345678901234567890123n)).toBe(12345678901234567890123n);
    expect(rt({ n: -5n })).toEqual({ n: -5n });
  });

  test('lone surrogates survive', () => {
    const s = 'a\uD800b\uDFFFc';
    expect(rt(s)).toBe(s);
    expect(rt({ s })).toEqual({ s });
  });

  test('Map, Set, Date, RegExp', () => {
    const v = rt({
      m: new Map<unknown, unknown>([
        [1, 'a'],
        ['k', { x: 1 }],
      ]),
      s: new Set([1, 2]),
      d: new Date(1700000000000),
      r: /ab+c/gi,
    });
    expect(v.m).toBeInstanceOf(Map);
    expect(v.m.get(1)).toBe('a');
    expect(v.m.get('k')).toEqual({ x: 1 });
    expect([...v.s]).toEqual([1, 2]);
    expect(v.d.getTime()).toBe(1700000000000);
    expect(v.r.source).toBe('ab+c');
    expect(v.r.flags).toBe('gi');
  });

  test('Error keeps name, message, stack, cause and code', () => {
    const e = Object.assign(new TypeError('bad', { cause: new Error('root') }), { code: 'E_BAD' });
    const v = rt(e) as TypeError & { code: string };
    expect(v).toBeInstanceOf(Error);
    expect(v.name).toBe('TypeError');
    expect(v.message).toBe('bad');
    expect(v.stack).toBe(e.stack);
    expect(v.code).toBe('E_BAD');
    expect((v.cause as Error).message).toBe('root');
  });

  test('{ u: undefined } keeps its key', () => {
    const v = rt({ u: undefined });
    expect(Object.keys(v)).toEqual(['u']);
  });

  test('Uint8Array and Buffer travel as raw bytes, not JSON', () => {
    const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const encoded = dumps(big);
    expect(encoded.length).toBe(big.length + 2);
    const back = loads(encoded) as Uint8Array;
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back)).toBe(false);
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
    const buf = rt(Buffer.from('xyz'));
    expect(Buffer.isBuffer(buf)).toBe(true);
    expect(buf.toString()).toBe('xyz');
    const nested = dumps({ a: big, b: [Buffer.from('q')] });
    expect(nested.length).toBeLessThan(big.length + 200);
    const nb = loads(nested) as { a: Uint8Array; b: Buffer[] };
    expect(Buffer.from(nb.a).equals(Buffer.from(big))).toBe(true);
    expect(Buffer.isBuffer(nb.b[0])).toBe(true);
  });

  test('repeated references arrive as one object, cycles are carried', () => {
    const shared = { x: 1 };
    const v = rt({ a: shared, b: shared });
    expect(v.a).toBe(v.b);
    const cyc: Record<string, unknown> = { name: 'c' };
    cyc.self = cyc;
    const c = rt(cyc);
    expect(c.self).toBe(c);
  });

  test('null-prototype objects are carried as plain objects', () => {
    const o = Object.assign(Object.create(null), { a: 1 });
    expect(rt(o)).toEqual({ a: 1 });
  });
});

describe('serializer refusals', () => {
  test('a function is refused with its path', () => {
    let err: unknown;
    try {
      dumps({ value: { key: [0, 1, { other: () => 1 }] } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DumpError);
    expect((err as DumpError).path).toBe('value.value.key[2].other');
    expect((err as Error).message).toMatch(/function at value\.value\.key\[2\]\.other/);
    expect((err as DumpError).code).toBe('TSNET_ERR_DUMP');
  });

  test('symbols and class instances are refused', () => {
    expect(() => dumps({ s: Symbol('x') })).toThrow(/symbol at value\.s/);
    class Point {
      x = 1;
    }
    expect(() => dumps([new Point()])).toThrow(/Point instance at value\[0\].*plain object/);
    expect(() => dumps(new Map([['k', new Point()]]))).toThrow(DumpError);
    expect(() => dumps({ 'odd key': () => {} })).toThrow(/value\["odd key"\]/);
  });

  test('too deep nesting is refused on both sides', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 2000; i++) deep = [deep];
    expect(() => dumps(deep)).toThrow(/nested deeper than 1000/);
    const bytes = new TextEncoder().encode(`\u0001${'['.repeat(5000)}${']'.repeat(5000)}`);
    expect(() => loads(bytes)).toThrow(LoadError);
  });

  test('corrupt payloads give LoadError', () => {
    expect(() => loads(new Uint8Array(0))).toThrow(LoadError);
    expect(() => loads(Uint8Array.of(0x99))).toThrow(/unknown serializer tag 0x99/);
    expect(() => loads(Uint8Array.of(1, 0x7b))).toThrow(/not valid JSON/);
    expect(() => loads(Uint8Array.of(1, 0xff, 0xfe))).toThrow(/UTF-8/);
    expect(() => loads(Uint8Array.of(2, 0, 0, 0, 9))).toThrow(LoadError);
    const ok = dumps({ a: new Uint8Array(4), m: new Map() });
    expect(() => loads(ok.subarray(0, ok.length - 1))).toThrow(/lengths disagree/);
  });

  test('a channel cannot be dumped outside a gateway', () => {
    const fake = { [Symbol.for('tsnet.channel')]: true, id: 3 };
    expect(() => dumps({ ch: fake })).toThrow(/channel at value\.ch outside a gateway/);
  });
});
