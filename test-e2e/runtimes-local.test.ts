// The local side under Bun and Deno: a script run with `bun` or `deno run -A` imports @tsnet/core
// (and its transports) and opens popen and ssh gateways (to a real sshd on 127.0.0.1) whose remotes
// are Node, Bun and Deno, and socket= and ws= gateways to the standalone server; the seed's examples (scripts/run-examples.mjs) pass there.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningServer, startServer, tempDir, writeToken } from '../packages/transport-socket/test/helpers/server.js';
import { runtimePaths } from './helpers/runtimes.js';
import { type Sshd, startSshd } from './helpers/sshd.js';

const run = promisify(execFile);
const paths = runtimePaths();
const root = fileURLToPath(new URL('..', import.meta.url));
const locals: Array<[string, string, string[]]> = [
  ['Bun', paths.bun, []],
  ['Deno', paths.deno, ['run', '-A']],
];

let sshd: Sshd;
let server: RunningServer;
const tmp = tempDir();
const tokenFile = writeToken(tmp.path);
beforeAll(async () => {
  [sshd, server] = await Promise.all([startSshd(), startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile])]);
});
afterAll(async () => {
  await Promise.all([sshd?.stop(), server?.stop()]);
  tmp.remove();
});

describe.each(locals)('the local side under %s', (_name, exe, args) => {
  test('opens popen, ssh, socket and ws gateways to Node, Bun and Deno remotes', async () => {
    const ssh = `ssh=${sshd.alias}//ssh-config=${sshd.sshConfig}`;
    const specs = [
      'popen',
      `popen//runtime=bun//exe=${paths.bun}`,
      `popen//runtime=deno//exe=${paths.deno}`,
      `${ssh}//node=${process.execPath}`,
      `${ssh}//runtime=bun//exe=${paths.bun}`,
      `socket=${server.address}//token-file=${tokenFile}`,
      `ws=ws://${server.address}//token-file=${tokenFile}`,
    ];
    const { stdout } = await run(exe, [...args, 'test-e2e/fixtures/local-side.mjs', ...specs], { cwd: root, timeout: 60_000 });
    const { local, results } = JSON.parse(stdout.trim().split('\n').pop()!) as { local: string; results: Array<Record<string, unknown>> };
    expect(local).toBe(_name.toLowerCase());
    expect(results.map((r) => r.runtime)).toEqual(['node', 'bun', 'deno', 'node', 'bun', 'node', 'node']);
    for (const r of results) {
      expect({ ...r, ms: 0 }).toEqual({
        spec: r.spec,
        runtime: r.runtime,
        source: 42,
        fn: '343',
        module: 'initialization complete',
        inner: true,
        bulk: true,
        ms: 0,
      });
    }
  });

  test("the seed's examples pass (scripts/run-examples.mjs)", async () => {
    const { stdout } = await run(exe, [...args, 'scripts/run-examples.mjs'], { cwd: root, timeout: 60_000 });
    expect(stdout).toMatch(/all examples ran/);
    expect(stdout.match(/^ok /gm)).toHaveLength(12); // every example of scripts/run-examples.mjs
  });
});
