/**
 * The command an SSH gateway runs remotely. sshd hands it to the user's login shell with `-c`, so it
 * starts with a plain `exec` of either `/bin/sh` (node given as an absolute path) or the user's
 * shell as a login shell (`"$SHELL" -l`, so PATH is what an interactive login sees: nvm, asdf,
 * ~/.local/bin…), which in turn execs `/bin/sh` with the POSIX script below. The script goes to
 * chdir=, exports env:, checks that node exists (exit 127 with a `tsnet:` line otherwise), prints
 * the ready marker with its pid (which stays the runtime's pid: every step execs) and execs
 * `[nice -n N] node -e <first stage>` (or bun's or deno's equivalent, see firstStageArgs in
 * @tsnet/bootstrap) with the channel's stdout as its fd 3 (the wire) and, as fd 1, a FIFO it holds
 * open on fd 4 and reads back as remote stdout (stderr where no FIFO can be made, and for Bun and
 * Deno without /proc). The bootstrap itself then arrives on stdin.
 *
 * Per-host setup (see host-setup.ts): a login-shell start can be asked to `learn`, and then its
 * marker line also carries the login environment (`export -p`, hex) and the resolved runtime path;
 * a later start given that setup as `known` runs without the login shell: the script first
 * re-exports that environment, then execs the resolved path.
 */
import { firstStageArgs, type RuntimeName } from '@tsnet/bootstrap';
import { SpecError } from '@tsnet/core/transport';

/** Exit codes the script uses before node runs (node itself never gets that far with these). */
export const EXIT_NODE_NOT_FOUND = 127;
export const EXIT_CHDIR_FAILED = 122;
/** Prefix of the script's own diagnostics on stderr. */
export const SCRIPT_TAG = 'tsnet:';

export interface RemoteCommandOptions {
  /** `node=` or `exe=`: a program name looked up on PATH, or a path; `node=` may carry flags after a space. */
  node?: string | undefined;
  /** `runtime=`: how the executable is started (default node). */
  runtime?: RuntimeName | undefined;
  chdir?: string | undefined;
  env?: Record<string, string>;
  nice?: string | undefined;
  /** Printed (followed by a space, the pid and a newline) right before node starts. */
  marker: string;
  spec: string;
  /** Print the login environment and the resolved node path on the marker line (`MARKER PID ENVHEX PATH`). */
  learn?: boolean;
  /** What an earlier login-shell start learned: skip the login shell, export `env`, exec `node`. */
  known?: { node: string; env: string } | undefined;
}

/**
 * Per-session variables left out of a learned environment: each session gets its own from sshd
 * and PAM (a Kerberos ticket cache named per login, pam_systemd's session id).
 */
const SESSION_VARS = [
  'PWD',
  'OLDPWD',
  'SHLVL',
  'SSH_CLIENT',
  'SSH_CONNECTION',
  'SSH_TTY',
  'SSH_AUTH_SOCK',
  'SSH_ORIGINAL_COMMAND',
  'KRB5CCNAME',
  'XDG_SESSION_ID',
];

/** POSIX single-quoting: safe for any byte string. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path word: a leading `~/` becomes `"$HOME"/…` so that the shell expands it. */
function pathWord(p: string): string {
  if (p === '~') return '"$HOME"';
  if (p.startsWith('~/')) return `"$HOME"/${shq(p.slice(2))}`;
  return shq(p);
}

export function remoteScript(o: RemoteCommandOptions): string {
  const lines: string[] = [];
  // Before chdir= and env: change anything: what the login shell alone exported. `od -v` keeps
  // repeated lines (od folds them into `*` otherwise); hex keeps it on the marker line.
  if (o.learn) lines.push(`e=$( (${SESSION_VARS.map((v) => `unset ${v} 2>/dev/null;`).join(' ')} export -p) | od -An -v -tx1 | tr -d ' \\n')`);
  if (o.known) lines.push(o.known.env);
  if (o.chdir) {
    lines.push(
      `d=${pathWord(o.chdir)}`,
      `{ cd -- "$d" 2>/dev/null || { mkdir -p -- "$d" && cd -- "$d"; }; } || { echo "${SCRIPT_TAG} cannot change directory to $d (chdir=)" >&2; exit ${EXIT_CHDIR_FAILED}; }`,
    );
  }
  for (const [name, value] of Object.entries(o.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new SpecError(`gateway spec ${JSON.stringify(o.spec)}: env:${name} is not a valid environment variable name for a POSIX shell`);
    }
    lines.push(`${name}=${shq(value)}; export ${name}`);
  }
  const runtime = o.runtime ?? 'node';
  const words = (o.node ?? runtime).trim().split(/\s+/);
  const node = o.known?.node ?? words[0]!;
  lines.push(
    `n=${o.known ? shq(node) : pathWord(node)}`,
    `command -v "$n" >/dev/null 2>&1 || { echo "${SCRIPT_TAG} ${runtime} not found: \\"$n\\" is not on PATH ($PATH) or not executable" >&2; exit ${EXIT_NODE_NOT_FOUND}; }`,
    o.learn ? `printf '%s %s %s %s\\n' ${shq(o.marker)} "$$" "$e" "$(command -v "$n")"` : `printf '%s %s\\n' ${shq(o.marker)} "$$"`,
  );
  const nice = o.nice !== undefined ? `nice -n ${Number(o.nice)} ` : '';
  // The wire moves to fd 3: a raw write to fd 1 by remote code, a library or a child with stdio
  // 'inherit' must never land between two frames. fd 1 becomes a FIFO that the runtime holds open
  // on fd 4 (read back and sent as remote stdout, BootConfig.stdoutFd); where no FIFO can be made,
  // and for Bun and Deno where there is no /proc (they open the FIFO as /proc/self/fd/4: unread,
  // it would fill and block the writer), fd 1 is stderr.
  const canRead = runtime === 'node' ? '' : '[ -d /proc/$$/fd ] && ';
  lines.push(
    `o=2; f="\${TMPDIR:-/tmp}/tsnet-stdout-$$"`,
    `if ${canRead}mkfifo -m 600 "$f" 2>/dev/null; then exec 4<>"$f"; rm -f "$f"; o=4; fi`,
    `exec ${nice}"$n" ${firstStageArgs(runtime, words.slice(1)).map(shq).join(' ')} 3>&1 1>&$o`,
  );
  return lines.join('\n');
}

/** Whether the node word needs a PATH lookup (and so a login shell). */
export function needsLoginShell(node: string | undefined, runtime: RuntimeName = 'node'): boolean {
  const first = (node ?? runtime).trim().split(/\s+/)[0]!;
  return !(first.startsWith('/') || first.startsWith('~/'));
}

export function remoteCommand(o: RemoteCommandOptions): string {
  const inner = `exec /bin/sh -c ${shq(remoteScript(o))}`;
  return needsLoginShell(o.node, o.runtime) && !o.known ? `exec "$SHELL" -l -c ${shq(inner)}` : inner;
}

/** Ends the runtime's process group (it leads one: sshd starts each session with setsid). */
export function killCommand(pid: number): string {
  return `exec /bin/sh -c ${shq(`kill -9 -${pid} 2>/dev/null || kill -9 ${pid} 2>/dev/null; exit 0`)}`;
}
