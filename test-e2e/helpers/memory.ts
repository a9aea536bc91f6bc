// Peak RSS of this process, sampled on a timer and wherever a test calls sample().
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const MiB = 1 << 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export class RssSampler {
  readonly base: number;
  #peak: number;
  #timer: ReturnType<typeof setInterval>;

  /**
   * Starts sampling after a full collection, so that the baseline is honest: what earlier tests
   * left for the collector is not this test's memory. (Backing stores are freed by a concurrent
   * sweeper, hence the pause and the second collection.)
   */
  static async start(intervalMs = 5): Promise<RssSampler> {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    return new RssSampler(intervalMs);
  }

  private constructor(intervalMs: number) {
    this.base = process.memoryUsage.rss();
    this.#peak = this.base;
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.#peak) this.#peak = rss;
  }

  /** Stops sampling; figures in MiB. */
  stop(): { baseMiB: number; peakMiB: number; growthMiB: number } {
    clearInterval(this.#timer);
    this.sample();
    return { baseMiB: round(this.base / MiB), peakMiB: round(this.#peak / MiB), growthMiB: round((this.#peak - this.base) / MiB) };
  }
}

/**
 * The same sampler as remote source: `rss.sample()` and `rss.stop()` in remote code. Paste it at
 * the top of a remoteExec string.
 */
export const REMOTE_RSS_SAMPLER = `
  const rss = (() => {
    const base = process.memoryUsage.rss();
    let peak = base;
    const sample = () => { const r = process.memoryUsage.rss(); if (r > peak) peak = r; };
    const timer = setInterval(sample, 5);
    const MiB = 1 << 20;
    const round = (x) => Math.round(x * 10) / 10;
    return { sample, stop() { clearInterval(timer); sample(); return { baseMiB: round(base / MiB), peakMiB: round(peak / MiB), growthMiB: round((peak - base) / MiB) }; } };
  })();
`;

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Prints a figure for the test log (the closing note quotes them). */
export function report(name: string, figures: Record<string, unknown>): void {
  process.stdout.write(`[measure] ${name}: ${JSON.stringify(figures)}\n`);
}
