import { XSpec } from '@tsnet/core';
import { expect, test } from 'vitest';
import { parseSocketSpec } from '../src/socket-spec.js';

const parse = (text: string) => parseSocketSpec(new XSpec(text));

test('socket= addresses: IPv4, host names, IPv6 in brackets', () => {
  expect(parse('socket=10.0.0.5:8888')).toMatchObject({ kind: 'tcp', host: '10.0.0.5', port: 8888, tls: false, label: 'tcp:10.0.0.5:8888' });
  expect(parse('socket=build01:1//tls')).toMatchObject({ host: 'build01', port: 1, tls: true, label: 'tls:build01:1' });
  expect(parse('socket=[::1]:8888//token-file=/t')).toMatchObject({ host: '::1', port: 8888, tokenSource: 'token-file=/t' });
  for (const bad of ['socket=::1:8888', 'socket=host', 'socket=host:0', 'socket']) expect(() => parse(bad), bad).toThrow(/HOST:PORT|needs a value/);
});

test('ws= URLs keep their slashes, and keys after them still parse', () => {
  expect(parse('ws=ws://127.0.0.1:8888/tsnet//token-env=T')).toMatchObject({
    kind: 'ws',
    url: 'ws://127.0.0.1:8888/tsnet',
    host: '127.0.0.1',
    port: 8888,
    tls: false,
    tokenSource: 'token-env=T',
  });
  expect(parse('ws=wss://[::1]:9//tls-fingerprint=aa:'.concat('bb:'.repeat(30), 'cc'))).toMatchObject({
    url: 'wss://[::1]:9',
    host: '::1',
    tls: true,
    fingerprint: `AA:${'BB:'.repeat(30)}CC`,
  });
  expect(parse('ws=wss://gw.example.org/a/b')).toMatchObject({ port: 443, host: 'gw.example.org' });
  expect(() => parse('ws=http://x/')).toThrow(/ws:\/\/ or wss:\/\//);
  expect(() => parse('ws=ws://x//tls')).toThrow(/use a wss:\/\/ URL/);
  expect(() => parse('ws=ws://x:1///tls')).toThrow(/a URL ending in "\/" runs into the next "\/\/"/);
  expect(parse('ws=wss://h/p//proxy=http://proxy.lan:3128').proxy?.host).toBe('proxy.lan:3128');
  expect(() => parse('ws=ws://h/p//proxy=http://me:pw@proxy:3128')).toThrow(/proxy credentials/);
  expect(() => parse('ws=ws://h/p//proxy=socks5://proxy:1080')).toThrow(/http:\/\/ proxy URL/);
  expect(() => parse('socket=h:1//proxy=http://proxy:3128')).toThrow(/proxy= is for ws= gateways/);
});

test('a token in the spec, conflicting keys and keys the server decides are refused', () => {
  expect(() => parse('socket=h:1//token=secret')).toThrow(/never put the token in the spec/);
  expect(() => parse('socket=h:1//token-file=a//token-env=B')).toThrow(/not both/);
  expect(() => parse('socket=h:1//tls-fingerprint=AB')).toThrow(/SHA-256 fingerprint/);
  expect(() => parse(`socket=h:1//tls-fingerprint=${'AB:'.repeat(31)}AB`)).toThrow(/need \/\/tls/);
  expect(() => parse(`socket=h:1//tls//tls-fingerprint=${'AB:'.repeat(31)}AB//tls-ca=/c`)).toThrow(/not both/);
  for (const key of ['chdir=/tmp', 'node=/usr/bin/node', 'runtime=bun', 'exe=/usr/bin/bun', 'nice=5', 'env:A=b']) {
    expect(() => parse(`socket=h:1//${key}`), key).toThrow(/not supported on socket gateways/);
  }
  expect(() => parse('socket=h:1//via=gw0')).toThrow(/via= is not supported/);
});
