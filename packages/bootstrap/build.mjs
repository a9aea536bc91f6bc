// Bundles the remote side into dist/standalone/tsnet-bootstrap.js: one self-contained file, no imports left.
// It is also the standalone socket server, so `ws` is bundled in. ws loads the optional native
// add-ons bufferutil and utf-8-validate inside try/catch; they are replaced by a stub that throws,
// so the file never picks up whatever module of that name happens to lie near where it is copied.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';
// tsc -b ran first (the build script), so the marker comes from its one definition
import { SERVER_PART_MARKER as MARKER } from './dist/first-stage.js';

// Its own folder with a CommonJS package.json: the file is a script wherever it is copied.
const dir = new URL('./dist/standalone/', import.meta.url);
const out = new URL('./tsnet-bootstrap.js', dir);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('./package.json', dir), '{ "type": "commonjs" }\n');
// The file is two scripts in a row. The first, the worker, is all that is injected into a runtime
// (bundle() in src/index.ts cuts the file at SERVER_PART_MARKER, from first-stage.ts): it serves a gateway when the first stage
// runs it with a boot config, and does nothing when the file runs as a program. The second is the
// standalone CLI and socket server, which runs only as a program. Each runs in a function scope of
// its own; the worker stays small (it is read, hashed and compiled at every start).
async function part(contents) {
  const result = await build({
    stdin: { contents, resolveDir: new URL('.', import.meta.url).pathname, loader: 'ts', sourcefile: 'entry.ts' },
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs', // require() calls stay literal (check-bootstrap.mjs lists them)
    target: 'node16',
    minify: true,
    legalComments: 'none',
    conditions: ['@tsnet/source'],
    charset: 'ascii',
    logLevel: 'warning',
    plugins: [
      {
        // ws requires builtins by bare name ('querystring', 'zlib', …): write them all as node:NAME,
        // so the bundle names nothing that could be mistaken for a package.
        name: 'node-prefix',
        setup(b) {
          const names = builtinModules.filter((m) => !m.startsWith('_') && !m.includes('/'));
          b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({ path: `node:${args.path}`, external: true }));
        },
      },
      {
        name: 'no-optional-native-addons',
        setup(b) {
          b.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (args) => ({ path: args.path, namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({
            contents: `throw new Error(${JSON.stringify(`${args.path} is not bundled`)});`,
            loader: 'js',
          }));
        },
      },
    ],
  });
  // each part in a scope of its own, so their top-level names never meet
  return `(()=>{\n${result.outputFiles[0].text}})();`;
}
const worker = await part("import './src/remote.ts';");
const server = await part("import { main } from './src/cli.ts'; main();");
writeFileSync(out, worker + MARKER + server);
const code = readFileSync(out);
const hash = createHash('sha256').update(code).digest('hex');
console.log(`tsnet-bootstrap.js: ${code.length} bytes (worker part ${worker.length}), sha256 ${hash.slice(0, 16)}…`);
