/**
 * Ending process groups. Transports start remote runtimes as process-group leaders (popen, the
 * socket server's children, via= relays), so one signal ends a runtime and everything it started.
 * Worker-safe: the remote side ends its own group this way too.
 */

/** How long stdio may stay open after a process exited (a grandchild holding a pipe) before we stop waiting. */
export const STDIO_GRACE_MS = 300;

/**
 * SIGKILLs the process group led by `target` (a pid, or a child process). Returns false when
 * there is no such group (gone already, or the process is no group leader), so the caller can
 * fall back to the process alone. Never throws.
 */
export function killGroup(target: number | { readonly pid?: number | undefined } | undefined): boolean {
  const pid = typeof target === 'number' ? target : target?.pid;
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(-pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
