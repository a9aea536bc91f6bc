/**
 * One gateway that runs test files: opened from its spec, it keeps one channel to
 * `runFilesRemotely` and runs one file at a time, resolving with that file's events (already
 * decoded, the file's own summary dropped, a crash turned into a failure). A gateway that dies
 * under a file makes that file a failure carrying the gateway's stderr; `restart()` opens a fresh
 * one of the same spec. `close()` ends the channel and the gateway (killed after a grace period);
 * `kill()` does not wait.
 */
import { type Channel, type Gateway, makeGateway } from '@tsnet/core';
import { EventLineDecoder, fileFailure, isFileSummary, type TestEvent } from './events.js';
import { junitToEvents } from './junit-events.js';
import { EVENTS_REPORTER, type RemoteMessage, runFilesRemotely } from './remote-runner.js';

export interface FileRun {
  events: TestEvent[];
  /** The file's process crashed, or the gateway died under it. */
  crashed: boolean;
  /** The gateway itself died (the slot must be restarted before it runs another file). */
  gatewayLost: boolean;
}

const STDERR_TAIL = 4000;

export class WorkerSlot {
  readonly spec: string;
  /** How results are labelled in `--dist each` (set by the run once every slot is open). */
  label: string;
  #gw: Gateway | undefined;
  #channel: Channel<unknown> | undefined;
  #runtime = 'node';
  #version = '';

  constructor(spec: string) {
    this.spec = spec;
    this.label = spec;
  }

  /** `node`, `bun` or `deno`: what the gateway runs (from the runner's hello). */
  get runtime(): string {
    return this.#runtime;
  }

  get version(): string {
    return this.#version;
  }

  get gateway(): Gateway | undefined {
    return this.#gw;
  }

  async open(): Promise<void> {
    this.#gw = await makeGateway(this.spec);
    this.#channel = this.#gw.remoteExec(runFilesRemotely as never, { reporter: EVENTS_REPORTER });
    const [kind, hello] = (await this.#channel.receive()) as RemoteMessage;
    if (kind !== 'hello') throw new Error(`the test runner on ${this.spec} answered ${kind} instead of hello`);
    this.#runtime = (hello as { runtime: string }).runtime;
    this.#version = (hello as { version: string }).version;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.open();
  }

  /** Runs `file` (an absolute path) with `cwd` as its working directory; `name` is how a crash is reported. */
  async run(file: string, name: string, cwd: string): Promise<FileRun> {
    const channel = this.#channel;
    if (!channel) throw new Error('WorkerSlot.run() before open()');
    const decoder = new EventLineDecoder(file);
    const events: TestEvent[] = [];
    let stderr = '';
    let junit: string | undefined;
    let sawFailure = false;
    const take = (list: TestEvent[]): void => {
      for (const e of list) {
        if (isFileSummary(e)) continue;
        if (e.type === 'test:fail') sawFailure = true;
        events.push(e);
      }
    };
    try {
      await channel.send({ file, cwd });
      for (;;) {
        const [kind, payload] = (await channel.receive()) as RemoteMessage;
        if (kind === 'ev') take(decoder.push(payload as string));
        else if (kind === 'out') {
          // Bun's runner prints a banner and Deno's its own report there: only the tests' output is forwarded.
          const message = this.runtime === 'bun' ? (payload as string).replace(/(^|\n)bun test v\d[^\n]*\n?/g, '$1') : (payload as string);
          if (this.runtime !== 'deno' && message !== '') events.push({ type: 'test:stdout', data: { file, message } });
        } else if (kind === 'err') {
          // Bun and Deno report there (their stderr is kept for a crash report only).
          stderr = (stderr + (payload as string)).slice(-STDERR_TAIL);
          if (this.runtime === 'node') events.push({ type: 'test:stderr', data: { file, message: payload as string } });
        } else if (kind === 'junit') junit = payload as string;
        else if (kind === 'done') {
          take(decoder.end());
          if (junit !== undefined) take(junitToEvents(junit, file));
          const { code, signal } = payload as { code: number | null; signal: string | null };
          const crashed = signal !== null || (code !== 0 && !sawFailure);
          if (crashed) {
            const reason = signal !== null ? `${name} was killed by ${signal}` : `${name} exited with code ${code}`;
            events.push(...fileFailure(name, file, reason, stderr, { exitCode: code, signal }));
          }
          return { events, crashed, gatewayLost: false };
        }
      }
    } catch (error) {
      const gwStderr = this.#gw?.stderr ?? '';
      const reason = `the gateway ${this.spec} was lost while running ${name}: ${(error as Error).message}`;
      events.push(...fileFailure(name, file, reason, `${stderr}${gwStderr}`.slice(-STDERR_TAIL)));
      return { events, crashed: true, gatewayLost: true };
    }
  }

  async close(timeout = 2000): Promise<void> {
    const gw = this.#gw;
    this.#gw = undefined;
    this.#channel?.close();
    this.#channel = undefined;
    if (gw && !gw.isDown) await gw.exit({ timeout }).catch(() => gw.kill());
  }

  async kill(): Promise<void> {
    const gw = this.#gw;
    this.#gw = undefined;
    this.#channel = undefined;
    if (gw) await gw.kill().catch(() => {});
  }
}
