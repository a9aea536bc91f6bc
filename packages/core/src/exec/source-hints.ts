/**
 * Host-side hints for the mistakes a new user makes with remoteExec, added to the RemoteError the
 * remote side sent (which stays the same error: name, stack and code are kept; only the message
 * grows). Host only: the remote side stays small, and this side has the source and Node's vm.
 *
 * - A string source's SyntaxError gets the line and column in the user's string, with that line
 *   and a caret, found by compiling the string here as the remote did (`vm.compileFunction` with
 *   the same parameters). Where this runtime accepts what the remote refused (a newer Node here),
 *   the message stays as it came.
 * - A string that is one path-like token ('./job.ts', '/srv/job.mjs', 'lib/job.js') whose code
 *   fails with a SyntaxError or ReferenceError gets "did you mean remoteExec(new URL(…))?".
 * - A module without a default export (the remote names its exports) gets "or call one with
 *   gw.call(url, name, ...args)".
 */
import { createRequire } from 'node:module';
import { RemoteError } from '../errors.js';

/** The parameters the remote executor compiles a string source with (exec/executor.ts). */
const SOURCE_PARAMS = ['channel', 'kwargs', 'require', '__filename', '__dirname', '__name', '__vite_ssr_dynamic_import__'];

/** One path-like token: meant as a file, not as code. */
export function looksLikePath(source: string): boolean {
  return /^\s*(?:\.{1,2}\/|\/|~\/)?[\w@.+\-/]*\.[cm]?[jt]sx?\s*$/.test(source);
}

function reworded(error: RemoteError, message: string): RemoteError {
  const info = { name: error.remoteName, message, stack: error.remoteStack, ...(error.remoteCode !== undefined ? { code: error.remoteCode } : {}) };
  return new RemoteError(info, error.gatewayId, error.channelId);
}

/** For the channel of remoteExec(string): see the module contract. */
export function explainSourceError(source: string): (error: RemoteError) => RemoteError {
  return (error) => {
    const name = error.remoteName;
    if (name !== 'SyntaxError' && name !== 'ReferenceError') return error;
    if (looksLikePath(source)) {
      const path = source.trim();
      const relative = /^[./~]/.test(path) ? path : `./${path}`;
      return reworded(
        error,
        `${error.remoteMessage} (a string is source code, and '${path}' looks like a path: did you mean remoteExec(new URL('${relative}', import.meta.url))?)`,
      );
    }
    if (name !== 'SyntaxError') return error;
    const where = syntaxErrorPosition(source);
    return where ? reworded(error, `${error.remoteMessage}${where}`) : error;
  };
}

/** For the channel of remoteExec(url). */
export function explainModuleError(error: RemoteError, bundled?: { filename: string; url: URL }): RemoteError {
  if (error.remoteName !== 'TypeError' || !/ has no default export to call as fn\(channel, kwargs\); it exports: /.test(error.remoteMessage)) return error;
  const first = /it exports: ([\w$]+)/.exec(error.remoteMessage)?.[1];
  const call = first && first !== 'nothing' ? `, or call one of its exports with gw.call(url, '${first}', ...args)` : '';
  // The remote names the bundle by the name its stack frames carry; the user knows the module's URL.
  const message = bundled ? error.remoteMessage.replace(bundled.filename, bundled.url.href) : error.remoteMessage;
  return reworded(error, `${message}. Export a default function${call}`);
}

let vm: typeof import('node:vm') | undefined;

/** ` (line L, column C of the source string)` and the line with a caret, or '' when this runtime compiles it. */
function syntaxErrorPosition(source: string): string {
  try {
    vm ??= createRequire(import.meta.url)('node:vm') as typeof import('node:vm');
    vm.compileFunction(source, SOURCE_PARAMS, { filename: 'source' });
    return '';
  } catch (e) {
    // The stack starts `source:LINE`, the line's text, then a caret under the column.
    const m = /^source:(\d+)\n(.*)\n( *)\^/.exec((e as Error).stack ?? '');
    if (!m) return '';
    const line = Number(m[1]);
    const column = m[3]!.length + 1;
    const gutter = `${line} | `;
    return ` (line ${line}, column ${column} of the source string)\n  ${gutter}${m[2]}\n  ${' '.repeat(gutter.length - 2)}| ${' '.repeat(column - 1)}^`;
  }
}
