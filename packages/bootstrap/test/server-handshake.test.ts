import { expect, test } from 'vitest';
import { HandshakeFailure, ServerHandshake, sniffProtocol } from '../src/server-handshake.js';
import { CLIENT_MAGIC, clientHello, clientProof, makeNonce, SERVER_MAGIC, type ServerGreeting, serverProof } from '../src/socket-protocol.js';

const token = Buffer.from('a-token-of-sixteen-or-more');

function greetingOf(reply: string): ServerGreeting {
  expect(reply.startsWith(`${SERVER_MAGIC}1 `)).toBe(true);
  return JSON.parse(reply.slice(reply.indexOf(' ') + 1)) as ServerGreeting;
}

test('sniffProtocol: a WebSocket upgrade, a tsnet hello (or its start), and what is neither', () => {
  expect(sniffProtocol(Buffer.from('GET / HTTP/1.1\r\n'), false)).toBe('websocket');
  expect(sniffProtocol(Buffer.from(CLIENT_MAGIC.slice(0, 4)), false)).toBe('tsnet');
  expect(sniffProtocol(Buffer.from(clientHello(makeNonce())), true)).toBe('tsnet');
  expect(() => sniffProtocol(Buffer.from([0x16, 3, 1, 0, 0xa5]), false)).toThrow(/TLS handshake on a server without TLS/);
  const junk = () => sniffProtocol(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), false);
  expect(junk).toThrow(HandshakeFailure);
  expect(junk).toThrow(/not a tsnet client \(first bytes 53 53 48 2d 32 2e 30 2d …\)/);
});

test('ServerHandshake with a token: greeting, proof checked, OK carries the server proof', () => {
  const hs = new ServerHandshake({ token, protocol: 7 });
  const clientNonce = makeNonce();
  const hello = hs.hello(clientHello(clientNonce).trimEnd());
  expect(hello.failure).toBeNull();
  const greeting = greetingOf(hello.reply);
  expect(greeting).toMatchObject({ protocol: 7, auth: 'hmac-sha256' });
  const ok = hs.auth(`AUTH ${clientProof(token, greeting.nonce, clientNonce)}`);
  expect(ok).toEqual({ reply: `OK ${serverProof(token, greeting.nonce, clientNonce)}\n`, failure: null });
});

test('ServerHandshake refusals: what is answered, and what the log says', () => {
  const fresh = () => new ServerHandshake({ token, protocol: 1 });
  expect(() => fresh().hello('GET / HTTP/1.1')).toThrow(/bad hello line/);
  const other = fresh().hello(`${CLIENT_MAGIC}9 ${makeNonce()}`);
  expect(other.reply.startsWith(SERVER_MAGIC)).toBe(true); // so the client can name both versions
  expect(other.failure).toMatchObject({ message: 'the client speaks socket protocol 9, this server 1', answered: 'line' });
  expect(fresh().hello(`${CLIENT_MAGIC}1 not-a-nonce`).failure).toMatchObject({ message: 'bad client nonce', answered: null });

  const hs = fresh();
  hs.hello(clientHello(makeNonce()).trimEnd());
  expect(() => hs.auth('HELLO')).toThrow(/no AUTH line/);
  expect(hs.auth('AUTH -')).toMatchObject({ reply: expect.stringMatching(/^DENIED /), failure: { message: 'no token given', answered: 'line' } });
  expect(hs.auth(`AUTH ${'0'.repeat(64)}`).failure?.message).toBe('wrong token');
});

test('ServerHandshake without a token: auth "none", any AUTH line is let in', () => {
  const hs = new ServerHandshake({ token: null, protocol: 1 });
  expect(greetingOf(hs.hello(clientHello(makeNonce()).trimEnd()).reply).auth).toBe('none');
  expect(hs.auth('AUTH -')).toEqual({ reply: 'OK -\n', failure: null });
});
