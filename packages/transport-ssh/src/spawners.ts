/**
 * Spawners on SSH hosts (see @tsnet/bootstrap's spawner.ts): a gateway started over exec is asked
 * to listen on a Unix socket of the host, and a later gateway with the same host, hops and runtime
 * word is started through it over a `direct-streamlocal` channel: no sshd session, so none of the
 * user's shell and rc files (bash reads ~/.bashrc for every command sshd runs).
 *
 * Contract:
 * - one spawner per key at a time; `take()` hands it out once its runtime answered (it listens
 *   before that), waiting for one whose runtime is starting; it is forgotten when its gateway
 *   closes (later gateways then start over exec, and the next of them hosts a new one);
 * - a spawned start that fails before the runtime printed its ready marker (streamlocal forwarding
 *   refused by the server, the socket gone, a refused request) rejects with `SpawnUnavailable`:
 *   the caller starts over exec. After MAX_UNREACHABLE refused channels in a row (sshd answers the same
 *   "open failed" for a socket that is gone and for forwarding it does not allow), gateways with
 *   that key start over exec without asking;
 * - a spawned gateway is what an exec-started one is (pid, process group, chdir/env/nice, stdout
 *   FIFO, stderr, exit status), but it is a child of the spawner's runtime: when the hosting
 *   gateway closes first, its exit status is no longer reported and its connection loss is no
 *   longer turned into a kill of its group (its input's end still ends it).
 */
import { randomBytes } from 'node:crypto';
import type { SshTransport } from './ssh-transport.js';

export interface SpawnerEndpoint {
  /** The directory the hosting runtime creates; its socket is `<dir>/s`. */
  dir: string;
  token: string;
}

/** After this many spawners of one key in a row could not be reached, that host's gateways start over exec. */
const MAX_UNREACHABLE = 2;

/** A spawned start that cannot happen: start over exec instead. */
export class SpawnUnavailable extends Error {
  override readonly name = 'SpawnUnavailable';
}

export class Spawners {
  readonly #live = new Map<string, SpawnerEndpoint>();
  /** Offered to a gateway that is starting: whether it is up, once known. */
  readonly #offered = new Map<string, Promise<boolean>>();
  readonly #settle = new Map<string, (up: boolean) => void>();
  /** Spawners per key that could not be reached (sshd answers "open failed" both for a socket that is gone and for forwarding it refuses). */
  readonly #unreachable = new Map<string, number>();

  /** The spawner for `key`; while its runtime is starting, once it answered (undefined if it did not). */
  async take(key: string, signal?: AbortSignal): Promise<SpawnerEndpoint | undefined> {
    const offered = this.#offered.get(key);
    if (offered && !this.#live.has(key)) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        void offered.then(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    return this.#live.get(key);
  }

  /** A spawner for the gateway about to start over exec to host, unless `key` has one (or one is on its way). */
  offer(key: string): SpawnerEndpoint | undefined {
    if (this.#live.has(key) || this.#offered.has(key) || (this.#unreachable.get(key) ?? 0) >= MAX_UNREACHABLE) return undefined;
    this.#offered.set(
      key,
      new Promise((r) => {
        this.#settle.set(key, r);
      }),
    );
    return { dir: `/tmp/tsnet-spawn-${randomBytes(12).toString('hex')}`, token: randomBytes(24).toString('hex') };
  }

  /** The hosting gateway's transport (its start script printed its marker), or undefined: its start failed. */
  settle(key: string, endpoint: SpawnerEndpoint, transport: SshTransport | undefined): void {
    const done = (up: boolean): void => {
      if (up) this.#live.set(key, endpoint);
      this.#offered.delete(key);
      this.#settle.get(key)?.(up);
      this.#settle.delete(key);
    };
    if (!transport) {
      done(false);
      return;
    }
    // It listens before its first frame: from then on, its socket is there.
    void transport.talking.then(done);
    void transport.closed.then(() => this.forget(key, endpoint));
  }

  /** A start through a spawner of `key` worked: a refusal before it was a race with a runtime's end. */
  reached(key: string): void {
    this.#unreachable.delete(key);
  }

  /** A start through `endpoint` failed (`unreachable`: its channel was refused). */
  forget(key: string, endpoint: SpawnerEndpoint, unreachable = false): void {
    if (this.#live.get(key) === endpoint) this.#live.delete(key);
    if (unreachable) this.#unreachable.set(key, (this.#unreachable.get(key) ?? 0) + 1);
  }
}
