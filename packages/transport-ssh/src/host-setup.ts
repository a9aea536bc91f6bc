/**
 * What the first gateway to a host learns there, kept for the next gateways to that host: the
 * absolute path its login shell resolved `node` to, and the environment that login shell
 * exported. A later gateway then starts without a login shell (profiles, nvm, asdf…), which is
 * most of a shared-connection start: it costs one exec channel plus the runtime's start.
 *
 * Contract:
 * - one learner per key at a time: `take()` while a learning start is under way waits for it, so
 *   four gateways opened at once to a new host run the login shell once;
 * - a learner whose start fails leaves the key unknown; the next waiter becomes the learner;
 * - a learner whose start worked but reported nothing usable (an environment over MAX_ENV_BYTES, a
 *   node that is not an absolute path) marks the key as not learnable: later gateways start with
 *   the login shell, all at once, without learning;
 * - `forget()` drops what is known (a start with it failed: the host changed); the caller then
 *   starts with the login shell again;
 * - the cache lives as long as its provider; entries are small (the environment is bounded by
 *   MAX_ENV_BYTES, larger ones are not kept).
 */

/** What a login-shell start found out about a host. */
export interface HostSetup {
  /** Absolute path of the runtime, as `command -v` in the login environment gave it. */
  node: string;
  /** The login environment as `export -p` printed it on that host (re-read by its /bin/sh). */
  env: string;
}

/** A learned environment larger than this is not kept: it would travel in every exec request. */
export const MAX_ENV_BYTES = 64 * 1024;

/**
 * What take() hands out: the setup to use; or the duty to learn it (then call `learn` with what
 * was found, `null` for nothing usable, `undefined` when the start failed); or neither (start
 * with the login shell, nothing to learn).
 */
export type Taken =
  | { setup: HostSetup; learn?: undefined }
  | { setup?: undefined; learn: (found: HostSetup | null | undefined) => void }
  | { setup?: undefined; learn?: undefined };

export class HostSetups {
  readonly #known = new Map<string, HostSetup | null>();
  readonly #learning = new Map<string, Promise<void>>();

  /** The setup for `key`, waiting for a learner under way; or the duty to learn it. */
  async take(key: string, signal?: AbortSignal): Promise<Taken> {
    for (;;) {
      signal?.throwIfAborted();
      const known = this.#known.get(key);
      if (known) return { setup: known };
      if (known === null) return {};
      const under = this.#learning.get(key);
      if (!under) break;
      await abortable(under, signal);
    }
    let settle!: () => void;
    this.#learning.set(
      key,
      new Promise<void>((r) => {
        settle = r;
      }),
    );
    let once = false;
    return {
      learn: (found) => {
        if (once) return;
        once = true;
        if (found !== undefined) this.#known.set(key, found);
        this.#learning.delete(key);
        settle();
      },
    };
  }

  forget(key: string, setup: HostSetup): void {
    if (this.#known.get(key) === setup) this.#known.delete(key);
  }

  get size(): number {
    return this.#known.size;
  }
}

function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/**
 * Reads a learning start's marker line tail: `ENVHEX PATH`. Null when it carries nothing
 * usable (no absolute path, an odd hex string, an environment over MAX_ENV_BYTES).
 */
export function parseLearned(extra: string): HostSetup | null {
  const space = extra.indexOf(' ');
  if (space === -1) return null;
  const hex = extra.slice(0, space);
  const node = extra.slice(space + 1);
  if (!node.startsWith('/') || hex.length % 2 !== 0 || hex.length > 2 * MAX_ENV_BYTES || !/^[0-9a-f]*$/i.test(hex)) return null;
  return { node, env: Buffer.from(hex, 'hex').toString('utf8') };
}
