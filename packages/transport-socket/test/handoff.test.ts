/**
 * The fd handoff, the server's default for plain TCP on Node: after authentication the connection
 * becomes the child's own (spawned with it as fd 3, or passed to a waiting spare over IPC), so the
 * server is out of the data path. Every case runs on both paths (--spare 0 and --spare 1). Real
 * server, real children, real sockets; what is checked is what the host sees in /proc.
 */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { type Gateway, makeGateway } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, isAlive, type RunningServer, startServer, tcpPortsOf, tempDir, writeToken } from './helpers/server.js';

const tmp = tempDir();
const tokenFile = writeToken(tmp.path);

afterAll(() => tmp.remove());

async function echoOnce(gw: Gateway, value: unknown): Promise<void> {
  const ch = gw.remoteExec('channel.send(await channel.receive())');
  await ch.send(value);
  expect(await ch.receive()).toEqual(value);
}

describe.each([
  ['spawned with the connection', '0'],
  ['a spare, over IPC', '1'],
])('handoff to %s', (_path, spares) => {
  let server: RunningServer;
  let spec: string;

  beforeAll(async () => {
    server = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--spare', spares, '--handshake-timeout', '2000', '--max-pending', '4']);
    spec = `socket=${server.address}//token-file=${tokenFile}`;
  });

  afterAll(async () => {
    await server?.stop();
  });

  test('the child reads and writes the connection itself; console and native output and the exit code still arrive', async () => {
    const gw = await makeGateway(spec, { output: 'ignore' });
    const lines: string[] = [];
    gw.onOutput((stream, text) => lines.push(`${stream}:${text}`));
    const { pid, ppid } = await gw.remoteInfo();
    expect(ppid).toBe(server.pid);
    // The child holds the server's end of the client's TCP connection itself (no pipe in between), as
    // its fd 3 on both paths: remote code that writes the wire by number reaches the client.
    expect(tcpPortsOf(pid, 3)).toEqual([server.port]);
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
    const { pid } = await gw.remoteInfo();
    await gw.exit();
    expect(await gw.closed).toMatchObject({ exitCode: 0 });
    // The client's end after the TERMINATE is not taken for a client that went away.
    expect(await server.waitLog(new RegExp(`pid ${pid}, `))).toMatch(/remote exited with code 0$/);

    // As with the relay: the stop's TERMINATE (here on the child's control stream) ends an idle child with code 0.
    const own = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--spare', spares]);
    const other = await makeGateway(`socket=${own.address}//token-file=${tokenFile}`, { output: 'ignore' });
    await echoOnce(other, 'before the stop');
    const stopped = own.stop();
    expect(await other.closed).toMatchObject({ exitCode: 0 });
    expect(await stopped).toMatchObject({ code: 0 });
  });

  test('clients that vanish before, during and right after the handoff leave no child and do not stop the server', async () => {
    // Those that authenticated took the spare (if any), which was replaced: count, not pids.
    const before = (await server.settledChildren()).length;
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
    expect(await server.settledChildren()).toHaveLength(before);
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

  test('a busy remote whose client is killed (gw.kill()) is killed at once by the server, though it never reads its socket', async () => {
    const gw = await makeGateway(spec, { output: 'ignore' });
    const { pid } = await gw.remoteInfo();
    const busy = gw.remoteExec('await channel.send("busy"); for (;;) {}');
    expect(await busy.receive()).toBe('busy');
    await gw.kill();
    await eventually(() => !isAlive(pid), 10_000, 'the busy remote is killed');
    await server.waitLog(new RegExp(`pid ${pid}, the client went away; remote killed`));
  });

  test('a busy remote killed by a signal: the gateway reports the signal, as with the relay', async () => {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const gw = await makeGateway(spec, { output: 'ignore' });
      const { pid } = await gw.remoteInfo();
      const busy = gw.remoteExec('await channel.send("busy"); for (;;) {}');
      expect(await busy.receive()).toBe('busy');
      const pending = gw.remoteExec('await channel.receive()').receive();
      process.kill(pid, signal);
      await expect(pending).rejects.toMatchObject({ code: 'TSNET_ERR_GATEWAY_CLOSED', signal, message: expect.stringContaining(`killed by ${signal}`) });
      expect(await gw.closed).toMatchObject({ signal, reason: expect.stringContaining(`killed by ${signal}`) });
      await server.waitLog(new RegExp(`asked how #\\d+ was killed by ${signal}`));
    }
  });

  test('a remote killed in the middle of sending large items: what arrived is intact, and the signal is reported', async () => {
    const gw = await makeGateway(spec, { output: 'ignore' });
    const { pid } = await gw.remoteInfo();
    // 1 MiB items, each filled with its own number: a cut frame cannot pass for a whole one.
    const ch = gw.remoteExec('for (let i = 1; i <= 2000; i++) await channel.send(new Uint8Array(1 << 20).fill(i % 256))');
    let got = 0;
    let killed = false;
    const received = (async () => {
      for (;;) {
        const item = (await ch.receive()) as Uint8Array;
        got++;
        expect(item.length).toBe(1 << 20);
        expect(item.every((b) => b === got % 256)).toBe(true);
        if (got === 5 && !killed) {
          killed = true;
          process.kill(pid, 'SIGKILL');
        }
      }
    })();
    await expect(received).rejects.toMatchObject({ code: 'TSNET_ERR_GATEWAY_CLOSED', signal: 'SIGKILL' });
    expect(got).toBeGreaterThanOrEqual(5);
    expect(await gw.closed).toMatchObject({ signal: 'SIGKILL' });
  });
});

test('a spare that gets no socket (a WebSocket client, relayed) serves as before, relayed by the server', async () => {
  const own = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--spare', '1']);
  process.env.TSNET_TEST_TOKEN_HANDOFF = readFileSync(tokenFile, 'utf8').trim();
  try {
    const [spare] = await own.settledChildren();
    const gw = await makeGateway(`ws=ws://${own.address}/x//token-env=TSNET_TEST_TOKEN_HANDOFF`, { output: 'ignore' });
    expect((await gw.remoteInfo()).pid).toBe(spare);
    // No TCP connection in the child: its fd 3 is still the pipe (a Unix socket pair) to the server.
    expect(tcpPortsOf(spare!)).toEqual([]);
    expect(tcpPortsOf(own.pid)).toContain(own.port);
    await echoOnce(gw, 'relayed through a spare');
    await gw.exit();
    expect(await gw.closed).toMatchObject({ exitCode: 0 });
  } finally {
    delete process.env.TSNET_TEST_TOKEN_HANDOFF;
    await own.stop();
  }
});

test('--relay keeps every byte in the server (the child has pipes only); --relay with --handoff is refused', async () => {
  const relay = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--relay']);
  try {
    const gw = await makeGateway(`socket=${relay.address}//token-file=${tokenFile}`, { output: 'ignore' });
    const { pid } = await gw.remoteInfo();
    expect(tcpPortsOf(pid)).toEqual([]);
    expect(tcpPortsOf(relay.pid)).toContain(relay.port);
    await echoOnce(gw, 'relayed');
    await gw.exit();
  } finally {
    await relay.stop();
  }
  const both = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--relay', '--handoff']).catch((e: Error) => e);
  expect(String(both)).toMatch(/--relay contradicts --handoff/);
});
