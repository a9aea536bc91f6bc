import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, test } from 'vitest';
import { checkHostKey, entryMatches, fingerprint, knownHostsName, knownKeyTypes, readKnownHosts, recordHostKey } from '../src/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnet-kh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function key(type: 'ed25519' | 'ecdsa' = 'ed25519'): { line: string; blob: Buffer; type: string } {
  let pair = ssh2.utils.generateKeyPairSync(type, type === 'ecdsa' ? { bits: 256 } : {});
  // ssh2's generator writes an unreadable ed25519 key about once in 150 tries.
  while (ssh2.utils.parseKey(pair.private) instanceof Error) pair = ssh2.utils.generateKeyPairSync(type, type === 'ecdsa' ? { bits: 256 } : {});
  const [t, b64] = pair.public.trim().split(/\s+/) as [string, string];
  return { line: `${t} ${b64}`, blob: Buffer.from(b64, 'base64'), type: t };
}

describe('known_hosts', () => {
  test('fingerprints match ssh-keygen -l', () => {
    const k = key();
    const file = join(dir, 'fp.pub');
    writeFileSync(file, `${k.line}\n`);
    const out = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' });
    expect(out.split(' ')[1]).toBe(fingerprint(k.blob));
  });

  test('names: host on port 22, [host]:port otherwise', () => {
    expect(knownHostsName('build01', 22)).toBe('build01');
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  test('patterns: lists, wildcards, negation, case', () => {
    expect(entryMatches('a.example,b.example', 'b.example')).toBe(true);
    expect(entryMatches('*.example', 'Build.EXAMPLE')).toBe(true);
    expect(entryMatches('build0?', 'build01')).toBe(true);
    expect(entryMatches('build0?', 'build011')).toBe(false);
    expect(entryMatches('*.example,!secret.example', 'secret.example')).toBe(false);
    expect(entryMatches('[10.0.0.*]:2222', '[10.0.0.7]:2222')).toBe(true);
    expect(entryMatches('[10.0.0.*]:2222', '[10.0.0.7]:22')).toBe(false);
  });

  test('hashed entries written by ssh-keygen -H are matched', () => {
    const k = key();
    const file = join(dir, 'hashed');
    writeFileSync(file, `[127.0.0.1]:2222 ${k.line}\nbuild01 ${k.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('build01');
    const entries = readKnownHosts([file]);
    expect(checkHostKey(entries, '[127.0.0.1]:2222', k.blob).status).toBe('match');
    expect(checkHostKey(entries, 'build01', k.blob).status).toBe('match');
    expect(checkHostKey(entries, 'build02', k.blob).status).toBe('unknown');
  });

  test('verdicts: match, changed (same type), unknown with other types, revoked; cert-authority lines skipped', () => {
    const good = key();
    const bad = key();
    const ec = key('ecdsa');
    const file = join(dir, 'verdicts');
    writeFileSync(
      file,
      [
        '# comment',
        '',
        `host1 ${good.line}`,
        `host2 ${ec.line} trailing comment`,
        `@cert-authority *.example ${bad.line}`,
        `@revoked * ${bad.line}`,
        `@unknown-marker host1 ${bad.line}`,
        'garbage',
      ].join('\n'),
    );
    const entries = readKnownHosts([file, join(dir, 'missing')]);
    expect(entries.map((e) => e.line)).toEqual([3, 4, 5, 6]);
    expect(checkHostKey(entries, 'host1', good.blob).status).toBe('match');
    const changed = checkHostKey(entries, 'host1', key().blob);
    expect(changed.status).toBe('changed');
    const unknown = checkHostKey(entries, 'host2', good.blob);
    expect(unknown).toMatchObject({ status: 'unknown', other: [expect.objectContaining({ keyType: 'ecdsa-sha2-nistp256' })] });
    expect(checkHostKey(entries, 'anything.example', bad.blob).status).toBe('revoked');
    expect(knownKeyTypes(entries, 'host2')).toEqual(['ecdsa-sha2-nistp256']);
  });

  test('recording: plain and hashed lines that ssh-keygen -F finds', () => {
    const k = key();
    const file = join(dir, 'sub', 'recorded');
    recordHostKey(file, '[127.0.0.1]:2222', k.blob, false);
    recordHostKey(file, 'build01', k.blob, true);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(`[127.0.0.1]:2222 ${k.line}`);
    expect(lines[1]).toMatch(/^\|1\|/);
    expect(execFileSync('ssh-keygen', ['-F', 'build01', '-f', file], { encoding: 'utf8' })).toContain(k.line.split(' ')[1]);
    expect(execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', file], { encoding: 'utf8' })).toContain(k.line.split(' ')[1]);
  });
});
