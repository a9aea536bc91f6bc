/**
 * `serve --handoff` (experimental): after authentication a plain TCP connection becomes the child's
 * own fd 3, so the server is out of the data path. Real server, real children, real sockets.
 */
import { readlinkSync } from 'node:fs';
import * as net from 'node:net';
import { type Gateway, makeGateway } from '@tsnet/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, type RunningServer, startServer, tempDir, writeToken } from './helpers/server.js';

const tmp = tempDir();
const tokenFile = writeToken(tmp.path);
let server: RunningServer;
let spec: string;

beforeAll(async () => {
  server = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--handoff', '--handshake-timeout', '2000', '--max-pending', '4']);
  spec = `socket=${server.address}//token-file=${tokenFile}`;
});

afterAll(async () => {
  await server?.stop();
  tmp.remove();
});

async function echoOnce(gw: Gateway, value: unknown): Promise<void> {
  const ch = gw.remoteExec('channel.send(await channel.receive())');
  await ch.send(value);
  expect(await ch.receive()).toEqual(value);
}

test('the child reads and writes the connection itself; console and native output and the exit code still arrive', async () => {
  const gw = await makeGateway(spec, { output: 'ignore' });
  const lines: string[] = [];
  gw.onOutput((stream, text) => lines.push(`${stream}:${text}`));
  const { pid, ppid } = await gw.remoteInfo();
  expect(ppid).toBe(server.pid);
  // fd 3 of the child is a TCP socket, not a pipe to the server.
  expect(readlinkSync(`/proc/${pid}/fd/3`)).toMatch(/^socket:/);
  const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
  const ch = gw.remoteExec(
    "console.log('via console'); require('node:fs').writeSync(1, 'native out\\n'); require('node:fs').writeSync(2, 'native err\\n'); channel.send(await channel.receive())",
  );
  await ch.send(big);
  // Compared as bytes: a deep toEqual of 3 MiB takes seconds.
  expect(Buffer.compare(Buffer.from(big), Buffer.from((await ch.receive()) as Uint8Array))).toBe(0);
  await eventually(() => lines.join('').includes('native err'), 10_000, 'native output arrives');
  const text = lines.join('');
  expect(text).toContain('stdout:via console');
  expect(text).toContain('stdout:native out');
  expect(text).toContain('stderr:native err');
  const pending = gw.remoteExec('await new Promise(() => {})').receive();
  gw.remoteExec('setTimeout(() => process.exit(3), 50)');
  await expect(pending).rejects.toMatchObject({ code: 'TSNET_ERR_GATEWAY_CLOSED', exitCode: 3 });
  expect(await gw.closed).toMatchObject({ exitCode: 3 });
});

test('gw.exit() ends a handed-off child; a server stop sends its TERMINATE on the control stream', async () => {
  const gw = await makeGateway(spec, { output: 'ignore' });
  await echoOnce(gw, 1);
  await gw.exit();
  expect(await gw.closed).toMatchObject({ exitCode: 0 });

  // As with the relay: the stop's TERMINATE (here on the child's control stream) ends an idle child with code 0.
  const own = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--handoff']);
  const other = await makeGateway(`socket=${own.address}//token-file=${tokenFile}`, { output: 'ignore' });
  await echoOnce(other, 'before the stop');
  const stopped = own.stop();
  expect(await other.closed).toMatchObject({ exitCode: 0 });
  expect(await stopped).toMatchObject({ code: 0 });
});

test('clients that vanish before, during and right after the handoff leave no child and do not stop the server', async () => {
  const before = await server.settledChildren();
  for (let i = 0; i < 12; i++) {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), i * 8);
    const gw = await makeGateway(spec, { signal: ac.signal, output: 'ignore' }).catch(() => undefined);
    gw?.kill?.();
  }
  // Half-open raw connections that authenticate nothing.
  await Promise.all(
    Array.from(
      { length: 5 },
      () =>
        new Promise<void>((r) =>
          net
            .connect(server.port, '127.0.0.1')
            .on('connect', function (this: net.Socket) {
              this.destroy();
              r();
            })
            .on('error', () => r()),
        ),
    ),
  );
  expect(await server.settledChildren()).toEqual(before);
  const gw = await makeGateway(spec, { output: 'ignore' });
  await echoOnce(gw, 'next client served');
  await gw.exit();
  expect(server.proc.exitCode).toBeNull();
});

test('1,000 connections opened and dropped while a handed-off client is served: its traffic is intact', async () => {
  const gw = await makeGateway(spec, { output: 'ignore' });
  const before = await server.settledChildren();
  let opened = 0;
  const flood = (async () => {
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from(
          { length: 50 },
          () =>
            new Promise<void>((resolve) => {
              const s = net.connect(server.port, '127.0.0.1');
              s.on('error', () => {});
              s.on('close', () => resolve());
              s.on('connect', () => {
                opened++;
                setImmediate(() => s.destroy());
              });
            }),
        ),
      );
    }
  })();
  let served = 0;
  let flooding = true;
  void flood.finally(() => {
    flooding = false;
  });
  while (flooding && served < 10_000) {
    await echoOnce(gw, { served, pad: 'x'.repeat(served % 5000) });
    served++;
  }
  await flood;
  expect(opened).toBe(1000);
  expect(served).toBeGreaterThan(0);
  expect(server.proc.exitCode).toBeNull();
  expect(await server.settledChildren()).toEqual(before);
  await gw.exit();
});
