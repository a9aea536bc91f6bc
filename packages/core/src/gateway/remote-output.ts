import { formatStderrTail } from '../errors.js';

export type OutputListener = (stream: 'stdout' | 'stderr', text: string, gatewayId: string) => void;

/** Lines of remote stderr kept for error messages. */
const STDERR_LINES = 40;

/**
 * A gateway's view of its remote's stdout and stderr text: it keeps the last lines of stderr for
 * error messages, hands every piece to the listeners, and with `inherit` writes whole lines to the
 * local stderr, each prefixed `[id] ` (or `[id stderr] `).
 *
 * Contract: a listener that throws is ignored (its failure is its own); text is never buffered
 * beyond one partial line per stream; `end()` writes out those partial lines.
 */
export class RemoteOutput {
  readonly #gatewayId: string;
  readonly #inherit: boolean;
  #tail: string[] = [];
  #partialLine = { stdout: '', stderr: '' };
  #listeners = new Set<OutputListener>();

  constructor(gatewayId: string, inherit: boolean) {
    this.#gatewayId = gatewayId;
    this.#inherit = inherit;
  }

  /** Last lines the remote wrote to stderr. */
  get stderr(): string {
    return this.#tail.join('\n');
  }

  /** The stderr tail for the end of an error message ('' when there is none). */
  tailText(): string {
    return formatStderrTail(this.stderr);
  }

  /** Adds lines to the stderr tail without printing them (a crash report's stack). */
  addToTail(lines: readonly string[]): void {
    this.#tail.push(...lines);
  }

  /** Listens to remote stdout/stderr text; returns an unsubscribe function. */
  listen(listener: OutputListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Remote text arrived. */
  push(stream: 'stdout' | 'stderr', text: string): void {
    if (stream === 'stderr') {
      const lines = (this.#partialLine.stderr + text).split('\n');
      for (const l of lines.slice(0, -1)) {
        this.#tail.push(l);
        if (this.#tail.length > STDERR_LINES) this.#tail.shift();
      }
    }
    for (const l of this.#listeners) {
      try {
        l(stream, text, this.#gatewayId);
      } catch {
        // a listener's failure is its own
      }
    }
    if (!this.#inherit) {
      if (stream === 'stderr') this.#partialLine.stderr = text.slice(text.lastIndexOf('\n') + 1);
      return;
    }
    const buffered = this.#partialLine[stream] + text;
    const cut = buffered.lastIndexOf('\n');
    this.#partialLine[stream] = buffered.slice(cut + 1);
    if (cut === -1) return;
    const prefix = `[${this.#gatewayId}${stream === 'stdout' ? '' : ' stderr'}] `;
    const body = buffered
      .slice(0, cut)
      .split('\n')
      .map((l) => prefix + l)
      .join('\n');
    if (typeof process !== 'undefined') process.stderr.write(`${body}\n`);
  }

  /** The remote is gone: a last partial line of each stream is completed. */
  end(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.#partialLine[s]) this.push(s, '\n');
    }
  }
}
