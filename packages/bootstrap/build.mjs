// Bundles the remote side into dist/tsnet-bootstrap.js: one self-contained file, no imports left.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
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
});
const code = readFileSync(out);
const hash = createHash('sha256').update(code).digest('hex');
console.log(`tsnet-bootstrap.js: ${code.length} bytes, sha256 ${hash.slice(0, 16)}…`);
