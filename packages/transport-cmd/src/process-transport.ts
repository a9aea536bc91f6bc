/**
 * A local child process as a Transport whose wire is its stdout (a tool such as sudo or
 * `docker exec` passes on only stdin, stdout and stderr). stderr is text for errors and
 * diagnostics, never data.
 *
 * Contract: `closed` settles once the child exited and its stdio closed (or 300 ms after the exit,
 * when a grandchild holds a pipe). When the wire ends while the child still runs (a client such as
 * `docker exec -i` waits for stdin to close after the command inside ended), stdin is closed, and
 * the child's process group is killed if it still runs a second later. Writes after the end are
 * dropped; `kill()` SIGKILLs the child's process group (the tool and what runs in it here; what runs
 * inside a container is the caller's to reach).
 */
import type { ChildProcess } from 'node:child_process';
import { killGroup, STDIO_GRACE_MS, type Transport, type TransportExit } from '@tsnet/core/transport';

const HANG_GRACE_MS = 1000;

export class ProcessTransport implements Transport {
  readonly label: string;
  readonly pid: number;
  readonly closed: Promise<TransportExit>;
  readonly #child: ChildProcess;
  readonly #release: (() => void) | undefined;
  #exited = false;

  /** `release`: called once the child ended (strikes it off the lifeline). */
  constructor(child: ChildProcess, label: string, release?: () => void) {
    this.#child = child;
    this.#release = release;
    this.pid = child.pid!;
    this.label = `${label}:${this.pid}`;
    const stdin = child.stdin!;
    stdin.on('error', () => {}); // EPIPE once the tool is gone: `closed` says why
    child.stdout!.on('error', () => {});
    child.stderr!.on('error', () => {});
    child.stdout!.once('end', () => {
      if (this.#exited) return;
      this.end();
      setTimeout(() => {
        if (!this.#exited) this.#killGroup();
      }, HANG_GRACE_MS).unref();
    });
    this.closed = new Promise<TransportExit>((resolve) => {
      let exit: TransportExit | undefined;
      const finish = () => {
        if (exit) resolve(exit);
      };
      child.once('exit', (code, signal) => {
        this.#exited = true;
        this.#release?.();
        exit = { code, signal };
        setTimeout(() => {
          for (const s of child.stdio) s?.destroy();
          finish();
        }, STDIO_GRACE_MS).unref();
      });
      child.once('close', finish);
    });
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.#child.stdout!.on('data', handler);
  }

  onDrain(handler: () => void): void {
    this.#child.stdin!.on('drain', handler);
  }

  onStderr(handler: (text: string) => void): void {
    const s = this.#child.stderr!;
    s.setEncoding('utf8');
    s.on('data', handler);
  }

  write(chunk: Uint8Array): boolean {
    const stdin = this.#child.stdin!;
    if (stdin.destroyed || stdin.writableEnded) return true;
    return stdin.write(chunk);
  }

  writev(chunks: Uint8Array[]): boolean {
    const stdin = this.#child.stdin!;
    if (stdin.destroyed || stdin.writableEnded) return true;
    stdin.cork();
    let ok = true;
    for (const c of chunks) ok = stdin.write(c);
    stdin.uncork();
    return ok;
  }

  end(): void {
    const stdin = this.#child.stdin!;
    if (!stdin.destroyed && !stdin.writableEnded) stdin.end();
  }

  ref(): void {
    this.#child.ref();
    for (const s of this.#child.stdio) (s as { ref?: () => void } | null)?.ref?.();
  }

  unref(): void {
    this.#child.unref();
    for (const s of this.#child.stdio) (s as { unref?: () => void } | null)?.unref?.();
  }

  async kill(): Promise<TransportExit> {
    if (!this.#exited) this.#killGroup();
    return this.closed;
  }

  #killGroup(): void {
    if (killGroup(this.pid)) return;
    try {
      this.#child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
