import { readFileSync } from 'node:fs';

/** True while `pid` names a live process (a zombie has exited: it only waits to be reaped). */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Resolves true once none of `pids` is alive, false if some still is after `withinMs`. */
export async function allGone(pids: number[], withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  for (;;) {
    if (!pids.some(alive)) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Kills whatever of `pids` is left (cleanup after a failed assertion). */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
