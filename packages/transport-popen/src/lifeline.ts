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
    if (Lifeline.#shared && !Lifeline.#shared.#dead) return Lifeline.#shared;
    Lifeline.#shared = undefined;
    if (!existsSync(SH)) return undefined;
    let sh: ChildProcess;
    try {
      sh = spawn(SH, ['-c', SCRIPT, 'tsnet-lifeline', String(process.pid)], { stdio: ['pipe', 'ignore', 'inherit', 'pipe'], detached: true });
    } catch {
      return undefined;
    }
    // The witness writes to the lifeline's fd 3 (a pipe whose lifeline end blocks, unlike ours,
    // which it cannot be given: a read on it would not wait); we keep no copy of it. It starts off
    // the first gateway's start (one more spawn, 1.5-6 ms here).
    const report = sh.stdio[3] as Duplex | null;
    const lifeline = new Lifeline(sh);
    setImmediate(() => {
      // a lifeline that died takes its witness with it (a new lifeline starts its own)
      const witness = report && !lifeline.#dead ? startWitness(report) : undefined;
      report?.destroy();
      if (witness) sh.once('exit', () => witness.kill('SIGKILL')); // it traps TERM
    });
    Lifeline.#shared = lifeline;
    return lifeline;
  }

  readonly #sh: ChildProcess;
  #dead = false;
  readonly #started: Promise<boolean>;

  private constructor(sh: ChildProcess) {
    this.#sh = sh;
    const stdin = sh.stdin!;
    stdin.on('error', () => {
      this.#dead = true;
    });
    this.#started = new Promise((resolve) => {
      sh.once('error', () => {
        this.#dead = true;
        resolve(false);
      });
      sh.once('spawn', () => resolve(true));
    });
    sh.once('exit', () => {
      this.#dead = true;
    });
    // Neither the shell nor its pipe keeps this process alive.
    sh.unref();
    (stdin as unknown as { unref?: () => void }).unref?.();
  }

  /** Registers a process group; resolves false if the lifeline could not start (no guard then). */
  guard(pgid: number): Promise<boolean> {
    this.#write(`+ ${pgid}\n`);
    return this.#started.then((ok) => ok && !this.#dead);
  }

  /** Strikes a group off (it ended), so a later reuse of its number is never killed. */
  release(pgid: number): void {
    this.#write(`- ${pgid}\n`);
  }

  /** @internal the shell's pid (tests). */
  get pid(): number | undefined {
    return this.#sh.pid;
  }

  #write(line: string): void {
    const stdin = this.#sh.stdin;
    if (this.#dead || !stdin || stdin.destroyed) return;
    stdin.write(line);
  }
}

/** Starts the witness (see WITNESS) with `report` as its stdout; where it cannot start, the lifeline's line names no signal. */
function startWitness(report: Duplex): ChildProcess | undefined {
  try {
    const witness = spawn(SH, ['-c', WITNESS, 'tsnet-witness'], { stdio: ['pipe', report, 'ignore'] });
    witness.on('error', () => {});
    witness.stdin?.on('error', () => {});
    // Neither it nor its pipe keeps this process alive.
    witness.unref();
    (witness.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return witness;
  } catch {
    return undefined; // no witness: no signal name
  }
}
