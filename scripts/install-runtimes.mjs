#!/usr/bin/env node
// Installs the runtimes the runtime tests and bench use: Bun, Deno and Node 18, 22 and 24, all from
// the npm registry (their per-platform packages, which carry the binary and need no install
// script), into .cache/runtimes/ at the repository root. A second run with the same versions does
// nothing (it checks a stamp file and the binaries). Prints the paths as JSON on stdout and writes
// them to .cache/runtimes/paths.json, which test-e2e/helpers/runtimes.ts reads.
//
// Usage: node scripts/install-runtimes.mjs [--quiet]
// Exit code 1 with a message naming the package when npm fails or this platform has no binary.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Pinned versions: a change here reinstalls on the next run. */
export const VERSIONS = { node18: '18.20.8', node22: '22.23.3', node24: '24.21.0', bun: '1.4.5', deno: '2.9.6' };

const dir = fileURLToPath(new URL('../.cache/runtimes/', import.meta.url));
const quiet = parseArgs({ options: { quiet: { type: 'boolean' } } }).values.quiet === true;

/** The per-platform package of each runtime and where its binary lies inside it. */
function packages() {
  const os = platform();
  const cpu = arch();
  const node = { 'linux-x64': 'linux-x64', 'linux-arm64': 'linux-arm64', 'darwin-x64': 'darwin-x64', 'darwin-arm64': 'darwin-arm64' }[`${os}-${cpu}`];
  const bun = { 'linux-x64': 'linux-x64', 'linux-arm64': 'linux-aarch64', 'darwin-x64': 'darwin-x64', 'darwin-arm64': 'darwin-aarch64' }[`${os}-${cpu}`];
  const deno = { 'linux-x64': 'linux-x64-glibc', 'linux-arm64': 'linux-arm64-glibc', 'darwin-x64': 'darwin-x64', 'darwin-arm64': 'darwin-arm64' }[
    `${os}-${cpu}`
  ];
  if (!node || !bun || !deno)
    throw new Error(`install-runtimes: no npm binaries known for ${os}-${cpu}; run the runtime tests on linux or darwin, x64 or arm64`);
  return {
    node18: { pkg: `node-${node}@${VERSIONS.node18}`, bin: 'bin/node' },
    node22: { pkg: `node-${node}@${VERSIONS.node22}`, bin: 'bin/node' },
    node24: { pkg: `node-${node}@${VERSIONS.node24}`, bin: 'bin/node' },
    bun: { pkg: `@oven/bun-${bun}@${VERSIONS.bun}`, bin: 'bin/bun' },
    deno: { pkg: `@deno/${deno}@${VERSIONS.deno}`, bin: 'deno' },
  };
}

export function install() {
  const pkgs = packages();
  const paths = Object.fromEntries(Object.entries(pkgs).map(([alias, p]) => [alias, `${dir}node_modules/${alias}/${p.bin}`]));
  const stamp = JSON.stringify(pkgs);
  const stampFile = `${dir}stamp.json`;
  const fresh = () => existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && Object.values(paths).every((p) => existsSync(p));
  if (!fresh()) withLock(() => fresh() || fill(pkgs, paths, stamp, stampFile));
  writeFileSync(`${dir}paths.json`, `${JSON.stringify(paths, null, 2)}\n`);
  return paths;
}

/**
 * Runs `fn` holding .cache/runtimes.lock (test files that start at once may all find the cache
 * empty: one installs, the others wait, then find it full). A lock older than 10 minutes is stale.
 */
function withLock(fn) {
  const lock = `${dir.replace(/\/$/, '')}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (waited > 900_000) throw new Error(`install-runtimes: ${lock} is held for 15 minutes; remove it if no install runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Installs the packages afresh into .cache/runtimes/ and writes the stamp. */
function fill(pkgs, paths, stamp, stampFile) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}package.json`, `${JSON.stringify({ name: 'tsnet-runtimes', private: true }, null, 2)}\n`);
  const specs = Object.entries(pkgs).map(([alias, p]) => `${alias}@npm:${p.pkg}`);
  if (!quiet) process.stderr.write(`install-runtimes: npm install ${specs.join(' ')}\n`);
  try {
    // --ignore-scripts: the per-platform packages carry the binary itself; nothing needs to run
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--loglevel=error', ...specs], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    });
  } catch (error) {
    throw new Error(`install-runtimes: npm install of ${specs.join(' ')} failed (${error.message}); check access to the npm registry`);
  }
  for (const [alias, p] of Object.entries(paths)) {
    if (!existsSync(p)) throw new Error(`install-runtimes: ${pkgs[alias].pkg} installed but has no ${pkgs[alias].bin}`);
  }
  writeFileSync(stampFile, stamp);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const paths = install();
    process.stdout.write(`${JSON.stringify(paths, null, 2)}\n`);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
