import { expect, test } from 'vitest';
import { dumps, loads } from '@tsnet/core';

test('dumps/loads round trip', () => {
  expect(loads(dumps({ a: 1 }))).toEqual({ a: 1 });
});
