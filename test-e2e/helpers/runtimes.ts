// The runtime binaries the runtime tests use (Bun, Deno, Node 18/22/24), installed from the npm
// registry by scripts/install-runtimes.mjs into .cache/runtimes/ (CI runs it in .ci/run; a run
// here installs them on first use, then finds them in the cache).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RuntimePaths {
  node18: string;
  node22: string;
  node24: string;
  bun: string;
  deno: string;
}

let cached: RuntimePaths | undefined;

/** The installed runtimes' executables (installs them first when the cache lacks them). */
export function runtimePaths(): RuntimePaths {
  cached ??= JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/install-runtimes.mjs', import.meta.url)), '--quiet'], {
      encoding: 'utf8',
      timeout: 600_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  ) as RuntimePaths;
  return cached;
}

/** The other Node versions the runtime suites run, as [major, executable]: 18 (the oldest the bundle supports), 22, 24. */
export function nodeRemotes(paths: RuntimePaths = runtimePaths()): Array<[major: string, exe: string]> {
  return [
    ['18', paths.node18],
    ['22', paths.node22],
    ['24', paths.node24],
  ];
}
