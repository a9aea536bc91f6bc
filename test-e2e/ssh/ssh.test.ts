/**
 * SSH gateways against a real OpenSSH sshd on 127.0.0.1 (throwaway keys, temp config; the machine's
 * ~/.ssh is never read or written: every gateway names its ssh config file).
 */
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationError, GatewayClosedError, Group, HostKeyError, registerTransport } from '@tsnet/core';
import { createSsh, fingerprint, NodeNotFoundError, type SshProvider, ssh } from '@tsnet/transport-ssh';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../helpers/processes.js';
import { type Sshd, startSshd, writeKeyPair } from '../helpers/sshd.js';

const NODE = 'node=/usr/bin/node'; // skips the login shell: faster; the default (PATH) is tested once

let sshd: Sshd;
let tmp: string;
let group: Group;

beforeAll(async () => {
  sshd = await startSshd();
  tmp = mkdtempSync(join(tmpdir(), 'tsnet-ssh-test-'));
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(async () => {
  await group?.terminate({ timeout: 2000 });
  registerTransport(ssh);
});

function base(extra = ''): string {
  return `ssh=${sshd.alias}//ssh-config=${sshd.sshConfig}${extra}`;
}

/** A client ssh config in the temp dir; `known` is the known_hosts it points at. */
let configCounter = 0;
function writeConfig(lines: string[], known?: string): { config: string; knownHosts: string } {
  const n = configCounter++;
  const knownHosts = known ?? join(tmp, `known_hosts_${n}`);
  const config = join(tmp, `ssh_config_${n}`);
  writeFileSync(config, `${lines.join('\n').replaceAll('@KNOWN@', knownHosts)}\n`);
  return { config, knownHosts };
}

function hostBlock(alias: string, more: string[] = []): string[] {
  return [
    `Host ${alias}`,
    '  HostName 127.0.0.1',
    `  Port ${sshd.port}`,
    `  User ${sshd.user}`,
    `  IdentityFile ${sshd.userKey.privateFile}`,
    '  IdentitiesOnly yes',
    '  UserKnownHostsFile @KNOWN@',
    '  GlobalKnownHostsFile /dev/null',
    ...more,
  ];
}

function hostKeyLine(name = sshd.knownHostsName): string {
  return `${name} ${sshd.hostKey.publicLine.split(' ').slice(0, 2).join(' ')}\n`;
}

async function open(spec: string, provider?: SshProvider) {
  group ??= new Group();
  if (provider) registerTransport(provider);
  return group.makeGateway(spec);
}

function fresh(): Group {
  group = new Group();
  return group;
}

describe('execnet examples over ssh', () => {
  test('get information from remote ssh account (default node from the PATH of a login shell)', async () => {
    fresh();
    const gw = await open(base());
    const ch = gw.remoteExec('channel.send([process.platform, process.versions.node, process.pid, process.cwd(), require("os").homedir()])');
    const [platform, version, pid, cwd, home] = (await ch.receive()) as [string, string, number, string, string];
    expect(platform).toBe(process.platform);
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pid).toBe((await gw.remoteInfo()).pid);
    expect(cwd).toBe(home); // ssh gateways start in the login home
    expect(gw.spec.ssh).toBe(sshd.alias);
  });

  test('receive file contents', async () => {
    fresh();
    const gw = await open(base(`//${NODE}`));
    writeFileSync(join(tmp, 'a.txt'), 'alpha\n');
    writeFileSync(join(tmp, 'b.txt'), 'beta\n');
    // servefiles.py from execnet's docs
    const ch = gw.remoteExec('const fs = require("node:fs"); for await (const path of channel) await channel.send(fs.readFileSync(path));');
    const got: string[] = [];
    for (const f of ['a.txt', 'b.txt']) {
      await ch.send(join(tmp, f));
      got.push(String(await ch.receive()));
    }
    expect(got).toEqual(['alpha\n', 'beta\n']);
    await ch.close();
  });
});

describe('spec keys', () => {
  test('chdir= (created, relative to the login home), env:NAME= with shell metacharacters, nice=', async () => {
    fresh();
    const dir = join(tmp, 'work dir', 'sub');
    const value = `it's "quoted" $HOME \`x\` \\ ; ok`;
    const gw = await open(base(`//${NODE}//chdir=${dir}//env:TSNET_X=${value}//nice=5`));
    const ch = gw.remoteExec('channel.send([process.cwd(), process.env.TSNET_X, require("os").getPriority()])');
    const [cwd, x, prio] = (await ch.receive()) as [string, string, number];
    expect(cwd).toBe(dir);
    expect(x).toBe(value);
    expect(prio).toBe(Math.min(19, getPriority() + 5));
  });

  test('node= that does not exist: a clear error naming the host', async () => {
    fresh();
    const e1 = await open(base('//node=/nonexistent/bin/node')).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(NodeNotFoundError);
    expect((e1 as Error).message).toMatch(/^node not found on tsnet-test: install Node ≥ 18 there, or pass node=/);
    expect((e1 as NodeNotFoundError).code).toBe('TSNET_ERR_BOOTSTRAP');
    const e2 = await open(base('//node=tsnet-no-such-node')).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(NodeNotFoundError);
    expect((e2 as Error).message).toContain('tsnet-no-such-node');
  });

  test('bad spec values are refused before connecting', async () => {
    fresh();
    await expect(open(base('//hostkey=maybe'))).rejects.toMatchObject({ code: 'TSNET_ERR_SPEC', message: expect.stringContaining('hostkey') });
    await expect(open(base('//keepalive=soon'))).rejects.toMatchObject({ code: 'TSNET_ERR_SPEC' });
    await expect(open(base('//env:BAD-NAME=1'))).rejects.toMatchObject({ code: 'TSNET_ERR_SPEC' });
    await expect(open(`ssh=u@h:99999//ssh-config=${sshd.sshConfig}`)).rejects.toMatchObject({ code: 'TSNET_ERR_SPEC' });
  });
});

describe('shared connections', () => {
  test('gateways to one host share one SSH connection, closed when the last gateway exits', async () => {
    fresh();
    const provider = createSsh();
    const logins = () =>
      sshd
        .log()
        .split('\n')
        .filter((l) => l.startsWith('Accepted publickey')).length;
    const before = logins();
    const gws = await Promise.all([1, 2, 3].map(() => open(base(`//${NODE}`), provider)));
    expect(provider.connections()).toEqual([{ label: `${sshd.user}@127.0.0.1:${sshd.port}`, channels: 3 }]);
    expect(logins()).toBe(before + 1);
    const pids = await Promise.all(gws.map(async (gw) => (await gw.remoteInfo()).pid));
    expect(new Set(pids).size).toBe(3);
    await gws[0]!.exit();
    expect(provider.connections()[0]?.channels).toBe(2);
    const gw4 = await open(base(`//${NODE}`), provider); // reuses the live connection
    expect(logins()).toBe(before + 1);
    await Promise.all([gws[1]!.exit(), gws[2]!.exit(), gw4.exit()]);
    expect(provider.connections()).toEqual([]);
    await expect.poll(() => sshd.log().includes(`Disconnected from user ${sshd.user}`), { timeout: 5000 }).toBe(true);
  });

  test('the default node: one login shell per host; later gateways reuse the node path and environment it found', async () => {
    fresh();
    const lines: string[] = [];
    const provider = createSsh({ debug: (l) => lines.push(l) });
    const gws = await Promise.all([1, 2, 3, 4].map(() => open(base(), provider)));
    expect(provider.connections()).toHaveLength(1);
    expect(lines.filter((l) => l.includes('through a login shell'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('without a login shell'))).toHaveLength(3);
    const seen = await Promise.all(
      gws.map((gw) => gw.remoteExec('const { PWD, OLDPWD, SHLVL, _, ...env } = process.env; channel.send([process.execPath, env])').receive()),
    );
    for (const s of seen) expect(s).toEqual(seen[0]);
    // a later gateway, after all closed and the connection with them: still no login shell
    await group.terminate();
    const gw = await open(base(), provider);
    expect(await gw.remoteExec('channel.send(process.execPath)').receive()).toBe((seen[0] as [string])[0]);
    expect(lines.filter((l) => l.includes('through a login shell'))).toHaveLength(1);
  });

  test('past sshd MaxSessions a second connection is opened', async () => {
    const limited = await startSshd({ config: ['MaxSessions 2'] });
    try {
      fresh();
      const provider = createSsh();
      const spec = `ssh=${limited.alias}//ssh-config=${limited.sshConfig}//${NODE}`;
      const gws = [];
      for (let i = 0; i < 3; i++) gws.push(await open(spec, provider));
      expect(
        provider
          .connections()
          .map((c) => c.channels)
          .sort(),
      ).toEqual([1, 2]);
      for (const gw of gws) expect((await gw.remoteExec('channel.send(1)').receive()) as number).toBe(1);
      await group.terminate();
      expect(provider.connections()).toEqual([]);
    } finally {
      await limited.stop();
    }
  });
});

describe('bulk data', () => {
  test('16 MiB each way, intact, with and without compression (compress)', async () => {
    fresh();
    const { createHash } = await import('node:crypto');
    for (const extra of ['', '//compress']) {
      const debug: string[] = [];
      const gw = await open(base(`//${NODE}${extra}`), createSsh({ debug: (line) => debug.push(line) }));
      expect(debug).toContain(`Handshake: C->S compression: ${extra ? 'zlib@openssh.com' : 'none'}`);
      const down = gw.remoteExec(
        'const { createHash, randomBytes } = require("node:crypto"); const h = createHash("sha256"); for (let i = 0; i < 64; i++) { const b = randomBytes(256 * 1024); h.update(b); await channel.send(b); } await channel.send(h.digest("hex"))',
      );
      const local = createHash('sha256');
      for (let i = 0; i < 64; i++) local.update((await down.receive()) as Buffer);
      expect(await down.receive()).toBe(local.digest('hex'));
      const up = gw.remoteExec(
        'const h = require("node:crypto").createHash("sha256"); for (let b; (b = await channel.receive()) !== null; ) h.update(b); channel.send(h.digest("hex"))',
      );
      const sent = createHash('sha256');
      const block = Buffer.alloc(256 * 1024);
      for (let i = 0; i < 64; i++) {
        block.fill(i);
        sent.update(block);
        await up.send(Buffer.from(block));
      }
      await up.send(null);
      expect(await up.receive()).toBe(sent.digest('hex'));
      await gw.exit();
    }
  });
});

describe('lifecycle', () => {
  test('kill() ends the remote runtime and its children; exit() of a busy runtime kills it after the timeout', async () => {
    fresh();
    const gw = await open(base(`//${NODE}`));
    const { pid } = await gw.remoteInfo();
    const child = (await gw
      .remoteExec('const c = require("child_process").spawn("sleep", ["60"]); channel.send(c.pid); await new Promise(() => {})')
      .receive()) as number;
    expect(isAlive(pid) && isAlive(child)).toBe(true);
    await gw.kill();
    await expect.poll(() => isAlive(pid) || isAlive(child), { timeout: 5000 }).toBe(false);

    const busy = await open(base(`//${NODE}`));
    const busyPid = (await busy.remoteInfo()).pid;
    busy.remoteExec('for (;;) {}');
    const t0 = Date.now();
    await busy.exit({ timeout: 500 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expect.poll(() => isAlive(busyPid), { timeout: 5000 }).toBe(false);
  });

  test('a script that never calls exit() still ends (idle connections do not hold the process), and its remote with it', async () => {
    const script = new URL('../fixtures/ssh-forgets-exit.mjs', import.meta.url).pathname;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [script, sshd.alias], { env: { ...process.env, TSNET_SSH_CONFIG: sshd.sshConfig }, timeout: 30_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
    });
    const { result, pid } = JSON.parse(out) as { result: number; pid: number };
    expect(result).toBe(2);
    await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
  });

  test('a dead host (sshd frozen) is detected by keepalive: channels reject with GatewayClosedError', async () => {
    fresh();
    const frozen = await startSshd();
    try {
      const provider = createSsh();
      const gw = await open(`ssh=${frozen.alias}//ssh-config=${frozen.sshConfig}//${NODE}//keepalive=1`, provider);
      const ch = gw.remoteExec('for await (const x of channel) await channel.send(x)');
      await ch.send(1);
      expect(await ch.receive()).toBe(1);
      const stopped = frozen.connectionProcesses();
      expect(stopped.length).toBeGreaterThan(0);
      for (const p of stopped) process.kill(p, 'SIGSTOP');
      const t0 = Date.now();
      const error = await ch.receive().catch((e: unknown) => e);
      const took = Date.now() - t0;
      for (const p of stopped) process.kill(p, 'SIGCONT');
      expect(error).toBeInstanceOf(GatewayClosedError);
      expect((error as GatewayClosedError).reason).toMatch(/no answer to keepalive within 3 s/);
      expect(took).toBeLessThan(8000); // keepalive 1 s × 3, plus slack for a loaded machine
      expect(provider.connections()).toEqual([]);
    } finally {
      await frozen.stop();
    }
  });
});

describe('host keys', () => {
  test('unknown host under strict checking: HostKeyError with the fingerprint; nothing recorded', async () => {
    fresh();
    const { config, knownHosts } = writeConfig([...hostBlock('h-unknown'), '  StrictHostKeyChecking yes']);
    const error = await open(`ssh=h-unknown//ssh-config=${config}//${NODE}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyError);
    const fp = fingerprint(Buffer.from(sshd.hostKey.blob, 'base64'));
    expect(error).toMatchObject({ code: 'TSNET_ERR_HOST_KEY', reason: 'unknown', fingerprint: fp, host: sshd.knownHostsName });
    expect((error as Error).message).toContain(fp);
    expect((error as Error).message).toContain('hostkey=accept-new');
    expect(() => readFileSync(knownHosts)).toThrow();
  });

  test('hostkey=accept-new records the key (as OpenSSH does) and later connections check it', async () => {
    fresh();
    const { config, knownHosts } = writeConfig([...hostBlock('h-new'), '  StrictHostKeyChecking yes']);
    const gw = await open(`ssh=h-new//ssh-config=${config}//${NODE}//hostkey=accept-new`);
    expect(readFileSync(knownHosts, 'utf8')).toBe(hostKeyLine());
    await gw.exit();
    const again = await open(`ssh=h-new//ssh-config=${config}//${NODE}`); // strict now passes
    await again.exit();
    expect(readFileSync(knownHosts, 'utf8')).toBe(hostKeyLine()); // recorded once
  });

  test('StrictHostKeyChecking accept-new in ssh config, HashKnownHosts: a hashed entry is written and matched', async () => {
    fresh();
    const { config, knownHosts } = writeConfig([...hostBlock('h-hash'), '  StrictHostKeyChecking accept-new', '  HashKnownHosts yes']);
    const gw = await open(`ssh=h-hash//ssh-config=${config}//${NODE}`);
    await gw.exit();
    const text = readFileSync(knownHosts, 'utf8');
    expect(text).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    expect(text).not.toContain('127.0.0.1');
    writeFileSync(config, readFileSync(config, 'utf8').replace('StrictHostKeyChecking accept-new', 'StrictHostKeyChecking yes'));
    await (await open(`ssh=h-hash//ssh-config=${config}//${NODE}`)).exit();
  });

  test('a changed host key is refused even with accept-new, showing both fingerprints', async () => {
    fresh();
    const other = writeKeyPair(join(tmp, 'other_host_key'));
    const { config, knownHosts } = writeConfig(hostBlock('h-changed'));
    writeFileSync(knownHosts, `# comment\n${sshd.knownHostsName} ${other.publicLine.split(' ').slice(0, 2).join(' ')}\n`);
    const error = (await open(`ssh=h-changed//ssh-config=${config}//${NODE}//hostkey=accept-new`).catch((e: unknown) => e)) as HostKeyError;
    expect(error).toBeInstanceOf(HostKeyError);
    const presented = fingerprint(Buffer.from(sshd.hostKey.blob, 'base64'));
    const recorded = fingerprint(Buffer.from(other.blob, 'base64'));
    expect(error.reason).toBe('changed');
    expect(error.fingerprint).toBe(presented);
    expect(error.knownFingerprints.join()).toContain(recorded);
    expect(error.message).toContain(presented);
    expect(error.message).toContain(recorded);
    expect(error.message).toContain('HOST KEY CHANGED');
    expect(readFileSync(knownHosts, 'utf8')).not.toContain(sshd.hostKey.blob);
  });

  test('a @revoked key is refused; wildcard and negated patterns are honoured', async () => {
    fresh();
    const { config, knownHosts } = writeConfig(hostBlock('h-revoked'));
    writeFileSync(knownHosts, `@revoked ${hostKeyLine('*')}`);
    await expect(open(`ssh=h-revoked//ssh-config=${config}//${NODE}`)).rejects.toMatchObject({ reason: 'revoked' });
    writeFileSync(knownHosts, hostKeyLine(`[127.0.0.*]:${sshd.port},!${sshd.knownHostsName}`));
    await expect(open(`ssh=h-revoked//ssh-config=${config}//${NODE}`)).rejects.toMatchObject({ reason: 'unknown' });
    writeFileSync(knownHosts, hostKeyLine(`[127.0.0.*]:${sshd.port}`));
    await (await open(`ssh=h-revoked//ssh-config=${config}//${NODE}`)).exit();
  });
});

describe('authentication', () => {
  test('a refused key: AuthenticationError naming user, host and what was tried (never "host not found")', async () => {
    fresh();
    const stranger = writeKeyPair(join(tmp, 'stranger'));
    const { config } = writeConfig(
      hostBlock('h-stranger').map((l) => l.replace(sshd.userKey.privateFile, stranger.privateFile)),
      sshd.knownHosts,
    );
    const error = (await open(`ssh=h-stranger//ssh-config=${config}//${NODE}`, createSsh({ agent: false })).catch((e: unknown) => e)) as AuthenticationError;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.code).toBe('TSNET_ERR_AUTH');
    expect(error).toMatchObject({ user: sshd.user, host: '127.0.0.1', port: sshd.port });
    expect(error.methods.join('\n')).toContain(stranger.privateFile);
    expect(error.message).toContain(`${sshd.user}@127.0.0.1 port ${sshd.port}`);
    expect(error.message).toContain('The server accepts: publickey');
  });

  test('an encrypted identity file: refused without a passphrase, used with one', async () => {
    fresh();
    const locked = writeKeyPair(join(tmp, 'locked'), { passphrase: 'open sesame' });
    appendFileSync(join(sshd.dir, 'authorized_keys'), `${locked.publicLine}\n`);
    const { config } = writeConfig(
      hostBlock('h-locked').map((l) => l.replace(sshd.userKey.privateFile, locked.privateFile)),
      sshd.knownHosts,
    );
    const error = (await open(`ssh=h-locked//ssh-config=${config}//${NODE}`, createSsh()).catch((e: unknown) => e)) as AuthenticationError;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toMatch(/locked: encrypted, and no passphrase was given/);
    const asked: string[] = [];
    const provider = createSsh({
      passphrase: (file) => {
        asked.push(file);
        return 'open sesame';
      },
    });
    await (await open(`ssh=h-locked//ssh-config=${config}//${NODE}`, provider)).exit();
    expect(asked).toEqual([locked.privateFile]);
  });

  test('ssh-agent (IdentityAgent), honouring IdentitiesOnly; a key given in code', async () => {
    fresh();
    const agentDir = mkdtempSync(join(tmpdir(), 'tsnet-agent-'));
    const sock = join(agentDir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await expect
        .poll(() => {
          try {
            return readFileSync(sock) && true;
          } catch (e) {
            return (e as NodeJS.ErrnoException).code !== 'ENOENT';
          }
        })
        .toBe(true);
      const add = spawn('ssh-add', [sshd.userKey.privateFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      expect(await new Promise((r) => add.on('exit', r))).toBe(0);
      // No IdentityFile: only the agent can log in.
      const lines = hostBlock('h-agent', [`  IdentityAgent ${sock}`]).filter((l) => !l.includes('IdentityFile') && !l.includes('IdentitiesOnly'));
      const { config } = writeConfig(lines, sshd.knownHosts);
      await (await open(`ssh=h-agent//ssh-config=${config}//${NODE}`, createSsh())).exit();
      // IdentitiesOnly with an IdentityFile that is not the agent's key: the agent key is not offered.
      const other = writeKeyPair(join(tmp, 'not-in-agent'));
      const { config: only } = writeConfig([...lines, `  IdentityFile ${other.privateFile}`, '  IdentitiesOnly yes'], sshd.knownHosts);
      const error = (await open(`ssh=h-agent//ssh-config=${only}//${NODE}`, createSsh()).catch((e: unknown) => e)) as AuthenticationError;
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.message).toContain('IdentitiesOnly');
      // A key given in code.
      const { config: bare } = writeConfig(
        lines.filter((l) => !l.includes('IdentityAgent')),
        sshd.knownHosts,
      );
      const inCode = createSsh({ privateKey: readFileSync(sshd.userKey.privateFile), agent: false });
      await (await open(`ssh=h-agent//ssh-config=${bare}//${NODE}`, inCode)).exit();
    } finally {
      agent.kill();
      rmSync(agentDir, { recursive: true, force: true });
    }
  });
});

describe('ssh config', () => {
  test('Host wildcards, HostName/User/Port/IdentityFile from an Include, ServerAliveInterval; both config resolvers', async () => {
    fresh();
    const inc = join(tmp, 'config.d');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(inc, { recursive: true });
    writeFileSync(
      join(inc, '10-lab.conf'),
      [
        'Host lab-*',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        '  ServerAliveInterval 7',
        'Host *',
        `  User ${sshd.user}`,
        `  IdentityFile ${sshd.userKey.privateFile}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${sshd.knownHosts}`,
        '  GlobalKnownHostsFile /dev/null',
        '',
      ].join('\n'),
    );
    const config = join(tmp, 'with-include');
    writeFileSync(config, `Include ${inc}/*.conf\n`);
    for (const configResolver of ['ssh', 'parser'] as const) {
      const gw = await open(`ssh=lab-${configResolver}//ssh-config=${config}//${NODE}`, createSsh({ configResolver }));
      expect(await gw.remoteExec('channel.send(1)').receive()).toBe(1);
      await gw.exit();
    }
  });

  test("via=: the TCP connection starts on the master gateway's host, SSH runs here", async () => {
    const g = fresh();
    await g.makeGateway('popen//id=master', { output: 'ignore' });
    const provider = createSsh();
    const gw = await open(base(`//${NODE}//via=master`), provider);
    expect(await gw.remoteExec('channel.send(process.env.SSH_CONNECTION.split(" ")[2])').receive()).toBe('127.0.0.1');
    expect(provider.connections()).toHaveLength(1);
    await g.terminate();
    expect(provider.connections()).toEqual([]);
  });

  test('ProxyJump: through a jump host to the target, each hop key checked under its own name', async () => {
    fresh();
    // The jump host and the target are the same sshd, reached under two names: "jump" directly,
    // and the target as localhost:port from the jump host.
    const known = join(tmp, 'known_jump');
    writeFileSync(known, `${hostKeyLine()}${hostKeyLine(`[localhost]:${sshd.port}`)}`);
    const common = [
      `  User ${sshd.user}`,
      `  IdentityFile ${sshd.userKey.privateFile}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${known}`,
      '  GlobalKnownHostsFile /dev/null',
    ];
    const config = join(tmp, 'jump_config');
    writeFileSync(
      config,
      [
        'Host jump',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        ...common,
        'Host behind',
        '  HostName localhost',
        `  Port ${sshd.port}`,
        '  ProxyJump jump',
        ...common,
        '',
      ].join('\n'),
    );
    const provider = createSsh();
    const gw = await open(`ssh=behind//ssh-config=${config}//${NODE}`, provider);
    expect(await gw.remoteExec('channel.send(process.env.SSH_CONNECTION.split(" ")[0])').receive()).toBe('127.0.0.1');
    expect(
      provider
        .connections()
        .map((c) => c.label)
        .sort(),
    ).toEqual([`${sshd.user}@127.0.0.1:${sshd.port}`, `${sshd.user}@localhost:${sshd.port}`]);
    await gw.exit();
    expect(provider.connections()).toEqual([]);
    // The jump hop's key unknown: refused, naming the jump host.
    writeFileSync(known, hostKeyLine(`[localhost]:${sshd.port}`));
    const error = (await open(`ssh=behind//ssh-config=${config}//${NODE}`, createSsh()).catch((e: unknown) => e)) as HostKeyError;
    expect(error).toBeInstanceOf(HostKeyError);
    expect(error.host).toBe(sshd.knownHostsName);
  });
});
