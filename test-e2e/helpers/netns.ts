/**
 * Test hosts as Linux network namespaces: each has its own address on a private /24 made only for
 * the test (a bridge in the root namespace, one veth pair per host), so hosts reach each other
 * directly (ProxyJump) and the test reaches them all. Traffic goes only to these addresses.
 * Needs root (ip netns). Stale namespaces of a crashed earlier run are removed first.
 */
import { execFileSync } from 'node:child_process';

/**
 * Names carry this process's pid, so that runs side by side (two checkouts, CI and a developer) never
 * touch each other's hosts, and leftovers of a crashed run are recognised by their dead pid.
 * Namespaces: `tsnssh-<pid>-<i>`; links (15 characters at most): `tn<pid>br`, `tn<pid>v<i>` (and
 * `tn<pid>e<i>`, the host end, until it moves into its namespace as eth0).
 */
export const PREFIX = 'tsnssh';
const RUN = process.pid;
const BRIDGE = `tn${RUN}br`;
const NS_RE = new RegExp(`^${PREFIX}-(\\d+)-\\d+$`);
const LINK_RE = /^tn(\d+)(?:br|v\d+|e\d+)$/;
/** First three octets of the test subnet: TSNET_NETNS_SUBNET, else a free 10.77.X picked at run time. */
export let SUBNET = process.env.TSNET_NETNS_SUBNET ?? '';

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes this run's namespaces and links, and those of runs whose process is gone (a crashed
 * earlier run). Hosts of other live runs are left alone.
 */
export function cleanupNetns(): void {
  const ours = (pid: number) => pid === RUN || !alive(pid);
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = NS_RE.exec(name);
    if (m && ours(Number(m[1]))) quiet('netns', 'del', name);
  }
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '';
    const m = LINK_RE.exec(name);
    if (m && ours(Number(m[1]))) quiet('link', 'del', name);
  }
}

/** A private /24 no interface of this machine is on. */
function freeSubnet(): string {
  const used = ip('-4', '-o', 'addr', 'show');
  const candidates = Array.from({ length: 200 }, (_, i) => 20 + i).sort(() => Math.random() - 0.5);
  for (const x of candidates) if (!used.includes(` 10.77.${x}.`)) return `10.77.${x}`;
  throw new Error('no free 10.77.X.0/24 for the test hosts; set TSNET_NETNS_SUBNET');
}

/** Creates `n` hosts at SUBNET.11, .12, …; the root namespace is SUBNET.1 on the bridge. */
export function createNetHosts(n: number): NetHost[] {
  requireNetns();
  cleanupNetns();
  if (!SUBNET) SUBNET = freeSubnet();
  else if (ip('-4', '-o', 'addr', 'show').includes(` ${SUBNET}.`)) {
    throw new Error(`${SUBNET}.0/24 is already in use on this machine; set TSNET_NETNS_SUBNET to a free private /24 (first three octets)`);
  }
  try {
    ip('link', 'add', BRIDGE, 'type', 'bridge');
    ip('addr', 'add', `${SUBNET}.1/24`, 'dev', BRIDGE);
    ip('link', 'set', BRIDGE, 'up');
    const hosts: NetHost[] = [];
    for (let i = 1; i <= n; i++) {
      const ns = `${PREFIX}-${RUN}-${i}`;
      const outer = `tn${RUN}v${i}`;
      const peer = `tn${RUN}e${i}`;
      const iface = 'eth0'; // its name inside the host's own namespace
      const address = `${SUBNET}.${10 + i}`;
      ip('netns', 'add', ns);
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', peer, 'netns', ns);
      ip('-n', ns, 'link', 'set', peer, 'name', iface);
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

/** Brings a cut host back (its address and routes stay while the link is down). */
export function restoreLink(host: NetHost): void {
  ip('-n', host.ns, 'link', 'set', host.iface, 'up');
}

/**
 * Makes a host a black hole for connects: its link goes down and the root namespace keeps its MAC
 * address (a permanent neighbour entry on the bridge), so SYNs to it are sent and silently lost
 * (no ARP failure, no reset, no ICMP): a TCP connect to it neither completes nor fails. Undone
 * with the bridge by cleanupNetns().
 */
export function blackholeHost(host: NetHost): void {
  const mac = /link\/ether ([0-9a-f:]+)/.exec(ip('-n', host.ns, 'link', 'show', host.iface))?.[1];
  if (!mac) throw new Error(`no MAC address on ${host.iface} in ${host.ns}`);
  ip('neigh', 'replace', host.address, 'lladdr', mac, 'dev', BRIDGE, 'nud', 'permanent');
  cutLink(host);
}
