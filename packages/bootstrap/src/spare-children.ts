/**
 * Children started ahead of time, so a gateway does not wait for Node to start: `take()` hands out
 * a waiting child that is still alive (or undefined: the session spawns its own) and starts a new
 * spare in its place on the next turn.
 *
 * A spare that dies is dropped and not replaced until the next gateway takes one, so a Node that
 * cannot start does not turn into a spawn loop; a failed spawn is logged, never thrown. After
 * `close()` no spare is started again (the waiting ones stay for take()); `killAll()` SIGKILLs the
 * process groups of the waiting ones.
 */
import type { ChildProcess } from 'node:child_process';
import { killGroup } from '@tsnet/core/worker';
import { spawnChild } from './session.js';

export class SpareChildren {
  readonly #count: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: (line: string) => void;
  readonly #ipc: boolean;
  readonly #waiting: ChildProcess[] = [];
  #closed = false;

  /** `ipc`: spawn the spares with an IPC channel, so that a connection can be handed to them. */
  constructor(options: { count: number; env: NodeJS.ProcessEnv; log(line: string): void; ipc: boolean }) {
    this.#ipc = options.ipc;
    this.#count = options.count;
    this.#env = options.env;
    this.#log = options.log;
  }

  /** A waiting spare child, if one is alive; a new spare is started in its place. */
  take(): ChildProcess | undefined {
    let spare: ChildProcess | undefined;
    while ((spare = this.#waiting.shift())) {
      if (spare.exitCode === null && spare.signalCode === null) break;
    }
    setImmediate(() => this.fill());
    return spare;
  }

  /** Starts spares until `count` wait. */
  fill(): void {
    while (!this.#closed && this.#waiting.length < this.#count) {
      let child: ChildProcess;
      try {
        child = spawnChild(this.#env, this.#ipc ? 'ipc' : undefined);
      } catch (error) {
        this.#log(`cannot start a spare child: ${(error as Error).message}`);
        return;
      }
      child.on('error', () => {});
      child.once('exit', () => {
        const i = this.#waiting.indexOf(child);
        if (i !== -1) this.#waiting.splice(i, 1);
      });
      this.#waiting.push(child);
    }
  }

  /** No more spares are started; the waiting ones can still be taken. */
  close(): void {
    this.#closed = true;
  }

  /** Kills the process groups of the waiting spares. */
  killAll(): void {
    for (const spare of this.#waiting.splice(0)) killGroup(spare);
  }
}
