// Bundles the remote side into dist/tsnet-bootstrap.js: one self-contained file, no imports left.
// It is also the standalone socket server, so `ws` is bundled in. ws loads the optional native
// add-ons bufferutil and utf-8-validate inside try/catch; they are replaced by a stub that throws,
// so the file never picks up whatever module of that name happens to lie near where it is copied.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

// Its own folder with a CommonJS package.json: the file is a script wherever it is copied.
const dir = new URL('./dist/standalone/', import.meta.url);
const out = new URL('./tsnet-bootstrap.js', dir);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('./package.json', dir), '{ "type": "commonjs" }\n');
await build({
  entryPoints: [new URL('./src/remote.ts', import.meta.url).pathname],
  outfile: out.pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
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
const code = readFileSync(out);
const hash = createHash('sha256').update(code).digest('hex');
console.log(`tsnet-bootstrap.js: ${code.length} bytes, sha256 ${hash.slice(0, 16)}…`);
