// Bundles src/agent.ts into dist/agent.js: the remote side of a sync as one self-contained script
// (hash-wasm's WebAssembly and ignore inlined, only node: builtins required), which agent-source.ts
// turns into a remoteExec source. Nothing is installed on the remote side.
import { mkdirSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const result = await build({
  entryPoints: [new URL('./src/agent.ts', import.meta.url).pathname],
  write: false,
  bundle: true,
  platform: 'node',
  mainFields: ['module', 'main'],
  format: 'iife',
  globalName: '__tsnetRsyncAgent',
  target: 'node18',
  minify: true,
  legalComments: 'none',
  charset: 'ascii',
  conditions: ['@tsnet/source'],
  plugins: [
    {
      // The agent uses only core's error classes (TsnetError, ProtocolError): bundle errors.ts alone,
      // not the whole of @tsnet/core.
      name: 'core-errors-only',
      setup(b) {
        b.onResolve({ filter: /^@tsnet\/core$/ }, () => ({ path: new URL('../core/src/errors.ts', import.meta.url).pathname }));
      },
    },
  ],
  logLevel: 'warning',
  metafile: true,
});
mkdirSync(new URL('./dist/', import.meta.url), { recursive: true });
const text = result.outputFiles[0].text;
// The remote side has no node_modules: every import left in the bundle must be a node: builtin.
for (const output of Object.values(result.metafile.outputs)) {
  const bad = output.imports.filter((i) => !i.path.startsWith('node:')).map((i) => i.path);
  if (bad.length > 0) throw new Error(`the agent bundle imports ${bad.join(', ')}: only node: builtins can be required on the remote side`);
}
writeFileSync(new URL('./dist/agent.js', import.meta.url), text);
console.log(`dist/agent.js: ${text.length} bytes`);
