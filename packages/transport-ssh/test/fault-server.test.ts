/**
 * Faults a real sshd cannot be made to produce, from an in-process ssh2 server that runs commands
 * with the local /bin/sh (so the bootstrap is real). The real-sshd suite is in test-e2e/ssh.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server as NetServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Group, registerTransport } from '@tsnet/core';
import ssh2 from 'ssh2';
import { afterAll, afterEach, expect, test } from 'vitest';
import { createSsh } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnet-fault-'));
/** ssh2's generator writes an unreadable ed25519 key about once in 150 tries: keep the good ones. */
function keyPair(): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}
const hostKey = keyPair();
const userKey = keyPair();
writeFileSync(join(dir, 'id'), userKey.private, { mode: 0o600 });
const children = new Set<ChildProcess>();
const servers: Array<{ close(): void }> = [];
let group: Group | undefined;

afterEach(async () => {
  await group?.terminate({ timeout: 1000 });
  group = undefined;
  for (const s of servers.splice(0)) s.close();
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

type ExecHook = (command: string, channel: ssh2.ServerChannel, client: ssh2.Connection) => boolean;

/** Starts a server; `hook` may take over an exec request (return true), else it runs in /bin/sh. */
async function server(hook?: ExecHook): Promise<{ port: number; config: string }> {
  const srv = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    client.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acceptExec, _reject, info) => {
        const channel = acceptExec();
        if (hook?.(info.command, channel, client)) return;
        runOnChannel(info.command, channel, { ...process.env, SHELL: '/bin/sh' });
      });
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  servers.push({ close: () => srv.close() });
  return { port: (srv.address() as AddressInfo).port, ...writeClient((srv.address() as AddressInfo).port) };
}

/** Runs `command` with /bin/sh as sshd would, its stdio on `channel`, its exit code as the channel's. */
function runOnChannel(command: string, channel: ssh2.ServerChannel, env: NodeJS.ProcessEnv = process.env): void {
  const child = spawn('/bin/sh', ['-c', command], { env, stdio: 'pipe' });
  children.add(child);
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  child.on('exit', (code) => {
    children.delete(child);
    channel.exit(code ?? 255);
    channel.end();
  });
  channel.on('close', () => child.kill('SIGKILL'));
}

function writeClient(port: number): { config: string } {
  const known = join(dir, `known_${port}`);
  writeFileSync(known, `[127.0.0.1]:${port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
  const config = join(dir, `config_${port}`);
  writeFileSync(
    config,
    `Host fault\n  HostName 127.0.0.1\n  Port ${port}\n  User ${userInfo().username}\n  IdentityFile ${join(dir, 'id')}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${known}\n  GlobalKnownHostsFile /dev/null\n`,
  );
  return { config };
}

function openWith(provider: ReturnType<typeof createSsh>, extra: string, output: 'ignore' | 'inherit' = 'ignore') {
  registerTransport(provider);
  group ??= new Group();
  return group.makeGateway(`ssh=fault//node=${process.execPath}${extra}`, { output });
}

test('a login shell that prints to stdout before node starts does not corrupt the wire; its text is shown as output', async () => {
  const { config } = await server((command, channel) => {
    // what a chatty ~/.bashrc does, then the real command
    channel.write('Welcome to the fault server!\nTSNET-READY-not-our-marker 1\n');
    runOnChannel(command, channel);
    return true;
  });
  const printed: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    printed.push(String(chunk));
    return true;
  }) as typeof write;
  try {
    const gw = await openWith(createSsh({ configFile: config, agent: false }), '', 'inherit');
    expect(await gw.remoteExec('channel.send(21 * 2)').receive()).toBe(42);
    await gw.exit();
  } finally {
    process.stderr.write = write;
  }
  expect(printed.join('')).toMatch(/^\[gw\d+\] Welcome to the fault server!$/m);
});

test('the connection drops while the remote shell starts: a ConnectError, no hang', async () => {
  const { config } = await server((_command, _channel, client) => {
    setTimeout(() => client.end(), 50);
    return true;
  });
  const error = await openWith(createSsh({ configFile: config, agent: false }), '').catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'TSNET_ERR_CONNECT' });
  expect(String((error as Error).message)).toMatch(/fault|127\.0\.0\.1/);
});

test('a server that never speaks SSH: ConnectError after readyTimeout', async () => {
  const silent: NetServer = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  servers.push({ close: () => silent.close() });
  const { config } = writeClient((silent.address() as AddressInfo).port);
  const t0 = Date.now();
  const error = await openWith(createSsh({ configFile: config, agent: false, readyTimeout: 500 }), '').catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'TSNET_ERR_CONNECT', message: expect.stringContaining('no SSH handshake within 500 ms') });
  expect(Date.now() - t0).toBeLessThan(10_000);
});

test('a server that refuses exec channels: ConnectError saying the command could not start', async () => {
  const srv = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => ctx.accept());
    client.on('session', (_accept, reject) => reject());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  servers.push({ close: () => srv.close() });
  const { config } = writeClient((srv.address() as AddressInfo).port);
  const error = await openWith(createSsh({ configFile: config, agent: false }), '').catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'TSNET_ERR_CONNECT', message: expect.stringContaining('cannot start the remote command') });
});

test('the remote shell never starts node: ConnectError after startTimeout, with its stderr', async () => {
  const { config } = await server((_command, channel) => {
    channel.stderr.write('stuck in a profile script\n');
    return true;
  });
  const error = await openWith(createSsh({ configFile: config, agent: false, startTimeout: 500 }), '').catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'TSNET_ERR_CONNECT', message: expect.stringContaining('did not start node within 500 ms') });
  expect((error as Error).message).toContain('stuck in a profile script');
});
