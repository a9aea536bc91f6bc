/**
 * The two config resolvers must agree: `ssh -G` (OpenSSH itself) is the reference for the
 * ssh-config-based parser used when no OpenSSH client is installed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { type HostConfig, resolveHostConfig } from '../src/host-config.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnet-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const me = userInfo().username;

function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

mkdirSync(join(dir, 'conf.d'), { recursive: true });
writeFileSync(join(dir, 'conf.d', '20-b.conf'), 'Host inc-*\n  Port 2202\n  User second\n');
writeFileSync(join(dir, 'conf.d', '10-a.conf'), 'Host inc-*\n  HostName 10.9.0.1\n  User first\n  ServerAliveInterval 9\n');

const main = config(
  'main',
  `# a realistic config
Host build01 b1
  HostName build01.lab.example
  User builder
  Port 2222
  IdentityFile ~/.ssh/build_%h_%r
  IdentityFile %d/.ssh/second
  IdentitiesOnly yes
  ServerAliveInterval 10
  ServerAliveCountMax 4
  StrictHostKeyChecking accept-new
  UserKnownHostsFile ${dir}/kh_%h_%p ~/kh2
  GlobalKnownHostsFile /dev/null
  HashKnownHosts yes

Host behind
  HostName 10.1.2.3
  ProxyJump jumper@bastion:2200,b1

Host *.lab.example !secret.lab.example
  User labuser
  Compression yes

Host secret.lab.example
  StrictHostKeyChecking no
  IdentityAgent none
  HostKeyAlias secret-alias
  ConnectTimeout 7

Include ${dir}/conf.d/does-not-exist-*.conf

Host inc-*
Include ${dir}/conf.d/*.conf

Host *
  StrictHostKeyChecking yes
  ServerAliveCountMax 2
`,
);

const FIELDS: (keyof HostConfig)[] = [
  'hostname',
  'port',
  'user',
  'identityFiles',
  'identitiesOnly',
  'identityAgent',
  'proxyJump',
  'serverAliveInterval',
  'serverAliveCountMax',
  'strictHostKeyChecking',
  'userKnownHostsFiles',
  'globalKnownHostsFiles',
  'hostKeyAlias',
  'connectTimeout',
  'compression',
  'hashKnownHosts',
];

function pick(c: HostConfig): Partial<HostConfig> {
  return Object.fromEntries(FIELDS.map((f) => [f, c[f]]));
}

const cases: Array<[string, { user?: string; port?: number }, Partial<HostConfig>]> = [
  [
    'b1',
    {},
    {
      hostname: 'build01.lab.example',
      port: 2222,
      user: 'builder',
      identityFiles: [join(homedir(), '.ssh/build_build01.lab.example_builder'), join(homedir(), '.ssh/second')],
      identitiesOnly: true,
      serverAliveInterval: 10,
      serverAliveCountMax: 4,
      strictHostKeyChecking: 'accept-new',
      userKnownHostsFiles: [`${dir}/kh_build01.lab.example_2222`, join(homedir(), 'kh2')],
      globalKnownHostsFiles: ['/dev/null'],
      hashKnownHosts: true,
    },
  ],
  [
    'build01',
    { user: 'override', port: 2022 },
    { user: 'override', port: 2022, userKnownHostsFiles: [`${dir}/kh_build01.lab.example_2022`, join(homedir(), 'kh2')] },
  ],
  ['behind', {}, { hostname: '10.1.2.3', proxyJump: ['jumper@bastion:2200', 'b1'], user: me, port: 22, strictHostKeyChecking: 'yes', serverAliveCountMax: 2 }],
  ['web.lab.example', {}, { user: 'labuser', compression: true, strictHostKeyChecking: 'yes' }],
  [
    'secret.lab.example',
    {},
    { user: me, compression: false, strictHostKeyChecking: 'no', identityAgent: undefined, hostKeyAlias: 'secret-alias', connectTimeout: 7 },
  ],
  ['inc-x', {}, { hostname: '10.9.0.1', user: 'first', port: 2202, serverAliveInterval: 9 }],
  // An Include inside the secret.lab.example block does not apply to other hosts.
  ['other', {}, { hostname: 'other', user: me, port: 22 }],
  [
    'plain',
    {},
    {
      hostname: 'plain',
      port: 22,
      user: me,
      proxyJump: [],
      identityFiles: ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((f) => join(homedir(), '.ssh', f)),
      userKnownHostsFiles: [join(homedir(), '.ssh/known_hosts'), join(homedir(), '.ssh/known_hosts2')],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      serverAliveInterval: 0,
      connectTimeout: undefined,
    },
  ],
];

describe.each(['ssh', 'parser'] as const)('resolver %s', (resolver) => {
  test.each(cases)('%s %o', async (host, opts, expected) => {
    const c = await resolveHostConfig(host, { configFile: main, resolver, ...opts });
    expect(c.resolver).toBe(resolver === 'ssh' ? 'ssh -G' : 'ssh-config');
    expect(pick(c)).toMatchObject(expected);
  });
});

test('both resolvers agree on every field', async () => {
  for (const [host, opts] of cases) {
    const a = await resolveHostConfig(host, { configFile: main, resolver: 'ssh', ...opts });
    const b = await resolveHostConfig(host, { configFile: main, resolver: 'parser', ...opts });
    expect({ host, ...pick(b) }).toEqual({ host, ...pick(a) });
  }
});

test('an unreadable config file is a SpecError naming it', async () => {
  await expect(resolveHostConfig('x', { configFile: join(dir, 'nope'), resolver: 'parser' })).rejects.toMatchObject({ code: 'TSNET_ERR_SPEC' });
  await expect(resolveHostConfig('x', { configFile: join(dir, 'nope'), resolver: 'ssh' })).rejects.toMatchObject({ code: 'TSNET_ERR_SPEC' });
});
