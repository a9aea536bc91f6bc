// docker= and podman= against a real podman container made from a local root file system (one
// per file); docker's template runs with podman standing in as the client (docker-bin=).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Gateway, Group, isTsnetError } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeRootfs, type Rootfs } from '../../../test-e2e/helpers/rootfs.js';
import { type Container, startContainer } from './helpers/podman.js';
import { emptied } from './helpers/settle.js';
import { type SshMaster, sshMaster } from './helpers/ssh-master.js';

const quiet = { output: 'ignore' } as const;
let rootfs: Rootfs;
let box: Container;
let group: Group;
let ssh: SshMaster;

beforeAll(async () => {
  rootfs = makeRootfs();
  group = new Group();
  [box, ssh] = await Promise.all([startContainer(rootfs.dir), sshMaster(group)]);
});

afterAll(async () => {
  try {
    await group?.terminate({ timeout: 2000 });
    await ssh?.stop();
    await box?.remove();
  } finally {
    rootfs?.remove();
  }
});

const podmanSpec = (extra = '') => `podman=${box.name}//podman-bin=${box.bin}${extra}`;
const dockerSpec = (extra = '') => `docker=${box.name}//docker-bin=${box.bin}${extra}`;
/** Runtimes started by a gateway (their command line carries the ready marker). */
const runtimesInside = () => box.processes('TSNET-CMD-READY');

/** The value of a remote expression. */
const ask = (gw: Gateway, expression: string) => gw.remoteExec(`await channel.send(${expression})`).receive();

async function roundTrip(gw: Gateway): Promise<void> {
  const ch = gw.remoteExec('for await (const x of channel) await channel.send(x)');
  // bytes a TTY or a detach-key filter would eat or rewrite: ^C ^D ^P ^Q ^\ CR LF NUL
  const bytes = Buffer.from([3, 4, 0x10, 0x11, 0x1c, 13, 10, 0, 255, 0x10, 0x11]);
  await ch.send(bytes);
  const big = Buffer.alloc(3 << 20, 0x11);
  await ch.send(big);
  expect(Buffer.from((await ch.receive()) as Uint8Array)).toEqual(bytes);
  expect(Buffer.from((await ch.receive()) as Uint8Array).equals(big)).toBe(true);
  await ch.close();
}

describe.each([
  ['podman', podmanSpec],
  ['docker (podman as the client)', dockerSpec],
])('%s', (_name, spec) => {
  test('runs the runtime inside the container: its pid namespace, its root, binary-safe both ways', async () => {
    const gw = await group.makeGateway(spec(), quiet);
    const info = await gw.remoteInfo();
    expect(info.executable).toBe(rootfs.node);
    expect(info.ppid).toBe(0); // started by the container runtime, outside its pid namespace
    expect(await runtimesInside()).toContain(info.pid);
    expect(await ask(gw, "require('node:fs').readFileSync('/etc/passwd', 'utf8')")).toMatch(/^app:x:4242/m);
    await roundTrip(gw);
    await gw.exit();
    expect(await emptied(runtimesInside)).toEqual([]);
  });

  test('user=, chdir= and env: apply inside the container', async () => {
    const gw = await group.makeGateway(spec('//user=app//chdir=/tmp/work//env:TSNET_T=inside'), quiet);
    const got = await ask(gw, '[process.getuid(), process.cwd(), process.env.TSNET_T]');
    expect(got).toEqual([4242, '/tmp/work', 'inside']);
    await gw.exit();
  });

  test('no such container: ConnectError naming it', async () => {
    const e = await group.makeGateway(spec().replace(box.name, 'tsnet-no-such-box'), quiet).catch((x: unknown) => x);
    expect(isTsnetError(e, 'TSNET_ERR_CONNECT')).toBe(true);
    expect((e as Error).message).toMatch(/there is no (podman|docker) container "tsnet-no-such-box"/);
  });

  test('no such user in the container: ConnectError naming it', async () => {
    const e = await group.makeGateway(spec('//user=nobody-here'), quiet).catch((x: unknown) => x);
    expect(isTsnetError(e, 'TSNET_ERR_CONNECT')).toBe(true);
    expect((e as Error).message).toMatch(/no user "nobody-here" in the (podman|docker) container/);
  });

  test('no runtime in the container: BootstrapError naming what was tried', async () => {
    const e = await group.makeGateway(spec('//exe=/opt/node/bin/node'), quiet).catch((x: unknown) => x);
    expect(isTsnetError(e, 'TSNET_ERR_BOOTSTRAP')).toBe(true);
    expect((e as Error).message).toMatch(/no runtime in the (podman|docker) container .*tried "\/opt\/node\/bin\/node"/);
  });
});

test('a client binary that is not there: ConnectError naming it and podman-bin=', async () => {
  const e = await group.makeGateway(`podman=${box.name}//podman-bin=/nonexistent/podman`, quiet).catch((x: unknown) => x);
  expect(isTsnetError(e, 'TSNET_ERR_CONNECT')).toBe(true);
  expect((e as Error).message).toMatch(/cannot run "\/nonexistent\/podman" on this machine.*podman-bin=/s);
});

test('exit() ends a runtime whose thread is stuck, inside the container (podman exec forwards no signal)', async () => {
  const gw = await group.makeGateway(podmanSpec(), quiet);
  expect(await runtimesInside()).toEqual([(await gw.remoteInfo()).pid]);
  const stuck = gw.remoteExec('await channel.send("looping"); await new Promise((r) => setImmediate(r)); for (;;) {}');
  expect(await stuck.receive()).toBe('looping');
  await gw.exit({ timeout: 300 });
  expect((await gw.closed).reason).toMatch(/did not exit within 300 ms/);
  expect(await emptied(runtimesInside)).toEqual([]);
});

test('group.terminate() leaves no runtime in the container, stuck or idle', async () => {
  const own = new Group();
  const [a, b] = await Promise.all([own.makeGateway(podmanSpec(), quiet), own.makeGateway(dockerSpec(), quiet)]);
  const stuck = a!.remoteExec('await channel.send("looping"); await new Promise((r) => setImmediate(r)); for (;;) {}');
  expect(await stuck.receive()).toBe('looping');
  expect((await runtimesInside()).length).toBe(2);
  const report = await own.terminate({ timeout: 500 });
  expect(report.killed).toEqual([a!.id]);
  expect(report.exited).toEqual([b!.id]);
  expect(await emptied(runtimesInside)).toEqual([]);
});

/**
 * Starts the fixture with `args`, SIGKILLs it once its gateways run (with `busyMasterMs`, once the
 * master's main thread is busy for that long), and returns what is left in the container after a
 * while; what is left is then killed, so that later tests count only their own runtimes.
 */
async function leftAfterSigkill(args: string[], busyMasterMs = 0): Promise<{ before: number[]; pids: number[]; left: number[] }> {
  const fixture = new URL('./fixtures/opens-gateways.mjs', import.meta.url).pathname;
  const env = { ...process.env, TSNET_BUSY_MASTER_MS: String(busyMasterMs) };
  const child = spawn(process.execPath, [fixture, ...args], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = createInterface({ input: child.stdout! });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the fixture exited early with code ${code}`)));
    });
  const pids = JSON.parse(await nextLine()) as number[];
  const before = await runtimesInside();
  if (busyMasterMs > 0) {
    child.stdin!.write('go\n');
    expect(await nextLine()).toBe('busy');
  }
  lines.close();
  child.kill('SIGKILL');
  // the kill commands run through podman once the lifeline (or the master's guard) notices: bounded, not instant
  const until = Date.now() + 15_000;
  let left = await runtimesInside();
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    left = await runtimesInside();
  }
  for (const pid of left)
    await box.podman('exec', box.name, rootfs.node, '-e', `try{process.kill(-${pid},'SIGKILL')}catch{process.kill(${pid},'SIGKILL')}`).catch(() => {});
  return { before, pids, left };
}

test('when this process is SIGKILLed, its runtimes in the container go too (stuck or idle)', async () => {
  const { before, pids, left } = await leftAfterSigkill([podmanSpec()]);
  expect(before.sort()).toEqual([...pids].sort());
  expect(left).toEqual([]);
});

test('… and so do those started through via= an ssh gateway (the master runtime runs their kill commands)', async () => {
  const master = `ssh=${ssh.sshd.alias}//ssh-config=${ssh.sshd.sshConfig}//node=${process.execPath}`;
  const { before, pids, left } = await leftAfterSigkill([master, podmanSpec('//via=m')]);
  expect(before.sort()).toEqual([...pids].sort());
  expect(left).toEqual([]);
});

test('… even when the master runtime is killed by its watchdog before its own code runs again (its lifeline shell runs them)', async () => {
  const master = `ssh=${ssh.sshd.alias}//ssh-config=${ssh.sshd.sshConfig}//node=${process.execPath}`;
  const { before, pids, left } = await leftAfterSigkill([master, podmanSpec('//via=m')], 3000);
  expect(before.sort()).toEqual([...pids].sort());
  expect(left).toEqual([]);
});

describe('through via= an ssh gateway', () => {
  test('podman=…//via=ssh0 runs podman on the sshd host; exit() and kill reach inside', async () => {
    const gw = await group.makeGateway(podmanSpec(`//via=${ssh.id}`), quiet);
    const info = await gw.remoteInfo();
    expect(info.executable).toBe(rootfs.node);
    expect(await runtimesInside()).toEqual([info.pid]);
    await roundTrip(gw);
    const stuck = gw.remoteExec('await channel.send(0); await new Promise((r) => setImmediate(r)); for (;;) {}');
    expect(await stuck.receive()).toBe(0);
    await gw.exit({ timeout: 300 });
    expect(await emptied(runtimesInside)).toEqual([]);
  });

  test('docker=…//via=ssh0 (podman as the client) runs there too; errors name the container and the host of the gateway', async () => {
    const gw = await group.makeGateway(dockerSpec(`//user=app//via=${ssh.id}`), quiet);
    expect(await ask(gw, 'process.getuid()')).toBe(4242);
    await gw.exit();
    const e = await group.makeGateway(`docker=tsnet-no-such-box//docker-bin=${box.bin}//via=${ssh.id}`, quiet).catch((x: unknown) => x);
    expect(isTsnetError(e, 'TSNET_ERR_CONNECT')).toBe(true);
    expect((e as Error).message).toMatch(/no docker container "tsnet-no-such-box" on the host of gateway ssh0/);
  });
});
