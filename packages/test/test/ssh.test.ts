/**
 * A gateway over a real OpenSSH sshd on 127.0.0.1 beside a popen one: the suite runs on both, and
 * `--rsync-dir` finds (with its marker file) that both see this file system, so nothing is synced.
 */
import '@tsnet/transport-popen';
import { expect, test } from 'vitest';
import { useSshd } from '../../../test-e2e/helpers/use-sshd.js';
import { runTests } from '../src/index.js';
import { PROJECT } from './helpers/fixtures.js';
import { collect } from './helpers/output.js';

const server = useSshd({ registerSsh: true });

test('--dist each over ssh and popen; --rsync-dir syncs nothing to gateways that share the file system', { timeout: 60_000 }, async () => {
  const spec = `ssh=${server.sshd.alias}//node=${process.execPath}`;
  const out = collect();
  const result = await runTests({ cwd: PROJECT, tx: [spec, 'popen'], dist: 'each', rsyncDir: PROJECT, reporters: [{ name: 'spec', destination: out.stream }] });
  expect(result).toMatchObject({ exitCode: 1, tests: 12, pass: 8, fail: 2, skipped: 2 });
  expect(result.sync.map((s) => s.shared)).toEqual([true, true]);
  const label = `ssh=${server.sshd.alias} (node ${process.version})`; // node=PATH gives way to what it reported
  expect(out.text()).toContain(`✔ [${label}] in a test directory`);
  expect(out.text()).toContain(`✖ [${label}] compares wrongly`);
});
