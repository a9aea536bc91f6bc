/**
 * `npm install @tsnet/cli` in an empty project gives a working `npx tsnet`, and a package that
 * exports `tsnetCommand` as @tsnet/test is what `tsnet test` runs (the subcommand hook). The
 * packages are packed from this checkout (npm pack) and installed from the tarballs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { childEnv } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsnet-cli-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function npx(app: string, args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('npx', ['--no', 'tsnet', ...args], {
      cwd: app,
      encoding: 'utf8',
      env: childEnv(),
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

test('npm install @tsnet/cli: npx tsnet runs (exec, rsync); tsnet test says what to install, then runs the installed @tsnet/test', { timeout: 300_000 }, () => {
  const packs = join(dir, 'packs');
  mkdirSync(packs);
  const workspaces = [
    '@tsnet/core',
    '@tsnet/bootstrap',
    '@tsnet/transport-popen',
    '@tsnet/transport-ssh',
    '@tsnet/transport-socket',
    '@tsnet/transport-cmd',
    '@tsnet/rsync',
    '@tsnet/cli',
  ];
  execFileSync('npm', ['pack', '--silent', '--pack-destination', packs, ...workspaces.flatMap((w) => ['-w', w])], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  expect(tarballs).toHaveLength(workspaces.length);
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', ...tarballs], { cwd: app, stdio: ['ignore', 'pipe', 'inherit'], timeout: 240_000 });

  // popen twice, and a cmd= gateway (@tsnet/transport-cmd) that starts the runtime through env(1).
  const exec = npx(app, ['exec', '--tx', '2*popen', '--tx', 'cmd=env', '--json', '-e', 'await channel.send(process.cwd())']);
  expect(exec.stderr).toBe('');
  expect(
    exec.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).item),
  ).toEqual([app, app, app]);

  mkdirSync(join(app, 'site', 'css'), { recursive: true });
  writeFileSync(join(app, 'site', 'css', 'a.css'), 'body {}');
  const synced = npx(app, ['rsync', 'site', join(dir, 'copy')]);
  expect(synced.stdout).toMatch(/^gw0: 2 created, 0 updated, 0 deleted, 0 unchanged;/);
  expect(readFileSync(join(dir, 'copy', 'css', 'a.css'), 'utf8')).toBe('body {}');

  const missing = npx(app, ['test']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toBe('tsnet test: @tsnet/test is not installed: npm install @tsnet/test (it provides "tsnet test")\n');

  // A package in the place of @tsnet/test: tsnet hands it the arguments and the shared helpers.
  const plugin = join(dir, 'plugin');
  mkdirSync(plugin);
  writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: '@tsnet/test', version: '0.0.1', type: 'module', exports: './index.js' }));
  writeFileSync(
    join(plugin, 'index.js'),
    `export const tsnetCommand = {
  async run(argv, ctx) {
    const { values, positionals } = ctx.helpers.parse('tsnet test', argv, { tx: { type: 'string', multiple: true } });
    const specs = ctx.helpers.expandTx('tsnet test', values.tx);
    const gateways = await ctx.helpers.openGroup('tsnet test', specs, { stdout: ctx.stderr, stderr: ctx.stderr });
    try {
      const ids = [...gateways.group].map((gw) => gw.id);
      await ctx.helpers.write(ctx.stdout, JSON.stringify({ files: positionals, ids }) + '\\n');
      return positionals.length > 0 ? 0 : 3;
    } finally {
      await gateways.close();
    }
  },
};
`,
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', plugin], { cwd: app, stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 });
  const ran = npx(app, ['test', '--tx', '2*popen', 'a.test.js', 'b.test.js']);
  expect(ran).toEqual({ code: 0, stdout: '{"files":["a.test.js","b.test.js"],"ids":["gw0","gw1"]}\n', stderr: '' });
  expect(npx(app, ['test']).code).toBe(3);
  const bad = npx(app, ['test', '--bogus']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^tsnet test: Unknown option '--bogus'/);
});
