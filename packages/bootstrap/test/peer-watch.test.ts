// The TCP-state watcher of handed-off connections, on real loopback TCP: an end (FIN) and a reset
// of the peer are both seen without reading the socket; an open connection is not reported.
import * as net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PeerWatch } from '../src/peer-watch.js';

let server: net.Server;
const accepted: net.Socket[] = [];

beforeAll(async () => {
  server = net.createServer((s) => {
    s.on('error', () => {});
    s.pause(); // never read: the watcher must see the peer without it
    accepted.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

afterAll(() => {
  for (const s of accepted) s.destroy();
  server.close();
});

async function pair(host = '127.0.0.1'): Promise<{ client: net.Socket; served: net.Socket }> {
  const n = accepted.length;
  const client = net.connect((server.address() as net.AddressInfo).port, host);
  client.on('error', () => {});
  await new Promise((r) => client.once('connect', r));
  while (accepted.length === n) await new Promise((r) => setTimeout(r, 5));
  return { client, served: accepted[accepted.length - 1]! };
}

function gone(watch: PeerWatch, inode: string): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => watch.watch(inode, () => resolve(Date.now() - t0)));
}

test('an open connection is ESTABLISHED; the peer ending it or resetting it is reported once', async () => {
  const watch = PeerWatch.open();
  expect(watch).toBeDefined();
  for (const how of ['end', 'reset'] as const) {
    const { client, served } = await pair();
    const inode = watch!.inodeOf(served)!;
    expect(inode).toMatch(/^\d+$/);
    expect(watch!.connected(inode)).toBe(true);
    let calls = 0;
    const reported = gone(watch!, inode).then((ms) => {
      calls++;
      return ms;
    });
    // Nothing is reported while the peer is there.
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(0);
    if (how === 'end') client.end();
    else client.resetAndDestroy();
    await reported;
    expect(watch!.connected(inode)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(1);
  }
});

test('unwatching stops the reports; a socket without an fd has no inode', async () => {
  const watch = PeerWatch.open()!;
  const { client, served } = await pair();
  const inode = watch.inodeOf(served)!;
  let called = false;
  const stop = watch.watch(inode, () => {
    called = true;
  });
  stop();
  client.end();
  await new Promise((r) => setTimeout(r, 400));
  expect(called).toBe(false);
  expect(watch.inodeOf(new net.Socket())).toBeUndefined();
});
