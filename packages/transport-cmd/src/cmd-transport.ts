/**
 * The Transport of a command gateway: the tool's process (here or on a via host) with the runtime
 * inside its target. Frames travel on the tool's stdin and stdout; stderr is text. The first stderr
 * line that starts with the marker (the prelude of the runtime command writes it, see
 * runtime-command.ts) resolves `ready` with the runtime's pid as the target sees it, and is not
 * passed on; everything before it is also kept in `earlyStderr` for the start-failure classifier.
 *
 * Contract: `ready` rejects when the tool ends before the marker. `kill()` ends stdin, runs the
 * type's kill helper inside the target when the runtime lives where the tool put it (a container,
 * another user: a SIGKILL of the local tool would leave it running; `podman exec`, `docker exec`,
 * `kubectl exec` and sudo forward no SIGKILL), then kills the tool's process group and resolves with
 * `closed`. The helper is bounded in time; a helper that fails changes nothing else.
 */
import { type Transport, type TransportExit, withTimeout } from '@tsnet/core/transport';

const KILL_HELPER_MS = 5000;

export interface CmdTransportOptions {
  marker: string;
  /** The runtime started inside the target, for messages when it fails to boot. */
  runtime?: { name: string; exe: string };
  /** Lines of stderr that are ours, not the tool's (sudo's password prompt): dropped. */
  dropLines?: string[];
  /** Kills the runtime inside its target by pid (the 'inside' reach); absent for 'group'. */
  killInside?: (pid: number) => Promise<unknown>;
}

export class CmdTransport implements Transport {
  readonly closed: Promise<TransportExit>;
  /** The runtime's pid as the target sees it, once it runs. */
  readonly ready: Promise<number>;
  readonly runtime: { readonly name: string; readonly exe: string } | undefined;
  readonly #inner: Transport;
  readonly #marker: string;
  readonly #drop: Set<string>;
  readonly #killInside: ((pid: number) => Promise<unknown>) | undefined;
  #resolveReady!: (pid: number) => void;
  #rejectReady!: (error: Error) => void;
  #synced = false;
  #partial = '';
  #early = '';
  #handler: ((text: string) => void) | undefined;
  #queued = '';
  #earlyListener: ((text: string) => void) | undefined;
  #remotePid: number | undefined;
  #killing: Promise<TransportExit> | undefined;
  #exit: TransportExit | undefined;

  constructor(inner: Transport, options: CmdTransportOptions) {
    this.#inner = inner;
    this.#marker = `${options.marker} `;
    this.#drop = new Set(options.dropLines ?? []);
    this.#killInside = options.killInside;
    this.runtime = options.runtime;
    this.ready = new Promise<number>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {});
    inner.onStderr?.((text) => this.#onStderr(text));
    this.closed = inner.closed.then((exit) => {
      this.#exit = exit;
      if (!this.#synced) {
        if (this.#partial) this.#early += this.#partial;
        this.#rejectReady(new Error(exit.reason ?? 'the command ended before the runtime started'));
      }
      if (this.#partial) this.#emit(this.#partial);
      this.#partial = '';
      return exit;
    });
  }

  get label(): string {
    return this.#inner.label;
  }

  /** The tool's pid on its host (the via relay's child for via=), where known. */
  get toolPid(): number | undefined {
    return this.#inner.pid;
  }

  /** The runtime's pid inside its target (from the marker), once known. */
  get remotePid(): number | undefined {
    return this.#remotePid;
  }

  /** What the tool wrote to stderr before the runtime ran (or before it ended). */
  get earlyStderr(): string {
    return this.#early + (this.#synced ? '' : this.#partial);
  }

  /** How the tool ended, once it did. */
  get exitInfo(): TransportExit | undefined {
    return this.#exit;
  }

  /** Called with each piece of stderr before the marker (the password prompt is watched this way). */
  onEarlyStderr(listener: (textSoFar: string) => void): void {
    this.#earlyListener = listener;
    // What arrived with the start (a via host relays it together with the spawn report) counts too.
    if (!this.#synced && this.earlyStderr) listener(this.earlyStderr);
  }

  #onStderr(text: string): void {
    if (this.#synced) {
      this.#emit(text);
      return;
    }
    this.#partial += text;
    for (;;) {
      const nl = this.#partial.indexOf('\n');
      if (nl === -1) break;
      const line = this.#partial.slice(0, nl);
      this.#partial = this.#partial.slice(nl + 1);
      if (line.startsWith(this.#marker)) {
        this.#synced = true;
        const pid = Number(line.slice(this.#marker.length));
        if (Number.isInteger(pid) && pid > 0) this.#remotePid = pid;
        this.#resolveReady(this.#remotePid ?? 0);
        if (this.#partial) this.#emit(this.#partial);
        this.#partial = '';
        return;
      }
      this.#early += `${line}\n`;
      if (!this.#drop.has(line)) this.#emit(`${line}\n`);
    }
    this.#earlyListener?.(this.#early + this.#partial);
  }

  #emit(text: string): void {
    if (this.#handler) this.#handler(text);
    else this.#queued += text;
  }

  onStderr(handler: (text: string) => void): void {
    this.#handler = handler;
    if (this.#queued) {
      const t = this.#queued;
      this.#queued = '';
      handler(t);
    }
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.#inner.onData(handler);
  }

  onDrain(handler: () => void): void {
    this.#inner.onDrain(handler);
  }

  write(chunk: Uint8Array): boolean {
    return this.#inner.write(chunk);
  }

  writev(chunks: Uint8Array[]): boolean {
    if (this.#inner.writev) return this.#inner.writev(chunks);
    let ok = true;
    for (const c of chunks) ok = this.#inner.write(c);
    return ok;
  }

  end(): void {
    this.#inner.end();
  }

  ref(): void {
    this.#inner.ref?.();
  }

  unref(): void {
    this.#inner.unref?.();
  }

  kill(): Promise<TransportExit> {
    this.#killing ??= (async () => {
      this.#inner.end();
      const pid = this.#remotePid;
      if (this.#killInside && pid !== undefined && !this.#exit) {
        await withTimeout(this.#killInside(pid), KILL_HELPER_MS).catch(() => {});
      }
      return this.#inner.kill();
    })();
    return this.#killing;
  }
}
