import { fileURLToPath } from 'node:url';
import { SourceError } from '../errors.js';

/**
 * Bundles a module with its relative imports into one CommonJS function body for remote execution.
 * Bare imports (packages, node: builtins) stay `require()` calls resolved on the remote side, from
 * its working directory. esbuild is loaded only when a module is shipped.
 */
export async function bundleModule(url: URL): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new SourceError('remoteExec(module URL) needs esbuild to bundle the module: npm install esbuild', { cause: error });
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
