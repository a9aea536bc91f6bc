/**
 * Throwaway users and a sudoers rule for sudo tests: `useradd` (no home), a password set with
 * chpasswd where asked, and a file in /etc/sudoers.d checked with `visudo -c` before it is put in
 * place. `remove()` deletes the rule first, then the users (and kills what still runs as them).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export interface TestUser {
  name: string;
  uid: number;
}

export function addUser(name: string, password?: string): TestUser {
  execFileSync('useradd', ['-M', '-s', '/usr/sbin/nologin', name], { stdio: 'pipe' });
  if (password !== undefined) execFileSync('chpasswd', [], { input: `${name}:${password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  return { name, uid };
}

export function removeUser(user: TestUser): void {
  for (const pid of processesOf(user.uid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  try {
    execFileSync('userdel', ['-f', user.name], { stdio: 'pipe' });
  } catch {
    // a process was still exiting: the next userdel of this name (or -f above) handles it
  }
}

/** Writes a sudoers rule file (validated first); returns its remover. */
export function addSudoersRule(name: string, lines: string[]): () => void {
  const file = `/etc/sudoers.d/${name}`;
  const draft = `/etc/sudoers.d/.${name}.draft`;
  writeFileSync(draft, `${lines.join('\n')}\n`, { mode: 0o440 });
  try {
    execFileSync('visudo', ['-c', '-q', '-f', draft], { stdio: 'pipe' });
  } catch (error) {
    rmSync(draft, { force: true });
    throw new Error(`the test's sudoers rule does not validate: ${(error as { stderr?: Buffer }).stderr?.toString() ?? error}`);
  }
  // sudo ignores files whose name has a dot: the draft is never read; the rename makes it live.
  renameSync(draft, file);
  return () => rmSync(file, { force: true });
}

/** Pids of the live (not zombie) processes whose real uid is `uid`. */
export function processesOf(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
