// chroot=, netns= and cmd= (nice, env, setpriv, unshare): real tools on this machine, each also
// through via= an ssh gateway to a real sshd. One root file system and one namespace per file.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { type Gateway, Group, isTsnetError } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../../../test-e2e/helpers/processes.js';
import { makeRootfs, type Rootfs } from '../../../test-e2e/helpers/rootfs.js';
import { runtimePaths } from '../../../test-e2e/helpers/runtimes.js';
import { emptied } from './helpers/settle.js';
import { type SshMaster, sshMaster } from './helpers/ssh-master.js';

const quiet = { output: 'ignore' } as const;
const NS = `tsnet-cmd-${process.pid % 100000}`;
let rootfs: Rootfs;
let group: Group;
let ssh: SshMaster;

const ask = (gw: Gateway, expression: string) => gw.remoteExec(`await channel.send(${expression})`).receive();
const thenLoop = 'await channel.send("looping"); await new Promise((r) => setImmediate(r)); for (;;) {}';
const netnsOf = (gw: Gateway) => ask(gw, "require('fs').readlinkSync('/proc/self/ns/net')");

beforeAll(async () => {
  rootfs = makeRootfs();
  execFileSync('ip', ['netns', 'add', NS]);
  group = new Group();
  ssh = await sshMaster(group);
});

afterAll(async () => {
  try {
    await group?.terminate({ timeout: 2000 });
    await ssh?.stop();
  } finally {
    rootfs?.remove();
    execFileSync('ip', ['netns', 'del', NS]);
  }
});

/** A stuck runtime ends with exit({ timeout }) and leaves no process (it is in this pid namespace). */
async function endsWhenStuck(gw: Gateway): Promise<void> {
  const pid = (await gw.remoteInfo()).pid;
  const stuck = gw.remoteExec(thenLoop);
  expect(await stuck.receive()).toBe('looping');
  await gw.exit({ timeout: 300 });
  expect(await emptied(() => [pid].filter(isAlive))).toEqual([]);
}

describe.each([
  ['here', ''],
  ['through via= an ssh gateway', '//via=ssh0'],
])('%s', (_name, via) => {
  test('chroot=DIR runs the runtime inside it', async () => {
    const gw = await group.makeGateway(`chroot=${rootfs.dir}${via}`, quiet);
    expect(await ask(gw, "[process.cwd(), require('fs').readFileSync('/etc/passwd', 'utf8')]")).toEqual(['/', expect.stringMatching(/^app:x:4242/m)]);
    // no /proc inside: node cannot resolve its own path there, so executable is what it was started as
    expect((await gw.remoteInfo()).versions.node).toBe(process.versions.node);
    await endsWhenStuck(gw);
  });

  test('netns=NAME runs the runtime in that network namespace', async () => {
    const gw = await group.makeGateway(`netns=${NS}${via}`, quiet);
    expect(await netnsOf(gw)).toBe(`net:[${statSync(`/run/netns/${NS}`).ino}]`);
    await endsWhenStuck(gw);
  });

  test('cmd= with nice, env (quoted words), setpriv and unshare', async () => {
    const [nice, env, setpriv, unshare] = await Promise.all([
      group.makeGateway(`cmd=nice -n 7${via}`, quiet),
      group.makeGateway(`cmd=env "TSNET_A=a b" TSNET_B='c  d' TSNET_C=e\\ f${via}`, quiet),
      group.makeGateway(`cmd=setpriv --reuid=4242 --regid=4242 --clear-groups//chdir=/tmp${via}`, quiet),
      group.makeGateway(`cmd=unshare --net${via}`, quiet),
    ]);
    expect(await ask(nice!, "require('os').getPriority()")).toBe(7);
    expect(await ask(env!, '[process.env.TSNET_A, process.env.TSNET_B, process.env.TSNET_C]')).toEqual(['a b', 'c  d', 'e f']);
    expect(await ask(setpriv!, '[process.getuid(), process.getgid(), process.cwd()]')).toEqual([4242, 4242, '/tmp']);
    expect(await netnsOf(unshare!)).not.toBe(await netnsOf(nice!));
    await Promise.all([nice, env, setpriv].map((g) => g!.exit()));
    await endsWhenStuck(unshare!);
  });

  test('errors name what is missing: directory, namespace, command, runtime', async () => {
    const fail = (spec: string) =>
      group.makeGateway(spec + via, quiet).then(
        () => new Error(`${spec} opened`),
        (x: unknown) => x as Error,
      );
    const [noDir, noNs, noCmd, noRuntime, noChrootRuntime] = await Promise.all([
      fail('chroot=/nonexistent/tsnet-root'),
      fail('netns=tsnet-no-such-ns'),
      fail('cmd=tsnet-no-such-command --flag'),
      fail('cmd=env//exe=/nonexistent/node'),
      fail(`chroot=${rootfs.dir}//exe=/opt/node/bin/node`),
    ]);
    expect(isTsnetError(noDir, 'TSNET_ERR_CONNECT')).toBe(true);
    expect(noDir!.message).toMatch(
      /cannot chroot into "\/nonexistent\/tsnet-root" on (this machine \(.*\)|the host of gateway ssh0): No such file or directory/,
    );
    expect(isTsnetError(noNs, 'TSNET_ERR_CONNECT')).toBe(true);
    expect(noNs!.message).toMatch(/no usable network namespace "tsnet-no-such-ns"/);
    expect(isTsnetError(noCmd, 'TSNET_ERR_CONNECT')).toBe(true);
    expect(noCmd!.message).toMatch(/cannot run "tsnet-no-such-command" on/);
    expect(isTsnetError(noRuntime, 'TSNET_ERR_BOOTSTRAP')).toBe(true);
    expect(noRuntime!.message).toMatch(/could not start the runtime: tried "\/nonexistent\/node"/);
    expect(isTsnetError(noChrootRuntime, 'TSNET_ERR_BOOTSTRAP')).toBe(true);
    expect(noChrootRuntime!.message).toMatch(/no runtime in the chroot .*tried "\/opt\/node\/bin\/node"/);
  });
});

test('chdir= that cannot be made inside the target: ConnectError naming it', async () => {
  const e = (await group
    .makeGateway('cmd=setpriv --reuid=4242 --regid=4242 --clear-groups//chdir=/root/tsnet-denied', quiet)
    .catch((x: unknown) => x)) as Error;
  expect(isTsnetError(e, 'TSNET_ERR_CONNECT')).toBe(true);
  expect(e.message).toMatch(/cannot change directory to \/root\/tsnet-denied \(chdir=\)/);
});

test('runtime=bun and runtime=deno start through the command too (cmd=, and sudo whose kill helper runs the same runtime)', async () => {
  const { bun, deno } = runtimePaths();
  const [b, d] = await Promise.all([
    group.makeGateway(`cmd=nice -n 2//runtime=bun//exe=${bun}//env:TSNET_T=b`, quiet),
    group.makeGateway(`sudo//runtime=deno//exe=${deno}//chdir=/tmp`, quiet),
  ]);
  expect([(await b.remoteInfo()).runtime, await ask(b, "[require('os').getPriority(), process.env.TSNET_T]")]).toEqual(['bun', [2, 'b']]);
  expect([(await d.remoteInfo()).runtime, await ask(d, 'process.cwd()')]).toEqual(['deno', '/tmp']);
  await b.exit();
  await endsWhenStuck(d);
});

test('a tool that stays after the runtime ended (the wire closed) does not hold the gateway open', async () => {
  // sh runs the runtime, then closes its stdout and lingers, as a client waiting for its stdin might
  const gw = await group.makeGateway(`cmd=sh -c '"$@"; exec >&-; sleep 30' tsnet-lingers`, quiet);
  const pid = (await gw.remoteInfo()).pid;
  gw.remoteExec('process.exit(3)');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([gw.closed, new Promise<'open'>((r) => (timer = setTimeout(() => r('open'), 10_000)))]);
  clearTimeout(timer);
  expect(closed).not.toBe('open');
  expect(await emptied(() => [pid].filter(isAlive))).toEqual([]);
});

test('group.terminate() ends chroot, netns and cmd runtimes, stuck or idle', async () => {
  const own = new Group();
  const gws = await Promise.all([`chroot=${rootfs.dir}`, `netns=${NS}`, 'cmd=nice -n 1'].map((s) => own.makeGateway(s, quiet)));
  const pids = await Promise.all(gws.map(async (g) => (await g.remoteInfo()).pid));
  const stuck = gws[0]!.remoteExec(thenLoop);
  expect(await stuck.receive()).toBe('looping');
  const report = await own.terminate({ timeout: 300 });
  expect(report.killed).toEqual([gws[0]!.id]);
  expect(await emptied(() => pids.filter(isAlive))).toEqual([]);
});
