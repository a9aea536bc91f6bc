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
import { LifelineShell } from '@tsnet/transport-popen';

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
    const sh = LifelineShell.shared(LIFELINE_SCRIPT, ['tsnet-cmd-lifeline'], 'ignore');
    const current = DeathLifeline.#shared;
    if (!current || current.#sh !== sh) DeathLifeline.#shared = sh && new DeathLifeline(sh);
    return DeathLifeline.#shared;
  }

  readonly #sh: LifelineShell;
  #next = 1;

  private constructor(sh: LifelineShell) {
    this.#sh = sh;
  }

  /** Runs `argv` at our death unless released first; undefined when it cannot be registered. */
  register(argv: string[]): number | undefined {
    const words = lifelineWords(argv);
    if (this.#sh.dead || words === undefined) return undefined;
    const id = this.#next++;
    this.#sh.write(`+${id} ${words}\n`);
    return id;
  }

  release(id: number): void {
    this.#sh.write(`-${id}\n`);
  }

  /** @internal the shell's pid (tests). */
  get pid(): number | undefined {
    return this.#sh.pid;
  }
}
