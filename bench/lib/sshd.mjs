// A private OpenSSH sshd on 127.0.0.1 for the benchmarks that go over ssh (rsync.mjs,
// ssh-transport.mjs); test-e2e/helpers/sshd.ts is the tests' (TypeScript, which these plain .mjs
// scripts cannot import). Throwaway ed25519 keys in a temp dir (~/.ssh is never touched), a client
// config naming the server `bench`; sshd is killed and the dir removed when the process exits.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * Starts sshd; rejects with its log when it exits before listening. `prefix`: the temp dir's name;
 * `extraConfig(dir)`: more sshd_config lines. Resolves with `{ dir, port, user, config, identity }`
 * (`config`: the client ssh config, `identity`: the user's private key file).
 */
export async function startBenchSshd({ prefix, extraConfig = () => [] }) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const user = userInfo().username;
  const keygen = (file) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' });
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'id'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id.pub')));
  const port = await new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'UseDNS no',
      'PrintMotd no',
      'MaxSessions 50',
      ...extraConfig(dir),
      '',
    ].join('\n'),
  );
  execFileSync('mkdir', ['-p', '/run/sshd']);
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  process.on('exit', () => {
    sshd.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((resolve, reject) => {
    let log = '';
    sshd.stderr.on('data', (d) => {
      log += d;
      if (log.includes('Server listening')) resolve();
    });
    sshd.on('exit', () => reject(new Error(`sshd failed:\n${log}`)));
  });
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    `Host bench\n  HostName 127.0.0.1\n  Port ${port}\n  User ${user}\n  IdentityFile ${join(dir, 'id')}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${join(dir, 'known_hosts')}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n`,
  );
  return { dir, port, user, config, identity: join(dir, 'id') };
}
