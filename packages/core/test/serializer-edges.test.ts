// Issue 21: a value either round-trips exactly or is refused with a DumpError naming its path.
// The deliberate exception (README's value table): a null-prototype object arrives as a plain one.
import { DumpError, dumps, loads } from '@tsnet/core';
import { expect, test } from 'vitest';

function refused(value: unknown): DumpError {
  try {
    dumps(value);
  } catch (error) {
    expect(error).toBeInstanceOf(DumpError);
    return error as DumpError;
  }
  throw new Error('dumps() accepted the value');
}

test.each([
  ['an invalid Date', { when: new Date(Number.NaN) }, 'value.when', /invalid Date/],
  ['a DataView', [1, new DataView(new ArrayBuffer(4))], 'value[1]', /DataView/],
  // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
  ['an array hole', { list: [1, , 3] }, 'value.list[1]', /hole/],
  ['an Error that is its own cause', { e: ((e) => Object.assign(e, { cause: e }))(new Error('loop')) }, 'value.e.cause', /already in the value/],
])('%s is refused, naming the path', (_name, value, path, message) => {
  const error = refused(value);
  expect(error.path).toBe(path);
  expect(error.message).toMatch(message);
  expect(error.message).toContain(path);
});

test('a throwing getter is a DumpError naming its key', () => {
  const value = {
    ok: 1,
    inner: {
      get bad(): never {
        throw new RangeError('no');
      },
    },
  };
  const error = refused(value);
  expect(error.path).toBe('value.inner.bad');
  expect(error.message).toMatch(/reading it threw RangeError: no/);
});

test('a Proxy whose traps throw is a DumpError naming where it sits', () => {
  const hostile = new Proxy(
    {},
    {
      getPrototypeOf() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
    },
  );
  const error = refused({ list: [hostile] });
  expect(error.path).toBe('value.list[0]');
  expect(error.message).toMatch(/threw Error: trap/);
});

test('what is carried arrives exactly: valid Dates, typed arrays, causes that are trees, dense arrays', () => {
  const cause = new Error('inner');
  const value = { when: new Date(0), f: new Float64Array([1.5]), e: new Error('outer', { cause }), list: [undefined, 2] };
  const back = loads(dumps(value)) as typeof value;
  expect(back.when.getTime()).toBe(0);
  expect(back.f).toEqual(new Float64Array([1.5]));
  expect((back.e.cause as Error).message).toBe('inner');
  expect(back.list).toEqual([undefined, 2]);
  expect(1 in back.list).toBe(true);
});

test('the deliberate exception: a null-prototype object arrives as a plain object with the same keys', () => {
  const value = Object.assign(Object.create(null) as Record<string, number>, { a: 1 });
  const back = loads(dumps(value)) as Record<string, number>;
  expect({ ...back }).toEqual({ a: 1 });
  expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
});
