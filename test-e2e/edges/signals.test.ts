// Issue 21, local process and signals: a process with gateways ends by SIGTERM/SIGINT as one
// without (exit by the signal, 143/130 in a shell), busy or waiting, and leaves no remote behind.
// The local side runs as a child process; /proc says what is left. The popen lifeline's line names
// a signal the process group got (Ctrl-C in a real terminal, tmux; a kill of the group), and only
// that: a signal sent to the pid alone reaches no one but the process.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, test } from 'vitest';
import { Tmux } from '../../packages/cli/test/helpers.js';
import { survivors } from '../helpers/processes.js';
import { useSshd } from '../helpers/use-sshd.js';

const FIXTURE = new URL('../fixtures/edges-local.mjs', import.meta.url).pathname;

const server = useSshd();

const specs = {
  popen: () => 'popen',
  ssh: () => server.spec(),
};

async function start(mode: 'busy' | 'receive', spec: string, detached = false): Promise<{ child: ChildProcess; pid: number; stderr: () => string }> {
  // detached: a process group of its own, which a test can signal as a terminal does
  const child = spawn(process.execPath, [FIXTURE, mode, spec], { stdio: ['ignore', 'pipe', 'pipe'], detached });
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
      // sent to the pid alone: the lifeline cannot tell which signal it was
      await expect(lifelineLine(stderr)).resolves.toMatch(
        /^tsnet: process \d+ ended with 1 popen gateway\(s\) open; their runtimes were killed \(gateways closed because the process ended without closing them\)$/,
      );
    }
  });
});

/** The lifeline's line: it writes it after the process is gone, on the stderr pipe it shares, so wait for it (bounded). */
async function lifelineLine(stderr: () => string): Promise<string> {
  const line = () =>
    stderr()
      .split('\n')
      .find((l) => l.startsWith('tsnet: process '));
  for (const until = Date.now() + 5000; !line() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
  return line() ?? `no lifeline line in: ${stderr()}`;
}

describe('popen: the lifeline names a signal the process group got', () => {
  test.each([
    ['SIGTERM', 'SIGTERM'],
    ['SIGINT', 'SIGINT \\(Ctrl-C\\)'],
  ])('%s to the group, during a pending receive()', async (signal, named) => {
    const { child, pid, stderr } = await start('receive', 'popen', true);
    process.kill(-child.pid!, signal);
    expect(await exitOf(child)).toEqual({ code: null, by: signal });
    expect(await survivors([pid], 10_000)).toEqual([]);
    await expect(lifelineLine(stderr)).resolves.toMatch(
      new RegExp(`^tsnet: process ${child.pid} ended by ${named} with 1 popen gateway\\(s\\) open; their runtimes were killed`),
    );
  });

  test('Ctrl-C in a real terminal (tmux): the line says SIGINT (Ctrl-C), and the shell sees exit 130', { timeout: 30_000 }, async () => {
    // the pane's shell ignores SIGINT so that it stays to print the exit code; node resets it at start
    const tmux = new Tmux(`trap '' INT; ${process.execPath} ${FIXTURE} receive popen`);
    try {
      const screen = async (re: RegExp) => {
        for (const until = Date.now() + 15_000; !re.test(tmux.capture()) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
        return tmux.capture();
      };
      const pid = Number(/\{"pid":(\d+)\}/.exec(await screen(/\{"pid":\d+\}/))?.[1]);
      tmux.send('C-c');
      const after = await screen(/\[exited \d+\]/);
      expect(after).toMatch(/tsnet: process \d+ ended by SIGINT \(Ctrl-C\) with 1 popen gateway\(s\) open; their runtimes were killed/);
      expect(after).toMatch(/\[exited 130\]/);
      expect(await survivors([pid], 10_000)).toEqual([]);
    } finally {
      tmux.close();
    }
  });
});
