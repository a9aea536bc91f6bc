/**
 * A fleet of test hosts: `n` network-namespace hosts (netns.ts), each with its own OpenSSH sshd
 * (sshd.ts) on port 22 of its own address, plus one client ssh config naming them `h1` … `hN`
 * (and `hN-via-h1`, reached with ProxyJump through h1) and a known_hosts with every host key.
 * Used by the multi-host tests and by bench/fleet.mjs. `teardown()` stops every sshd, removes
 * the namespaces and links, and the temp dir; it is safe to call twice and after a failed setup.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupNetns, createNetHosts, type NetHost } from './netns.js';
import { type Sshd, type SshdOptions, startSshd } from './sshd.js';

export interface Fleet {
  hosts: NetHost[];
  sshds: Sshd[];
  /** Temp dir holding the client config and known_hosts (and anything the caller puts there). */
  dir: string;
  /** Client ssh config: `Host h<i>` for each host. */
  config: string;
  knownHosts: string;
  /** Rewrites the client config (after an sshd was replaced in `sshds`); known_hosts keeps the keys of the first ones. */
  writeClientConfig(): void;
  teardown(): Promise<void>;
}

function keyLine(s: Sshd): string {
  return s.hostKey.publicLine.split(' ').slice(0, 2).join(' ');
}

/** How many sshd are started at once: each runs ssh-keygen twice, CPU the other hosts need too. */
const START_BATCH = 4;

export async function createFleet(n: number, options?: { sshdConfig?: SshdOptions['config'] }): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-fleet-'));
  const sshds: Sshd[] = [];
  let hosts: NetHost[] = [];
  let tornDown: Promise<void> | undefined;
  const teardown = () =>
    (tornDown ??= (async () => {
      await Promise.allSettled(sshds.map((s) => s.stop()));
      cleanupNetns();
      rmSync(dir, { recursive: true, force: true });
    })());
  const config = join(dir, 'ssh_config');
  const knownHosts = join(dir, 'known_hosts');
  const writeClientConfig = () => {
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
  };
  try {
    hosts = createNetHosts(n);
    for (let i = 0; i < hosts.length; i += START_BATCH) {
      const batch = hosts.slice(i, i + START_BATCH);
      const started = await Promise.allSettled(
        batch.map((h) => startSshd({ address: h.address, netns: h.ns, port: 22, ...(options?.sshdConfig ? { config: options.sshdConfig } : {}) })),
      );
      for (const r of started) if (r.status === 'fulfilled') sshds.push(r.value);
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    writeFileSync(knownHosts, sshds.map((s) => `${s.address} ${keyLine(s)}\n`).join(''));
    writeClientConfig();
  } catch (error) {
    await teardown();
    throw error;
  }
  return { hosts, sshds, dir, config, knownHosts, writeClientConfig, teardown };
}
