/**
 * The server's own lifecycle and limits: --max-connections, SIGTERM (children finish or are
 * killed within --stop-timeout), --once, and the command-line refusals.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BOOTSTRAP_FILE } from '@tsnet/bootstrap';
import { makeGateway } from '@tsnet/core';
import { afterAll, expect, test } from 'vitest';
import { eventually, processesInGroups, startServer, tempDir, writeToken } from './helpers/server.js';

const tmp = tempDir();
const tokenFile = writeToken(tmp.path);

afterAll(() => tmp.remove());

function serveSync(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const { TSNET_TOKEN: _, ...base } = process.env;
  const r = spawnSync(process.execPath, [BOOTSTRAP_FILE, 'serve', ...args], { env: { ...base, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--max-connections: a client over the limit gets a clear "busy" error', async () => {
  const server = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--max-connections', '1']);
  try {
    const spec = `socket=${server.address}//token-file=${tokenFile}`;
    const first = await makeGateway(spec, { output: 'ignore' });
    await expect(makeGateway(spec)).rejects.toMatchObject({ code: 'TSNET_ERR_CONNECT', message: expect.stringContaining('server is busy') });
    await server.waitLog(/refused: busy: the server already serves 1 gateways/);
    await first.exit();
    await server.waitLog(/ served .* remote exited with code 0/);
    const again = await makeGateway(spec, { output: 'ignore' });
    await again.exit();
  } finally {
    await server.stop();
  }
});

test('SIGTERM: idle children finish, busy ones are killed after --stop-timeout, nothing is left', async () => {
  const server = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--stop-timeout', '1000']);
  const spec = `socket=${server.address}//token-file=${tokenFile}`;
  const idle = await makeGateway(spec, { output: 'ignore' });
  const busy = await makeGateway(spec, { output: 'ignore' });
  const pids = [(await idle.remoteInfo()).pid, (await busy.remoteInfo()).pid];
  const all = await server.settledChildren(); // both gateways' children and the spare
  expect(all).toEqual(expect.arrayContaining(pids));
  expect(all).toHaveLength(3);
  // A task that never finishes: the remote waits for it after stdin EOF, so only the kill ends it.
  const stuck = busy.remoteExec('setInterval(() => {}, 1000); await channel.send("stuck"); await new Promise(() => {})');
  expect(await stuck.receive()).toBe('stuck');
  server.proc.kill('SIGTERM');
  expect(await server.exited).toEqual({ code: 0, signal: null });
  expect(await idle.closed).toMatchObject({ exitCode: 0 });
  expect(await busy.closed).toMatchObject({ signal: 'SIGKILL' });
  await eventually(() => processesInGroups(all).length === 0, 10_000, 'no process of either gateway, nor the spare, is left');
  expect(server.log()).toMatch(/SIGTERM: stopping/);
  expect(server.log()).toMatch(/the server stopped; remote killed/);
});

test('a server killed with SIGKILL leaves no children: they notice and end themselves', async () => {
  const server = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile]);
  const gw = await makeGateway(`socket=${server.address}//token-file=${tokenFile}`, { output: 'ignore' });
  const { pid } = await gw.remoteInfo();
  gw.remoteExec('setInterval(() => {}, 1000); await new Promise(() => {})');
  const all = await server.settledChildren(); // the gateway's child and the spare
  expect(all).toContain(pid);
  server.proc.kill('SIGKILL');
  await server.exited;
  await gw.closed;
  await eventually(() => processesInGroups(all).length === 0, 10_000, 'the orphaned remote (watchdog) and the spare (stdin EOF) end themselves');
});

test('--once with TSNET_TOKEN: serves one gateway, then exits; nobody else gets in', async () => {
  const token = readFileSync(tokenFile, 'utf8').trim();
  const server = await startServer(['--listen', '127.0.0.1:0', '--once'], { env: { TSNET_TOKEN: token } });
  const spec = `socket=${server.address}//token-file=${tokenFile}`;
  const gw = await makeGateway(spec, { output: 'ignore' });
  await expect(makeGateway(spec)).rejects.toMatchObject({ code: 'TSNET_ERR_CONNECT' });
  expect(await gw.remoteExec('channel.send("once")').receive()).toBe('once');
  await gw.exit();
  expect(await server.exited).toEqual({ code: 0, signal: null });
  expect(server.log()).toMatch(/token from TSNET_TOKEN/);
});

test('a client with a token refuses a server that does not authenticate', async () => {
  const server = await startServer(['--listen', '127.0.0.1:0', '--insecure-no-auth', '--spare', '0']);
  try {
    await expect(makeGateway(`socket=${server.address}//token-file=${tokenFile}`)).rejects.toMatchObject({
      code: 'TSNET_ERR_AUTH',
      message: expect.stringContaining('runs without authentication'),
    });
    expect(server.children()).toEqual([]);
  } finally {
    await server.stop();
  }
});

test('command-line refusals: no auth off loopback, no token, a short token, unknown flags', () => {
  for (const listen of ['0.0.0.0:0', '[::]:0']) {
    const r = serveSync(['--listen', listen, '--insecure-no-auth']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing --insecure-no-auth');
    expect(r.stdout).toBe('');
  }
  expect(serveSync(['--listen', '127.0.0.1:0'])).toMatchObject({ status: 2, stderr: expect.stringContaining('no token') });
  expect(serveSync(['--listen', '127.0.0.1:0'], { TSNET_TOKEN: 'short' })).toMatchObject({
    status: 2,
    stderr: expect.stringContaining('shorter than 16 characters'),
  });
  expect(serveSync(['--port', '1'])).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown option "--port"') });
  const help = serveSync(['--help']);
  expect(help.status).toBe(0);
  for (const flag of [
    '--listen',
    '--token-file',
    '--insecure-no-auth',
    '--tls-cert',
    '--tls-key',
    '--once',
    '--handshake-timeout',
    '--max-connections',
    '--max-pending',
  ]) {
    expect(help.stdout).toContain(flag);
  }
});
