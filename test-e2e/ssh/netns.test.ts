/**
 * Four hosts, each a network namespace with its own address and its own OpenSSH sshd: fan-out,
 * the seed's ssh examples on each, ProxyJump from one host to another, a host whose link is cut
 * mid-transfer (the other three finish), and a host whose key changed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Gateway, GatewayClosedError, Group, HostKeyError, registerTransport } from '@tsnet/core';
import { createSsh, ssh } from '@tsnet/transport-ssh';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { cleanupNetns, createNetHosts, cutLink, type NetHost, SUBNET } from '../helpers/netns.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

const N = 4;
const NODE = 'node=/usr/bin/node';
let hosts: NetHost[] = [];
const sshds: Sshd[] = [];
let dir: string;
let config: string;
let knownHosts: string;

function keyLine(s: Sshd): string {
  return s.hostKey.publicLine.split(' ').slice(0, 2).join(' ');
}

function writeClientConfig(): void {
  const blocks: string[] = [];
  for (const [i, s] of sshds.entries()) {
    blocks.push(`Host h${i + 1} h${i + 1}-via-h1`, `  HostName ${s.address}`, `  User ${s.user}`, `  IdentityFile ${s.userKey.privateFile}`);
  }
  blocks.push(
    'Host h*-via-h1',
    '  ProxyJump h1',
    'Host *',
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHosts}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
  );
  writeFileSync(config, `${blocks.join('\n')}\n`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsnet-netns-'));
  config = join(dir, 'ssh_config');
  knownHosts = join(dir, 'known_hosts');
  try {
    hosts = createNetHosts(N);
    for (const h of hosts) sshds.push(await startSshd({ address: h.address, netns: h.ns, port: 22 }));
  } catch (error) {
    await teardown();
    throw error;
  }
  writeFileSync(knownHosts, sshds.map((s) => `${s.address} ${keyLine(s)}\n`).join(''));
  writeClientConfig();
  registerTransport(createSsh({ configFile: config, agent: false }));
}, 60_000);

async function teardown(): Promise<void> {
  await Promise.allSettled(sshds.map((s) => s.stop()));
  cleanupNetns();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

afterAll(async () => {
  registerTransport(ssh);
  await teardown();
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
  writeClientConfig();
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
