/**
 * Later gateways to one host start through the spawner in the runtime of an earlier one (a
 * direct-streamlocal channel, no sshd session), against a real OpenSSH sshd on 127.0.0.1. What an
 * exec-started gateway does, a spawned one does too: pid and process group, chdir=/env:/nice=,
 * native stdout and stderr, exit codes and signals, the watchdog when the connection dies; and the
 * hosting gateway may close first. A host that refuses streamlocal forwarding gets exec starts.
 */
import { readdirSync } from 'node:fs';
import { getPriority, homedir } from 'node:os';
import { join } from 'node:path';
import { Group, registerTransport } from '@tsnet/core';
import { createSsh, type SshProvider, ssh } from '@tsnet/transport-ssh';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { isAlive } from '../helpers/processes.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd;
let group: Group;
let lines: string[];
let provider: SshProvider;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});
afterEach(async () => {
  await group?.terminate({ timeout: 2000 });
  registerTransport(ssh);
});

function spec(extra = ''): string {
  return `ssh=${sshd.alias}//ssh-config=${sshd.sshConfig}//node=${process.execPath}${extra}`;
}

/** A group and a provider of its own (so the first gateway is the first to this host), logging what it does. */
function fresh(options: { spawner?: boolean } = {}): Group {
  lines = [];
  provider = createSsh({ ...options, debug: (l) => lines.push(l) });
  registerTransport(provider);
  group = new Group();
  return group;
}
const spawned = () => lines.filter((l) => l.includes('through the spawner')).length;

test('a second gateway is spawned by the first one: no new sshd session, its own pid and group, $HOME, chdir=, env: and nice=', async () => {
  fresh();
  const first = await group.makeGateway(spec(), { output: 'ignore' });
  const sessions = sshd.connectionProcesses().length;
  const second = await group.makeGateway(spec(), { output: 'ignore' });
  expect(spawned()).toBe(1);
  const a = await first.remoteInfo();
  const b = await second.remoteInfo();
  expect(b.ppid).toBe(a.pid);
  expect(b.cwd).toBe(homedir());
  // its own session and process group (killing the first's group leaves it alone)
  const pgid = (await second
    .remoteExec('channel.send(Number(require("fs").readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")[2]))')
    .receive()) as number;
  expect(pgid).toBe(b.pid);
  expect(sshd.connectionProcesses().length).toBe(sessions);
  // one connection, two gateways: a spawned one counts once (its stderr channel is not a gateway)
  expect(provider.connections().map((c) => c.channels)).toEqual([2]);

  const dir = join(homedir(), '.tsnet-spawner-test', 'sub');
  const third = await group.makeGateway(spec(`//chdir=${dir}//env:TSNET_X=a b'c//nice=3`), { output: 'ignore' });
  expect(spawned()).toBe(2);
  expect(await third.remoteExec('channel.send([process.cwd(), process.env.TSNET_X, require("os").getPriority()])').receive()).toEqual([
    dir,
    "a b'c",
    Math.min(19, getPriority() + 3),
  ]);
  // the first gateway's spec had none of these: the spawned ones did not inherit them
  expect(await second.remoteExec('channel.send([process.env.TSNET_X ?? null, require("os").getPriority()])').receive()).toEqual([null, getPriority()]);
});

test('native stdout and stderr of a spawned runtime arrive apart; exit codes and signals are reported', async () => {
  fresh();
  await group.makeGateway(spec(), { output: 'ignore' });
  const gw = await group.makeGateway(spec(), { output: 'ignore' });
  expect(spawned()).toBe(1);
  const out: Record<string, string> = { stdout: '', stderr: '' };
  gw.onOutput((stream, text) => {
    out[stream] += text;
  });
  await gw
    .remoteExec(`
      const fs = require('fs');
      fs.writeSync(1, 'native out\\n');
      fs.writeSync(2, 'native err\\n');
      require('child_process').execSync('echo child out; echo child err >&2', { stdio: 'inherit' });
      channel.send('done');
    `)
    .receive();
  await expect.poll(() => out, { timeout: 5000 }).toEqual({ stdout: 'native out\nchild out\n', stderr: 'native err\nchild err\n' });

  gw.remoteExec('setTimeout(() => process.exit(7), 10)');
  expect((await gw.closed).exitCode).toBe(7);

  const killed = await group.makeGateway(spec(), { output: 'ignore' });
  const { pid } = await killed.remoteInfo();
  process.kill(pid, 'SIGKILL');
  expect((await killed.closed).signal).toBe('SIGKILL');
  expect(spawned()).toBe(2);
});

test('the hosting gateway closes first: the spawned one goes on, exits, and the next gateway hosts a new spawner', async () => {
  fresh();
  const first = await group.makeGateway(spec(), { output: 'ignore' });
  const second = await group.makeGateway(spec(), { output: 'ignore' });
  const pid = (await second.remoteInfo()).pid;
  await first.exit();
  await new Promise((r) => setTimeout(r, 500)); // past the watchdog's 200 ms: it watches sshd, not its parent
  expect(await second.remoteExec('channel.send(21 * 2)').receive()).toBe(42);
  const third = await group.makeGateway(spec(), { output: 'ignore' }); // over exec: it hosts the next spawner
  const fourth = await group.makeGateway(spec(), { output: 'ignore' });
  expect(spawned()).toBe(2);
  expect((await fourth.remoteInfo()).ppid).toBe((await third.remoteInfo()).pid);
  await second.exit();
  await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
});

test('the connection dies under a busy spawned runtime: its watchdog ends it, as for an exec-started one', async () => {
  fresh();
  await group.makeGateway(spec(), { output: 'ignore' });
  const busy = await group.makeGateway(spec(), { output: 'ignore' });
  expect(spawned()).toBe(1);
  const { pid } = await busy.remoteInfo();
  busy.remoteExec('for (;;) {}');
  await new Promise((r) => setTimeout(r, 100));
  for (const p of sshd.connectionProcesses()) process.kill(p, 'SIGKILL');
  await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
});

test('spawner: false, and a host whose sshd refuses streamlocal forwarding: every gateway starts over exec', async () => {
  fresh({ spawner: false });
  await group.makeGateway(spec(), { output: 'ignore' });
  await group.makeGateway(spec(), { output: 'ignore' });
  expect(spawned()).toBe(0);
  await group.terminate();

  const strict = await startSshd({ config: ['AllowStreamLocalForwarding no'] });
  try {
    fresh();
    const strictSpec = `ssh=${strict.alias}//ssh-config=${strict.sshConfig}//node=${process.execPath}`;
    const a = await group.makeGateway(strictSpec, { output: 'ignore' });
    const b = await group.makeGateway(strictSpec, { output: 'ignore' });
    const c = await group.makeGateway(strictSpec, { output: 'ignore' });
    const d = await group.makeGateway(strictSpec, { output: 'ignore' });
    // sshd refuses it as it refuses a socket that is gone: tried twice, then not again
    expect(lines.filter((l) => l.includes('cannot be reached'))).toHaveLength(2);
    const pids = await Promise.all([a, b, c, d].map(async (g) => (await g.remoteInfo()).ppid));
    expect(pids).not.toContain((await a.remoteInfo()).pid);
    await group.terminate();
  } finally {
    await strict.stop();
  }
  // every spawner directory went with its runtime
  await expect.poll(() => readdirSync('/tmp').filter((f) => f.startsWith('tsnet-spawn-') && lines.some((l) => l.includes(f))), { timeout: 5000 }).toEqual([]);
});
