/**
 * The remote start command, run the way sshd runs it (`$SHELL -c <command>`) on this machine, with
 * a stand-in "node" that prints what it received.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIRST_STAGE, firstStageArgs } from '@tsnet/bootstrap';
import { afterAll, expect, test } from 'vitest';
import { parseLearned } from '../src/host-setup.js';
import { EXIT_CHDIR_FAILED, EXIT_NODE_NOT_FOUND, needsLoginShell, remoteCommand, remoteScript, shq } from '../src/remote-command.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnet-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fake = join(dir, 'fake-node'); // node= splits on spaces: the rest are flags
// It writes what it saw to fd 3, where node writes frames, including what fd 1 is: a FIFO that
// node holds open on fd 4 (read back as remote stdout), never the wire.
writeFileSync(
  fake,
  '#!/bin/sh\nif [ -p /dev/fd/1 ] && [ "$(readlink /proc/$$/fd/1)" = "$(readlink /proc/$$/fd/4)" ]; then m="fd1=fifo on fd 4"; fi\n' +
    '{ printf "pid=%s\\ncwd=%s\\nx=%s\\n" "$$" "$PWD" "$TSNET_X"\nfor a in "$@"; do printf "arg=%s\\n" "$a"; done; echo "$m"; } >&3\necho "to fd 1"\n',
);
chmodSync(fake, 0o755);

function run(command: string, shell = '/bin/sh'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(shell, ['-c', command], { cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir, SHELL: shell } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

test('marker with the pid node will have, then node with the first stage; env and chdir quoted', async () => {
  const value = `a'b "c" $HOME \`id\` \\ ; * \n end`;
  const cmd = remoteCommand({ node: `${fake} --flag=1`, chdir: 'sub dir/x', env: { TSNET_X: value }, marker: 'MARK', spec: 'test' });
  for (const shell of ['/bin/sh', '/bin/bash']) {
    const { code, stdout, stderr } = await run(cmd, shell);
    expect(stderr).toBe(''); // fd 1 went to the FIFO
    expect(code).toBe(0);
    expect(stdout).toContain('fd1=fifo on fd 4\n');
    const [marker, ...rest] = stdout.split('\n');
    const pid = marker!.replace('MARK ', '');
    expect(rest[0]).toBe(`pid=${pid}`); // every step execs: the marker's pid is node's
    expect(rest[1]).toBe(`cwd=${join(dir, 'sub dir/x')}`); // relative to the login home, created
    expect(stdout).toContain(`x=${value}\n`);
    expect(rest.filter((l) => l.startsWith('arg=')).slice(0, 3)).toEqual(['arg=--flag=1', 'arg=-e', `arg=${FIRST_STAGE.split('\n')[0]}`]);
  }
});

test('runtime=deno and runtime=bun: the executable gets its own argv (firstStageArgs), and its name in the not-found line', async () => {
  for (const runtime of ['deno', 'bun'] as const) {
    const { code, stdout } = await run(remoteCommand({ node: fake, runtime, marker: 'MARK', spec: 's' }));
    expect(code).toBe(0);
    const args = stdout.split('\n').filter((l) => l.startsWith('arg='));
    expect(args.map((a) => a.slice(0, 40))).toEqual(firstStageArgs(runtime).map((a) => `arg=${a}`.slice(0, 40)));
  }
  expect(remoteCommand({ runtime: 'bun', marker: 'M', spec: 's' })).toMatch(/^exec "\$SHELL" -l -c /); // bun looked up on PATH
  const { code, stderr } = await run(remoteCommand({ node: 'no-such-deno-xyz', runtime: 'deno', marker: 'MARK', spec: 's' }), '/bin/bash');
  expect(code).toBe(EXIT_NODE_NOT_FOUND);
  expect(stderr).toMatch(/^tsnet: deno not found: "no-such-deno-xyz" is not on PATH/m);
});

test('node looked up on PATH goes through a login shell; an absolute path does not', () => {
  expect(needsLoginShell(undefined)).toBe(true);
  expect(needsLoginShell('node22 --max-old-space-size=100')).toBe(true);
  expect(needsLoginShell('/opt/node/bin/node')).toBe(false);
  expect(needsLoginShell('~/.nvm/versions/node/v20/bin/node')).toBe(false);
  expect(remoteCommand({ marker: 'M', spec: 's' })).toMatch(/^exec "\$SHELL" -l -c /);
  expect(remoteCommand({ node: '/usr/bin/node', marker: 'M', spec: 's' })).toMatch(/^exec \/bin\/sh -c /);
});

test('a node that is not there: exit 127 and a tsnet: line naming it', async () => {
  const { code, stderr, stdout } = await run(remoteCommand({ node: 'no-such-node-xyz', marker: 'MARK', spec: 's' }), '/bin/bash');
  expect(code).toBe(EXIT_NODE_NOT_FOUND);
  expect(stdout).toBe('');
  expect(stderr).toMatch(/^tsnet: node not found: "no-such-node-xyz" is not on PATH/m);
});

test('a chdir that cannot be made: exit 122', async () => {
  writeFileSync(join(dir, 'file'), '');
  const { code, stderr } = await run(remoteCommand({ node: fake, chdir: join(dir, 'file', 'sub'), marker: 'MARK', spec: 's' }));
  expect(code).toBe(EXIT_CHDIR_FAILED);
  expect(stderr).toContain('tsnet: cannot change directory to');
});

test('nice= and ~/ paths', async () => {
  const cmd = remoteCommand({ node: '~/fake-node', chdir: '~/home-sub', nice: '3', marker: 'MARK', spec: 's' });
  const { code, stdout } = await run(`${cmd}`);
  expect(code).toBe(0);
  expect(stdout).toContain(`cwd=${join(dir, 'home-sub')}`);
  const niceness = join(dir, 'print-niceness');
  writeFileSync(niceness, '#!/bin/sh\nprintf "nice=%s\\n" "$(nice)" >&3\n');
  chmodSync(niceness, 0o755);
  const nice = await run(remoteCommand({ node: niceness, nice: '3', marker: 'M', spec: 's' }));
  expect(nice.stdout).toContain(`nice=${Math.min(19, getPriority() + 3)}\n`);
});

test('env names a shell cannot take are refused', () => {
  expect(() => remoteCommand({ env: { 'A-B': '1' }, marker: 'M', spec: 's' })).toThrow(/env:A-B is not a valid/);
});

test('a learning start reports the login environment and the resolved node; a start with it runs no login shell', async () => {
  const home = mkdtempSync(join(dir, 'home-'));
  const bin = join(home, 'bin with space');
  mkdirSync(bin);
  const tool = join(bin, 'fake-node');
  // Like node, it writes to fd 3 (the wire), which the start script points at the channel's stdout.
  writeFileSync(tool, '#!/bin/sh\nprintf "pid=%s\\nprofile=%s\\nsession=%s\\n" "$$" "$TSNET_PROFILE" "$SSH_CONNECTION" >&3\n');
  chmodSync(tool, 0o755);
  // The login shell's profile is where PATH and other variables come from (nvm, asdf, …).
  const profileValue = `it's "quoted" $x\nsecond line`;
  writeFileSync(
    join(home, '.profile'),
    `echo profile-read >&2\nPATH=${shq(bin)}:$PATH; export PATH\nTSNET_PROFILE=${shq(profileValue)}; export TSNET_PROFILE\n`,
  );
  const env = { PATH: '/usr/bin:/bin', HOME: home, SHELL: '/bin/sh', SSH_CONNECTION: 'first session' };
  const exec = (command: string, extra: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile('/bin/sh', ['-c', command], { cwd: home, env: { ...env, ...extra } }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });

  const first = await exec(remoteCommand({ node: 'fake-node', marker: 'MARK', spec: 's', learn: true }));
  expect(first.code).toBe(0);
  expect(first.stderr).toBe('profile-read\n');
  const markerLine = first.stdout.split('\n')[0]!;
  const [mark, pid, ...rest] = markerLine.split(' ');
  expect(mark).toBe('MARK');
  expect(first.stdout).toContain(`\npid=${pid}\n`);
  const learned = parseLearned(rest.join(' '))!;
  expect(learned.node).toBe(tool);
  expect(learned.env).toContain('TSNET_PROFILE=');
  expect(learned.env).not.toContain('first session'); // per-session variables are left out

  const second = await exec(remoteCommand({ node: 'fake-node', marker: 'MARK', spec: 's', known: learned, env: { TSNET_X: '1' } }), {
    SSH_CONNECTION: 'second session',
  });
  expect(second.code).toBe(0);
  expect(second.stderr).toBe(''); // no login shell: the profile was not read
  expect(second.stdout).toMatch(/^MARK \d+\n/);
  expect(second.stdout).toContain(`profile=${profileValue}\n`);
  expect(second.stdout).toContain('session=second session\n');
});

test('parseLearned refuses what it cannot use', () => {
  expect(parseLearned('')).toBeNull();
  expect(parseLearned('6162 relative/node')).toBeNull();
  expect(parseLearned('616 /usr/bin/node')).toBeNull();
  expect(parseLearned('zz /usr/bin/node')).toBeNull();
  expect(parseLearned('6162 /usr/bin/node')).toEqual({ node: '/usr/bin/node', env: 'ab' });
});

test('a spawned start (the spawner runs the script with its parent pid as $1): that pid follows the marker', async () => {
  const script = remoteScript({ node: fake, marker: 'MARK', spec: 'test', known: { node: fake, env: 'export TSNET_X=learned' }, spawned: true });
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = execFile('/bin/sh', ['-c', script, 'sh', '4242'], { cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir } }, (error, out) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout: out }),
    );
    child.stdin?.end();
  });
  expect(code).toBe(0);
  const [marker, ...rest] = stdout.split('\n');
  const [mark, pid, watch] = marker!.split(' ');
  expect([mark, watch]).toEqual(['MARK', '4242']);
  expect(rest[0]).toBe(`pid=${pid}`);
  expect(stdout).toContain('x=learned\n');
});
