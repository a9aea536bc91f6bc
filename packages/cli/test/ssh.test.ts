/** `tsnet exec` and `tsnet info` over SSH, against a real OpenSSH sshd on 127.0.0.1 (test-e2e's helper). */
import { expect, test } from 'vitest';
import { useSshd } from '../../../test-e2e/helpers/use-sshd.js';
import { runTsnet } from './helpers.js';

const server = useSshd();

const spec = () => server.spec();

test('exec over ssh: the code runs in an SSH session; --tx mixes ssh and popen; info shows both', async () => {
  const r = await runTsnet(['exec', '--json', '--tx', spec(), '--tx', 'popen', '-e', "await channel.send(process.env.SSH_CONNECTION ? 'ssh' : 'local')"]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const items = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { gateway: string; item: string })
    .sort((a, b) => a.gateway.localeCompare(b.gateway));
  expect(items).toEqual([
    { gateway: 'gw0', item: 'ssh' },
    { gateway: 'gw1', item: 'local' },
  ]);
  const info = await runTsnet(['info', '--tx', spec()]);
  expect(info.code).toBe(0);
  expect(info.stdout.split('\n')[1]).toMatch(new RegExp(`^gw0\\s+ssh=${server.sshd.alias}//`));
});

test('an ssh host that refuses the connection: exit code 1 and the reason, not a hang', async () => {
  const r = await runTsnet(['exec', '--tx', `ssh=${server.sshd.user}@127.0.0.1:1//node=${process.execPath}`, '-e', '1'], { timeout: 40_000 });
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^tsnet exec: .*(ECONNREFUSED|refused)/);
});
