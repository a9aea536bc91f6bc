/**
 * Where the command's text goes. Results go to stdout and only results; diagnostics, progress and
 * remote stderr go to stderr. Writes wait for 'drain' so a slow reader (a pager, a pipe) slows the
 * remote sender down instead of buffering without bound; a closed stdout (EPIPE: `| head`) ends
 * the command quietly with exit code 0, as Unix tools do.
 */
import { inspect } from 'node:util';

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; hasColors?: () => boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; hasColors?: () => boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
}

/** Colors on a terminal or with FORCE_COLOR, never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export function useColor(stream: Streams['stdout'], env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (!stream.isTTY) return false;
  return stream.hasColors?.() ?? env.TERM !== 'dumb';
}

/** Writes to a stream and resolves once it took the data (after 'drain' when its buffer is full). */
export function write(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(data)) resolve();
    else stream.once('drain', resolve);
  });
}

/** A closed stdout (the reader went away) ends the process quietly instead of with an EPIPE stack. */
export function exitQuietlyOnEpipe(stream: NodeJS.WritableStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/** How an item shows in text mode: strings as they are, everything else as util.inspect shows it. */
export function formatItem(item: unknown, colors: boolean): string {
  return typeof item === 'string' ? item : inspect(item, { colors, depth: 6, breakLength: 120 });
}

/**
 * A value as JSON: what JSON cannot carry is turned into what it can, so every item prints:
 * bigint → decimal string, Uint8Array → `{ "base64": … }`, Map → `[[key, value], …]`, Set → array,
 * undefined → null, Error → `{ name, message, stack }`. Cycles become `"[Circular]"`.
 */
export function toJson(value: unknown): string {
  const seen = new WeakSet<object>();
  const convert = (v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return null;
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return '[Circular]';
    if (v instanceof Uint8Array) return { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
    seen.add(v);
    try {
      if (v instanceof Map) return [...v].map(([k, x]) => [convert(k), convert(x)]);
      if (v instanceof Set) return [...v].map(convert);
      if (v instanceof Error) return { name: v.name, message: v.message, stack: v.stack ?? null };
      if (v instanceof RegExp) return String(v);
      if (Array.isArray(v)) return v.map(convert);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = convert(x);
      return out;
    } finally {
      seen.delete(v);
    }
  };
  return JSON.stringify(convert(value));
}

/** Prefixes every line of `text` (for output of several gateways). */
export function prefixLines(prefix: string, text: string): string {
  if (prefix === '') return text;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return `${body
    .split('\n')
    .map((l) => prefix + l)
    .join('\n')}\n`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
