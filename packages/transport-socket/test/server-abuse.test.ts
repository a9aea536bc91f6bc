/**
 * Hostile and broken clients against the real server: wrong or no token, a replayed handshake,
 * garbage, slowloris, a thousand dropped connections. None of them may run code (no child
 * process appears, a marker file stays absent) or take the server down, and a valid client is
 * served meanwhile.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { socketProtocol } from '@tsnet/bootstrap';
import { AuthenticationError, type Gateway, makeGateway, PROTOCOL_VERSION } from '@tsnet/core';
import { beforeAll, expect, test } from 'vitest';
import { useServer, writeToken } from './helpers/server.js';

const served = useServer(() => ['--handshake-timeout', '2000', '--max-pending', '4']);
const { tokenFile } = served;
const wrongTokenFile = writeToken(served.dir, 'wrong');
const marker = join(served.dir, 'marker');
let spec: string;

beforeAll(() => {
  spec = `socket=${served.server.address}//token-file=${tokenFile}`;
});

/** Connects, writes `data` (if any), and resolves with everything received once the server closed. */
function rawExchange(data: Buffer | string | undefined, port = served.server.port): Promise<{ received: string; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let received = '';
    let error: string | undefined;
    s.on('data', (d) => {
      received += d.toString('latin1');
    });
    s.on('error', (e) => {
      error = e.message;
    });
    s.on('close', () => resolve(error ? { received, error } : { received }));
    if (data !== undefined) s.write(data);
  });
}

/** A bootstrap preamble whose "bundle" writes the marker file: if it ever runs, the file exists. */
function evilPreamble(): Buffer {
  const code = Buffer.from(`require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`);
  const hash = createHash('sha256').update(code).digest('hex');
  return Buffer.concat([Buffer.from(`TSNET1 ${code.length} ${hash} {"wireFd":3,"output":"frames"}\n`), code]);
}

async function echoOnce(gw: Gateway, value: unknown): Promise<void> {
  const ch = gw.remoteExec('channel.send(await channel.receive())');
  await ch.send(value);
  expect(await ch.receive()).toEqual(value);
}

test('wrong token: TSNET_ERR_AUTH, nothing started', async () => {
  const idle = await served.server.settledChildren(); // the spare child, waiting
  expect(idle).toHaveLength(1);
  const denied = await makeGateway(`socket=${served.server.address}//token-file=${wrongTokenFile}`).catch((e: unknown) => e);
  expect(denied).toBeInstanceOf(AuthenticationError);
  expect(denied).toMatchObject({
    code: 'TSNET_ERR_AUTH',
    methods: [`token (token-file=${wrongTokenFile})`],
    message: expect.stringContaining(`refused the token from token-file=${wrongTokenFile}`),
  });
  await expect(makeGateway(`ws=ws://${served.server.address}/x//token-file=${wrongTokenFile}`)).rejects.toMatchObject({ code: 'TSNET_ERR_AUTH' });
  await served.server.waitLog(/ tcp: refused: wrong token/);
  await served.server.waitLog(/ ws: refused: wrong token/);
  expect(await served.server.settledChildren()).toEqual(idle);
});

test('no token: TSNET_ERR_AUTH saying how to give one', async () => {
  const idle = await served.server.settledChildren();
  const missing = await makeGateway(`socket=${served.server.address}`).catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(AuthenticationError);
  expect(missing).toMatchObject({ code: 'TSNET_ERR_AUTH', methods: [], message: expect.stringContaining('token-file=PATH') });
  // A client that claims there is nothing to prove.
  const nonce = socketProtocol.makeNonce();
  const { received } = await rawExchange(`${socketProtocol.clientHello(nonce)}AUTH -\n`);
  expect(received).toMatch(/^TSNET-SERVER\/1 .*\nDENIED /s);
  await served.server.waitLog(/refused: no token given/);
  expect(await served.server.settledChildren()).toEqual(idle);
});

test('a recorded session replayed byte for byte is refused and runs nothing', async () => {
  const recorded: Buffer[] = [];
  const proxy = net.createServer((client) => {
    const upstream = net.connect(served.server.port, '127.0.0.1');
    client.on('data', (d) => {
      recorded.push(d);
      upstream.write(d);
    });
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    const port = (proxy.address() as net.AddressInfo).port;
    const gw = await makeGateway(`socket=127.0.0.1:${port}//token-file=${tokenFile}`, { output: 'ignore' });
    await gw.remoteExec(`require('fs').appendFileSync(${JSON.stringify(marker)}, 'ran\\n'); channel.send(1)`).receive();
    await gw.exit();
  } finally {
    proxy.close();
  }
  expect(readFileSync(marker, 'utf8')).toBe('ran\n');
  const idle = await served.server.settledChildren();
  const { received } = await rawExchange(Buffer.concat(recorded));
  expect(received).toMatch(/^TSNET-SERVER\/1 .*\nDENIED /s);
  expect(readFileSync(marker, 'utf8')).toBe('ran\n');
  expect(await served.server.settledChildren()).toEqual(idle);
  const { rmSync } = await import('node:fs');
  rmSync(marker);
});

test('garbage, a preamble without auth, HTTP without upgrade, an endless line: refused, nothing runs', async () => {
  const idle = await served.server.settledChildren();
  const cases: Array<[string, Buffer | string, RegExp]> = [
    ['random bytes', randomBytes(64 * 1024), /refused: not a tsnet client/],
    ['a bootstrap preamble straight away', evilPreamble(), /refused: not a tsnet client \(first bytes 54 53 4e 45 54 31/],
    [
      'the preamble after a hello, without AUTH',
      Buffer.concat([Buffer.from(socketProtocol.clientHello(socketProtocol.makeNonce())), evilPreamble()]),
      /refused: (no AUTH line|a handshake line longer)/,
    ],
    ['HTTP without upgrade', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', /refused: HTTP GET without a WebSocket upgrade/],
    ['a hello line that never ends', `TSNET-CLIENT/1 ${'a'.repeat(4096)}`, /refused: a handshake line longer than 512 bytes/],
    ['TLS on the plain server', Buffer.from('16030100c4010000c00303', 'hex'), /refused: TLS handshake on a server without TLS/],
  ];
  for (const [what, bytes, logged] of cases) {
    const { received } = await rawExchange(bytes);
    if (what === 'HTTP without upgrade') expect(received).toMatch(/^HTTP\/1\.1 426/);
    else expect(received, what).not.toMatch(/^OK|\nOK /);
    await served.server.waitLog(logged);
  }
  expect(existsSync(marker)).toBe(false);
  expect(await served.server.settledChildren()).toEqual(idle);
  const gw = await makeGateway(spec, { output: 'ignore' });
  await echoOnce(gw, 'still serving');
  await gw.exit();
});

test('a client of another socket protocol version gets the server version and is refused', async () => {
  const { received } = await rawExchange(`TSNET-CLIENT/99 ${socketProtocol.makeNonce()}\n`);
  expect(received).toMatch(/^TSNET-SERVER\/1 \{"protocol":\d+/);
  await served.server.waitLog(/refused: the client speaks socket protocol 99, this server 1/);
});

test('this client against a server of another version: TSNET_ERR_VERSION naming both', async () => {
  const fake = net.createServer((s) => {
    s.once('data', () => s.end(`TSNET-SERVER/2 {"protocol":7,"auth":"hmac-sha256","nonce":"${'0'.repeat(64)}"}\n`));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  try {
    const port = (fake.address() as net.AddressInfo).port;
    await expect(makeGateway(`socket=127.0.0.1:${port}//token-file=${tokenFile}`)).rejects.toMatchObject({
      code: 'TSNET_ERR_VERSION',
      message: expect.stringMatching(
        new RegExp(`socket protocol 2 \\(frame protocol 7\\), this client speaks socket protocol 1 \\(frame protocol ${PROTOCOL_VERSION}\\)`),
      ),
    });
  } finally {
    fake.close();
  }
});

test('slowloris: connections trickling a byte a second are cut by the handshake timeout while a valid client is served', async () => {
  const hello = socketProtocol.clientHello(socketProtocol.makeNonce());
  // More tricklers than --max-pending (4): they are dropped (oldest first) or timed out, and
  // each is gone within a bound, whatever happens.
  const tricklers = Array.from({ length: 6 }, () => {
    const s = net.connect(served.server.port, '127.0.0.1');
    s.on('error', () => {});
    let i = 0;
    const timer = setInterval(() => {
      if (i < 30 && !s.destroyed) s.write(hello[i++]!);
    }, 1000);
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    return { s, timer, closed };
  });
  try {
    await new Promise((r) => setTimeout(r, 1200));
    const gw = await makeGateway(spec, { output: 'ignore' });
    await echoOnce(gw, { during: 'slowloris' });
    await gw.exit();
    const cut = Promise.all(tricklers.map((t) => t.closed));
    await expect(Promise.race([cut.then(() => 'all cut'), new Promise((r) => setTimeout(() => r('still open'), 15_000))])).resolves.toBe('all cut');
  } finally {
    for (const t of tricklers) {
      clearInterval(t.timer);
      t.s.destroy();
    }
  }
  await served.server.waitLog(/refused: handshake timeout \(2000 ms, waiting for the hello\)/);
  expect(await served.server.settledChildren()).toHaveLength(1); // the spare; the gateway is gone
});

test('1,000 connections opened and dropped: the server stays up and serves a valid client throughout', async () => {
  const gw = await makeGateway(spec, { output: 'ignore' });
  const { pid } = await gw.remoteInfo();
  const before = await served.server.settledChildren(); // the gateway's child and the spare
  expect(before).toContain(pid);
  const hello = socketProtocol.clientHello(socketProtocol.makeNonce());
  let opened = 0;
  const flood = (async () => {
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          return new Promise<void>((resolve) => {
            const s = net.connect(served.server.port, '127.0.0.1');
            s.on('error', () => {});
            s.on('close', () => resolve());
            s.on('connect', () => {
              opened++;
              // A third say nothing, a third send half a hello, a third garbage; then all vanish.
              if (i % 3 === 1) s.write(hello.slice(0, 20));
              if (i % 3 === 2) s.write(randomBytes(100));
              setImmediate(() => s.destroy());
            });
          });
        }),
      );
    }
  })();
  let echoes = 0;
  let flooding = true;
  void flood.finally(() => {
    flooding = false;
  });
  while (flooding && echoes < 10_000) {
    await echoOnce(gw, echoes);
    echoes++;
  }
  await flood;
  expect(opened).toBe(1000);
  expect(echoes).toBeGreaterThan(0);
  expect(served.server.proc.exitCode).toBeNull();
  expect(await served.server.settledChildren()).toEqual(before);
  await gw.exit();
  const after = await makeGateway(spec, { output: 'ignore' });
  await echoOnce(after, 'after the flood');
  await after.exit();
  expect(existsSync(marker)).toBe(false);
});

test('a flood of half-open connections that never speak does not cost legitimate gateways their slot', { timeout: 60_000 }, async () => {
  // --max-pending is 4: thousands of silent connections go through those slots while gateways
  // start; a gateway that has sent its hello is never the one dropped.
  let flooding = true;
  let opened = 0;
  const open = new Set<net.Socket>();
  const flood = (async () => {
    while (flooding && opened < 20_000) {
      await Promise.all(
        Array.from({ length: 40 }, () => {
          return new Promise<void>((resolve) => {
            const s = net.connect(served.server.port, '127.0.0.1');
            open.add(s);
            s.on('error', () => {});
            s.on('connect', () => {
              opened++;
              resolve();
            });
            s.on('close', () => {
              open.delete(s);
              resolve();
            });
          });
        }),
      );
    }
  })();
  const results: string[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const started = await Promise.allSettled(Array.from({ length: 3 }, () => makeGateway(spec, { output: 'ignore' })));
      for (const r of started) {
        if (r.status === 'fulfilled') {
          await echoOnce(r.value, i);
          await r.value.exit();
          results.push('ok');
        } else results.push(String((r.reason as Error).message));
      }
    }
  } finally {
    flooding = false;
    await flood;
    for (const s of open) s.destroy();
  }
  expect(opened).toBeGreaterThan(100);
  expect(results.filter((r) => r !== 'ok')).toEqual([]);
  expect(results).toHaveLength(15);
});
