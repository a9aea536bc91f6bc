// Issue 21: connectTimeout (ConnectOptions.timeout) and the caller's signal stop every phase of
// opening an ssh= or socket= gateway, and the ConnectError names the phase and the host:
// - TCP connect: a netns host made a black hole (helpers/netns.ts blackholeHost), whose SYNs are
//   lost, so the connect neither completes nor fails;
// - SSH handshake: a real TCP server on 127.0.0.1 that accepts and never speaks, or sends an SSH
//   banner and stalls; the tsnet handshake (socket=): the same silent server, or one that greets
//   and never answers the client's proof;
// - authentication (ssh=): a real sshd whose AuthorizedKeysCommand never returns.
// Each rejects within a bound well above the timeout, also in a plain Node process that collects
// garbage while it waits (a child process). And a missing identity= file.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { socketProtocol } from '@tsnet/bootstrap';
import { ConnectError, Group, SpecError } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { blackholeHost, cleanupNetns, createNetHosts, type NetHost } from '../helpers/netns.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

const TIMEOUT = 500;
/** How long a rejection may take: the timeout plus room for a loaded machine. */
const WITHIN = 5_000;

let silent: Server;
let banner: Server;
let greeter: Server;
const sockets = new Set<Socket>();
const portOf = (s: Server) => (s.address() as { port: number }).port;

beforeAll(async () => {
  process.env.TSNET_EDGE_TOKEN = 'x'.repeat(32);
  const keep = (sock: Socket) => {
    sockets.add(sock);
    sock.on('error', () => {}); // the client resets it when it gives up
    sock.on('close', () => sockets.delete(sock));
  };
  silent = createServer(keep).listen(0, '127.0.0.1');
  banner = createServer((sock) => {
    keep(sock);
    sock.write('SSH-2.0-OpenSSH_9.2\r\n'); // and then nothing: key exchange never completes
  }).listen(0, '127.0.0.1');
  greeter = createServer((sock) => {
    keep(sock);
    // a valid greeting asking for a token, and then no answer to the client's proof
    sock.write(socketProtocol.serverGreeting({ protocol: 2, auth: 'hmac-sha256', nonce: socketProtocol.makeNonce() }));
  }).listen(0, '127.0.0.1');
  await Promise.all([once(silent, 'listening'), once(banner, 'listening'), once(greeter, 'listening')]);
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  silent?.close();
  banner?.close();
  greeter?.close();
});

/** What opening `spec` rejects with, and how long that took. */
async function failure(spec: string, options: { connectTimeout?: number; signal?: AbortSignal }): Promise<{ error: Error; ms: number }> {
  const group = new Group();
  const start = performance.now();
  try {
    const error = (await group.makeGateway(spec, { output: 'ignore', ...options }).then(
      () => new Error('connected'),
      (e: unknown) => e,
    )) as Error;
    return { error, ms: performance.now() - start };
  } finally {
    await group.terminate({ timeout: 1000 });
  }
}

async function timesOut(spec: string, message: RegExp): Promise<void> {
  const { error, ms } = await failure(spec, { connectTimeout: TIMEOUT });
  expect(error).toBeInstanceOf(ConnectError);
  expect(error.message).toMatch(message);
  expect(ms).toBeLessThan(WITHIN);
}

const sshSpec = (host: string, port: number) => `ssh=root@${host}:${port}//ssh-config=/dev/null//hostkey=accept-new`;
const token = '//token-env=TSNET_EDGE_TOKEN';

describe('the TCP connect phase: a netns host whose SYNs are lost', () => {
  let host: NetHost;
  beforeAll(() => {
    [host] = createNetHosts(1) as [NetHost];
    blackholeHost(host);
  });
  afterAll(() => cleanupNetns());

  test('ssh=', { timeout: 15_000 }, async () => {
    await timesOut(sshSpec(host.address, 22), new RegExp(`^ssh root@${host.address.replaceAll('.', '\\.')}: connectTimeout ran out during the TCP connect`));
  });
  test('socket=', { timeout: 15_000 }, async () => {
    await timesOut(
      `socket=${host.address}:7777${token}`,
      new RegExp(`^tcp:${host.address}:7777: connectTimeout \\(${TIMEOUT} ms\\) ran out during the TCP connect;`),
    );
  });
  test('ws=', { timeout: 15_000 }, async () => {
    await timesOut(
      `ws=ws://${host.address}:7777${token}`,
      new RegExp(`^ws:ws://${host.address}:7777: connectTimeout \\(${TIMEOUT} ms\\) ran out during the TCP/WebSocket connect;`),
    );
  });
});

test.each([
  ['silent', () => silent],
  ['banner then silence', () => banner],
])('ssh to a server that stalls (%s): connectTimeout stops the SSH handshake, naming it and the host', { timeout: 15_000 }, async (_name, server) => {
  const port = portOf(server());
  await timesOut(sshSpec('127.0.0.1', port), new RegExp(`^ssh root@127\\.0\\.0\\.1 port ${port}: connectTimeout ran out during the SSH handshake`));
});

test('ssh: an AbortSignal stops the SSH handshake', { timeout: 15_000 }, async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const { error } = await failure(sshSpec('127.0.0.1', portOf(banner)), { signal: controller.signal });
  expect(error).toBeInstanceOf(ConnectError);
  expect(error.message).toMatch(/aborted by the signal during the SSH handshake/);
});

describe('the authentication phase: a real sshd whose AuthorizedKeysCommand never returns', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    // sshd runs the command (as root, with no output) for the offered key and waits for it
    sshd = await startSshd({ config: ['AuthorizedKeysFile none', 'AuthorizedKeysCommand /usr/bin/sleep 60', 'AuthorizedKeysCommandUser root'] });
  });
  afterAll(() => sshd?.stop());

  test('ssh=: connectTimeout stops it, naming the authentication and the host', { timeout: 15_000 }, async () => {
    await timesOut(
      `ssh=${sshd.alias}//ssh-config=${sshd.sshConfig}`,
      new RegExp(`^ssh ${sshd.user}@127\\.0\\.0\\.1 port ${sshd.port} \\(host "${sshd.alias}"\\): connectTimeout ran out during the authentication`),
    );
  });
});

test.each([
  ['never answers', () => silent],
  ['greets, then never answers the proof', () => greeter],
])('socket to a server that %s: connectTimeout stops the tsnet handshake, naming it and the host', { timeout: 15_000 }, async (_name, server) => {
  const port = portOf(server());
  await timesOut(
    `socket=127.0.0.1:${port}${token}`,
    new RegExp(`^tcp:127\\.0\\.0\\.1:${port}: connectTimeout \\(${TIMEOUT} ms\\) ran out during the tsnet handshake \\(authentication\\)`),
  );
});

test('ws= to a server that accepts and never answers the HTTP upgrade: connectTimeout names the WebSocket connect', { timeout: 15_000 }, async () => {
  const port = portOf(silent);
  await timesOut(
    `ws=ws://127.0.0.1:${port}${token}`,
    new RegExp(`^ws:ws://127\\.0\\.0\\.1:${port}: connectTimeout \\(${TIMEOUT} ms\\) ran out during the TCP/WebSocket connect;`),
  );
});

const GC_FIXTURE = new URL('../fixtures/connect-under-gc.mjs', import.meta.url).pathname;

test.each([
  ['ssh=', () => sshSpec('127.0.0.1', portOf(banner)), /connectTimeout ran out during the SSH handshake/],
  ['socket=', () => `socket=127.0.0.1:${portOf(silent)}${token}`, /connectTimeout \(500 ms\) ran out during the tsnet handshake/],
])('%s: the bound fires in a local process that collects garbage while it waits', { timeout: 30_000 }, async (_name, spec, message) => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', GC_FIXTURE, spec(), String(TIMEOUT)], { timeout: 20_000, env: process.env }, (error, out, err) =>
      error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
    );
  });
  const result = JSON.parse(stdout) as { name: string; message: string; ms: number };
  expect(result.name).toBe('ConnectError');
  expect(result.message).toMatch(message);
  expect(result.ms).toBeLessThan(WITHIN);
});

test('ssh with identity= naming a missing file is a SpecError naming it, before any connection', async () => {
  const { error } = await failure(`${sshSpec('127.0.0.1', portOf(silent))}//identity=/nonexistent/id_ed25519`, {});
  expect(error).toBeInstanceOf(SpecError);
  expect(error.message).toMatch(/the identity file \/nonexistent\/id_ed25519 does not exist/);
});
