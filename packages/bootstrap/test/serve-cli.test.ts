import { expect, test } from 'vitest';
import { parseListen, parseServeArgs } from '../src/serve-cli.js';

test('--listen forms', () => {
  expect(parseListen('127.0.0.1:8888')).toEqual({ host: '127.0.0.1', port: 8888 });
  expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
  expect(parseListen('localhost:9')).toEqual({ host: 'localhost', port: 9 });
  expect(parseListen('8888')).toEqual({ host: '127.0.0.1', port: 8888 });
  for (const bad of ['::1:8888', 'host', 'host:99999', ':8888', '[::1]']) expect(() => parseListen(bad), bad).toThrow(/--listen/);
});

test('defaults, and flags in both spellings', () => {
  const env = { TSNET_TOKEN: 'x'.repeat(16) };
  const parsed = parseServeArgs(['--listen=[::1]:0', '--max-pending', '3', '--once'], env);
  expect(parsed).toMatchObject({
    options: { host: '::1', port: 0, once: true, maxPending: 3, maxConnections: 32, handshakeTimeout: 10_000, stopTimeout: 5000, tls: null },
  });
  expect(parseServeArgs(['-h'], {})).toBe('help');
  expect(() => parseServeArgs(['--max-pending', '0'], env)).toThrow(/at least 1/);
  expect(() => parseServeArgs(['--tls-cert', '/x'], env)).toThrow(/go together/);
  expect(() => parseServeArgs(['--insecure-no-auth'], env)).toThrow(/contradicts/);
  expect(parseServeArgs(['--insecure-no-auth'], {})).toMatchObject({ options: { token: null } });
  // The handoff is the default; --relay turns it off; --handoff is still accepted.
  expect(parseServeArgs([], env)).toMatchObject({ options: { handoff: true } });
  expect(parseServeArgs(['--handoff'], env)).toMatchObject({ options: { handoff: true } });
  expect(parseServeArgs(['--relay'], env)).toMatchObject({ options: { handoff: false } });
  expect(() => parseServeArgs(['--relay', '--handoff'], env)).toThrow(/--relay contradicts --handoff/);
});

test('argv mistakes are named in argv order, as given', () => {
  const env = { TSNET_TOKEN: 'x'.repeat(16) };
  expect(() => parseServeArgs(['--bogus=1'], env)).toThrow('unknown option "--bogus=1"');
  expect(() => parseServeArgs(['--once', 'foo', '--bogus'], env)).toThrow('unknown option "foo"');
  expect(() => parseServeArgs(['-hx'], env)).toThrow('unknown option "-hx"');
  expect(() => parseServeArgs(['--'], env)).toThrow('unknown option "--"');
  expect(() => parseServeArgs(['--spare'], env)).toThrow('--spare needs a value');
  expect(() => parseServeArgs(['--listen', 'a:1', '--listen=b:2'], env)).toThrow('--listen is given twice');
  // a valued option takes the next argument whatever it looks like; a flag ignores "=value"
  expect(() => parseServeArgs(['--listen', '--once'], env)).toThrow(/--listen takes HOST:PORT/);
  expect(parseServeArgs(['--once=no', '--help'], env)).toBe('help');
});
