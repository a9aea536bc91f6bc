/**
 * Four hosts, each a network namespace with its own address and its own OpenSSH sshd: fan-out,
 * the seed's ssh examples on each, ProxyJump from one host to another, a host whose link is cut
 * mid-transfer (the other three finish), and a host whose key changed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectError, type Gateway, GatewayClosedError, Group, HostKeyError, registerTransport } from '@tsnet/core';
import { createSsh, ssh } from '@tsnet/transport-ssh';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createFleet, type Fleet } from '../helpers/fleet.js';
import { cutLink, type NetHost, restoreLink, SUBNET } from '../helpers/netns.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

const N = 4;
const NODE = 'node=/usr/bin/node';
let fleet: Fleet;
let hosts: NetHost[] = [];
let sshds: Sshd[] = [];
let dir: string;

beforeAll(async () => {
  fleet = await createFleet(N);
  ({ hosts, sshds, dir } = fleet);
  registerTransport(createSsh({ configFile: fleet.config, agent: false }));
}, 60_000);

afterAll(async () => {
  registerTransport(ssh);
  await fleet?.teardown();
}, 60_000);

function spec(i: number, extra = ''): string {
  return `ssh=h${i}//${NODE}//id=h${i}${extra}`;
}

/** The server address the remote sees itself reached on, and the address it was reached from. */
const WHERE = 'const [from, , to] = process.env.SSH_CONNECTION.split(" "); channel.send({ from, to })';

test('fan out to all four hosts', async () => {
  const group = await Group.open([1, 2, 3, 4].map((i) => spec(i)));
  try {
    const answers = new Map<string, unknown>();
    for await (const [ch, item] of group.remoteExec(WHERE).makeReceiveQueue({ endmarker: null })) {
      if (item !== null) answers.set(ch.gateway.id, item);
    }
    expect(Object.fromEntries(answers)).toEqual(Object.fromEntries(hosts.map((h, i) => [`h${i + 1}`, { from: `${SUBNET}.1`, to: h.address }])));
  } finally {
    await group.terminate();
  }
});

test("the seed's ssh examples on each host: remote account information, file contents", async () => {
  const group = await Group.open([1, 2, 3, 4].map((i) => spec(i)));
  try {
    const file = join(dir, 'served.txt');
    writeFileSync(file, 'served content\n');
    for (const gw of group) {
      const info = gw.remoteExec('channel.send([process.platform, process.versions.node, process.pid])');
      const [platform, version, pid] = (await info.receive()) as [string, string, number];
      expect(platform).toBe('linux');
      expect(version).toBe(process.versions.node);
      expect(pid).toBe((await gw.remoteInfo()).pid);
      const files = gw.remoteExec('const fs = require("node:fs"); for await (const p of channel) await channel.send(fs.readFileSync(p, "utf8"));');
      await files.send(file);
      expect(await files.receive()).toBe('served content\n');
      await files.send('/etc/hostname');
      expect(await files.receive()).toBe(readFileSync('/etc/hostname', 'utf8'));
      await files.close();
    }
  } finally {
    await group.terminate();
  }
});

test('ProxyJump: through h1 to h3, each hop verified', async () => {
  const group = new Group();
  try {
    const gw = await group.makeGateway(`ssh=h3-via-h1//${NODE}`);
    expect(await gw.remoteExec(WHERE).receive()).toEqual({ from: hosts[0]!.address, to: hosts[2]!.address });
  } finally {
    await group.terminate();
  }
});

test('via=: h4 reached from h2 (the TCP connection starts on h2, SSH runs here)', async () => {
  const group = new Group();
  try {
    await group.makeGateway(spec(2));
    const gw = await group.makeGateway(`ssh=h4//${NODE}//via=h2`);
    expect(await gw.remoteExec(WHERE).receive()).toEqual({ from: hosts[1]!.address, to: hosts[3]!.address });
  } finally {
    await group.terminate();
  }
});

test('a fleet as one group: a dead spec skipped, fan-out, one host cut fails only its gateways within the keepalive bound', async () => {
  // Nothing listens on port 2222: refused at once. Two gateways per host, one SSH connection each.
  const dead = `ssh=${hosts[0]!.address}:2222//${NODE}//id=dead`;
  const live = [1, 2, 3, 4].flatMap((i) => [1, 2].map((j) => `ssh=h${i}//id=h${i}g${j}//keepalive=1`));
  const group = await Group.open([dead, ...live], { concurrency: 4, onError: 'skip' });
  const cut = hosts[2]!;
  try {
    expect(group.size).toBe(8);
    expect(group.failures.map((f) => f.spec)).toEqual([dead]);
    expect(group.failures[0]!.error).toBeInstanceOf(ConnectError);
    const mc = group.remoteExec<number>('for await (const x of channel) await channel.send(x * 2)');
    await mc.sendEach(1);
    expect(await mc.receiveEach()).toEqual(Array(8).fill(2));

    cutLink(cut);
    const cutAt = Date.now();
    const results = await Promise.allSettled(
      [...mc].map(async (ch) => {
        await ch.send(2);
        return ch.receive();
      }),
    );
    const settledAt = Date.now();
    for (const [i, ch] of [...mc].entries()) {
      const r = results[i]!;
      if (ch.gateway.id.startsWith('h3')) {
        expect(r.status).toBe('rejected');
        const error = (r as PromiseRejectedResult).reason as GatewayClosedError;
        expect(error).toBeInstanceOf(GatewayClosedError);
        expect(error.reason).toMatch(/no answer to keepalive within 3 s/);
      } else {
        expect(r).toEqual({ status: 'fulfilled', value: 4 });
      }
    }
    expect(settledAt - cutAt).toBeLessThan(15_000); // 3 s keepalive bound, slack for a loaded machine
    // the other six still work, and the group no longer has the cut host's gateways
    expect([...group].map((g) => g.id)).toEqual(live.map((s) => s.split('//')[1]!.slice(3)).filter((id) => !id.startsWith('h3')));
    expect(await group.remoteExec('channel.send(1)').receiveEach()).toEqual(Array(6).fill(1));
  } finally {
    restoreLink(cut);
    await group.terminate({ timeout: 1000 });
  }
});

test('a host cut off mid-transfer: its channels reject within the keepalive bound, the other three finish', async () => {
  const group = new Group();
  try {
    // h4 with keepalive=1 (× ServerAliveCountMax 3 = 3 s); the others with the default.
    const gws: Gateway[] = [];
    for (let i = 1; i <= N; i++) gws.push(await group.makeGateway(spec(i, i === N ? '//keepalive=1' : '')));
    const CHUNK = Buffer.alloc(256 * 1024, 7);
    const COUNT = 48; // 12 MiB per host: bounded
    let cutAt = 0;
    const results = await Promise.allSettled(
      gws.map(async (gw, i) => {
        const ch = gw.remoteExec('let n = 0; for (let c; (c = await channel.receive()) !== null; ) n += c.length; channel.send(n)');
        for (let k = 0; k < COUNT; k++) {
          await ch.send(CHUNK);
          if (i === N - 1 && k === 8) {
            cutLink(hosts[N - 1]!);
            cutAt = Date.now();
          }
        }
        await ch.send(null);
        return (await ch.receive()) as number;
      }),
    );
    const failedAt = Date.now();
    expect(results.slice(0, N - 1)).toEqual(Array.from({ length: N - 1 }, () => ({ status: 'fulfilled', value: COUNT * CHUNK.length })));
    const cut = results[N - 1]!;
    expect(cut.status).toBe('rejected');
    const error = (cut as PromiseRejectedResult).reason as GatewayClosedError;
    expect(error).toBeInstanceOf(GatewayClosedError);
    expect(error.reason).toMatch(/no answer to keepalive within 3 s/);
    expect(cutAt).toBeGreaterThan(0);
    expect(failedAt - cutAt).toBeLessThan(10_000); // 3 s bound plus slack for a loaded machine
    expect((await gws[N - 1]!.closed).reason).toMatch(/keepalive/);
  } finally {
    await group.terminate({ timeout: 1000 });
  }
});

test('a host whose key changed is refused, showing both fingerprints', async () => {
  // h2 is reinstalled: a new sshd with a new host key on the same address.
  const old = sshds[1]!;
  await old.stop();
  const fresh = await startSshd({ address: hosts[1]!.address, netns: hosts[1]!.ns, port: 22 });
  sshds[1] = fresh;
  fleet.writeClientConfig();
  const group = new Group();
  try {
    const error = (await group.makeGateway(spec(2)).catch((e: unknown) => e)) as HostKeyError;
    expect(error).toBeInstanceOf(HostKeyError);
    expect(error.reason).toBe('changed');
    expect(error.host).toBe(hosts[1]!.address);
    expect(error.message).toContain(error.fingerprint);
    expect(error.knownFingerprints).toHaveLength(1);
    expect(error.message).toContain(error.knownFingerprints[0]!.split(' ')[1]);
    // the other hosts are unaffected
    const gw = await group.makeGateway(spec(1));
    expect(await gw.remoteExec('channel.send(1)').receive()).toBe(1);
  } finally {
    await group.terminate();
  }
});
