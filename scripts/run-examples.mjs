// Runs the seed's examples (examples/*.ts) on the local default gateway and prints their results.
// Each example is compiled with esbuild (its import.meta.url kept pointing at the .ts source, so the
// remote modules it ships are found) and its main() is awaited.
import { mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const examples = [
  ['increment', 'execute source in a subprocess, communicate through a channel'],
  ['funcmultiplier', 'remoteExec a function'],
  ['module', 'remoteExec a module'],
  ['cwd', 'compare current working directories'],
  ['callback', 'use a callback instead of receive() and wait for completion'],
  ['channels-over-channels', 'send channels over channels'],
  ['command-loop', 'a simple command loop pattern'],
  ['receive-files', 'receive file contents through a served module'],
  ['call', 'call a function or a module export remotely'],
  ['map', 'hash files in parallel over a group (group.map)'],
  ['exec', 'run commands on the remote host (gw.exec)'],
  ['half-close', 'end() keeps the replies coming; a pipeline into makeFile("w") finishes on both sides'],
];
const only = process.argv.slice(2);
const outDir = new URL('.tmp/examples/', root);
mkdirSync(outDir, { recursive: true });
let failed = 0;
for (const [name, title] of examples) {
  if (only.length && !only.includes(name)) continue;
  const src = new URL(`examples/${name}.ts`, root);
  const out = new URL(`${name}.mjs`, outDir);
  const started = performance.now();
  try {
    await build({
      entryPoints: [fileURLToPath(src)],
      outfile: fileURLToPath(out),
      bundle: true,
      packages: 'external',
      format: 'esm',
      platform: 'node',
      target: 'node20',
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(fileURLToPath(src)).href) },
      logLevel: 'error',
    });
    const { main } = await import(out.href);
    const result = await main();
    console.log(`ok   ${name.padEnd(24)} ${JSON.stringify(result)}  (${(performance.now() - started).toFixed(0)} ms)  # ${title}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name.padEnd(24)} ${error?.stack ?? error}`);
  }
}
console.log(failed ? `\n${failed} example(s) failed` : '\nall examples ran');
process.exitCode = failed ? 1 : 0;
