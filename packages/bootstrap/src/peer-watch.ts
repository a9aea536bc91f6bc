/**
 * Watches the TCP state of connections the socket server handed to a child, without reading them
 * (a read would take bytes that are the child's). Linux only: a socket's fd maps to its inode
 * (`/proc/self/fd/N` → `socket:[INODE]`), and `/proc/self/net/tcp` and `tcp6` give each inode's
 * state. ESTABLISHED means the client is there; any other state (CLOSE_WAIT after its FIN, gone
 * from the table after its reset) means it went away: the client never half-closes
 * (socket-transport.ts), so its FIN is its end.
 *
 * One read of the two tables per tick serves every watched connection; the timer is unref'ed and
 * runs only while something is watched. The tables list every socket of the network namespace: on
 * a host with many connections the ticks space out (at most 5 % of one core goes to reading them,
 * and never less often than every 2 s), so a vanished client is noticed later, never not at all. `PeerWatch.open()` returns undefined where the tables
 * cannot be read (not Linux, no /proc): the server then keeps the relay. A failed read later counts
 * as "no news" (nothing is reported gone); the callback runs at most once per watch.
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** How often the tables are read while a handed-off connection exists (at the most often, and the least). */
const TICK_MS = 100;
const MAX_TICK_MS = 2000;
/** TCP_ESTABLISHED in the kernel's `st` column (hex). */
const ESTABLISHED = '01';
const TABLES = ['/proc/self/net/tcp', '/proc/self/net/tcp6'];

export class PeerWatch {
  readonly #watched = new Map<string, () => void>();
  #timer: NodeJS.Timeout | undefined;

  private constructor() {}

  /** A watcher, or undefined where the TCP tables cannot be read. */
  static open(): PeerWatch | undefined {
    try {
      readFileSync(TABLES[0]!, 'latin1');
      return new PeerWatch();
    } catch {
      return undefined;
    }
  }

  /** The socket's inode (as the tables print it), or undefined when its fd cannot be mapped. */
  inodeOf(socket: unknown): string | undefined {
    const fd = (socket as { _handle?: { fd?: unknown } | null })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return undefined;
    try {
      return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    } catch {
      return undefined;
    }
  }

  /** True while the connection is ESTABLISHED (one read of the tables). */
  connected(inode: string): boolean {
    return this.#states()?.get(inode) === ESTABLISHED;
  }

  /** Calls `onGone` once the peer of `inode` went away; the returned function stops watching. */
  watch(inode: string, onGone: () => void): () => void {
    this.#watched.set(inode, onGone);
    if (!this.#timer) this.#schedule(TICK_MS);
    return () => this.#forget(inode, onGone);
  }

  #forget(inode: string, onGone: () => void): void {
    if (this.#watched.get(inode) !== onGone) return;
    this.#watched.delete(inode);
    if (this.#watched.size === 0 && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const t0 = performance.now();
      this.#tick();
      // 20 × the read's cost: reading the tables takes at most 5 % of the time.
      if (this.#watched.size > 0 && !this.#timer) this.#schedule(Math.min(MAX_TICK_MS, Math.max(TICK_MS, 20 * (performance.now() - t0))));
    }, ms).unref();
  }

  #tick(): void {
    const states = this.#states();
    if (!states) return;
    for (const [inode, onGone] of [...this.#watched]) {
      if (states.get(inode) === ESTABLISHED) continue;
      this.#forget(inode, onGone);
      onGone();
    }
  }

  /** inode → state of every socket in the tables; undefined when the IPv4 table cannot be read. */
  #states(): Map<string, string> | undefined {
    const states = new Map<string, string>();
    for (const table of TABLES) {
      let text: string;
      try {
        text = readFileSync(table, 'latin1');
      } catch {
        if (table === TABLES[0]) return undefined;
        continue; // no IPv6 in this kernel
      }
      // "sl local rem st tx:rx tr:when retrnsmt uid timeout inode …": st is field 3, inode field 9.
      for (const line of text.split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f.length > 9 && f[9] !== '0') states.set(f[9]!, f[3]!);
      }
    }
    return states;
  }
}
