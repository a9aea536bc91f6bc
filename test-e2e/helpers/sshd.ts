/**
 * A private OpenSSH server for tests: `/usr/sbin/sshd -D -e` on a free port, with throwaway
 * ed25519 host and user keys in a temp dir, plus a client ssh config and known_hosts that point at
 * it. Nothing outside the temp dir is touched (except /run/sshd, sshd's privilege-separation dir).
 * Optionally runs inside a network namespace (`ip netns exec NS sshd …`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { descendants, isAlive, processName } from './processes.js';

export const SSHD = '/usr/sbin/sshd';

/** Fails with the way to install sshd: these tests must run, never be skipped. */
export function requireSshd(): void {
  if (!existsSync(SSHD)) {
    throw new Error(
      `OpenSSH's sshd is required for the SSH tests and ${SSHD} is missing. Install it with:\n` +
        '  apt-get update && apt-get install -y openssh-server openssh-client iproute2\n' +
        '(.ci/run does this on CI; the tests are not skipped without it).',
    );
  }
}

export interface KeyPair {
  privateFile: string;
  publicLine: string;
  /** The public key blob (base64), second field of publicLine. */
  blob: string;
}

/**
 * Writes an ed25519 key pair in OpenSSH format (optionally encrypted with a passphrase), made by
 * ssh-keygen: ssh2's generateKeyPairSync('ed25519') writes a key neither ssh2 nor OpenSSH can read
 * about once in 150 tries.
 */
export function writeKeyPair(path: string, options?: { passphrase?: string; comment?: string }): KeyPair {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-a', '4', '-N', options?.passphrase ?? '', '-C', options?.comment ?? 'tsnet-test', '-f', path], {
    stdio: 'ignore',
  });
  const publicLine = readFileSync(`${path}.pub`, 'utf8').trim();
  return { privateFile: path, publicLine, blob: publicLine.split(/\s+/)[1]! };
}

export interface SshdOptions {
  /** Address to listen on (default 127.0.0.1). */
  address?: string;
  /** Network namespace to run sshd in. */
  netns?: string;
  /** Port; default: a free one (found by binding port 0 in this namespace). */
  port?: number;
  /** Extra sshd_config lines. */
  config?: string[];
  /** Host alias written to the client config (default tsnet-test). */
  alias?: string;
  /** Log in as this user instead of the current one (made readable for it: the temp dir and authorized_keys). */
  user?: string;
}

export interface Sshd {
  address: string;
  port: number;
  alias: string;
  dir: string;
  user: string;
  pid: number;
  hostKey: KeyPair;
  userKey: KeyPair;
  /** Client ssh config with a `Host <alias>` block (identity, port, known_hosts all set). */
  sshConfig: string;
  /** known_hosts with this server's key under `[address]:port`. */
  knownHosts: string;
  /** `[address]:port` as known_hosts names it. */
  knownHostsName: string;
  /** Everything sshd logged (stderr). */
  log(): string;
  /** Pids of the per-connection sshd processes (not the listener, not the sessions' commands). */
  connectionProcesses(): number[];
  /** Stops sshd and every session process it started; removes the temp dir. */
  stop(): Promise<void>;
}

async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  requireSshd();
  const address = options.address ?? '127.0.0.1';
  const alias = options.alias ?? 'tsnet-test';
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-sshd-'));
  const user = options.user ?? userInfo().username;
  const hostKey = writeKeyPair(join(dir, 'ssh_host_ed25519_key'), { comment: 'tsnet-test-host' });
  const userKey = writeKeyPair(join(dir, 'id_ed25519'), { comment: 'tsnet-test-user' });
  writeFileSync(join(dir, 'authorized_keys'), `${userKey.publicLine}\n`, { mode: options.user ? 0o644 : 0o600 });
  // sshd reads authorized_keys with the user's rights
  if (options.user) chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    // In a namespace of our own, port 22 is free; elsewhere ask the kernel for a free port.
    const port = options.port ?? (options.netns ? 22 : await freePort(address));
    const configFile = join(dir, 'sshd_config');
    writeFileSync(
      configFile,
      [
        // sshd keeps the first value of a keyword: the caller's lines come first.
        ...(options.config ?? []),
        `ListenAddress ${address}:${port}`,
        `HostKey ${hostKey.privateFile}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'UsePAM no',
        'StrictModes no',
        'UseDNS no',
        'PrintMotd no',
        'PrintLastLog no',
        'X11Forwarding no',
        'MaxStartups 100:30:200',
        'MaxSessions 50',
        'LogLevel INFO',
        '',
      ].join('\n'),
    );
    const argv = [SSHD, '-D', '-e', '-f', configFile];
    const child: ChildProcess = options.netns
      ? spawn('ip', ['netns', 'exec', options.netns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.setEncoding('utf8');
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start listening within 10 s:\n${log}`)), 10_000);
      child.stderr!.on('data', (t: string) => {
        log += t;
        if (log.includes('Server listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited (${code ?? signal}) before listening:\n${log}`));
      });
    });
    try {
      await listening;
    } catch (error) {
      lastError = error as Error;
      child.kill('SIGKILL');
      if (/Address already in use/.test(log) && options.port === undefined) continue;
      break;
    }
    const knownHostsName = port === 22 ? address : `[${address}]:${port}`;
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${knownHostsName} ${hostKey.publicLine.split(' ').slice(0, 2).join(' ')}\n`);
    const sshConfig = join(dir, 'ssh_config');
    writeFileSync(
      sshConfig,
      [
        `Host ${alias}`,
        `  HostName ${address}`,
        `  Port ${port}`,
        `  User ${user}`,
        `  IdentityFile ${userKey.privateFile}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${knownHosts}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const pid = child.pid!;
    let stopped: Promise<void> | undefined;
    return {
      address,
      port,
      alias,
      dir,
      user,
      pid,
      hostKey,
      userKey,
      sshConfig,
      knownHosts,
      knownHostsName,
      log: () => log,
      connectionProcesses: () => descendants(pid).filter((p) => processName(p) === 'sshd'),
      stop: () =>
        (stopped ??= (async () => {
          const exited = new Promise<void>((r) => {
            if (child.exitCode !== null || child.signalCode !== null) r();
            else child.once('exit', () => r());
          });
          // Session processes (one per connection) outlive the listener: end them by pid first.
          for (const p of descendants(pid)) {
            try {
              process.kill(p, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          child.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
          if (isAlive(pid)) child.kill('SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        })()),
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('sshd did not start');
}
