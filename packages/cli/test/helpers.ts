/**
 * Test helpers: run the real `tsnet` bin (bin/tsnet.js → dist, built by `npm run build`) as a child
 * process, and drive it in a real terminal with tmux. Every run is bounded in time: a child that
 * outlives its timeout is killed and the test fails with what it printed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/tsnet.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeout?: number;
}

function requireBuild(): void {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run "npm run build" first (npm test does)`);
}

/** The environment of a child: this one's, without CI/NO_COLOR/FORCE_COLOR unless given. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TSNET_REPL_HISTORY: '' };
  for (const k of ['CI', 'NO_COLOR', 'FORCE_COLOR', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'NODE_OPTIONS']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runTsnet(args: string[], options: RunOptions = {}): Promise<RunResult> {
  requireBuild();
  const timeout = options.timeout ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: childEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tsnet ${args.join(' ')} did not end within ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A tmux server and session of its own (120x40, private socket) running one command; `close()` ends both. */
export class Tmux {
  readonly name: string;
  static #counter = 0;

  /** The server's socket, in a temp dir of its own that close() removes. */
  readonly #dir: string;
  readonly #socket: string;

  constructor(command: string, env: Record<string, string | undefined> = {}) {
    requireBuild();
    this.name = `tsnet-test-${process.pid}-${Tmux.#counter++}`;
    this.#dir = mkdtempSync(join(tmpdir(), 'tsnet-tmux-'));
    this.#socket = join(this.#dir, 'socket');
    // The command's exit code stays on screen: the pane does not close when it ends.
    const script = `${command}; echo "[exited $?]"; sleep 600`;
    execFileSync('tmux', ['-S', this.#socket, '-f', '/dev/null', 'new-session', '-d', '-s', this.name, '-x', '120', '-y', '40', script], {
      env: childEnv({ TMUX: undefined, ...env }),
    });
  }

  #tmux(args: string[]): string {
    return execFileSync('tmux', ['-S', this.#socket, ...args], { encoding: 'utf8' });
  }

  send(...keys: string[]): void {
    this.#tmux(['send-keys', '-t', this.name, ...keys]);
  }

  /** Types text literally (no key names), then optionally Enter. */
  type(text: string, enter = true): void {
    this.#tmux(['send-keys', '-t', this.name, '-l', text]);
    if (enter) this.send('Enter');
  }

  /** The screen and its scrollback as text; with `escapes`, with the colors and attributes tmux shows. */
  capture(escapes = false): string {
    return this.#tmux(['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-S', '-200', '-t', this.name]);
  }

  /** Appends everything the program writes to the terminal (every redraw, escape codes included) to `file`. */
  record(file: string): void {
    this.#tmux(['pipe-pane', '-o', '-t', this.name, `cat >> ${shellQuote(file)}`]);
  }

  /** Polls the screen until `test` holds; fails with the screen after `timeout` ms. */
  async waitFor(test: RegExp | ((screen: string) => boolean), timeout = 15_000): Promise<string> {
    const deadline = Date.now() + timeout;
    const ok = typeof test === 'function' ? test : (s: string) => test.test(s);
    for (;;) {
      const screen = this.capture();
      if (ok(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`tmux ${this.name}: ${String(test)} not on screen within ${timeout} ms. Screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    try {
      execFileSync('tmux', ['-S', this.#socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Lines of output that carry terminal escape codes (CSI/OSC/ESC sequences, carriage-return redraws). */
export function escapeCodes(text: string): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for exactly these
  return text.split('\n').filter((l) => /\u001b|\r/.test(l));
}
