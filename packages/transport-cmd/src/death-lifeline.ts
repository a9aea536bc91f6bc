/**
 * When this process dies without a word (SIGKILL, a crash), popen's lifeline kills the tools'
 * process groups, but a runtime inside a container is no child of its tool: `podman exec`'s conmon
 * keeps its stdin open when the client dies, so it never sees the end of its input. One small shell
 * per local process, outside all of them, holds the commands that kill such runtimes (`podman exec
 * web node -e "process.kill(-PID,'SIGKILL')"`), registered once each runtime runs and struck off
 * when it ended; our death is the shell's end of input, and it runs the commands still registered.
 *
 * POSIX sh only. Where there is no /bin/sh, or an argument holds a newline (a line is one command),
 * `register()` returns undefined and nothing guards that runtime. Commands are single-quoted word
 * by word, so nothing in them is expanded; they hold no secret (sudo's password is never one).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const SH = '/bin/sh';

// `+ID 'word' 'word'…` registers a command, `-ID` strikes it off; at end of input the rest run.
// Also started on a via master's host by its guard tasks (host.ts), with the same lines.
export const LIFELINE_SCRIPT = [
  "ids=''",
  'while IFS= read -r l; do',
  '  case $l in',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  '    +*) i=${l%% *}; i=${i#+}; eval "c$i=\\${l#* }"; ids="$ids $i";;',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  '    -*) i=${l#-}; eval "unset c$i";;',
  '  esac',
  'done',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  'for i in $ids; do eval "c=\\${c$i-}"; [ -n "$c" ] && (eval "exec $c" </dev/null >/dev/null 2>&1 &); done',
  'wait',
].join('\n');

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `argv` as the words of one lifeline line; undefined when it cannot be one (a newline in it). */
export function lifelineWords(argv: string[]): string | undefined {
  return argv.some((a) => a.includes('\n')) ? undefined : argv.map(shq).join(' ');
}

export class DeathLifeline {
  static #shared: DeathLifeline | undefined;

  /** The process's death lifeline, started on first use; undefined where none can run. */
  static shared(): DeathLifeline | undefined {
    if (DeathLifeline.#shared && !DeathLifeline.#shared.#dead) return DeathLifeline.#shared;
    DeathLifeline.#shared = undefined;
    if (!existsSync(SH)) return undefined;
    try {
      DeathLifeline.#shared = new DeathLifeline(
        spawn(SH, ['-c', LIFELINE_SCRIPT, 'tsnet-cmd-lifeline'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true }),
      );
    } catch {
      return undefined;
    }
    return DeathLifeline.#shared;
  }

  readonly #sh: ChildProcess;
  #dead = false;
  #next = 1;

  private constructor(sh: ChildProcess) {
    this.#sh = sh;
    const stdin = sh.stdin!;
    const dead = () => {
      this.#dead = true;
    };
    stdin.on('error', dead);
    sh.once('error', dead);
    sh.once('exit', dead);
    // Neither the shell nor its pipe keeps this process alive.
    sh.unref();
    (stdin as unknown as { unref?: () => void }).unref?.();
  }

  /** Runs `argv` at our death unless released first; undefined when it cannot be registered. */
  register(argv: string[]): number | undefined {
    const words = lifelineWords(argv);
    if (this.#dead || words === undefined) return undefined;
    const id = this.#next++;
    this.#write(`+${id} ${words}\n`);
    return id;
  }

  release(id: number): void {
    this.#write(`-${id}\n`);
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
