// The tests' helpers (test-e2e/helpers/*.ts) for the benchmarks, which are plain .mjs: `source`
// (e.g. "export * from './fleet.ts';") is bundled with esbuild into node_modules/.cache, imported
// and the bundle removed, so that benchmarks and tests build their hosts and servers the same way.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { REPO } from './common.mjs';

/** The module `source` makes of test-e2e/helpers; `name` tells the bundle's file apart. */
export async function importTestHelpers(name, source) {
  const bundle = join(REPO, 'node_modules', '.cache', `tsnet-${name}-${process.pid}.mjs`);
  await build({
    stdin: { contents: source, resolveDir: join(REPO, 'test-e2e/helpers'), loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'error',
  });
  try {
    return await import(pathToFileURL(bundle).href);
  } finally {
    rmSync(bundle, { force: true });
  }
}
