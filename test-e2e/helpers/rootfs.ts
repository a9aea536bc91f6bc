/**
 * A minimal root file system for chroot and podman tests: the node binary that runs the tests (at
 * its real path and at process.execPath) and the shared libraries `ldd` lists for it, an
 * /etc/passwd with root and an `app` user (uid 4242), and empty /tmp, /proc, /dev, /sys. Files are
 * hard-linked where the temp dir shares a file system with them (instant), else copied (~100 MB).
 * No shell, no coreutils: only the runtime. Needs root (the chown of /home/app; chroot(2) later).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Rootfs {
  dir: string;
  /** The node binary's path inside the root file system. */
  node: string;
  remove(): void;
}

function place(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
    chmodSync(to, 0o755);
  }
}

export function makeRootfs(): Rootfs {
  const base = mkdtempSync(join(tmpdir(), 'tsnet-rootfs-'));
  const dir = join(base, 'root');
  const node = realpathSync(process.execPath);
  // Without /proc, node inside takes its execPath from PATH lookup: put it at both names.
  const files = new Set<string>([node, process.execPath]);
  for (const m of execFileSync('ldd', [node], { encoding: 'utf8' }).matchAll(/(\/\S+)/g)) files.add(m[1]!);
  for (const f of files) {
    const real = realpathSync(f);
    place(real, join(dir, f));
    // The loader looks the library up by the name ldd printed (a symlink on the host).
    if (real !== f) place(real, join(dir, real));
  }
  for (const d of ['tmp', 'proc', 'dev', 'sys', 'etc', 'root', 'home/app']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  execFileSync('chown', ['4242:4242', join(dir, 'home/app')]);
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/nonexistent\napp:x:4242:4242:app:/home/app:/nonexistent\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\napp:x:4242:\n');
  return { dir, node, remove: () => rmSync(base, { recursive: true, force: true }) };
}
