// sudo= with throwaway users and a sudoers rule written (and removed) by the test: as root here,
// as a user whose rule needs a password (reached with cmd=setpriv), and through an ssh gateway.
import { readFileSync } from 'node:fs';
import { type Gateway, Group, isTsnetError } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { emptied } from './helpers/settle.js';
import { type SshMaster, sshMaster } from './helpers/ssh-master.js';
import { addSudoersRule, addUser, processesOf, removeUser, type TestUser } from './helpers/users.js';

const quiet = { output: 'ignore' } as const;
const tag = String(process.pid % 100000);
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-secret`;
const PW_ENV = 'TSNET_TEST_SUDO_PASSWORD';
let target: TestUser;
let runner: TestUser;
let removeRule = () => {};
let group: Group;
let ssh: SshMaster;

const ask = (gw: Gateway, expression: string) => gw.remoteExec(`await channel.send(${expression})`).receive();
const thenLoop = 'await channel.send("looping"); await new Promise((r) => setImmediate(r)); for (;;) {}';
/** The gateway id of a runtime running as `runner` (from which sudo needs a password). */
const AS_RUNNER = 'asRunner';

beforeAll(async () => {
  target = addUser(`tsnt${tag}`);
  runner = addUser(`tsnr${tag}`, PASSWORD);
  removeRule = addSudoersRule(`tsnet-test-${tag}`, [`Defaults:${runner.name} !lecture`, `${runner.name} ALL=(${target.name}) ALL`]);
  process.env[PW_ENV] = PASSWORD;
  process.env.TSNET_TEST_WRONG_PASSWORD = 'not-the-password';
  group = new Group();
  [ssh] = await Promise.all([
    sshMaster(group),
    group.makeGateway(`cmd=setpriv --reuid=${runner.name} --regid=${runner.name} --init-groups//chdir=/tmp//id=${AS_RUNNER}`, quiet),
  ]);
});

afterAll(async () => {
  try {
    await group?.terminate({ timeout: 2000 });
    await ssh?.stop();
  } finally {
    removeRule();
    if (target) removeUser(target);
    if (runner) removeUser(runner);
    delete process.env[PW_ENV];
  }
});

test('sudo=USER runs the runtime as that user, under sudo; exit() leaves nothing of it', async () => {
  const gw = await group.makeGateway(`sudo=${target.name}`, quiet);
  const [uid, ppid] = (await ask(gw, '[process.getuid(), process.ppid]')) as [number, number];
  expect(uid).toBe(target.uid);
  expect(ppid).not.toBe(process.pid); // sudo sits between
  expect(processesOf(target.uid)).toEqual([(await gw.remoteInfo()).pid]);
  const ch = gw.remoteExec('for await (const x of channel) await channel.send(x)');
  const bytes = Buffer.from([3, 4, 13, 10, 0x1a, 0x1c, 0, 255]);
  await ch.send(bytes);
  expect(Buffer.from((await ch.receive()) as Uint8Array)).toEqual(bytes);
  await gw.exit();
  expect(await emptied(() => processesOf(target.uid))).toEqual([]);
});

test('bare sudo means root; chdir= and env: apply under sudo (which resets the environment)', async () => {
  const gw = await group.makeGateway('sudo//chdir=/tmp//env:TSNET_T=kept', quiet);
  expect(await ask(gw, '[process.getuid(), process.cwd(), process.env.TSNET_T]')).toEqual([0, '/tmp', 'kept']);
  await gw.exit();
});

test('an unknown user: ConnectError naming it', async () => {
  const e = await group.makeGateway('sudo=tsnet-nobody-here', quiet).catch((x: unknown) => x);
  expect(isTsnetError(e, 'TSNET_ERR_CONNECT')).toBe(true);
  expect((e as Error).message).toMatch(/there is no user "tsnet-nobody-here" on this machine/);
});

test('no runtime: BootstrapError naming what was tried', async () => {
  const e = await group.makeGateway(`sudo=${target.name}//exe=/nonexistent/node`, quiet).catch((x: unknown) => x);
  expect(isTsnetError(e, 'TSNET_ERR_BOOTSTRAP')).toBe(true);
  expect((e as Error).message).toMatch(/no runtime for tsnt\d+ .*tried "\/nonexistent\/node"/);
});

describe('a rule that needs a password (sudo run by a user without NOPASSWD)', () => {
  test('fails at once with an AuthenticationError saying so', async () => {
    const started = Date.now();
    const e = await group.makeGateway(`sudo=${target.name}//via=${AS_RUNNER}`, quiet).catch((x: unknown) => x);
    expect(isTsnetError(e, 'TSNET_ERR_AUTH')).toBe(true);
    expect((e as Error).message).toMatch(/needs a password to run commands as tsnt\d+.*password-env=NAME/s);
    expect(Date.now() - started).toBeLessThan(10_000); // sudo -n: no prompt, no wait
    expect(await emptied(() => processesOf(target.uid))).toEqual([]);
  });

  test('password-env= feeds the password on stdin: it runs, and the password is on no command line', async () => {
    const gw = await group.makeGateway(`sudo=${target.name}//via=${AS_RUNNER}//password-env=${PW_ENV}`, quiet);
    expect(await ask(gw, 'process.getuid()')).toBe(target.uid);
    // (only their processes: reading /proc/PID/cmdline of a process in the middle of an exec, such as runc's, can block)
    const cmdlines = [...processesOf(runner.uid), ...processesOf(target.uid)].map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        return '';
      }
    });
    expect(cmdlines.some((c) => c.includes('-S'))).toBe(true);
    expect(cmdlines.some((c) => c.includes(PASSWORD))).toBe(false);
    // termination reaches the runtime under sudo even when its thread is stuck (the kill helper runs through sudo again)
    const stuck = gw.remoteExec(thenLoop);
    expect(await stuck.receive()).toBe('looping');
    await gw.exit({ timeout: 300 });
    expect(await emptied(() => processesOf(target.uid))).toEqual([]);
  });

  test('a wrong password: AuthenticationError at once, without the password in it', async () => {
    const e = await group.makeGateway(`sudo=${target.name}//via=${AS_RUNNER}//password-env=TSNET_TEST_WRONG_PASSWORD`, quiet).catch((x: unknown) => x);
    expect(isTsnetError(e, 'TSNET_ERR_AUTH')).toBe(true);
    expect((e as Error).message).toMatch(/refused the password from \$TSNET_TEST_WRONG_PASSWORD/);
    expect(JSON.stringify(e) + String((e as Error).stack)).not.toContain('not-the-password');
  });

  test('password-env naming an unset variable: SpecError', async () => {
    const e = await group.makeGateway(`sudo=${target.name}//password-env=TSNET_TEST_UNSET_${tag}`, quiet).catch((x: unknown) => x);
    expect(isTsnetError(e, 'TSNET_ERR_SPEC')).toBe(true);
  });
});

test('group.terminate() leaves no process of the sudo user, stuck or idle', async () => {
  const own = new Group();
  const [a, b] = await Promise.all([own.makeGateway(`sudo=${target.name}`, quiet), own.makeGateway(`sudo=${target.name}`, quiet)]);
  const stuck = a!.remoteExec(thenLoop);
  expect(await stuck.receive()).toBe('looping');
  expect(processesOf(target.uid).length).toBe(2);
  const report = await own.terminate({ timeout: 300 });
  expect(report.killed).toEqual([a!.id]);
  expect(report.exited).toEqual([b!.id]);
  expect(await emptied(() => processesOf(target.uid))).toEqual([]);
});

test('through via= an ssh gateway: sudo runs on the sshd host', async () => {
  const gw = await group.makeGateway(`sudo=${target.name}//via=${ssh.id}`, quiet);
  const info = await gw.remoteInfo();
  expect(await ask(gw, 'process.getuid()')).toBe(target.uid);
  expect(processesOf(target.uid)).toEqual([info.pid]);
  const stuck = gw.remoteExec(thenLoop);
  expect(await stuck.receive()).toBe('looping');
  await gw.exit({ timeout: 300 });
  expect(await emptied(() => processesOf(target.uid))).toEqual([]);
});
