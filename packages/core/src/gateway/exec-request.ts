import { SourceError } from '../errors.js';
import type { ExecRequest } from '../exec/executor.js';
import type { ModuleSourceMap } from '../exec/source-map.js';
import type { RemoteExecOptions } from './gateway-options.js';

/**
 * Building the requests of remoteExec() and call(url, name) on the host, before anything is sent:
 * each check throws (or rejects with) a TypeError or SourceError that names the API and the bad
 * value; bundling errors (esbuild missing, a module that does not build) come from
 * exec/bundle-module.ts. esbuild is imported only when a module is bundled.
 */

/** remoteExec()'s abortTimeout, checked: a whole number of milliseconds that fits the EXEC frame's u32. */
export function abortTimeoutOf(options: RemoteExecOptions | undefined): number {
  const abortTimeout = options?.abortTimeout ?? 1000;
  if (!Number.isInteger(abortTimeout) || abortTimeout < 0 || abortTimeout > 0xffffffff) {
    throw new TypeError(`remoteExec(): abortTimeout must be a whole number of milliseconds (0 or more), got ${abortTimeout}`);
  }
  return abortTimeout;
}

/** Bundles the module at `url` (a file: URL) into the request that runs it (or its export `callExport`). */
export async function bundledRequest(
  url: URL,
  kwargs: unknown,
  how: { bundle?: 'local' | 'all'; callExport?: string },
  api: string,
): Promise<{ request: ExecRequest; sourceMap: ModuleSourceMap }> {
  const bundle = how.bundle ?? 'local';
  if (url.protocol !== 'file:') throw new SourceError(`${api}: module URLs must be file: URLs, got ${url.href}`);
  if (bundle !== 'local' && bundle !== 'all') throw new SourceError(`${api}: bundle must be 'local' or 'all', got ${JSON.stringify(bundle)}`);
  const { bundleModule } = await import('../exec/bundle-module.js');
  const { code, sourceMap } = await bundleModule(url, { all: bundle === 'all', ...(how.callExport === undefined ? {} : { callExport: how.callExport }) });
  return { request: { kind: 'module', source: code, filename: sourceMap.filename, kwargs }, sourceMap };
}
