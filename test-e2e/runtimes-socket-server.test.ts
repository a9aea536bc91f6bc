// The standalone socket server (`tsnet-bootstrap.js serve …`) under Bun and Deno: it listens, checks
// the token, serves socket= and ws= gateways whose remotes are fresh children on its own runtime,
// carries bulk data both ways and reports the child's exit.
import { makeGateway } from '@tsnet/core';
import { afterAll, describe, expect, test } from 'vitest';
import { type RunningServer, startServer, tempDir, writeToken } from '../packages/transport-socket/test/helpers/server.js';
import { runtimePaths } from './helpers/runtimes.js';

const paths = runtimePaths();
const tmp = tempDir();
const tokenFile = writeToken(tmp.path);
afterAll(() => tmp.remove());

describe.each([
  ['bun', [paths.bun]],
  ['deno', [paths.deno, 'run', '-A']],
])('the server under %s', (runtime, command) => {
  let server: RunningServer;
  afterAll(async () => {
    expect(await server?.stop()).toEqual({ code: 0, signal: null });
  });

  test.each(['socket', 'ws'])('%s= gateways run on the server runtime', async (kind) => {
    server ??= await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile], { runtime: command });
    const address = kind === 'socket' ? server.address : `ws://${server.address}`;
    const gw = await makeGateway(`${kind}=${address}//token-file=${tokenFile}`, { output: 'ignore' });
    const info = await gw.remoteInfo();
    expect(info.runtime).toBe(runtime);
    expect(info.ppid).toBe(server.pid);
    expect(server.children()).toContain(info.pid);
    const echo = gw.remoteExec('for await (const b of channel) await channel.send(b)');
    const bytes = new Uint8Array(4 << 20).map((_, i) => (i * 13) & 0xff);
    await echo.send(bytes);
    const back = (await echo.receive()) as Uint8Array;
    expect(back.length === bytes.length && back.every((b, i) => b === bytes[i])).toBe(true);
    await gw.exit();
    await server.waitLog(new RegExp(`pid ${info.pid}, remote exited with code 0`));
  });

  test('a wrong token is refused', async () => {
    const bad = writeToken(tmp.path, `bad-${runtime}`);
    await expect(makeGateway(`socket=${server.address}//token-file=${bad}`, { output: 'ignore' })).rejects.toThrow(/token/i);
  });
});
