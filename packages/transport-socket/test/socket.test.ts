/**
 * socket= and ws= gateways end to end against the real server process on loopback: the seed's
 * example, both stream kinds on one port, IPv6, exit status, kill, a client killed mid-session.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Gateway, makeGateway } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, isAlive, processesInGroups, type RunningServer, startServer, useServer } from './helpers/server.js';

const served = useServer();
const { tokenFile } = served;

async function roundTrip(gw: Gateway): Promise<void> {
  const ch = gw.remoteExec('for await (const item of channel) await channel.send(item * 2)');
  await ch.send(21);
  expect(await ch.receive()).toBe(42);
  await ch.close();
}

test("the seed's example: a server on loopback without auth, makeGateway('socket=HOST:PORT')", async () => {
  const open = await startServer(['--listen', '127.0.0.1:0', '--insecure-no-auth']);
  try {
    const gw = await makeGateway(`socket=${open.address}`, { output: 'ignore' });
    const ch = gw.remoteExec('channel.send(process.pid)');
    const pid = await ch.receive();
    expect(open.children()).toContain(pid);
    await roundTrip(gw);
    await gw.exit();
    await open.waitLog(new RegExp(`pid ${pid}, remote exited with code 0`));
  } finally {
    expect(await open.stop()).toEqual({ code: 0, signal: null });
  }
});

test('socket=HOST:PORT with a token: remote code runs in a fresh child of the server, output comes back', async () => {
  const gw = await makeGateway(`socket=${served.server.address}//token-file=${tokenFile}`, { output: 'ignore' });
  const lines: string[] = [];
  gw.onOutput((stream, text) => lines.push(`${stream}:${text}`));
  const info = await gw.remoteInfo();
  expect(info.ppid).toBe(served.server.pid);
  expect(served.server.children()).toContain(info.pid);
  await roundTrip(gw);
  const ch = gw.remoteExec('console.log("hello over the socket"); console.error("and on stderr"); channel.send(1)');
  expect(await ch.receive()).toBe(1);
  await eventually(() => lines.join('').includes('and on stderr'), 10_000, 'remote output arrives');
  expect(lines.join('')).toContain('stdout:hello over the socket');
  const token = (await gw.remoteExec('channel.send(process.env.TSNET_TOKEN ?? null)').receive()) as string | null;
  expect(token).toBeNull();
  await gw.exit();
  expect(await gw.closed).toMatchObject({ exitCode: 0 });
  await eventually(() => !isAlive(info.pid), 10_000, 'the remote process ends after exit()');
});

test('ws=ws://HOST:PORT/PATH on the same port, with a payload bigger than a WebSocket message', async () => {
  const gw = await makeGateway(`ws=ws://${served.server.address}/tsnet//token-env=TSNET_TEST_TOKEN_WS`, { output: 'ignore' }).catch((e) => e);
  // token-env names a variable that is not set: a spec error, before connecting
  expect(gw).toMatchObject({ code: 'TSNET_ERR_SPEC' });
  process.env.TSNET_TEST_TOKEN_WS = (await import('node:fs')).readFileSync(tokenFile, 'utf8').trim();
  try {
    const ws = await makeGateway(`ws=ws://${served.server.address}/tsnet//token-env=TSNET_TEST_TOKEN_WS`, { output: 'ignore' });
    expect((await ws.remoteInfo()).ppid).toBe(served.server.pid);
    const echo = ws.remoteExec('for await (const item of channel) await channel.send(item)');
    const big = Buffer.alloc(3 << 20, 7);
    await echo.send(big);
    expect(Buffer.compare((await echo.receive()) as Buffer, big)).toBe(0);
    await echo.close();
    await ws.exit();
    expect(await ws.closed).toMatchObject({ exitCode: 0 });
  } finally {
    delete process.env.TSNET_TEST_TOKEN_WS;
  }
});

test('the server keeps a spare child waiting: a gateway adopts it, and another takes its place', async () => {
  const [spare] = await served.server.settledChildren();
  const gw = await makeGateway(`socket=${served.server.address}//token-file=${tokenFile}`, { output: 'ignore' });
  expect((await gw.remoteInfo()).pid).toBe(spare);
  const now = await served.server.settledChildren();
  expect(now).toHaveLength(2);
  expect(now).toContain(spare);
  await gw.exit();
});

test('remote process.exit(3) closes the gateway with that exit code', async () => {
  const gw = await makeGateway(`socket=${served.server.address}//token-file=${tokenFile}`, { output: 'ignore' });
  const pending = gw.remoteExec('await new Promise(() => {})').receive();
  gw.remoteExec('setTimeout(() => process.exit(3), 50)');
  await expect(pending).rejects.toMatchObject({ code: 'TSNET_ERR_GATEWAY_CLOSED', exitCode: 3 });
  expect(await gw.closed).toMatchObject({ exitCode: 3, reason: expect.stringContaining('code 3') });
});

test('gw.kill() closes the connection and the server kills the busy remote at once', async () => {
  const gw = await makeGateway(`socket=${served.server.address}//token-file=${tokenFile}`, { output: 'ignore' });
  const { pid } = await gw.remoteInfo();
  gw.remoteExec('for (;;) {}');
  await gw.kill();
  await eventually(() => !isAlive(pid), 10_000, 'the remote process is killed');
  await served.server.waitLog(new RegExp(`pid ${pid}, the client went away; remote killed`));
});

test('a client killed mid-session leaves no child process behind', async () => {
  const fixture = fileURLToPath(new URL('./fixtures/killed-client.mjs', import.meta.url));
  const client = spawn(process.execPath, [fixture, `socket=${served.server.address}//token-file=${tokenFile}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = await Promise.race([
      (async () => {
        for await (const l of createInterface({ input: client.stdout! })) return [l];
        return [''];
      })(),
      new Promise<string[]>((_, reject) => client.once('exit', (code) => reject(new Error(`the client exited early (code ${code})`)))),
    ]);
    const { pid, grandchild } = JSON.parse(line!) as { pid: number; grandchild: number };
    expect(served.server.children()).toContain(pid);
    expect(processesInGroups([pid])).toEqual(expect.arrayContaining([pid, grandchild]));
    client.kill('SIGKILL');
    await eventually(() => processesInGroups([pid]).length === 0, 15_000, 'the remote and its grandchild are gone');
    expect(served.server.children()).not.toContain(pid);
    await served.server.waitLog(new RegExp(`pid ${pid}, the client went away; remote killed`));
  } finally {
    client.kill('SIGKILL');
  }
});

describe('IPv6 and host names', () => {
  let v6: RunningServer;
  beforeAll(async () => {
    v6 = await startServer(['--listen', '[::1]:0', '--token-file', tokenFile]);
  });
  afterAll(async () => {
    await v6?.stop();
  });

  test('socket=[::1]:PORT and ws=ws://[::1]:PORT/', async () => {
    expect(v6.address).toMatch(/^\[::1\]:\d+$/);
    for (const spec of [`socket=${v6.address}//token-file=${tokenFile}`, `ws=ws://${v6.address}/ws//token-file=${tokenFile}`]) {
      const gw = await makeGateway(spec, { output: 'ignore' });
      await roundTrip(gw);
      await gw.exit();
    }
    await v6.waitLog(/#\d+ \[::1\]:\d+ ws: served/);
  });

  test('socket=localhost:PORT reaches a server on either loopback address', async () => {
    const gw = await makeGateway(`socket=localhost:${served.server.port}//token-file=${tokenFile}`, { output: 'ignore' });
    await roundTrip(gw);
    await gw.exit();
  });
});
