import { formatStderrTail } from '../errors.js';

export type OutputListener = (stream: 'stdout' | 'stderr', text: string, gatewayId: string) => void;

/** Lines of remote stderr kept for error messages. */
const STDERR_LINES = 40;
/** Characters of one line kept in the stderr tail (its end: where a message usually says what went wrong). */
const TAIL_LINE_CHARS = 2000;
/**
 * The longest line written out whole under `inherit`: a longer one (a progress bar redrawn with
 * `\r`, a dump without newlines) is written in pieces of this size, so nothing waits for its end.
 */
export const MAX_LINE = 64 * 1024;

/**
 * A gateway's view of its remote's stdout and stderr text: it keeps the last lines of stderr for
 * error messages, hands every piece to the listeners, and with `inherit` writes whole lines to the
 * local stderr, each prefixed `[id] ` (or `[id stderr] `).
 *
 * Contract: a listener that throws is ignored (its failure is its own); what is kept is bounded
 * whatever the remote writes (STDERR_LINES lines of at most TAIL_LINE_CHARS for the tail, one
 * partial line of at most MAX_LINE per stream), and each piece of text is looked at once (linear
 * time, however the remote splits its lines); `end()` writes out the partial lines.
 */
export class RemoteOutput {
  readonly #gatewayId: string;
  readonly #inherit: boolean;
  #tail: string[] = [];
  /** The stderr line being collected for the tail (bounded to its last TAIL_LINE_CHARS). */
  #tailPartial = '';
  #partialLine = { stdout: '', stderr: '' };
  /** A stream's last text did not end its line. */
  #open = { stdout: false, stderr: false };
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

  /** Adds lines to the stderr tail without printing them (a crash report's stack). Bounded like the rest of the tail. */
  addToTail(lines: readonly string[]): void {
    for (const l of lines) this.#addTailLine(l);
  }

  #addTailLine(line: string): void {
    this.#tail.push(line.length > TAIL_LINE_CHARS ? `…${line.slice(-TAIL_LINE_CHARS)}` : line);
    if (this.#tail.length > STDERR_LINES) this.#tail.shift();
  }

  /** Listens to remote stdout/stderr text; returns an unsubscribe function. */
  listen(listener: OutputListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Remote text arrived. */
  push(stream: 'stdout' | 'stderr', text: string): void {
    if (text.length > 0) this.#open[stream] = !text.endsWith('\n');
    if (stream === 'stderr') this.#collectTail(text);
    for (const l of this.#listeners) {
      try {
        l(stream, text, this.#gatewayId);
      } catch {
        // a listener's failure is its own
      }
    }
    if (this.#inherit) this.#print(stream, text);
  }

  #collectTail(text: string): void {
    const cut = text.lastIndexOf('\n');
    if (cut === -1) {
      this.#tailPartial = keepEnd(this.#tailPartial + text, TAIL_LINE_CHARS);
      return;
    }
    const lines = text.slice(0, cut).split('\n');
    lines[0] = this.#tailPartial + lines[0];
    // Only the last STDERR_LINES can stay in the tail.
    for (let i = Math.max(0, lines.length - STDERR_LINES); i < lines.length; i++) this.#addTailLine(lines[i]!);
    this.#tailPartial = keepEnd(text.slice(cut + 1), TAIL_LINE_CHARS);
  }

  #print(stream: 'stdout' | 'stderr', text: string): void {
    const prefix = `[${this.#gatewayId}${stream === 'stdout' ? '' : ' stderr'}] `;
    const cut = text.lastIndexOf('\n');
    if (cut === -1) {
      // No line ends here: collect (string concatenation is a rope, not a copy), in bounded pieces.
      let partial = this.#partialLine[stream] + text;
      while (partial.length >= MAX_LINE) {
        write(`${prefix}${partial.slice(0, MAX_LINE)}\n`);
        partial = partial.slice(MAX_LINE);
      }
      this.#partialLine[stream] = partial;
      return;
    }
    const body = (this.#partialLine[stream] + text.slice(0, cut))
      .split('\n')
      .map((l) => prefix + l)
      .join('\n');
    write(`${body}\n`);
    this.#partialLine[stream] = text.slice(cut + 1);
    if (this.#partialLine[stream].length >= MAX_LINE) this.#print(stream, '');
  }

  /** The remote is gone: a last partial line of each stream is completed. */
  end(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.#open[s]) this.push(s, '\n');
    }
  }
}

function keepEnd(s: string, n: number): string {
  return s.length > n ? s.slice(-n) : s;
}

function write(text: string): void {
  if (typeof process !== 'undefined') process.stderr.write(text);
}
