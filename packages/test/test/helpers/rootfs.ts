/**
 * A gateway that does not see this file system: a minimal root file system (the node binary that
 * runs the tests, the libraries `ldd` lists for it, empty /tmp, /dev, /proc) and a wrapper script
 * that starts node chrooted into it, given to popen as `exe=` (so the popen transport starts,
 * watches and kills it as usual). Files are hard-linked where possible, else copied.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface ChrootHost extends Disposable {
  /** The root file system's directory on this machine. */
  dir: string;
  /** A popen spec whose runtime runs chrooted into `dir`. */
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
  const wrapper = join(base, 'node-in-chroot');
  writeFileSync(wrapper, `#!/bin/sh\nunset NODE_EXTRA_CA_CERTS\nexec /usr/sbin/chroot '${dir}' '${node}' "$@"\n`, { mode: 0o755 });
  return { dir, spec: `popen//exe=${wrapper}`, [Symbol.dispose]: () => rmSync(base, { recursive: true, force: true }) };
}
