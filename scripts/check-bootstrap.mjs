// Checks the bundled remote side: size budgets (the file, and its worker part, which is what is
// injected at every start), ASCII only, no import/require of anything but Node builtins, and that
// the worker part parses as a function body (how the first stage runs it).
import { readFileSync } from 'node:fs';
import { SERVER_PART_MARKER as MARKER } from '../packages/bootstrap/dist/first-stage.js';

const BUDGET = 164 * 1024; // bytes, minified; stated in the README (the injected worker part has its own budget)
const WORKER_BUDGET = 78 * 1024; // the injected part (76 KiB until the SSH spawner, +2.5 KB, and sendMany)
const file = new URL('../packages/bootstrap/dist/standalone/tsnet-bootstrap.js', import.meta.url);
const code = readFileSync(file);
const problems = [];
if (code.length > BUDGET) problems.push(`size ${code.length} B is over the budget of ${BUDGET} B`);
const workerEnd = code.indexOf(MARKER, 0, 'latin1');
if (workerEnd < 0) problems.push('no worker part: the server-part marker is missing');
const worker = code.subarray(0, workerEnd < 0 ? code.length : workerEnd);
if (worker.length > WORKER_BUDGET) problems.push(`worker part ${worker.length} B is over its budget of ${WORKER_BUDGET} B`);
const nonAscii = code.findIndex((b) => b > 0x7e || (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09));
if (nonAscii !== -1) problems.push(`non-ASCII byte 0x${code[nonAscii].toString(16)} at offset ${nonAscii}`);
const text = code.toString('latin1');
const required = new Set([...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
for (const r of required)
  if (
    !r.startsWith('node:') &&
    ![
      'fs',
      'net',
      'os',
      'path',
      'crypto',
      'child_process',
      'module',
      'worker_threads',
      'stream',
      'tls',
      'http',
      'https',
      'events',
      'url',
      'zlib',
      'buffer',
      'util',
    ].includes(r)
  )
    problems.push(`requires non-builtin module ${r}`);
try {
  new Function('require', '__tsnetBoot', worker.toString('latin1'));
} catch (error) {
  problems.push(`the worker part does not parse as a function body: ${error.message}`);
}
try {
  new Function('require', text);
} catch (error) {
  problems.push(`the file does not parse: ${error.message}`);
}
if (problems.length) {
  console.error(`tsnet-bootstrap.js check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `tsnet-bootstrap.js: ${code.length} B of ${BUDGET} B budget (injected worker part ${worker.length} B of ${WORKER_BUDGET} B), ASCII, builtins only: ${[...required].sort().join(', ')}`,
);
// The host/worker rule: nothing host-only is reachable from the remote side's entries.
await (await import('./check-worker-imports.mjs')).main();
