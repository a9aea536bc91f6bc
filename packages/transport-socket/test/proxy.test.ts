/**
 * ws= gateways through what sits between networks: a forward HTTP proxy (CONNECT, proxy= key) and
 * a reverse proxy / load balancer that forwards WebSocket upgrades by path. Both are small
 * in-test servers on loopback.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { makeGateway } from '@tsnet/core';
import { expect, test } from 'vitest';
import { useServer } from './helpers/server.js';

const served = useServer();
const { tokenFile } = served;

async function listen(s: net.Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

test('ws= through a forward HTTP proxy with proxy=http://HOST:PORT (CONNECT)', async () => {
  const tunnels: string[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')), Number(req.url!.slice(req.url!.lastIndexOf(':') + 1))];
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const port = await listen(proxy);
  try {
    const gw = await makeGateway(`ws=ws://${served.server.address}/tsnet//proxy=http://127.0.0.1:${port}//token-file=${tokenFile}`, { output: 'ignore' });
    expect(await gw.remoteExec('channel.send("through the proxy")').receive()).toBe('through the proxy');
    await gw.exit();
    expect(tunnels).toEqual([served.server.address]);
    // A proxy that refuses: a ConnectError naming the proxy and its answer.
    proxy.removeAllListeners('connect');
    proxy.on('connect', (_req: http.IncomingMessage, client: net.Socket) => client.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    await expect(makeGateway(`ws=ws://${served.server.address}//proxy=http://127.0.0.1:${port}//token-file=${tokenFile}`)).rejects.toMatchObject({
      code: 'TSNET_ERR_CONNECT',
      message: expect.stringContaining('refused the tunnel with HTTP 403'),
    });
  } finally {
    proxy.close();
  }
});

test('ws= through a reverse proxy that forwards upgrades on /tsnet to the server', async () => {
  let forwarded = 0;
  const reverse = http.createServer((_req, res) => res.writeHead(404).end('not here\n'));
  reverse.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    if (!req.url?.startsWith('/tsnet')) {
      client.destroy();
      return;
    }
    forwarded++;
    const upstream = net.connect(served.server.port, served.server.host, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\nX-Forwarded-For: ${client.remoteAddress}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const port = await listen(reverse);
  try {
    const gw = await makeGateway(`ws=ws://127.0.0.1:${port}/tsnet/gw//token-file=${tokenFile}`, { output: 'ignore' });
    const echo = gw.remoteExec('for await (const x of channel) await channel.send(x)');
    const big = Buffer.alloc(1 << 20, 3);
    await echo.send(big);
    expect(Buffer.compare((await echo.receive()) as Buffer, big)).toBe(0);
    await echo.close();
    await gw.exit();
    expect(forwarded).toBe(1);
    await expect(makeGateway(`ws=ws://127.0.0.1:${port}/elsewhere//token-file=${tokenFile}`)).rejects.toMatchObject({ code: 'TSNET_ERR_CONNECT' });
  } finally {
    reverse.close();
  }
});
