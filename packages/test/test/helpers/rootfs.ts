/**
 * A gateway that does not see this file system: a minimal root file system (the node binary that
 * runs the tests, the libraries `ldd` lists for it, empty /tmp, /dev, /proc) and the `chroot=` spec
 * of @tsnet/transport-cmd into it. Files are hard-linked where possible, else copied.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface ChrootHost extends Disposable {
  /** The root file system's directory on this machine. */
  dir: string;
  /** A `chroot=` spec (@tsnet/transport-cmd) whose runtime runs inside `dir`. */
  spec: string;
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

export function makeChrootHost(): ChrootHost {
  if (process.getuid?.() !== 0) throw new Error('the --rsync-dir chroot test needs root (chroot(2)); run it as root, as CI does');
  const base = mkdtempSync(join(tmpdir(), 'tsnet-test-chroot-'));
  const dir = join(base, 'root');
  const node = realpathSync(process.execPath);
  // Without /proc, node inside takes its execPath from PATH lookup: put it at both names.
  const files = new Set<string>([node, process.execPath]);
  for (const m of execFileSync('ldd', [node], { encoding: 'utf8' }).matchAll(/(\/\S+)/g)) files.add(m[1] as string);
  for (const f of files) {
    const real = realpathSync(f);
    place(real, join(dir, f));
    if (real !== f) place(real, join(dir, real));
  }
  for (const d of ['tmp', 'proc', 'dev', 'root']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  return { dir, spec: `chroot=${dir}//node=${process.execPath}`, [Symbol.dispose]: () => rmSync(base, { recursive: true, force: true }) };
}
