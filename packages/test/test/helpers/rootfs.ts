/**
 * A gateway that does not see this file system: a minimal root file system (test-e2e's helper:
 * the node binary that runs the tests, the libraries it needs, empty /tmp, /dev, /proc) and the
 * `chroot=` spec of @tsnet/transport-cmd into it.
 */
import { makeRootfs } from '../../../../test-e2e/helpers/rootfs.js';

export interface ChrootHost extends Disposable {
  /** The root file system's directory on this machine. */
  dir: string;
  /** A `chroot=` spec (@tsnet/transport-cmd) whose runtime runs inside `dir`. */
  spec: string;
}

export function makeChrootHost(): ChrootHost {
  if (process.getuid?.() !== 0) throw new Error('the --rsync-dir chroot test needs root (chroot(2)); run it as root, as CI does');
  const rootfs = makeRootfs();
  return { dir: rootfs.dir, spec: `chroot=${rootfs.dir}//node=${process.execPath}`, [Symbol.dispose]: () => rootfs.remove() };
}
