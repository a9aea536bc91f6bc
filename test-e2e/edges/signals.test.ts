// Issue 21, local process and signals: a process with gateways ends by SIGTERM/SIGINT as one
// without (exit by the signal, 143/130 in a shell), busy or waiting, and leaves no remote behind.
// The local side runs as a child process; /proc says what is left.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, test } from 'vitest';
import { survivors } from '../helpers/processes.js';
import { useSshd } from '../helpers/use-sshd.js';

const FIXTURE = new URL('../fixtures/edges-local.mjs', import.meta.url).pathname;

const server = useSshd();

const specs = {
  popen: () => 'popen',
  ssh: () => server.spec(),
};

async function start(mode: 'busy' | 'receive', spec: string): Promise<{ child: ChildProcess; pid: number; stderr: () => string }> {
  const child = spawn(process.execPath, [FIXTURE, mode, spec], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (t: string) => {
    err += t;
  });
  child.stdout!.setEncoding('utf8');
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (t: string) => {
      out += t;
      if (out.includes('\n')) resolve((JSON.parse(out.slice(0, out.indexOf('\n'))) as { pid: number }).pid);
    });
    child.once('exit', (code, signal) => reject(new Error(`fixture ended early (${code ?? signal}): ${out}${err}`)));
  });
  // `busy`: the line is printed before the loop starts; give it the moment to enter it.
  await new Promise((r) => setTimeout(r, 100));
  return { child, pid, stderr: () => err };
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; by: string | null }> {
  const bounded = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, by] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(bounded);
  return { code, by };
}

describe.each(['popen', 'ssh'] as const)('%s', (kind) => {
  test.each(['SIGTERM', 'SIGINT'] as const)('%s ends a process whose main thread is busy, and its remote goes too', async (signal) => {
    const { child, pid } = await start('busy', specs[kind]());
    child.kill(signal);
    expect(await exitOf(child)).toEqual({ code: null, by: signal });
    expect(await survivors([pid], 10_000)).toEqual([]);
  });

  test('Ctrl-C during a pending receive(): ended by SIGINT, not by "exit() was called", remote gone', async () => {
    const { child, pid, stderr } = await start('receive', specs[kind]());
    child.kill('SIGINT');
    expect(await exitOf(child)).toEqual({ code: null, by: 'SIGINT' });
    expect(await survivors([pid], 10_000)).toEqual([]);
    expect(stderr()).not.toMatch(/exit\(\) was called/);
    if (kind === 'popen') {
      // The lifeline writes its line after the process is gone, on the stderr pipe it shares: wait for it (bounded).
      const line = /tsnet: process \d+ ended with 1 popen gateway\(s\) open; .*gateways closed because the process ended/;
      for (const until = Date.now() + 5000; !line.test(stderr()) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
      expect(stderr()).toMatch(line);
    }
  });
});
