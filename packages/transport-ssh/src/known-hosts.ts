/**
 * known_hosts, as OpenSSH reads and writes it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): plain and
 * hashed (`|1|salt|hmac`) host names, comma-separated patterns with `*`, `?` and `!negation`,
 * `[host]:port` for non-standard ports, and the `@revoked` marker. `@cert-authority` lines are
 * skipped: ssh2 does not negotiate host certificates.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  file: string;
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** Host patterns as written (plain entries) or the one hashed name. */
  hosts: string;
  keyType: string;
  /** Key blob, base64 as in the file. */
  key: string;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH's SHA256 fingerprint of a key blob: `SHA256:` + unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a public key blob (its first SSH string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** Reads every entry of the given files (missing or unreadable files hold none). */
export function readKnownHosts(files: readonly string[]): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!.trim();
      if (raw === '' || raw.startsWith('#')) continue;
      const fields = raw.split(/\s+/);
      let marker: KnownHostEntry['marker'] = null;
      if (fields[0]!.startsWith('@')) {
        const m = fields.shift()!;
        if (m === '@revoked') marker = 'revoked';
        else if (m === '@cert-authority') marker = 'cert-authority';
        else continue; // unknown marker: OpenSSH ignores the line too
      }
      const [hosts, keyType, key] = fields;
      if (!hosts || !keyType || !key) continue;
      entries.push({ file, line: i + 1, marker, hosts, keyType, key });
    }
  }
  return entries;
}

/** OpenSSH's pattern match (`*`, `?`), case-insensitive for host names. */
export function matchPattern(pattern: string, name: string): boolean {
  let re = '';
  for (const ch of pattern.toLowerCase()) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+(){}[\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(name.toLowerCase());
}

/** Whether an entry's host field names `name` (plain pattern list or hashed). */
export function entryMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of hosts.split(',')) {
    if (p.startsWith('!')) {
      if (matchPattern(p.slice(1), name)) return false; // a negated match rules the line out
    } else if (matchPattern(p, name)) matched = true;
  }
  return matched;
}

/** Key types that share a known_hosts key: an `ssh-rsa` line covers the rsa-sha2-* algorithms. */
export function baseKeyType(type: string): string {
  return type === 'rsa-sha2-256' || type === 'rsa-sha2-512' ? 'ssh-rsa' : type;
}

export type HostKeyVerdict =
  | { status: 'match'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'changed'; known: KnownHostEntry[] }
  /** No key of this type is recorded; `other` lists keys of other types for the host. */
  | { status: 'unknown'; other: KnownHostEntry[] };

/** Checks a presented key against the entries for `name`, the way ssh's check_host_key does. */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, blob: Buffer): HostKeyVerdict {
  const type = keyTypeOf(blob);
  const b64 = blob.toString('base64');
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e.hosts, name));
  // A revoked key is refused whatever else is recorded.
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key === b64);
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === null);
  const match = plain.find((e) => e.key === b64);
  if (match) return { status: 'match', entry: match };
  const sameType = plain.filter((e) => baseKeyType(e.keyType) === baseKeyType(type));
  if (sameType.length > 0) return { status: 'changed', known: sameType };
  return { status: 'unknown', other: plain };
}

/** Key types recorded for a host, to put first in the host key algorithms we offer (as ssh does). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  const types = new Set<string>();
  for (const e of entries) if (e.marker === null && entryMatches(e.hosts, name)) types.add(e.keyType);
  return [...types];
}

/** Appends a host key the way `StrictHostKeyChecking accept-new` records it (hashed when asked). */
export function recordHostKey(file: string, name: string, blob: Buffer, hash: boolean): void {
  let host = name;
  if (hash) {
    const salt = randomBytes(20);
    host = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) prefix = '\n';
  }
  appendFileSync(file, `${prefix}${host} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
