import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const SH = '/bin/sh';

// Reads `+ PGID` / `- PGID` lines; at end of input (our death, or our normal exit) kills the process
// groups still listed. POSIX sh only: it runs wherever /bin/sh does.
const SCRIPT = [
  "l=' '",
  'while read -r c g; do',
  '  case $c in',
  '    +) l="$l$g ";;',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  '    -) case $l in *" $g "*) l="${l%% $g *} ${l#* $g }";; esac;;',
  '  esac',
  'done',
  'n=0',
  'for g in $l; do kill -s KILL -- "-$g" 2>/dev/null && n=$((n+1)); done',
  // The local process died with runtimes still open (a signal such as SIGINT/SIGTERM, which tsnet
  // does not intercept, or SIGKILL): say why they are gone, where its stderr went.
  'if [ $n -gt 0 ]; then echo "tsnet: process $1 ended with $n popen gateway(s) open; their runtimes were killed (gateways closed because the process ended, e.g. by SIGINT or SIGTERM)" >&2; fi',
].join('\n');

/**
 * When this process dies without a word (SIGKILL), its popen runtimes must go too, even one whose
 * thread is stuck in user code and cannot notice its stdin closing. One small shell per local
 * process, outside all of them, holds the read end of a pipe whose write end only we hold; each
 * runtime's process group is registered on start and struck off when it ends. Our death is the
 * shell's end of input, and it kills the groups still registered.
 *
 * This replaces a watchdog thread inside every runtime (about 6 ms of each start and a thread each),
 * and costs one spawn per local process rather than one per gateway. Where there is no /bin/sh, or
 * the shell died, `guard()` says so and the runtime runs its watchdog thread instead.
 */
export class Lifeline {
  static #shared: Lifeline | undefined;

  /** The process's lifeline, started on first use; undefined where none can run. */
  static shared(): Lifeline | undefined {
    const sh = LifelineShell.shared(SCRIPT, ['tsnet-lifeline', String(process.pid)], 'inherit');
    const current = Lifeline.#shared;
    if (!current || current.#sh !== sh) Lifeline.#shared = sh && new Lifeline(sh);
    return Lifeline.#shared;
  }

  readonly #sh: LifelineShell;

  private constructor(sh: LifelineShell) {
    this.#sh = sh;
  }

  /** Registers a process group; resolves false if the lifeline could not start (no guard then). */
  guard(pgid: number): Promise<boolean> {
    this.#sh.write(`+ ${pgid}\n`);
    return this.#sh.started.then((ok) => ok && !this.#sh.dead);
  }

  /** Strikes a group off (it ended), so a later reuse of its number is never killed. */
  release(pgid: number): void {
    this.#sh.write(`- ${pgid}\n`);
  }

  /** @internal the shell's pid (tests). */
  get pid(): number | undefined {
    return this.#sh.pid;
  }
}

/**
 * A small /bin/sh outside every runtime, reading lines from a pipe whose write end only this
 * process holds: our death, however it comes, is the script's end of input. Popen's Lifeline and
 * transport-cmd's DeathLifeline each run one, with their own script. Neither the shell nor its pipe
 * keeps this process alive.
 *
 * Contract: `shared()` returns undefined where no /bin/sh can be spawned, and starts the script
 * again once its shell died (an error on its pipe, its exit); `write()` to a dead shell is dropped.
 */
export class LifelineShell {
  static readonly #running = new Map<string, LifelineShell>();

  /**
   * The process's shell running `script` (`args`: its $0, $1, …; `stderr` its stderr), started on
   * first use; undefined where none can run.
   */
  static shared(script: string, args: readonly string[], stderr: 'ignore' | 'inherit'): LifelineShell | undefined {
    const running = LifelineShell.#running.get(script);
    if (running && !running.#dead) return running;
    LifelineShell.#running.delete(script);
    if (!existsSync(SH)) return undefined;
    let shell: LifelineShell;
    try {
      shell = new LifelineShell(spawn(SH, ['-c', script, ...args], { stdio: ['pipe', 'ignore', stderr], detached: true }));
    } catch {
      return undefined;
    }
    LifelineShell.#running.set(script, shell);
    return shell;
  }

  readonly #sh: ChildProcess;
  #dead = false;
  /** Resolves true once the shell runs, false if it could not start. */
  readonly started: Promise<boolean>;

  private constructor(sh: ChildProcess) {
    this.#sh = sh;
    const stdin = sh.stdin!;
    stdin.on('error', () => {
      this.#dead = true;
    });
    this.started = new Promise((resolve) => {
      sh.once('error', () => {
        this.#dead = true;
        resolve(false);
      });
      sh.once('spawn', () => resolve(true));
    });
    sh.once('exit', () => {
      this.#dead = true;
    });
    sh.unref();
    (stdin as unknown as { unref?: () => void }).unref?.();
  }

  /** The shell is gone (or never started): nothing it holds will run. */
  get dead(): boolean {
    return this.#dead;
  }

  get pid(): number | undefined {
    return this.#sh.pid;
  }

  /** Sends one line to the script. */
  write(line: string): void {
    const stdin = this.#sh.stdin;
    if (this.#dead || !stdin || stdin.destroyed) return;
    stdin.write(line);
  }
}
