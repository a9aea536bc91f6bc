// Issue 21: gw.kill() settles on its own, within a bound, on every transport (ssh to a non-root
// user with a busy remote included: sshd honours the signal request there, so kill() takes the
// other path than for root), and afterwards `gw.closed` says the gateway was killed.
import { execFile, execFileSync } from 'node:child_process';
import { type Gateway, Group } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type GatewayKind, popenKind, socketKind, sshKind } from '../helpers/gateway-kinds.js';
import { survivors } from '../helpers/processes.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

const USER = 'tsnet-edge';
const quiet = { output: 'ignore' } as const;
const BUSY = "await channel.send('looping'); await new Promise((r) => setImmediate(r)); for (;;) {}";

async function killBusy(gw: Gateway): Promise<{ pid: number; reason: string }> {
  const { pid } = await gw.remoteInfo();
  const ch = gw.remoteExec(BUSY);
  expect(await ch.receive()).toBe('looping');
  await gw.kill(); // the test's own timeout bounds it; kill() itself gives up after 10 s
  return { pid, reason: (await gw.closed).reason };
}

describe.each([popenKind, sshKind(), socketKind()] as GatewayKind[])('$name', (kind) => {
  beforeAll(() => kind.setup());
  afterAll(() => kind.teardown());

  test('kill() of a busy remote settles, the process is gone, and closed says it was killed', async () => {
    const group = new Group();
    try {
      const gw = await group.makeGateway(kind.spec(), quiet);
      const { pid, reason } = await killBusy(gw);
      expect(reason).toMatch(/^killed on request \(gw\.kill\(\)\)/);
      if (kind.name !== 'socket') expect(await survivors([pid], 5000)).toEqual([]);
    } finally {
      await group.terminate({ timeout: 1000 });
    }
  });
});

describe('ssh to a non-root user', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    try {
      execFileSync('id', [USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/sh', USER], { stdio: 'ignore' });
    }
    // Not locked ('!'): without PAM sshd refuses a locked account even for a key. '*': no password.
    execFileSync('usermod', ['-p', '*', USER], { stdio: 'ignore' });
    sshd = await startSshd({ user: USER });
  });
  afterAll(() => sshd?.stop());

  test('kill() of a busy remote settles (3 times in a row), and the remote is gone', async () => {
    const group = new Group();
    try {
      for (let i = 0; i < 3; i++) {
        const gw = await group.makeGateway(`ssh=${sshd.alias}//ssh-config=${sshd.sshConfig}//node=${process.execPath}`, quiet);
        const { pid, reason } = await killBusy(gw);
        expect(reason).toMatch(/^killed on request/);
        expect(await survivors([pid], 5000)).toEqual([]);
      }
    } finally {
      await group.terminate({ timeout: 1000 });
    }
  });

  test('in a script of its own, where nothing else keeps the process alive: kill() settles, the script ends', async () => {
    const fixture = new URL('../fixtures/edges-local.mjs', import.meta.url).pathname;
    const spec = `ssh=${sshd.alias}//ssh-config=${sshd.sshConfig}//node=${process.execPath}`;
    for (let i = 0; i < 3; i++) {
      const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
        execFile(process.execPath, [fixture, 'kill', spec], { timeout: 30_000 }, (error, out) =>
          resolve({ stdout: out, code: error ? ((error as { code?: number }).code ?? null) : 0 }),
        );
      });
      expect({ code, killed: /"killed":"killed on request/.test(stdout) }).toEqual({ code: 0, killed: true });
      const { pid } = JSON.parse(stdout.split('\n')[0]!) as { pid: number };
      expect(await survivors([pid], 5000)).toEqual([]);
    }
  });
});
