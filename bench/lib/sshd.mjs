// A private OpenSSH sshd on 127.0.0.1 for the benchmarks that go over ssh (rsync.mjs,
// ssh-transport.mjs): the tests' own helper, test-e2e/helpers/sshd.ts (throwaway keys in a temp
// dir, ~/.ssh never touched), loaded by test-helpers.mjs, so that benchmarks and tests run the
// same server. Its client config names it `bench`. At exit, sshd and everything under it are
// killed and the temp dirs removed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importTestHelpers } from './test-helpers.mjs';

/**
 * Starts sshd; rejects with its log when it cannot. `prefix`: the name of a temp dir of the
 * caller's own (`dir`: its trees, a HOME), removed at exit; `extraConfig(dir)`: more sshd_config
 * lines. Resolves with `{ dir, port, user, config, identity }`: `config` is the client ssh config,
 * `identity` the user's private key file.
 */
export async function startBenchSshd({ prefix, extraConfig = () => [] }) {
  const { startSshd, descendants } = await importTestHelpers('bench-sshd', "export * from './sshd.ts'; export { descendants } from './processes.ts';");
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const sshd = await startSshd({ alias: 'bench', config: extraConfig(dir) });
  process.on('exit', () => {
    // Synchronous at exit (sshd.stop() awaits): the sessions and what they run, then the listener.
    for (const pid of [...descendants(sshd.pid), sshd.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(sshd.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, port: sshd.port, user: sshd.user, config: sshd.sshConfig, identity: sshd.userKey.privateFile };
}
