/** The `tsnet` command itself: the installed bin, help texts, version, exit codes, the test hook, info, serve. */
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { BIN, childEnv, escapeCodes, runTsnet } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('tsnet', () => {
  test('npm ci of the monorepo installs the bin as node_modules/.bin/tsnet, and it runs', () => {
    const link = `${root}node_modules/.bin/tsnet`;
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(realpathSync(link)).toBe(realpathSync(BIN));
    const out = execFileSync(link, ['--version'], { encoding: 'utf8', env: childEnv(), timeout: 20_000 });
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(out).toBe(`${pkg.version}\n`);
  });

  test('--help lists every command; each command has --help of its own, on stdout, exit 0', async () => {
    const top = await runTsnet(['--help']);
    expect(top.code).toBe(0);
    for (const name of ['exec', 'rsync', 'info', 'repl', 'serve', 'test']) expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const expected: Record<string, RegExp> = {
      exec: /--kwargs JSON[\s\S]*--json/,
      rsync: /--delete[\s\S]*--exclude PAT[\s\S]*--checksum[\s\S]*--dry-run[\s\S]*--json/,
      info: /--json/,
      repl: /Ctrl-C/,
      serve: /^Usage: tsnet serve[\s\S]*--listen HOST:PORT[\s\S]*--token-file/,
      test: /^Usage: tsnet test[\s\S]*--dist load\|each[\s\S]*--rsync-dir DIR/, // @tsnet/test's own (it is in the workspace)
    };
    const runs = await Promise.all(Object.keys(expected).map((name) => runTsnet([name, '--help'])));
    for (const [i, name] of Object.keys(expected).entries()) {
      const r = runs[i]!;
      expect(r.code, name).toBe(0);
      expect(r.stderr, name).toBe('');
      expect(r.stdout, name).toMatch(expected[name]!);
      if (name !== 'serve') expect(r.stdout).toMatch(/--tx SPEC/);
    }
  });

  test('no command, an unknown one, an option before the command: exit 2, one line (or the usage) on stderr', async () => {
    const none = await runTsnet([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^Usage: tsnet <command>/);
    const unknown = await runTsnet(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('tsnet: unknown command "frobnicate"; the commands are exec, rsync, info, repl, serve, test (see: tsnet --help)\n');
    const early = await runTsnet(['--tx', 'popen', 'exec']);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/^tsnet: options go after the command/);
  });

  // Without @tsnet/test installed (one line saying what to install): install.test.ts, in a fresh install.
  test('tsnet test reaches @tsnet/test of the workspace: its usage mistakes are one line, exit 2', async () => {
    const r = await runTsnet(['test', 'no-such-file-*.test.js'], { cwd: tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`tsnet test: no test files found in ${tmpdir()} for no-such-file-*.test.js; give files or globs\n`);
  });

  test('info: a table of remoteInfo and remoteStatus per gateway; --json the same as one object', async () => {
    const table = await runTsnet(['info', '--tx', '2*popen']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^GATEWAY\s+SPEC\s+RUNTIME\s+PLATFORM\s+HOST\s+PID\s+CWD\s+CHANNELS\s+RUNNING\s+UPTIME\s+RSS\s+HEAP$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`^gw0\\s+popen\\s+node ${process.versions.node}\\s+${process.platform}-${process.arch}\\s`));
    expect(escapeCodes(table.stdout)).toEqual([]);
    const json = await runTsnet(['info', '--json', '--tx', 'popen//id=one']);
    const parsed = JSON.parse(json.stdout) as {
      gateways: Array<{ gateway: string; spec: string; info: { pid: number; runtime: string }; status: { numChannels: number } }>;
    };
    expect(parsed.gateways).toHaveLength(1);
    expect(parsed.gateways[0]).toMatchObject({ gateway: 'one', spec: 'popen//id=one', info: { runtime: 'node' }, status: { numChannels: 0 } });
    const bad = await runTsnet(['info', 'extra']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^tsnet info takes no arguments/);
  });

  test('serve: the standalone server; a gateway reaches it with --tx socket=…; SIGTERM stops it', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--insecure-no-auth'], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
      const first = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening on" within 15 s: ${stderr}`)), 15_000);
        child.stdout.setEncoding('utf8').once('data', (t: string) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
      const m = /^listening on (127\.0\.0\.1:\d+)\n$/.exec(first);
      expect(m).not.toBeNull();
      const r = await runTsnet(['exec', '--tx', `socket=${m![1]}`, '-e', 'await channel.send(process.ppid !== 0)']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('true\n');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/SIGTERM: stopping/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('serve with a bad option: exit 2 and one line saying so', async () => {
    const r = await runTsnet(['serve', '--listen', 'nowhere']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('tsnet serve: --listen takes HOST:PORT ([::1]:PORT for IPv6), got "nowhere" (see: tsnet serve --help)\n');
    const unknown = await runTsnet(['serve', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('tsnet serve: unknown option "--bogus" (see: tsnet serve --help)\n');
  });

  test('FORCE_COLOR colors inspected values; NO_COLOR wins over it', async () => {
    const code = ['exec', '-e', 'await channel.send({ a: [1, "x"] })'];
    const forced = await runTsnet(code, { env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain('\u001b[33m1\u001b[39m');
    const r = await runTsnet(code, { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(r.stdout).toBe("{ a: [ 1, 'x' ] }\n");
  });

  test('a closed stdout (| head -1) ends the command quietly', async () => {
    const out = execFileSync(
      '/bin/sh',
      ['-c', `"${process.execPath}" "${BIN}" exec -e 'for (let i = 0; i < 100000; i++) await channel.send(i)' | head -1; echo "rc=\${PIPESTATUS:-done}"`],
      {
        encoding: 'utf8',
        env: childEnv(),
        timeout: 30_000,
      },
    );
    expect(out.split('\n')[0]).toBe('0');
  });
});
