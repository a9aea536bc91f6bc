// How each runtime starts with the first stage (the argv every transport uses), checked by starting
// it: the first stage must run and refuse a bad payload the same way on every runtime.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstStageArgs, runtimeLaunch } from '@tsnet/bootstrap';
import { expect, test } from 'vitest';

const spec = (keys: Record<string, string>) => ({ getString: (k: string) => keys[k] });

test('runtimeLaunch reads runtime=, exe= and the node= shorthand', () => {
  expect(runtimeLaunch(spec({}))).toEqual({ runtime: 'node', exe: undefined, flags: [] });
  expect(runtimeLaunch(spec({ runtime: 'bun' }))).toEqual({ runtime: 'bun', exe: undefined, flags: [] });
  expect(runtimeLaunch(spec({ runtime: 'deno', exe: '/opt/deno' }))).toEqual({ runtime: 'deno', exe: '/opt/deno', flags: [] });
  expect(runtimeLaunch(spec({ node: '/usr/bin/node --max-old-space-size=100' }))).toEqual({
    runtime: 'node',
    exe: '/usr/bin/node',
    flags: ['--max-old-space-size=100'],
  });
});

test('the argv of each runtime', () => {
  expect(firstStageArgs('node', ['--flag'])).toEqual(['--flag', '-e', expect.stringMatching(/^const F=require\('fs'\)/)]);
  expect(firstStageArgs('bun')).toEqual(['-e', expect.stringMatching(/^const F=require/)]);
  const deno = firstStageArgs('deno');
  expect(deno.slice(0, 2)).toEqual(['eval', '--ext=js']);
  expect(deno[2]).toMatch(/^import\{createRequire as R\}from'node:module';const require=R\(.*\);const F=require\('fs'\)/);
});

/** Runs the first stage of `runtime` at `exe` with `input` on stdin; resolves with its exit code and stderr. */
function run(exe: string, runtime: 'node' | 'bun' | 'deno', input: string): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(exe, firstStageArgs(runtime), { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, TSNET_CODE_CACHE: '0' } });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => resolve({ code, err }));
    child.stdin.end(input);
  });
}

const installed = JSON.parse(
  execFileSync(process.execPath, [fileURLToPath(new URL('../../../scripts/install-runtimes.mjs', import.meta.url)), '--quiet'], {
    encoding: 'utf8',
    timeout: 600_000,
  }),
) as Record<'bun' | 'deno', string>;

test.each([
  ['node', process.execPath],
  ['bun', installed.bun],
  ['deno', installed.deno],
] as const)('%s: the first stage runs; a corrupt payload exits 97 naming it, an empty input exits 0', async (runtime, exe) => {
  expect(await run(exe, runtime, 'TSNET1 4 0 {}\nabcd')).toEqual({ code: 97, err: expect.stringMatching(/payload arrived corrupted/) });
  expect(await run(exe, runtime, '')).toEqual({ code: 0, err: '' });
});
