/**
 * `chroot=DIR`: `chroot DIR <runtime command>` (needs root, or CAP_SYS_CHROOT). The runtime is the
 * tool's own process (chroot execs it), so killing the tool's process group reaches it. Classified:
 * a directory that is not there or cannot be entered (ConnectError naming it), no runtime in it
 * (BootstrapError naming what was tried).
 */
import { BootstrapError, ConnectError } from '@tsnet/core/transport';
import { type CmdType, type Failure, stderrTail, stringKey, type Template } from './cmd-type.js';

export const chroot: CmdType = {
  type: 'chroot',
  keys: ['chroot', 'chroot-bin'],
  template(spec) {
    const dir = stringKey(spec, 'chroot', 'chroot=DIR');
    return { argv: [spec.getString('chroot-bin') ?? 'chroot', dir], binKey: 'chroot-bin', target: `chroot ${dir}`, name: dir, reach: 'group' };
  },
  classify(f: Failure, t: Template) {
    const s = f.stderr;
    const spec = JSON.stringify(f.spec);
    const dir = /cannot change root directory to .(.*).: (.*)/.exec(s);
    if (dir) {
      const why = dir[2]!.trim();
      const hint = /Operation not permitted/.test(why) ? ' chroot needs root (or CAP_SYS_CHROOT).' : '';
      return new ConnectError(`gateway spec ${spec}: cannot chroot into ${JSON.stringify(t.name)} on ${f.where}: ${why}.${hint}`);
    }
    if (/failed to run command .*: No such file or directory/.test(s) || (f.code === 127 && /chroot:/.test(s))) {
      return new BootstrapError(
        `gateway spec ${spec}: no runtime in the chroot ${JSON.stringify(t.name)}: tried ${JSON.stringify(f.exe)}` +
          `${f.exe.includes('/') ? ' inside it' : ' on PATH inside it'} (with the libraries it needs). Copy Node into it or pass exe=/path/inside/node.${stderrTail(s, 3)}`,
        { stderr: s },
      );
    }
    return undefined;
  },
};
