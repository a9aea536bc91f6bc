// A TCP connection opened from a master gateway's host (what ssh=…//via= rides on).
import { createServer } from 'node:net';
import { ConnectError, makeGateway } from '@tsnet/core';
import { connectTcpVia } from '@tsnet/core/transport';
import { expect, test } from 'vitest';

test('connectTcpVia relays bytes both ways and reports a refused port', async () => {
  const server = createServer((s) => s.pipe(s)); // echo
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const master = await makeGateway('popen', { output: 'ignore' });
  try {
    const sock = await connectTcpVia(master, '127.0.0.1', port);
    const payload = Buffer.alloc(3_000_000).map((_, i) => i & 0xff);
    const got: Buffer[] = [];
    let n = 0;
    const done = new Promise<void>((resolve) =>
      sock.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
        if (n >= payload.length) resolve();
      }),
    );
    sock.write(payload);
    await done;
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    sock.destroy();
    server.close();
    const err = await connectTcpVia(master, '127.0.0.1', port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toMatch(/cannot reach 127\.0\.0\.1:\d+ through gateway .*ECONNREFUSED/);
  } finally {
    await master.exit();
  }
});
