// A popen transport for profiling only: the remote runtime starts under `node --cpu-prof` and is
// sent an unminified build of the remote bundle, so its profile names the functions of
// packages/core/src. Everything else is the real popen transport (PopenTransport, FIRST_STAGE).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { bundleHash, FIRST_STAGE } from '@tsnet/bootstrap';
import { PopenTransport } from '@tsnet/transport-popen';
import { REPO } from './common.mjs';

/** Same options as packages/bootstrap/build.mjs, without minify and with a source map. */
export async function buildUnminifiedBundle(outfile) {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [`${REPO}packages/bootstrap/src/remote.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node16',
    minify: false, // keepNames is left off: with it esbuild lowers #private fields to WeakMap helpers
    sourcemap: 'external', // profile-summary.mjs maps frames back to packages/*/src with it
    legalComments: 'none',
    conditions: ['@tsnet/source'],
    charset: 'ascii',
    logLevel: 'warning',
  });
}

/** `interval`: sampling interval in µs (V8's default is 1000). */
export async function profilingPopen(dir, interval) {
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/tsnet-bootstrap.unminified.js`;
  if (!existsSync(file)) await buildUnminifiedBundle(file);
  // a sourceURL, so the profile's frames name this file (profile-summary.mjs maps its lines to src/)
  const code = Buffer.concat([readFileSync(file), Buffer.from(`\n//# sourceURL=file://${file}\n`)]);
  const hash = bundleHash(code);
  const config = { wireFd: 3, output: 'fd', killGroup: true, watchPpid: false }; // as popen with its lifeline
  // header line as in @tsnet/bootstrap's preamble(): `TSNET1 <len> <bundleHash> <config JSON>\n`
  const preamble = Buffer.concat([Buffer.from(`TSNET1 ${code.length} ${hash} ${JSON.stringify(config)}\n`, 'latin1'), code]);
  return {
    type: 'popen',
    async connect() {
      const flags = ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...(interval ? [`--cpu-prof-interval=${interval}`] : [])];
      const child = spawn(process.execPath, [...flags, '-e', FIRST_STAGE], {
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        detached: true,
      });
      await new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('spawn', resolve);
      });
      const transport = new PopenTransport(child);
      child.stdin.write(preamble);
      return transport;
    },
  };
}
