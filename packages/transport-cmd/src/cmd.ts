/**
 * `cmd=COMMAND LINE`: any command that ends by starting the runtime command tsnet appends, with its
 * stdin and stdout connected (`cmd=nice -n 5`, `cmd=env -i PATH=/usr/bin`, `cmd=setpriv --reuid
 * app --regid app --clear-groups`, `cmd=unshare --net`). The line is split like a POSIX shell would
 * (quotes, backslashes), and no shell runs it. Killing the tool's process group reaches what it
 * started, as long as it stays in that group on this host. A failure the tool explains only by its
 * exit code is a ConnectError with its stderr; a "not found" naming the runtime, a BootstrapError.
 */
import { BootstrapError } from '@tsnet/core/transport';
import { type CmdType, type Failure, specError, stderrTail, stringKey, type Template } from './cmd-type.js';
import { shellWords } from './shell-words.js';

export const cmd: CmdType = {
  type: 'cmd',
  keys: ['cmd'],
  template(spec) {
    const line = stringKey(spec, 'cmd', 'cmd=COMMAND LINE');
    const argv = shellWords(line, String(spec));
    if (argv.length === 0) throw specError(spec, 'cmd= needs a command (cmd=COMMAND LINE)');
    return { argv, target: `command ${JSON.stringify(line)}`, name: argv[0]!, reach: 'group' };
  },
  classify(f: Failure, t: Template) {
    const s = f.stderr;
    const exe = f.exe.split('/').pop()!;
    if ((f.code === 127 || f.code === 126) && s.includes(exe) && /not found|No such file|cannot execute|Permission denied/i.test(s)) {
      return new BootstrapError(
        `gateway spec ${JSON.stringify(f.spec)}: ${t.name} on ${f.where} could not start the runtime: tried ${JSON.stringify(f.exe)}. Install Node or pass exe=/path/to/node.${stderrTail(s, 3)}`,
        { stderr: s },
      );
    }
    return undefined;
  },
};
