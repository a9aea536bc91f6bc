/**
 * Connection sharing, like OpenSSH's ControlMaster: one connection per (user, host, port, jump
 * chain, identity, connection-level settings) serves every gateway to that host as separate exec
 * channels, and is closed when its last gateway releases it. Connections to jump hosts are shared
 * the same way; each hop's host key is checked against its own known_hosts under its own name.
 *
 * `acquire` rejects with the opening error (every waiter for the same attempt gets it; the next
 * acquire tries afresh). A connection that is lost, closed or full (MaxSessions) is not handed out
 * again.
 */
import type { HostConfig } from './host-config.js';
import { type ConnectionSettings, type ConnectionSlot, SshConnection } from './ssh-connection.js';

interface PoolEntry {
  key: string;
  refs: number;
  conn: SshConnection | null;
  ready: Promise<SshConnection>;
  dead: boolean;
}

/** What makes two gateways share a connection: the same hops, and the same connection-level settings. */
function chainKey(chain: HostConfig[], settings: ConnectionSettings): string {
  const hops = chain.map((c) => `${c.user}@${c.hostname}:${c.port}`).join(' -> ');
  const extra = [
    settings.identity !== undefined ? `identity ${settings.identity}` : '',
    settings.compression !== undefined ? `compress ${settings.compression}` : '',
    settings.keepalive !== undefined ? `keepalive ${settings.keepalive}` : '',
    settings.viaGateway ? `via gateway ${settings.viaGateway.id}` : '',
  ].filter(Boolean);
  return extra.length ? `${hops} [${extra.join(', ')}]` : hops;
}

/** Connections of one provider, shared by key. */
export class ConnectionPool {
  readonly #entries = new Map<string, PoolEntry[]>();

  #remove(entry: PoolEntry): void {
    const list = this.#entries.get(entry.key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.#entries.delete(entry.key);
  }

  /** Number of live or pending connections (tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (const list of this.#entries.values()) n += list.filter((e) => !e.dead).length;
    return n;
  }

  /** All live connections. */
  connections(): SshConnection[] {
    const out: SshConnection[] = [];
    for (const list of this.#entries.values()) for (const e of list) if (e.conn && !e.dead) out.push(e.conn);
    return out;
  }

  /**
   * A connection for the last host of `chain` (the hops before it are its ProxyJump path), shared
   * when one exists; the caller owns one reference and must release() it.
   */
  async acquire(chain: HostConfig[], settings: ConnectionSettings, options?: { fresh?: boolean }): Promise<SshConnection> {
    const cfg = chain[chain.length - 1]!;
    const key = chainKey(chain, settings);
    const list = this.#entries.get(key) ?? [];
    if (!options?.fresh) {
      for (const entry of list) {
        if (entry.dead || entry.conn?.full) continue;
        entry.refs++;
        try {
          const conn = await entry.ready;
          if (conn.isAlive) return conn;
        } catch {
          // that attempt failed for its owner too; try afresh below
        }
        entry.refs--;
      }
    }
    const entry: PoolEntry = { key, refs: 1, conn: null, ready: undefined as unknown as Promise<SshConnection>, dead: false };
    const slot: ConnectionSlot = {
      release: () => --entry.refs <= 0,
      retire: () => {
        entry.dead = true;
        this.#remove(entry);
      },
    };
    entry.ready = (async () => {
      let via: SshConnection | null = null;
      if (chain.length > 1) via = await this.acquire(chain.slice(0, -1), { ...settings, identity: undefined });
      try {
        const conn = await SshConnection.open(cfg, via, settings, slot);
        entry.conn = conn;
        if (entry.dead) conn.close();
        return conn;
      } catch (error) {
        via?.release();
        throw error;
      }
    })();
    list.push(entry);
    this.#entries.set(key, list);
    try {
      return await entry.ready;
    } catch (error) {
      entry.dead = true;
      this.#remove(entry);
      throw error;
    }
  }
}
