/**
 * `tsnet repl` in a real terminal: tmux runs it, send-keys types, capture-pane reads the screen.
 * Each session has a tmux server of its own and is killed after the test.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { runtimePaths } from '../../../test-e2e/helpers/runtimes.js';
import { BIN, runTsnet, shellQuote, Tmux } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsnet-repl-test-'));
const sessions: Tmux[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function repl(env: Record<string, string> = {}, args = ''): Tmux {
  const t = new Tmux(`${shellQuote(process.execPath)} ${shellQuote(BIN)} repl ${args}`, env);
  sessions.push(t);
  return t;
}

/** Lines of the screen after the last prompt line that typed `input`. */
function answerTo(screen: string, input: string): string[] {
  const lines = screen.split('\n');
  const at = lines.lastIndexOf(`> ${input}`);
  return at === -1 ? [] : lines.slice(at + 1);
}

/** Waits until the screen ends with an empty prompt (`> ` or `... `): typing now is not typing ahead. */
async function prompted(t: Tmux): Promise<void> {
  await t.waitFor((s) => /^(>|\.\.\.) ?$/.test(s.trimEnd().split('\n').at(-1) ?? ''));
}

/** Types a line at a fresh prompt and resolves with the lines shown between it and the next empty prompt. */
async function ask(t: Tmux, input: string): Promise<string[]> {
  await prompted(t);
  t.type(input);
  const screen = await t.waitFor((s) => answerTo(s, input).some((l) => /^> ?$/.test(l)));
  const answer = answerTo(screen, input);
  return answer.slice(
    0,
    answer.findIndex((l) => /^> ?$/.test(l)),
  );
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

describe('tsnet repl', () => {
  test('evaluates remotely, keeps state, awaits at top level, completes names, survives Ctrl-C in a pending await, ends with .exit', async () => {
    const t = repl();
    await t.waitFor(/^> ?$/m);
    const [shown] = await ask(t, 'process.pid');
    const pid = Number(shown);
    expect(pid).toBeGreaterThan(0);
    // The pid is the remote runtime's (a popen child), not the tsnet process's.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain('tsnet.js');

    expect(await ask(t, 'let counter = 1')).toEqual(['undefined']);
    expect(await ask(t, 'counter += 41')).toEqual(['42']);
    expect(await ask(t, "const later = await new Promise((r) => setTimeout(() => r('after ' + counter), 200))")).toEqual(['undefined']);
    expect(await ask(t, 'later')).toEqual(["'after 42'"]);

    t.type('await new Promise(() => {})');
    await t.waitFor(/^> await new Promise\(\(\) => \{\}\)$/m);
    t.send('C-c');
    await t.waitFor(/^Interrupted: the evaluation was stopped/m);
    expect(await ask(t, 'counter * 2')).toEqual(['84']);

    // Tab completes names of the remote context: its own declarations and its objects' properties.
    expect(await ask(t, 'let zzUnique = { remoteOnlyProperty: counter }')).toEqual(['undefined']);
    t.type('zzU', false);
    t.send('Tab');
    await t.waitFor(/^> zzUnique$/m);
    t.type('.remoteO', false);
    t.send('Tab');
    await t.waitFor(/^> zzUnique\.remoteOnlyProperty$/m);
    t.send('Enter');
    await t.waitFor((s) => answerTo(s, 'zzUnique.remoteOnlyProperty')[0] === '42');

    t.type('.exit');
    await t.waitFor(/^\[exited 0\]$/m);
    // The remote runtime ends with the session.
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
  });

  test('multi-line input, uncaught errors shown as Node shows them, Ctrl-C at the prompt, Ctrl-D ends', async () => {
    const t = repl();
    await t.waitFor(/^> ?$/m);
    t.type('function add(a, b) {');
    await t.waitFor(/^\.\.\. ?$/m);
    t.type('return a + b }');
    await t.waitFor(/^\.\.\. return a \+ b \}\nundefined\n> ?$/m);
    expect(await ask(t, 'add(2, 3)')).toEqual(['5']);
    t.type('null.boom');
    await t.waitFor(/^Uncaught TypeError: Cannot read properties of null \(reading 'boom'\)$/m);
    t.type('await Promise.reject(new RangeError("rejected"))');
    await t.waitFor(/^Uncaught RangeError: rejected$/m);
    t.type('half typed', false);
    t.send('C-c');
    t.type('add(1, 1)');
    await t.waitFor((s) => answerTo(s, 'add(1, 1)')[0] === '2');
    t.send('C-d');
    await t.waitFor(/^\[exited 0\]$/m);
  });

  test('a thread-blocking loop: Ctrl-C says so, a second Ctrl-C replaces the runtime and the prompt works again', async () => {
    const t = repl();
    await t.waitFor(/^> ?$/m);
    const pid = Number((await ask(t, 'var marker = 1; process.pid'))[0]);
    expect(pid).toBeGreaterThan(0);
    t.type('while (true) {}');
    await t.waitFor(/^> while \(true\) \{\}$/m);
    t.send('C-c');
    await t.waitFor(/does not answer: its code blocks the thread\. Ctrl-C again replaces it/);
    t.send('C-c');
    await t.waitFor(/gw0 was killed; gw1 is a fresh runtime, pid \d+/);
    expect(await ask(t, 'typeof marker')).toEqual(["'undefined'"]);
    expect(alive(pid)).toBe(false);
    t.type('.exit');
    await t.waitFor(/^\[exited 0\]$/m);
  });

  test('colors on a terminal, none with NO_COLOR; history is local and kept in $TSNET_REPL_HISTORY', async () => {
    const history = join(tmp, 'history');
    const colored = repl({ TSNET_REPL_HISTORY: history });
    await colored.waitFor(/^> ?$/m);
    expect(await ask(colored, '40 + 2')).toEqual(['42']);
    expect(colored.capture(true)).toContain('\u001b[33m42');
    colored.type('.exit');
    await colored.waitFor(/^\[exited 0\]$/m);
    expect(readFileSync(history, 'utf8').split('\n')).toContain('40 + 2');

    const plain = repl({ NO_COLOR: '1', TSNET_REPL_HISTORY: history });
    await plain.waitFor(/^> ?$/m);
    plain.send('Up');
    await plain.waitFor(/^> \.exit$/m);
    plain.send('Up');
    await plain.waitFor(/^> 40 \+ 2$/m);
    plain.send('Enter');
    await plain.waitFor((s) => answerTo(s, '40 + 2')[0] === '42');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for color codes
    expect(plain.capture(true)).not.toMatch(/\u001b\[3\dm/);
    plain.type('.exit');
    await plain.waitFor(/^\[exited 0\]$/m);
  });

  test('piped input (no terminal): no prompts, one answer per input, state kept, end of input ends it', async () => {
    const r = await runTsnet(['repl'], { input: 'let a = await Promise.resolve(20)\na + 22\nfunction f() {\nreturn a }\nf()\nthrow new Error("x")\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('undefined\n42\nundefined\n20\nUncaught Error: x\n');
  });

  test('on Node 18 and 24 and on Bun too: top-level await, state, errors, multi-line (Deno: its node:repl has no top-level await)', async () => {
    const paths = runtimePaths();
    const input = 'const y = await Promise.resolve(2)\ny * 21\nthrow new Error("bad")\n1 +\n2\n';
    const specs = [`popen//node=${paths.node18}`, `popen//node=${paths.node24}`, `popen//runtime=bun//exe=${paths.bun}`];
    const runs = await Promise.all(specs.map((tx) => runTsnet(['repl', '--tx', tx], { input })));
    for (const [i, r] of runs.entries()) {
      expect(r.stderr, specs[i]).toBe('');
      expect(r.stdout, specs[i]).toBe('undefined\n42\nUncaught Error: bad\n3\n');
    }
    const deno = await runTsnet(['repl', '--tx', `popen//runtime=deno//exe=${paths.deno}`], { input: 'let z = 5\nz + 1\n' });
    expect(deno.stdout).toBe('undefined\n6\n');
  });

  test('bad arguments: more than one gateway is refused with exit code 2', async () => {
    const t = repl({}, '--tx 2*popen');
    await t.waitFor(/^tsnet repl runs on one gateway; got 2/m);
    await t.waitFor(/^\[exited 2\]$/m);
  });
});
