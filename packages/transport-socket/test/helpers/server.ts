/**
 * Runs the real standalone server (`node tsnet-bootstrap.js serve …`) as a separate process and
 * looks at its children through /proc: what the tests check is what a host would see.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOTSTRAP_FILE } from '@tsnet/bootstrap';
import { afterAll, beforeAll } from 'vitest';

export interface RunningServer {
  proc: ChildProcess;
  pid: number;
  /** As printed: `127.0.0.1` or `::1`. */
  host: string;
  port: number;
  /** HOST:PORT for specs (`[::1]:PORT` for IPv6). */
  address: string;
  /** Everything the server wrote to stderr so far. */
  log(): string;
  /** Resolves with the first log line matching `re` (waiting for it if need be). */
  waitLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Pids of the server's direct children: one per served gateway, plus the waiting spare(s). */
  children(): number[];
  /** children(), sorted, once two looks 300 ms apart agree (a spare may be starting). */
  settledChildren(): Promise<number[]>;
  /** Resolves with how the server process ended. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  stop(): Promise<{ code: number | null; signal: string | null }>;
}

export function tempDir(prefix = 'tsnet-socket-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes a random token to `dir/name` (mode 600) and returns its path. */
export function writeToken(dir: string, name = 'token', token = randomToken()): string {
  const file = join(dir, name);
  writeFileSync(file, `${token}\n`);
  chmodSync(file, 0o600);
  return file;
}

export function randomToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * One server for a test file: a temp dir with a token, the server started in `beforeAll` with
 * `--listen 127.0.0.1:0 --token-file TOKEN` and the arguments `extra(dir)` returns (called then,
 * so it may first make the files they name), stopped and the dir removed in `afterAll`. Reading
 * `server` before `beforeAll` ran throws.
 */
export function useServer(extra: (dir: string) => string[] | Promise<string[]> = () => []): {
  readonly dir: string;
  readonly tokenFile: string;
  readonly server: RunningServer;
} {
  const tmp = tempDir();
  const tokenFile = writeToken(tmp.path);
  let server: RunningServer | undefined;
  beforeAll(async () => {
    server = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile, ...(await extra(tmp.path))]);
  });
  afterAll(async () => {
    await server?.stop();
    tmp.remove();
  });
  return {
    dir: tmp.path,
    tokenFile,
    get server(): RunningServer {
      if (!server) throw new Error('useServer(): the server starts in beforeAll; read it inside a test or hook');
      return server;
    },
  };
}

/** `runtime`: the executable and its arguments before the file (default: this Node), e.g. `['deno', 'run', '-A']`. */
export async function startServer(args: string[], options?: { env?: NodeJS.ProcessEnv; runtime?: string[] }): Promise<RunningServer> {
  const env = { ...process.env, ...options?.env };
  if (!options?.env || !('TSNET_TOKEN' in options.env)) delete env.TSNET_TOKEN;
  const [exe, ...pre] = options?.runtime ?? [process.execPath];
  const proc = spawn(exe!, [...pre, BOOTSTRAP_FILE, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  const watchers = new Set<() => void>();
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (t: string) => {
    log += t;
    for (const w of watchers) w();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const first = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.setEncoding('utf8');
    const onData = (t: string): void => {
      out += t;
      const nl = out.indexOf('\n');
      if (nl !== -1) {
        proc.stdout!.removeListener('data', onData);
        resolve(out.slice(0, nl));
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then(({ code }) => reject(new Error(`the server exited (code ${code}) before listening:\n${log}`)));
    setTimeout(() => reject(new Error(`the server did not print its address within 20 s:\n${log}`)), 20_000).unref();
  });
  const m = /^listening on (?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(first);
  if (!m) throw new Error(`unexpected first line from the server: ${first}`);
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  const pid = proc.pid!;
  return {
    proc,
    pid,
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    log: () => log,
    waitLog(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = log.split('\n').find((l) => re.test(l));
          if (line === undefined) return false;
          watchers.delete(watcher);
          clearTimeout(timer);
          resolve(line);
          return true;
        };
        const watcher = (): void => void check();
        const timer = setTimeout(() => {
          watchers.delete(watcher);
          reject(new Error(`no server log line matched ${re} within ${timeoutMs} ms; log:\n${log}`));
        }, timeoutMs);
        watchers.add(watcher);
        check();
      });
    },
    children: () => childrenOf(pid),
    async settledChildren() {
      let last = '';
      for (let i = 0; i < 100; i++) {
        const now = childrenOf(pid).sort((a, b) => a - b);
        if (JSON.stringify(now) === last) return now;
        last = JSON.stringify(now);
        await new Promise((r) => setTimeout(r, 300));
      }
      throw new Error("the server's children never settled");
    },
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
}

function readStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // a zombie is already dead
      out.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]) });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

export function childrenOf(pid: number): number[] {
  return readStats()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid);
}

/** Live processes in any of these process groups (each served child leads one). */
export function processesInGroups(pgids: number[]): number[] {
  const set = new Set(pgids);
  return readStats()
    .filter((p) => set.has(p.pgid))
    .map((p) => p.pid);
}

export function isAlive(pid: number): boolean {
  return readStats().some((p) => p.pid === pid);
}

/** Polls `check` every 100 ms until it returns true; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Local ports of the TCP connections process `pid` holds a socket fd of (or fd `only`), from /proc: what the host sees. */
export function tcpPortsOf(pid: number, only?: number): number[] {
  const inodes = new Set<string>();
  for (const fd of only === undefined ? readdirSync(`/proc/${pid}/fd`) : [String(only)]) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed while we looked
    }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // "sl local rem st … inode": an ESTABLISHED (01) connection whose inode is one of the fds
      if (f.length > 9 && f[3] === '01' && inodes.has(f[9]!)) ports.push(Number.parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}
