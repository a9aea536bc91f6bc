/**
 * How the processes of ended sessions ended, for a client that asks afterwards (`AUTH <proof> EXIT
 * <session>`, see socket-protocol.ts). A session whose stream ended without the trailer frame (its
 * child killed by a signal after a handoff, when the server cannot know whether a frame was cut;
 * or, relayed, killed mid-frame) is "awaited": its client will ask, and a stopping server keeps
 * answering until every awaited question came or ASK_WINDOW_MS passed (`settled()`).
 *
 * Bounded: at most MAX_RECORDS, each kept RECORD_MS; the oldest go first. An answered record is
 * forgotten (one answer per session).
 */

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** How long a record is kept for a question. */
const RECORD_MS = 60_000;
const MAX_RECORDS = 1024;
/** How long a stopping server waits for the question of an awaited record. */
export const ASK_WINDOW_MS = 2000;

interface ExitRecord extends ExitStatus {
  /** The session's number in the server's log. */
  id: number;
  at: number;
  awaited: boolean;
}

export class ExitRecords {
  readonly #records = new Map<string, ExitRecord>();
  #waiters: Array<() => void> = [];

  add(session: string, id: number, status: ExitStatus, awaited: boolean): void {
    const now = Date.now();
    for (const [key, r] of this.#records) {
      if (now - r.at < RECORD_MS && this.#records.size < MAX_RECORDS) break;
      this.#records.delete(key); // Map order is insertion order: oldest first
    }
    this.#records.set(session, { ...status, id, at: now, awaited });
  }

  /** The record of `session` (forgotten from here on), or undefined. */
  take(session: string): (ExitStatus & { id: number }) | undefined {
    const r = this.#records.get(session);
    if (!r || Date.now() - r.at >= RECORD_MS) return undefined;
    this.#records.delete(session);
    if (r.awaited) this.#wake();
    return { code: r.code, signal: r.signal, id: r.id };
  }

  /** True while a client whose session ended without a trailer may still ask (within ASK_WINDOW_MS). */
  get awaiting(): boolean {
    const now = Date.now();
    for (const r of this.#records.values()) if (r.awaited && now - r.at < ASK_WINDOW_MS) return true;
    return false;
  }

  /** Resolves once nothing is awaiting (answered, or ASK_WINDOW_MS passed). */
  async settled(): Promise<void> {
    while (this.awaiting) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
