// The records of ended sessions that clients ask about (AUTH … EXIT <session>): one answer each,
// bounded in number, and "awaiting" only while a client that got no trailer may still ask.
import { expect, test } from 'vitest';
import { ExitRecords } from '../src/exit-records.js';
import { ServerHandshake } from '../src/server-handshake.js';
import { clientHello, clientProof, makeNonce, type ServerGreeting } from '../src/socket-protocol.js';

test('a record is answered once; an awaited one keeps the server waiting until it is asked', async () => {
  const records = new ExitRecords();
  const a = makeNonce();
  records.add(a, 7, { code: null, signal: 'SIGTERM' }, true);
  expect(records.awaiting).toBe(true);
  const settled = records.settled();
  expect(records.take(a)).toEqual({ code: null, signal: 'SIGTERM', id: 7 });
  await settled;
  expect(records.awaiting).toBe(false);
  expect(records.take(a)).toBeUndefined();
  expect(records.take(makeNonce())).toBeUndefined();
});

test('at most 1024 records are kept: the oldest go first', () => {
  const records = new ExitRecords();
  const keys = Array.from({ length: 1100 }, () => makeNonce());
  for (const [i, k] of keys.entries()) records.add(k, i, { code: 0, signal: null }, false);
  expect(records.take(keys[0]!)).toBeUndefined();
  expect(records.take(keys[75]!)).toBeUndefined();
  expect(records.take(keys[76]!)).toMatchObject({ id: 76 });
  expect(records.take(keys[1099]!)).toMatchObject({ id: 1099, code: 0 });
});

test('the AUTH line of an EXIT question: the session is read after a valid proof, a bad one stays a wrong token', () => {
  const token = Buffer.from('x'.repeat(32));
  const hs = new ServerHandshake({ token, protocol: 2 });
  const clientNonce = makeNonce();
  const greeting = JSON.parse(hs.hello(clientHello(clientNonce).trim()).reply.trim().split(' ').slice(1).join(' ')) as ServerGreeting;
  const session = makeNonce();
  const proof = clientProof(token, greeting.nonce, clientNonce);
  expect(hs.auth(`AUTH ${proof} EXIT ${session}`)).toMatchObject({ failure: null, exitOf: session, reply: expect.stringMatching(/^OK /) });
  expect(hs.auth(`AUTH ${proof}`).exitOf).toBeUndefined();
  expect(hs.auth(`AUTH ${proof} EXIT nonsense`).failure?.message).toBe('wrong token');
  expect(hs.auth(`AUTH ${'0'.repeat(64)} EXIT ${session}`).failure?.message).toBe('wrong token');
});
