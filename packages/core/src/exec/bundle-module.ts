import { fileURLToPath } from 'node:url';
import { SourceError } from '../errors.js';

/** How esbuild is loaded: a parameter, so a test can stand in a loader that fails as a missing package does. */
export type EsbuildLoader = () => Promise<typeof import('esbuild')>;

const loadEsbuild: EsbuildLoader = () => import('esbuild');

/**
 * Bundles a module with its relative imports into one CommonJS function body for remote execution.
 * Bare imports (packages, node: builtins) stay `require()` calls resolved on the remote side, from
 * its working directory. Host only. esbuild is an optional peer dependency of @tsnet/core, loaded
 * only when a module is shipped: without it, strings and functions work and this throws a
 * SourceError that says to install it.
 */
export async function bundleModule(url: URL, load: EsbuildLoader = loadEsbuild): Promise<string> {
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
  try {
    const result = await esbuild.build({
      entryPoints: [file],
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
    throw new SourceError(`remoteExec(): cannot bundle ${url.href}:\n${detail}`, { cause: error });
  }
}
