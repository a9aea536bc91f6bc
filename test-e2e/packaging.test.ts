// The packages build to dist/ and install on their own: npm pack core + bootstrap + popen, install
// the tarballs into an empty folder, and run the first example there.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

test('npm pack of core + bootstrap + popen installs into an empty folder and runs the first example', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-pack-'));
  const packs = join(dir, 'packs');
  mkdirSync(packs);
  execFileSync('npm', ['pack', '--silent', '--pack-destination', packs, '-w', '@tsnet/core', '-w', '@tsnet/bootstrap', '-w', '@tsnet/transport-popen'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  expect(tarballs).toHaveLength(3);
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', ...tarballs], { cwd: app, stdio: ['ignore', 'pipe', 'inherit'] });
  writeFileSync(
    join(app, 'main.mjs'),
    `import { writeFileSync } from 'node:fs';
import { makeGateway } from '@tsnet/core';
const gw = await makeGateway();
const ch = gw.remoteExec('channel.send((await channel.receive()) + 1)');
await ch.send(1);
console.log('result', await ch.receive());
const fn = gw.remoteExec((channel) => channel.send('from a function'));
console.log('function', await fn.receive());
// esbuild is an optional peer dependency: not installed here, so a module source fails, saying so
writeFileSync(new URL('./remote-module.mjs', import.meta.url), 'export default (channel) => channel.send(1);');
try { await gw.remoteExec(new URL('./remote-module.mjs', import.meta.url)).receive(); } catch (e) { console.log('module', e.code, e.message); }
await gw.exit();
try { await makeGateway('ssh=somehost'); } catch (e) { console.log('ssh', e.code, e.message); }
`,
  );
  const out = execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' });
  expect(out).toContain('result 2');
  expect(out).toContain('function from a function');
  expect(out).toMatch(/module TSNET_ERR_SOURCE .*needs esbuild, an optional peer dependency of @tsnet\/core that is not installed: npm install esbuild/);
  expect(readdirSync(join(app, 'node_modules'))).not.toContain('esbuild');
  const kib = Number(execFileSync('du', ['-sk', join(app, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
  console.log(`[measure] installed size of @tsnet/core + @tsnet/transport-popen (+ @tsnet/bootstrap), without esbuild: ${kib} KiB`);
  expect(out).toMatch(/ssh TSNET_ERR_SPEC .*needs the package @tsnet\/transport-ssh, which is not installed: npm install @tsnet\/transport-ssh/);
});
