/**
 * `docker=CONTAINER` and `podman=CONTAINER` (with `user=`): `docker|podman exec -i [-u USER]
 * CONTAINER <runtime command>`, the client being `docker-bin=PATH` / `podman-bin=PATH` when given.
 * Never `-t`: a TTY merges stderr into the data and rewrites newlines. Both clients print the
 * same kinds of failure, classified here: no such container, a container that is not running, no
 * such user in it (ConnectError naming them); no runtime in it (BootstrapError naming what was
 * tried); a daemon that cannot be reached (ConnectError).
 */
import { BootstrapError, ConnectError } from '@tsnet/core/transport';
import { type CmdType, type Failure, stderrTail, stringKey, type Template } from './cmd-type.js';

function containerType(type: 'docker' | 'podman'): CmdType {
  const binKey = `${type}-bin`;
  return {
    type,
    keys: [type, 'user', binKey],
    template(spec) {
      const name = stringKey(spec, type, `${type}=CONTAINER`);
      const user = spec.getString('user');
      const bin = spec.getString(binKey) ?? type;
      // --detach-keys='': no byte sequence on stdin may detach the session (the wire is binary).
      const argv = [bin, 'exec', '-i', '--detach-keys=', ...(user ? ['-u', user] : []), name];
      return { argv, binKey, target: `${type} container ${name}${user ? ` (user ${user})` : ''}`, name, ...(user ? { user } : {}), reach: 'inside' };
    },
    classify(f: Failure, t: Template) {
      const s = f.stderr;
      const spec = JSON.stringify(f.spec);
      if (/no such container|no container with name or ID/i.test(s)) {
        return new ConnectError(`gateway spec ${spec}: there is no ${type} container ${JSON.stringify(t.name)} on ${f.where}.${stderrTail(s, 3)}`);
      }
      if (/is not running|state improper|is paused|is restarting/i.test(s)) {
        return new ConnectError(
          `gateway spec ${spec}: the ${type} container ${JSON.stringify(t.name)} on ${f.where} is not running: start it first.${stderrTail(s, 3)}`,
        );
      }
      const user = /unable to find user ([^\s:]+)|no matching entries in passwd file/i.exec(s);
      if (user) {
        return new ConnectError(
          `gateway spec ${spec}: there is no user ${JSON.stringify(user[1] ?? '')} in the ${type} container ${JSON.stringify(t.name)}.${stderrTail(s, 3)}`,
        );
      }
      if (
        /executable file not found|no such file or directory|OCI runtime attempted to invoke a command that was not found/i.test(s) &&
        (f.code === 126 || f.code === 127 || /exec/.test(s))
      ) {
        return new BootstrapError(
          `gateway spec ${spec}: no runtime in the ${type} container ${JSON.stringify(t.name)}: tried ${JSON.stringify(f.exe)}` +
            `${f.exe.includes('/') ? '' : " on the container's PATH"}. Install Node in the image, or pass exe=/path/to/node inside the container.${stderrTail(s, 3)}`,
          { stderr: s },
        );
      }
      if (/Cannot connect to the Docker daemon|permission denied while trying to connect|connection refused|unable to connect to Podman/i.test(s)) {
        return new ConnectError(`gateway spec ${spec}: the ${type} client on ${f.where} cannot reach its daemon or service.${stderrTail(s, 3)}`);
      }
      return undefined;
    },
  };
}

export const docker: CmdType = containerType('docker');
export const podman: CmdType = containerType('podman');
