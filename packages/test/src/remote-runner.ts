/**
 * The code that runs on a gateway: `runFilesRemotely` is shipped with `remoteExec(fn)` (so it must
 * stay self-contained: no imports, no outer names) and runs test files one at a time, each in a
 * fresh child process of the gateway's own runtime, as the host sends them.
 *
 * Protocol on its channel. Host → remote: `{ file, cwd }` jobs; closing the channel ends the loop.
 * Remote → host: first `['hello', { runtime, version }]`, then for every job `['out', text]` and
 * `['err', text]` (the child's stdout/stderr as it comes), then either `['ev', text]` chunks (Node:
 * the child's JSON-lines event stream on its fd 3, see EVENTS_REPORTER) or one `['junit', xml]` (Bun and Deno,
 * whose runners report node:test files as JUnit), and last `['done', { code, signal }]`.
 *
 * A child that cannot be spawned ends as `done` with code -1 and the reason on `err`. When the
 * channel closes or the gateway exits, the running child is killed (SIGKILL), so nothing is left
 * behind on the remote host.
 */

/** A node:test reporter (run inside the Node child) that writes every event as one JSON line. */
export const EVENTS_REPORTER = `
import { writeSync } from 'node:fs';
const ser = (v, depth) => {
  if (depth > 8) return '[…]';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (v instanceof Error) {
    const o = { __error: true, name: v.name, message: v.message, stack: v.stack };
    for (const k of Object.keys(v)) o[k] = ser(v[k], depth + 1);
    if (v.cause !== undefined) o.cause = ser(v.cause, depth + 1);
    return o;
  }
  if (Array.isArray(v)) return v.map((x) => ser(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = ser(v[k], depth + 1);
    return o;
  }
  return v;
};
// fd 3 is a socket (libuv pipes are socketpairs), which /dev/fd/3 cannot open: write to it directly.
const put = (text) => {
  const bytes = Buffer.from(text);
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(3, bytes, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
};
export default async function* (source) {
  for await (const e of source) put(JSON.stringify({ type: e.type, data: ser(e.data, 0) }) + '\\n');
}
`;

export interface RemoteJob {
  file: string;
  cwd: string;
}

export type RemoteMessage =
  | ['hello', { runtime: 'node' | 'bun' | 'deno'; version: string }]
  | ['out' | 'err' | 'ev' | 'junit', string]
  | ['done', { code: number | null; signal: string | null }];

interface RemoteChannel {
  send(item: unknown): Promise<void>;
  waitClose(): Promise<unknown>;
  [Symbol.asyncIterator](): AsyncIterator<unknown>;
}

export async function runFilesRemotely(channel: RemoteChannel, kwargs: { reporter: string }): Promise<void> {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  const runtime = g.Bun ? 'bun' : g.Deno ? 'deno' : 'node';
  const version = g.Bun ? g.Bun.version : g.Deno ? g.Deno.version.deno : process.version;
  const reporterUrl = `data:text/javascript,${encodeURIComponent(kwargs.reporter)}`;
  let current: import('node:child_process').ChildProcess | undefined;
  const killCurrent = (): void => {
    try {
      current?.kill('SIGKILL');
    } catch {}
  };
  process.on('exit', killCurrent);
  // The host closing the channel (Ctrl-C, the run given up) ends the file running now, too.
  channel.waitClose().then(killCurrent, killCurrent);
  await channel.send(['hello', { runtime, version }]);
  try {
    for await (const item of channel) {
      const job = item as RemoteJob;
      let chain = Promise.resolve();
      const push = (m: unknown): void => {
        chain = chain.then(() => channel.send(m));
      };
      const tmp = runtime === 'node' ? '' : fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-test-'));
      const junit = path.join(tmp, 'junit.xml');
      const args =
        runtime === 'node'
          ? [`--test-reporter=${reporterUrl}`, '--test-reporter-destination=stdout', job.file]
          : runtime === 'bun'
            ? ['test', '--reporter=junit', `--reporter-outfile=${junit}`, job.file]
            : ['test', '-A', '--no-check', '--reporter=junit', `--junit-path=${junit}`, job.file];
      const result = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        const child = spawn(process.execPath, args, {
          cwd: job.cwd,
          // No 'ignore': libuv opens /dev/null for it, which a minimal root file system may lack.
          stdio: runtime === 'node' ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
          env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
        });
        current = child;
        child.stdin?.end();
        child.stdout?.setEncoding('utf8').on('data', (t: string) => push(['out', t]));
        child.stderr?.setEncoding('utf8').on('data', (t: string) => push(['err', t]));
        const events = child.stdio[3] as import('node:stream').Readable | null | undefined;
        events?.setEncoding('utf8').on('data', (t: string) => push(['ev', t]));
        child.on('error', (error) => {
          push(['err', `${process.execPath} could not be started: ${error.message}\n`]);
          resolve({ code: -1, signal: null });
        });
        child.on('close', (code, signal) => resolve({ code, signal }));
      });
      current = undefined;
      if (tmp !== '') {
        try {
          push(['junit', fs.readFileSync(junit, 'utf8')]);
        } catch {}
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      push(['done', result]);
      await chain;
    }
  } finally {
    killCurrent();
    process.off('exit', killCurrent);
  }
}
