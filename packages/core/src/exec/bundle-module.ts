import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceError } from '../errors.js';

export interface BundleOptions {
  /**
   * Bundle an entry that calls this export of the module with the channel's kwargs as its
   * arguments and sends back what it returns (gw.call(url, name, ...args)).
   */
  callExport?: string;
}

/** How esbuild is loaded: a parameter, so a test can stand in a loader that fails as a missing package does. */
export type EsbuildLoader = () => Promise<typeof import('esbuild')>;

const loadEsbuild: EsbuildLoader = () => import('esbuild');

/**
 * Bundles a module with its relative imports into one CommonJS function body for remote execution.
 * Bare imports (packages, node: builtins) stay `require()` calls resolved on the remote side, from
 * its working directory. Host only. esbuild is an optional peer dependency of @tsnet/core, loaded
 * only when a module is shipped: without it, strings and functions work and this throws a
 * SourceError that says to install it. A bundling failure is a SourceError naming the file and
 * line of each esbuild error.
 */
export async function bundleModule(url: URL, load: EsbuildLoader = loadEsbuild, options?: BundleOptions): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    throw new SourceError(
      missing
        ? `remoteExec(${url.href}): shipping a module needs esbuild, an optional peer dependency of @tsnet/core that is not installed: npm install esbuild ` +
            '(string and function sources need nothing more)'
        : `remoteExec(${url.href}): esbuild is installed but does not load (${(error as Error).message}); reinstall it: npm install esbuild`,
      { cause: error },
    );
  }
  const file = fileURLToPath(url);
  const name = options?.callExport;
  try {
    const result = await esbuild.build({
      ...(name === undefined
        ? { entryPoints: [file] }
        : { stdin: { contents: callEntry(file, name), resolveDir: dirname(file), sourcefile: 'tsnet-call-entry.js', loader: 'js' as const } }),
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node18',
      packages: 'external',
      sourcemap: 'inline',
      logLevel: 'silent',
      keepNames: false,
    });
    const out = result.outputFiles[0];
    if (!out) throw new Error('esbuild produced no output');
    return out.text;
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } }> }).errors;
    const detail = errors?.length
      ? errors.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`).join('\n')
      : (error as Error).message;
    throw new SourceError(`${name === undefined ? 'remoteExec()' : 'call()'}: cannot bundle ${url.href}:\n${detail}`, { cause: error });
  }
}

/**
 * The entry of a call(url, name): the module as a namespace, so a missing export is named with the
 * ones that exist (the message is made remotely, where the module was loaded).
 */
function callEntry(file: string, name: string): string {
  return `import * as ns from ${JSON.stringify(file)};
const name = ${JSON.stringify(name)};
export default async function (channel, args) {
  const fn = ns[name];
  if (typeof fn !== 'function') {
    const names = Object.keys(ns).filter((k) => typeof ns[k] === 'function');
    throw new TypeError(
      \`call(): the module ${file.replace(/[`\\$]/g, '\\$&')} has no function export named \${JSON.stringify(name)}\` +
        (names.length ? \`; its function exports are: \${names.join(', ')}\` : '; it exports no function') +
        (name === 'default' ? '' : "; pass 'default' for the default export"),
    );
  }
  await channel.send(await fn(...args));
}
`;
}
