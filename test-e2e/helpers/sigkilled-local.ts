/**
 * A local process with gateways open, SIGKILLed: fixtures/opens-gateways.mjs (four remotes in
 * different states, one of them with a child process) runs as a child, prints the remote pids and
 * is killed; then we wait up to `withinMs` for those pids to go. What is left is killed too, so no
 * test leaves processes behind; the caller asserts on what it is told.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { isAlive, killAll, survivors } from './processes.js';

const FIXTURE = new URL('../fixtures/opens-gateways.mjs', import.meta.url).pathname;

export interface SigkillOutcome {
  /** The remote pids the fixture printed. */
  pids: number[];
  /** Every one of them was alive just before the SIGKILL. */
  allAliveBefore: boolean;
  /** Those still alive `withinMs` after it. */
  left: number[];
}

/** `spec`: the fixture's gateways (default popen). Rejects if the fixture exits before printing its pids. */
export async function sigkillGatewayOpener(spec?: string, withinMs = 2000): Promise<SigkillOutcome> {
  const child = spawn(process.execPath, [FIXTURE, ...(spec === undefined ? [] : [spec])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the fixture exited early with code ${code}`)));
  });
  lines.close();
  const pids = JSON.parse(line) as number[];
  const allAliveBefore = pids.every(isAlive);
  child.kill('SIGKILL');
  const left = await survivors(pids, withinMs);
  killAll(left);
  return { pids, allAliveBefore, left };
}
