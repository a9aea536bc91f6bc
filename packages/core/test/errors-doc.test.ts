// docs/errors.md matches the code: every ErrorCode has its section (### `TSNET_ERR_…`), and the
// page names no code that does not exist. The codes are read from the ErrorCode type in errors.ts.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

const errorsTs = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8');
const errorsMd = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

const union = /export type ErrorCode =([^;]*);/.exec(errorsTs)?.[1] ?? '';
const codes = new Set([...union.matchAll(/'(TSNET_ERR[A-Z_]*)'/g)].map((m) => m[1]!));
const headings = new Set([...errorsMd.matchAll(/^### .*$/gm)].flatMap((m) => [...m[0].matchAll(/`(TSNET_ERR[A-Z_]*)`/g)].map((c) => c[1]!)));
const mentioned = new Set([...errorsMd.matchAll(/\bTSNET_ERR(?:_[A-Z]+)*/g)].map((m) => m[0]));

test('the ErrorCode type is found (the test reads errors.ts)', () => {
  expect(codes.size).toBeGreaterThan(10);
});

test('every error code has its section in docs/errors.md', () => {
  expect([...codes].filter((c) => !headings.has(c))).toEqual([]);
});

test('docs/errors.md names no code that the code does not have', () => {
  expect([...mentioned].filter((c) => !codes.has(c))).toEqual([]);
});
