/**
 * Progress of `tsnet rsync` on stderr (stdout keeps only the summary). On a terminal (and CI unset)
 * one cli-progress bar per gateway: files, bytes, rate and ETA, redrawn in place. Otherwise plain
 * lines, at most one per gateway per second plus one at each phase change, with no escape codes.
 * `stop()` leaves the bars' last state on screen (or prints nothing more) and is idempotent.
 */
import type { ProgressEvent } from '@tsnet/rsync';
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from './output.js';

export interface Progress {
  onProgress(event: ProgressEvent): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, env: NodeJS.ProcessEnv, gatewayIds: string[]): Progress {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return stream.isTTY && !ci ? new BarProgress(stream, gatewayIds) : new LineProgress(stream);
}

/** Rate and ETA from the bytes moved since the transfer began. */
class Rate {
  #start = 0;
  update(bytes: number, total: number): { rate: string; eta: string } {
    const now = performance.now();
    if (this.#start === 0) this.#start = now;
    const seconds = (now - this.#start) / 1000;
    const perSecond = seconds > 0.2 ? bytes / seconds : 0;
    return {
      rate: perSecond > 0 ? `${formatBytes(Math.round(perSecond))}/s` : '-',
      eta: perSecond > 0 ? formatDuration((total - bytes) / perSecond) : '-',
    };
  }
}

class BarProgress implements Progress {
  readonly #multi: cliProgress.MultiBar;
  readonly #bars = new Map<string, { bar: cliProgress.SingleBar; rate: Rate }>();
  readonly #width: number;
  #stopped = false;

  constructor(stream: NodeJS.WritableStream, gatewayIds: string[]) {
    this.#width = Math.max(...gatewayIds.map((id) => id.length));
    this.#multi = new cliProgress.MultiBar(
      {
        stream,
        format: '{gw} {bar} {percentage}% | {files}/{totalFiles} files | {done}/{size} | {rate} | ETA {remaining} {phase}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        fps: 10,
        autopadding: true,
        barCompleteChar: '█',
        barIncompleteChar: '░',
      },
      cliProgress.Presets.shades_classic,
    );
    for (const id of gatewayIds) {
      const bar = this.#multi.create(1, 0, this.#payload(id, { phase: 'scan', files: 0, totalFiles: 0, bytes: 0, totalBytes: 0 }, { rate: '-', eta: '-' }));
      this.#bars.set(id, { bar, rate: new Rate() });
    }
  }

  #payload(id: string, e: Omit<ProgressEvent, 'gatewayId'>, r: { rate: string; eta: string }): object {
    return {
      gw: id.padEnd(this.#width),
      files: e.files,
      totalFiles: e.totalFiles,
      done: formatBytes(e.bytes),
      size: formatBytes(e.totalBytes),
      rate: r.rate,
      remaining: e.phase === 'done' ? '0s' : r.eta,
      phase: e.phase === 'transfer' ? '' : e.phase === 'scan' ? '(scanning)' : '(done)',
    };
  }

  onProgress(event: ProgressEvent): void {
    if (this.#stopped) return;
    const entry = this.#bars.get(event.gatewayId);
    if (!entry) return;
    const total = Math.max(1, event.totalBytes);
    const value = event.phase === 'done' ? total : Math.min(event.bytes, total);
    const rate = event.phase === 'scan' ? { rate: '-', eta: '-' } : entry.rate.update(event.bytes, event.totalBytes);
    entry.bar.setTotal(total);
    entry.bar.update(value, this.#payload(event.gatewayId, event, rate));
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#multi.stop();
  }
}

class LineProgress implements Progress {
  readonly #stream: NodeJS.WritableStream;
  readonly #last = new Map<string, { phase: string; at: number }>();
  readonly #rates = new Map<string, Rate>();

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
  }

  onProgress(event: ProgressEvent): void {
    const now = performance.now();
    const last = this.#last.get(event.gatewayId);
    if (last && last.phase === event.phase && now - last.at < 1000) return;
    this.#last.set(event.gatewayId, { phase: event.phase, at: now });
    let rate = this.#rates.get(event.gatewayId);
    if (!rate) this.#rates.set(event.gatewayId, (rate = new Rate()));
    const { rate: r } = event.phase === 'scan' ? { rate: '-' } : rate.update(event.bytes, event.totalBytes);
    this.#stream.write(
      `${event.gatewayId}: ${event.phase} ${event.files}/${event.totalFiles} files, ${formatBytes(event.bytes)}/${formatBytes(event.totalBytes)}` +
        `${event.phase === 'transfer' ? `, ${r}` : ''}\n`,
    );
  }

  stop(): void {}
}
