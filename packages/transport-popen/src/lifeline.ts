import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Duplex } from 'node:stream';

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
  // The local process died with runtimes still open (a signal, which tsnet does not intercept,
  // SIGKILL, a crash): say why they are gone, where its stderr went, naming the signal when the
  // witness (fd 3, once it ends) saw its process group get one in the last 2 s.
  'if [ $n -gt 0 ]; then',
  '  s=; t=; read -r s t 2>/dev/null <&3',
  '  case $t in ""|*[!0-9]*) t=0;; esac',
  '  case $s in INT) by=" by SIGINT (Ctrl-C)";; TERM|QUIT) by=" by SIG$s";; *) by=;; esac',
  '  [ $(($(date +%s) - t)) -le 2 ] || by=',
  '  w=; [ -n "$by" ] || w=" without closing them"',
  '  echo "tsnet: process $1 ended$by with $n popen gateway(s) open; their runtimes were killed (gateways closed because the process ended$w)" >&2',
  'fi',
].join('\n');

// Beside the lifeline, in this process's process group (so a signal to the group, as Ctrl-C in a
// terminal sends, reaches it too; the lifeline is in a session of its own, out of reach of Ctrl-C,
// so that it outlives us): traps INT, TERM and QUIT, and at the end of its input (our death, or
// our normal exit) writes the last one and when it came to the lifeline's fd 3. It only watches:
// a signal sent to our pid alone, or SIGKILL, never reaches it, and its death costs nothing but
// the name. HUP (the terminal closing) is ignored, so that it still ends by its input, and PIPE
// (no lifeline reading).
const WITNESS = [
  'k=0',
  "trap 'k=$((k+1)); s=INT; t=$(date +%s)' INT",
  "trap 'k=$((k+1)); s=TERM; t=$(date +%s)' TERM",
  "trap 'k=$((k+1)); s=QUIT; t=$(date +%s)' QUIT",
  "trap '' HUP PIPE",
  // A trapped signal interrupts read like its end of input does: read again when one came.
  'while :; do m=$k; read -r _ && continue; [ $k = $m ] && break; done',
  '[ -n "$s" ] && echo "$s $t"',
].join('\n');

/**
 * When this process dies without a word (SIGKILL), its popen runtimes must go too, even one whose
 * thread is stuck in user code and cannot notice its stdin closing. One small shell per local
 * process, outside all of them, holds the read end of a pipe whose write end only we hold; each
 * runtime's process group is registered on start and struck off when it ends. Our death is the
 * shell's end of input, and it kills the groups still registered.
 *
 * This replaces a watchdog thread inside every runtime (about 6 ms of each start and a thread each),
 * and costs two spawns per local process (the lifeline and its witness, which names the signal in
 * the lifeline's line) rather than one per gateway. Where there is no /bin/sh, or the shell died,
 * `guard()` says so and the runtime runs its watchdog thread instead.
 */
export class Lifeline {
  static #shared: Lifeline | undefined;

  /** The process's lifeline, started on first use; undefined where none can run. */
  static shared(): Lifeline | undefined {
    const sh = LifelineShell.shared(SCRIPT, ['tsnet-lifeline', String(process.pid)], 'inherit', { report: true });
    const current = Lifeline.#shared;
    if (!current || current.#sh !== sh) {
      Lifeline.#shared = sh && new Lifeline(sh);
      if (sh) startWitness(sh);
    }
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
  static shared(script: string, args: readonly string[], stderr: 'ignore' | 'inherit', options?: { report?: boolean }): LifelineShell | undefined {
    const running = LifelineShell.#running.get(script);
    if (running && !running.#dead) return running;
    LifelineShell.#running.delete(script);
    if (!existsSync(SH)) return undefined;
    let shell: LifelineShell;
    try {
      const stdio = options?.report ? (['pipe', 'ignore', stderr, 'pipe'] as const) : (['pipe', 'ignore', stderr] as const);
      shell = new LifelineShell(spawn(SH, ['-c', script, ...args], { stdio: [...stdio], detached: true }));
    } catch {
      return undefined;
    }
    LifelineShell.#running.set(script, shell);
    return shell;
  }

  readonly #sh: ChildProcess;
  #report: Duplex | undefined;
  #dead = false;
  /** Resolves true once the shell runs, false if it could not start. */
  readonly started: Promise<boolean>;

  private constructor(sh: ChildProcess) {
    this.#sh = sh;
    this.#report = (sh.stdio[3] as Duplex | null | undefined) ?? undefined;
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

  /**
   * With `report`: the shell's fd 3, a pipe its script reads (its end blocks), for one other process
   * to write to; the first call takes it (the caller destroys our copy once it handed it on).
   */
  takeReport(): Duplex | undefined {
    const report = this.#report;
    this.#report = undefined;
    return report;
  }

  /** Runs `fn` once the shell has exited. */
  onExit(fn: () => void): void {
    if (this.#sh.exitCode !== null || this.#sh.signalCode !== null) fn();
    else this.#sh.once('exit', fn);
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

/**
 * Starts the witness (see WITNESS) writing to the lifeline's fd 3, off the first gateway's start
 * (one more spawn, 1.5-6 ms here); we keep no copy of that pipe. A lifeline that dies takes its
 * witness along (a new lifeline starts its own). Where it cannot start, the line names no signal.
 */
function startWitness(sh: LifelineShell): void {
  const report = sh.takeReport();
  if (!report) return;
  setImmediate(() => {
    let witness: ChildProcess | undefined;
    try {
      if (!sh.dead) witness = spawn(SH, ['-c', WITNESS, 'tsnet-witness'], { stdio: ['pipe', report, 'ignore'] });
    } catch {
      // no witness: no signal name
    }
    report.destroy();
    if (!witness) return;
    witness.on('error', () => {});
    witness.stdin?.on('error', () => {});
    // Neither it nor its pipe keeps this process alive.
    witness.unref();
    (witness.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    const w = witness;
    sh.onExit(() => w.kill('SIGKILL')); // SIGKILL: it traps TERM
  });
}
