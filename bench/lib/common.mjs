// Helpers shared by the suite's orchestrator (run.mjs) and its measuring children.
// Every measurement prints one JSON object per line in the schema of ../shared/anchors
// ({ suite, name, value, unit, ...extras }), so aggregate.mjs can read the suite's .jsonl too.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseArgv } from 'node:util';
import { killGroup } from '@tsnet/core/transport';

export const MiB = 1 << 20;
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH = fileURLToPath(new URL('../', import.meta.url));
/**
 * The project's shared folder (execnet_bench.py lives in its anchors/): $TSNET_SHARED if set, else
 * beside the checkout (<repo>/../shared, as on CI), else one level further up (a git worktree
 * under <project>/wt/<name>).
 */
export const SHARED = (() => {
  const candidates = [
    process.env.TSNET_SHARED ? `${process.env.TSNET_SHARED.replace(/\/$/, '')}/` : null,
    fileURLToPath(new URL('../../../shared/', import.meta.url)),
    fileURLToPath(new URL('../../../../shared/', import.meta.url)),
  ].filter(Boolean);
  return candidates.find((d) => existsSync(`${d}anchors/execnet_bench.py`)) ?? candidates[0];
})();
export const EXECNET_SCRIPT = `${SHARED}anchors/execnet_bench.py`;
export const DEBIAN_PYTHON = '/usr/bin/python3';

export const now = () => performance.now(); // ms

/** `n` 1-byte round trips: `write` sends, `setHandler` installs what gets the echo; resolves with ms. */
export function pingPong(write, setHandler, n) {
  return new Promise((res) => {
    const one = Buffer.from([1]);
    let got = 0;
    let t0 = now();
    setHandler((d) => {
      got += d.length;
      if (got < n) write(one);
      else res(now() - t0);
    });
    t0 = now();
    write(one);
  });
}

export function emit(suite, name, value, unit, extra = {}) {
  const rec = { suite, name, value: round(value), unit, ...extra };
  process.stdout.write(`${JSON.stringify(rec)}\n`);
  return rec;
}

export function round(x, digits = 3) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A script's options, parsed by node:util's parseArgs: `valued` names the `--name value` (or
 * `--name=value`) options, `flags` the bare ones. Values that look like numbers become numbers;
 * the other arguments are in `_`. An unknown option or a missing value prints what is wrong and
 * exits with code 2.
 */
export function parseArgs(argv, { valued = [], flags = [] } = {}) {
  const options = Object.fromEntries([...valued.map((n) => [n, { type: 'string' }]), ...flags.map((n) => [n, { type: 'boolean' }])]);
  if (flags.includes('help')) options.help.short = 'h';
  let parsed;
  try {
    parsed = parseArgv({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    if (!String(error.code).startsWith('ERR_PARSE_ARGS')) throw error;
    console.error(`${process.argv[1]}: ${error.message}`);
    process.exit(2);
  }
  const out = { _: parsed.positionals };
  for (const [key, value] of Object.entries(parsed.values)) out[key] = typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  return out;
}

/** The environment without NODE_EXTRA_CA_CERTS (it costs ~90 ms per Node start on these machines). */
export function envWithoutExtraCa(env = process.env) {
  const e = { ...env };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

const runningJobs = new Set();

/** Kills the process groups of the jobs runJsonLines() started that are still running (Ctrl-C). */
export function killRunningJobs() {
  for (const child of runningJobs) killGroup(child);
}

/**
 * Runs a command whose stdout carries JSON lines; resolves with the parsed records (lines that are
 * not JSON objects are passed to stderr). Never rejects: a failure is returned as `error`.
 */
export function runJsonLines(command, args, { env = process.env, timeoutMs = 10 * 60_000, cwd = REPO, echo = false } = {}) {
  return new Promise((resolve) => {
    const started = now();
    let child;
    try {
      // its own session and process group: one job cannot leave strays behind when it is killed
      child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      resolve({ records: [], error: String(error), seconds: 0 });
      return;
    }
    runningJobs.add(child);
    child.once('exit', () => runningJobs.delete(child));
    const records = [];
    let buf = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('{')) {
          try {
            const rec = JSON.parse(line);
            records.push(rec);
            if (echo) process.stderr.write(`    ${line}\n`);
          } catch {
            process.stderr.write(`${line}\n`);
          }
        } else if (line.trim()) process.stderr.write(`${line}\n`);
        i = buf.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      if (stderr.length > 20000) stderr = stderr.slice(-10000);
    });
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      if (!killGroup(child)) child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ records, error: String(error), seconds: (now() - started) / 1000 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const failed = code !== 0;
      resolve({
        records,
        ...(failed
          ? { error: `${command} ${args.slice(0, 3).join(' ')} … exited with ${signal ?? code}: ${stderr.trim().split('\n').slice(-6).join(' | ')}` }
          : {}),
        stderr,
        seconds: (now() - started) / 1000,
      });
    });
  });
}

/** True when Debian's python can import execnet (the suite then runs execnet_bench.py beside tsnet). */
export async function execnetStatus() {
  if (!existsSync(EXECNET_SCRIPT))
    return { ok: false, why: `${EXECNET_SCRIPT} not found (the shared folder is expected at <repo>/../shared, or set TSNET_SHARED)` };
  if (!existsSync(DEBIAN_PYTHON)) return { ok: false, why: `${DEBIAN_PYTHON} not found` };
  const r = await runJsonLines(DEBIAN_PYTHON, ['-c', 'import execnet, json; print(json.dumps({"version": execnet.__version__}))'], { timeoutMs: 30_000 });
  if (r.error || r.records.length === 0) return { ok: false, why: `${DEBIAN_PYTHON} cannot import execnet (apt-get install python3-execnet)` };
  return { ok: true, version: r.records[0].version };
}

export function exited(child) {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    else child.once('exit', () => res());
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ per-process cost meter

const TICK_US = 1e6 / 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

/** CPU time (all threads, µs) and read/write syscalls of a process so far, from /proc; null elsewhere. */
export function procCounters(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return {
      cpu: (Number(f[11]) + Number(f[12])) * TICK_US, // utime + stime (fields 14, 15)
      r: Number(/syscr: (\d+)/.exec(io)[1]),
      w: Number(/syscw: (\d+)/.exec(io)[1]),
    };
  } catch {
    return null;
  }
}

/**
 * Measures what each message costs both processes between start() and stop(n): CPU µs (all
 * threads, 10 ms resolution, so only meaningful over runs of a second or more) and read/write
 * system calls. CPU time is far less disturbed by a busy machine than wall-clock figures.
 */
export function costMeter(localPid, remotePid) {
  let a;
  let b;
  return {
    start() {
      a = procCounters(localPid);
      b = procCounters(remotePid);
    },
    stop(n) {
      const a2 = procCounters(localPid);
      const b2 = procCounters(remotePid);
      if (!a || !a2 || !b || !b2) return {};
      const per = (x, y, digits = 3) => round((y - x) / n, digits);
      return {
        per_msg: {
          cpu_us_local: per(a.cpu, a2.cpu, 2),
          cpu_us_remote: per(b.cpu, b2.cpu, 2),
          reads_local: per(a.r, a2.r),
          writes_local: per(a.w, a2.w),
          reads_remote: per(b.r, b2.r),
          writes_remote: per(b.w, b2.w),
        },
      };
    },
  };
}
