// Issue 21: ssh honours connectTimeout and signal during the SSH handshake, socket honours
// connectTimeout; the error names the phase. The peer is a real TCP server on 127.0.0.1 that
// accepts and then never speaks (or sends an SSH banner and stalls). And a missing identity= file.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { ConnectError, Group, SpecError } from '@tsnet/core';
import { afterAll, beforeAll, expect, test } from 'vitest';

let silent: Server;
let banner: Server;
const sockets = new Set<Socket>();
const portOf = (s: Server) => (s.address() as { port: number }).port;

beforeAll(async () => {
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
  await Promise.all([once(silent, 'listening'), once(banner, 'listening')]);
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  silent?.close();
  banner?.close();
});

async function failure(spec: string, options: { connectTimeout?: number; signal?: AbortSignal }): Promise<Error> {
  const group = new Group();
  try {
    return (await group.makeGateway(spec, { output: 'ignore', ...options }).then(
      () => new Error('connected'),
      (e: unknown) => e,
    )) as Error;
  } finally {
    await group.terminate({ timeout: 1000 });
  }
}

const sshSpec = (server: Server) => `ssh=root@127.0.0.1:${portOf(server)}//ssh-config=/dev/null//hostkey=accept-new`;

test.each([
  ['silent', () => silent],
  ['banner then silence', () => banner],
])('ssh to a server that stalls (%s): connectTimeout stops the SSH handshake, naming it', { timeout: 15_000 }, async (_name, server) => {
  const error = await failure(sshSpec(server()), { connectTimeout: 500 });
  expect(error.message).not.toMatch(/20000 ms/);
  expect(error).toBeInstanceOf(ConnectError);
  expect(error.message).toMatch(/connectTimeout ran out during the SSH handshake/);
});

test('ssh: an AbortSignal stops the SSH handshake', { timeout: 15_000 }, async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const error = await failure(sshSpec(banner), { signal: controller.signal });
  expect(error).toBeInstanceOf(ConnectError);
  expect(error.message).toMatch(/aborted by the signal during the SSH handshake/);
});

test('socket to a server that never answers the handshake: connectTimeout stops it, naming the phase', { timeout: 15_000 }, async () => {
  process.env.TSNET_EDGE_TOKEN = 'x'.repeat(32);
  const error = await failure(`socket=127.0.0.1:${portOf(silent)}//token-env=TSNET_EDGE_TOKEN`, { connectTimeout: 500 });
  expect(error).toBeInstanceOf(ConnectError);
  expect(error.message).toMatch(/connectTimeout \(500 ms\) ran out during the tsnet handshake/);
});

test('ssh with identity= naming a missing file is a SpecError naming it, before any connection', async () => {
  const error = await failure(`${sshSpec(silent)}//identity=/nonexistent/id_ed25519`, {});
  expect(error).toBeInstanceOf(SpecError);
  expect(error.message).toMatch(/the identity file \/nonexistent\/id_ed25519 does not exist/);
});
