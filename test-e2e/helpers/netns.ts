/**
 * Test hosts as Linux network namespaces: each has its own address on a private /24 made only for
 * the test (a bridge in the root namespace, one veth pair per host), so hosts reach each other
 * directly (ProxyJump) and the test reaches them all. Traffic goes only to these addresses.
 * Needs root (ip netns). Stale namespaces of a crashed earlier run are removed first.
 */
import { execFileSync } from 'node:child_process';

export const PREFIX = 'tsnssh';
const BRIDGE = `${PREFIX}-br`;
/** First three octets of the test subnet; override with TSNET_NETNS_SUBNET (e.g. 10.77.42). */
export const SUBNET = process.env.TSNET_NETNS_SUBNET ?? '10.77.42';

export interface NetHost {
  index: number;
  ns: string;
  address: string;
  /** The host's interface (inside its namespace). */
  iface: string;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function quiet(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

export function requireNetns(): void {
  if (process.getuid?.() !== 0) throw new Error('the multi-host SSH tests create network namespaces and must run as root');
  try {
    ip('netns', 'list');
  } catch (error) {
    throw new Error(`"ip netns" does not work here (${(error as Error).message}); install iproute2: apt-get install -y iproute2`);
  }
}

/** Removes every namespace and link this helper may have left behind. */
export function cleanupNetns(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(`${PREFIX}-`)) quiet('netns', 'del', name);
  }
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name?.startsWith(`${PREFIX}-`)) quiet('link', 'del', name);
  }
}

/** Creates `n` hosts at SUBNET.11, .12, …; the root namespace is SUBNET.1 on the bridge. */
export function createNetHosts(n: number): NetHost[] {
  requireNetns();
  cleanupNetns();
  const taken = ip('-4', '-o', 'addr', 'show').includes(` ${SUBNET}.`);
  if (taken) throw new Error(`${SUBNET}.0/24 is already in use on this machine; set TSNET_NETNS_SUBNET to a free private /24 (first three octets)`);
  try {
    ip('link', 'add', BRIDGE, 'type', 'bridge');
    ip('addr', 'add', `${SUBNET}.1/24`, 'dev', BRIDGE);
    ip('link', 'set', BRIDGE, 'up');
    const hosts: NetHost[] = [];
    for (let i = 1; i <= n; i++) {
      const ns = `${PREFIX}-${i}`;
      const outer = `${PREFIX}-v${i}`;
      const iface = `${PREFIX}-e${i}`;
      const address = `${SUBNET}.${10 + i}`;
      ip('netns', 'add', ns);
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', iface);
      ip('link', 'set', iface, 'netns', ns);
      ip('link', 'set', outer, 'master', BRIDGE);
      ip('link', 'set', outer, 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', iface);
      ip('-n', ns, 'link', 'set', iface, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      hosts.push({ index: i, ns, address, iface });
    }
    return hosts;
  } catch (error) {
    cleanupNetns();
    throw error;
  }
}

/** Cuts a host off: its interface goes down, so its packets are silently lost (a dead host). */
export function cutLink(host: NetHost): void {
  ip('-n', host.ns, 'link', 'set', host.iface, 'down');
}
