// The host/worker rule, checked: code bundled into the remote runtime (everything reachable from
// @tsnet/core/worker, and the bootstrap's worker part) must run on every supported remote runtime
// (Node 18 and up, bun, deno) and must never pull in host-only code. esbuild walks the real import
// graph (type-only imports do not count, dynamic imports do); this fails on any host-only module
// in it, and on any API a Node 18 remote lacks.
//
//   node scripts/check-worker-imports.mjs                  (run by npm test, from check-bootstrap.mjs)
//   node scripts/check-worker-imports.mjs --entry <path>   (checks another entry, as if it were bundled remotely)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The entries whose import graph is the remote side. */
export const WORKER_ENTRIES = ['packages/core/src/worker.ts', 'packages/bootstrap/src/remote.ts'];

/** Packages only the host may load: parsing functions, bundling modules, the standalone server. */
export const HOST_ONLY_PACKAGES = ['acorn', 'eslint-scope', 'esbuild', 'ws'];

/** Core modules of the host role (paths under packages/core/src). */
export const HOST_ONLY_MODULES = [
  'index.ts', // @tsnet/core: the user's API
  'transport.ts', // @tsnet/core/transport: what transport packages use
  'exec/remote-source.ts',
  'exec/bundle-module.ts',
  'gateway/gateway.ts',
  'gateway/group.ts',
  'gateway/keep-alive.ts',
  'gateway/remote-output.ts',
  'gateway/close-reason.ts',
  'gateway/lifecycle.ts',
  'spec/transport-registry.ts',
  'spec/xspec.ts',
  'via/via-transport.ts',
  'via/via-socket.ts',
];

/** APIs a Node 18 remote does not have, as they appear in source. */
export const NOT_ON_NODE_18 = [
  { text: 'AbortSignal.any', why: 'AbortSignal.any() is Node ≥ 20.3' },
  { text: 'Promise.withResolvers', why: 'Promise.withResolvers() is Node ≥ 22' },
  { text: 'Array.fromAsync', why: 'Array.fromAsync() is Node ≥ 22' },
];

/** The problems in the import graph of `entry` (a path relative to the repository root). */
export async function checkWorkerGraph(entry, root = ROOT) {
  const result = await build({
    entryPoints: [`${root}${entry}`],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    conditions: ['@tsnet/source'],
    absWorkingDir: root,
    logLevel: 'silent',
    // Host-only packages stay unresolved names, so a violation is reported, not bundled.
    external: HOST_ONLY_PACKAGES,
  });
  const problems = [];
  const inputs = result.metafile.inputs;
  const coreSrc = 'packages/core/src/';
  for (const [file, info] of Object.entries(inputs)) {
    for (const imp of info.imports) {
      if (imp.external && HOST_ONLY_PACKAGES.includes(imp.path)) problems.push(`${file} imports the host-only package ${imp.path}`);
    }
    const at = file.indexOf(coreSrc);
    if (at !== -1) {
      const rel = file.slice(at + coreSrc.length);
      if (HOST_ONLY_MODULES.includes(rel)) {
        const by = Object.entries(inputs)
          .filter(([, i]) => i.imports.some((x) => x.path === file))
          .map(([f]) => f);
        problems.push(`${file} is host-only but reachable from ${entry} (imported by ${by.join(', ') || '?'})`);
      }
    }
    if (file.includes('node_modules/')) continue;
    const lines = readFileSync(`${root}${file}`, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may name what is not used
      for (const api of NOT_ON_NODE_18) {
        if (line.includes(api.text)) problems.push(`${file}:${i + 1} uses ${api.text}: ${api.why}, and this file runs on remotes from Node 18`);
      }
    });
  }
  return { problems, files: Object.keys(inputs).filter((f) => !f.includes('node_modules/')) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { entry: { type: 'string', multiple: true } } });
  await main(values.entry ?? WORKER_ENTRIES);
}

export async function main(entries = WORKER_ENTRIES) {
  const all = [];
  let count = 0;
  for (const entry of entries) {
    const { problems, files } = await checkWorkerGraph(entry);
    all.push(...problems);
    count = Math.max(count, files.length);
  }
  if (all.length) {
    console.error(
      `the remote side imports host-only code (see docs/architecture.md, the host/worker rule):\n  ${all.join('\n  ')}\n` +
        'Move what the remote side needs into a worker-safe module, or import the host-only one from the host role only.',
    );
    process.exit(1);
  }
  console.log(`worker import graph: ${count} modules from ${entries.join(' and ')}, none host-only, no API newer than Node 18`);
}
