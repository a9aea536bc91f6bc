/**
 * `--rsync-dir` to gateways that do not see this file system: two `chroot=` gateways
 * (@tsnet/transport-cmd) into one root file system (one "host"). The project is found missing there (marker probe), synced once through
 * the first gateway to the same absolute path (.gitignore honoured, node_modules included), seen by
 * the second; the tests then run there. A second run with no change syncs no file.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tsnet/transport-cmd';
import '@tsnet/transport-popen';
import { expect, test } from 'vitest';
import { runTests } from '../src/index.js';
import { PROJECT } from './helpers/fixtures.js';
import { collect } from './helpers/output.js';
import { makeChrootHost } from './helpers/rootfs.js';

test('--rsync-dir syncs the project once per host, honours .gitignore, and a second run syncs nothing', { timeout: 90_000 }, async () => {
  using host = makeChrootHost();
  const project = mkdtempSync(join(tmpdir(), 'tsnet-test-project-'));
  try {
    cpSync(PROJECT, project, { recursive: true });
    writeFileSync(join(project, '.gitignore'), 'build.log\nscratch/\n');
    writeFileSync(join(project, 'build.log'), 'not synced\n');
    mkdirSync(join(project, 'scratch'));
    writeFileSync(join(project, 'scratch', 'big.bin'), 'not synced either\n');
    mkdirSync(join(project, 'node_modules', 'answer'), { recursive: true });
    writeFileSync(join(project, 'node_modules', 'answer', 'package.json'), '{ "name": "answer", "type": "module", "exports": "./index.js" }\n');
    writeFileSync(join(project, 'node_modules', 'answer', 'index.js'), 'export default 42;\n');
    writeFileSync(
      join(project, 'uses-dep.test.mjs'),
      "import assert from 'node:assert';\nimport { test } from 'node:test';\nimport answer from 'answer';\n\ntest('imports from node_modules', () => assert.equal(answer, 42));\n",
    );
    const remote = join(host.dir, project);
    expect(existsSync(remote)).toBe(false);

    const out = collect();
    const first = await runTests({ cwd: project, tx: [host.spec, host.spec], rsyncDir: project, reporters: [{ name: 'spec', destination: out.stream }] });
    expect(first.sync.map(({ shared, files }) => ({ shared, synced: files > 0 }))).toEqual([
      { shared: false, synced: true },
      { shared: true, synced: false },
    ]);
    expect(first).toMatchObject({ exitCode: 1, files: 4, pass: 5, fail: 1 });
    expect(out.text()).toContain('✔ imports from node_modules');
    expect(existsSync(join(remote, 'node_modules', 'answer', 'index.js'))).toBe(true);
    expect(existsSync(join(remote, 'build.log'))).toBe(false);
    expect(existsSync(join(remote, 'scratch'))).toBe(false);
    expect(readdirSync(remote).filter((n) => n.startsWith('.tsnet-test-marker'))).toEqual([]);
    expect(readdirSync(project).filter((n) => n.startsWith('.tsnet-test-marker'))).toEqual([]);

    const second = await runTests({ cwd: project, tx: [host.spec], rsyncDir: project, reporters: [{ name: 'tap', destination: collect().stream }] });
    expect(second.sync).toMatchObject([{ shared: false, files: 0 }]);
    expect(second).toMatchObject({ exitCode: 1, pass: 5, fail: 1 });
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});
