/**
 * `netns=NAME`: `ip netns exec NAME <runtime command>` (needs root). ip execs the runtime, so
 * killing the tool's process group reaches it. Classified: no such namespace or no permission
 * (ConnectError naming it), no runtime (BootstrapError naming what was tried).
 */
import { BootstrapError, ConnectError } from '@tsnet/core/transport';
import { type CmdType, type Failure, stderrTail, stringKey, type Template } from './cmd-type.js';

export const netns: CmdType = {
  type: 'netns',
  keys: ['netns', 'ip-bin'],
  template(spec) {
    const name = stringKey(spec, 'netns', 'netns=NAME');
    return { argv: [spec.getString('ip-bin') ?? 'ip', 'netns', 'exec', name], binKey: 'ip-bin', target: `network namespace ${name}`, name, reach: 'group' };
  },
  classify(f: Failure, t: Template) {
    const s = f.stderr;
    const spec = JSON.stringify(f.spec);
    const open = /Cannot open network namespace "([^"]*)": (.*)/.exec(s);
    if (open) {
      const why = open[2]!.trim();
      const hint = /No such file/.test(why)
        ? ' Create it with `ip netns add`, or check `ip netns list`.'
        : /not permitted/.test(why)
          ? ' ip netns exec needs root.'
          : '';
      return new ConnectError(`gateway spec ${spec}: there is no usable network namespace ${JSON.stringify(t.name)} on ${f.where}: ${why}.${hint}`);
    }
    if (/setting the network namespace .* failed|Operation not permitted|mount --make-rslave/.test(s)) {
      return new ConnectError(
        `gateway spec ${spec}: cannot enter the network namespace ${JSON.stringify(t.name)} on ${f.where} (ip netns exec needs root).${stderrTail(s, 3)}`,
      );
    }
    if (/exec of ".*" failed: No such file or directory/.test(s)) {
      return new BootstrapError(
        `gateway spec ${spec}: no runtime for ${t.target} on ${f.where}: tried ${JSON.stringify(f.exe)}. Install Node or pass exe=/path/to/node.${stderrTail(s, 3)}`,
        {
          stderr: s,
        },
      );
    }
    return undefined;
  },
};
