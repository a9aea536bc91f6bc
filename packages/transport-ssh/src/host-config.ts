/**
 * What ~/.ssh/config says about a host. Two resolvers give the same answer:
 * - `ssh -G` (OpenSSH's own evaluation, used when an `ssh` binary is on PATH): every OpenSSH rule
 *   applies (Include, Match, CanonicalizeHostname, defaults) because OpenSSH does the work;
 * - the `ssh-config` package, plus what it lacks: `Include` (with globs), `%` tokens, `~`, the
 *   system-wide /etc/ssh/ssh_config, and OpenSSH's defaults.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, hostname as localHostname, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { SpecError } from '@tsnet/core/transport';
import SSHConfig, { type Line, LineType, type Section } from 'ssh-config';
import { matchPattern } from './known-hosts.js';

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no' | 'ask';

export interface HostConfig {
  /** The host as the caller named it (an alias, perhaps). */
  host: string;
  /** Where to connect (HostName, or the host itself). */
  hostname: string;
  port: number;
  user: string;
  /** IdentityFile entries, expanded (`~`, `%d`, `%h`, …), in order. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** Agent socket (IdentityAgent, else SSH_AUTH_SOCK); undefined when there is none. */
  identityAgent: string | undefined;
  /** ProxyJump hops, outermost first, as written (`[user@]host[:port]`). */
  proxyJump: string[];
  /** Seconds; 0 = off. */
  serverAliveInterval: number;
  serverAliveCountMax: number;
  strictHostKeyChecking: StrictHostKeyChecking;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hostKeyAlias: string | undefined;
  /** Seconds, when set. */
  connectTimeout: number | undefined;
  compression: boolean;
  hashKnownHosts: boolean;
  /** ProxyCommand, when set (not supported: reported as an error by the transport). */
  proxyCommand: string | undefined;
  /** Which resolver answered. */
  resolver: 'ssh -G' | 'ssh-config';
}

export interface ResolveOptions {
  /** Config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config (like `ssh -F`). */
  configFile?: string | undefined;
  /** User from the spec (`user@host`): wins over User in the config, as on ssh's command line. */
  user?: string | undefined;
  /** Port from the spec (`host:port`): wins over Port in the config. */
  port?: number | undefined;
  /** 'auto' (default): `ssh -G` when OpenSSH's client is installed, else the parser. */
  resolver?: 'auto' | 'ssh' | 'parser';
}

const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((f) => `~/.ssh/${f}`);
const DEFAULT_USER_KNOWN_HOSTS = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
const DEFAULT_GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
const SYSTEM_CONFIG = '/etc/ssh/ssh_config';

let sshBinary: Promise<boolean> | undefined;

export async function resolveHostConfig(host: string, options: ResolveOptions = {}): Promise<HostConfig> {
  const mode = options.resolver ?? 'auto';
  if (mode === 'ssh' || (mode === 'auto' && (await hasSshBinary()))) {
    return fromSshG(host, options);
  }
  return fromParser(host, options);
}

function hasSshBinary(): Promise<boolean> {
  sshBinary ??= new Promise((resolve) => {
    execFile('ssh', ['-V'], { timeout: 5000 }, (error) => resolve(!error));
  });
  return sshBinary;
}

// ------------------------------------------------------------------------------------ ssh -G

async function fromSshG(host: string, options: ResolveOptions): Promise<HostConfig> {
  const args = ['-G'];
  if (options.configFile) args.push('-F', options.configFile);
  if (options.user !== undefined) args.push('-l', options.user);
  if (options.port !== undefined) args.push('-p', String(options.port));
  args.push('--', host);
  const out = await new Promise<string>((resolve, reject) => {
    execFile('ssh', args, { timeout: 10_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const detail = String(stderr).trim() || error.message;
        reject(new SpecError(`ssh config for "${host}" cannot be evaluated (ssh -G): ${detail}`, { cause: error }));
      } else resolve(String(stdout));
    });
  });
  const values = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const list = values.get(key) ?? [];
    list.push(m[2]!);
    values.set(key, list);
  }
  const one = (k: string): string | undefined => values.get(k)?.[0];
  const many = (k: string): string[] => values.get(k) ?? [];
  const words = (k: string): string[] =>
    many(k)
      .flatMap((v) => v.split(/\s+/))
      .filter(Boolean);
  return finish(
    host,
    'ssh -G',
    {
      hostname: one('hostname'),
      port: one('port'),
      user: one('user'),
      identityFiles: many('identityfile'),
      identitiesOnly: one('identitiesonly'),
      identityAgent: one('identityagent'),
      proxyJump: one('proxyjump'),
      serverAliveInterval: one('serveraliveinterval'),
      serverAliveCountMax: one('serveralivecountmax'),
      strictHostKeyChecking: one('stricthostkeychecking'),
      userKnownHostsFiles: words('userknownhostsfile'),
      globalKnownHostsFiles: words('globalknownhostsfile'),
      hostKeyAlias: one('hostkeyalias'),
      connectTimeout: one('connecttimeout'),
      compression: one('compression'),
      hashKnownHosts: one('hashknownhosts'),
      proxyCommand: one('proxycommand'),
    },
    options,
  );
}

// ------------------------------------------------------------------------------------ parser

interface RawValues {
  hostname: string | undefined;
  port: string | undefined;
  user: string | undefined;
  identityFiles: string[];
  identitiesOnly: string | undefined;
  identityAgent: string | undefined;
  proxyJump: string | undefined;
  serverAliveInterval: string | undefined;
  serverAliveCountMax: string | undefined;
  strictHostKeyChecking: string | undefined;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hostKeyAlias: string | undefined;
  connectTimeout: string | undefined;
  compression: string | undefined;
  hashKnownHosts: string | undefined;
  proxyCommand: string | undefined;
}

function fromParser(host: string, options: ResolveOptions): HostConfig {
  const config = new SSHConfig();
  const files = options.configFile ? [options.configFile] : [join(homedir(), '.ssh', 'config'), SYSTEM_CONFIG];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(expandHome(file), 'utf8');
    } catch (error) {
      if (options.configFile) {
        throw new SpecError(`ssh config file ${options.configFile} cannot be read: ${(error as Error).message}`, { cause: error });
      }
      continue;
    }
    const system = file === SYSTEM_CONFIG;
    config.push(...withIncludes(SSHConfig.parse(text), system ? '/etc/ssh' : join(homedir(), '.ssh'), host, 0));
  }
  const computed = config.compute(options.user !== undefined ? { Host: host, User: options.user } : { Host: host }, { ignoreCase: true });
  const str = (k: string): string | undefined => {
    const v = computed[k];
    return Array.isArray(v) ? v.join(' ') : v;
  };
  const list = (k: string): string[] => {
    const v = computed[k];
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(/\s+/)).filter(Boolean);
  };
  const identityFiles = computed.identityfile === undefined ? [] : ([] as string[]).concat(computed.identityfile);
  return finish(
    host,
    'ssh-config',
    {
      hostname: str('hostname'),
      port: str('port'),
      user: str('user'),
      identityFiles: identityFiles.length > 0 ? identityFiles : DEFAULT_IDENTITIES,
      identitiesOnly: str('identitiesonly'),
      identityAgent: str('identityagent'),
      proxyJump: str('proxyjump'),
      serverAliveInterval: str('serveraliveinterval'),
      serverAliveCountMax: str('serveralivecountmax'),
      strictHostKeyChecking: str('stricthostkeychecking'),
      userKnownHostsFiles: computed.userknownhostsfile === undefined ? DEFAULT_USER_KNOWN_HOSTS : list('userknownhostsfile'),
      globalKnownHostsFiles: computed.globalknownhostsfile === undefined ? DEFAULT_GLOBAL_KNOWN_HOSTS : list('globalknownhostsfile'),
      hostKeyAlias: str('hostkeyalias'),
      connectTimeout: str('connecttimeout'),
      compression: str('compression'),
      hashKnownHosts: str('hashknownhosts'),
      proxyCommand: str('proxycommand'),
    },
    options,
  );
}

/**
 * Replaces `Include` lines by the lines of the files they name (globs allowed; relative paths are
 * relative to ~/.ssh, or /etc/ssh for the system file), as OpenSSH does. An Include inside a Host
 * block is conditional: it counts only when that block matches `host`; then the included
 * directives join the block and the included Host/Match blocks follow it. (Inside a Match block it
 * is taken as if the block matched.)
 */
function withIncludes(config: SSHConfig, base: string, host: string, depth: number): Line[] {
  if (depth > 16) throw new SpecError('ssh config: Include nested more than 16 deep (a loop?)');
  const out: Line[] = [];
  for (const line of config) {
    if (line.type === LineType.DIRECTIVE && /^include$/i.test(line.param)) {
      out.push(...includedLines(line, base, host, depth));
      continue;
    }
    if (line.type === LineType.DIRECTIVE && 'config' in line) {
      const section = line as Section;
      const active = !/^host$/i.test(section.param) || hostMatches(valueList(section.value), host);
      const inner: Line[] = [];
      const trailing: Line[] = [];
      for (const sub of section.config) {
        if (sub.type === LineType.DIRECTIVE && /^include$/i.test(sub.param)) {
          if (!active) continue;
          for (const l of includedLines(sub, base, host, depth)) {
            if (l.type === LineType.DIRECTIVE && 'config' in l) trailing.push(l);
            else inner.push(l);
          }
        } else inner.push(sub);
      }
      const copy = SSHConfig.parse('');
      copy.push(...inner);
      section.config = copy;
      out.push(section, ...trailing);
      continue;
    }
    out.push(line);
  }
  return out;
}

function valueList(value: unknown): string[] {
  const v = value as string | { val: string }[];
  return Array.isArray(v) ? v.map((x) => x.val) : v.split(/\s+/).filter(Boolean);
}

/** OpenSSH's Host line: some pattern matches and no negated one does. */
function hostMatches(patterns: string[], host: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (matchPattern(p.slice(1), host)) return false;
    } else if (matchPattern(p, host)) matched = true;
  }
  return matched;
}

function includedLines(line: Line & { value: unknown }, base: string, host: string, depth: number): Line[] {
  const patterns = valueList(line.value);
  const out: Line[] = [];
  for (const raw of patterns) {
    if (!raw) continue;
    let pattern = expandHome(raw);
    if (!isAbsolute(pattern)) pattern = join(base, pattern);
    for (const file of globFiles(pattern)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue; // OpenSSH ignores Include files it cannot read
      }
      out.push(...withIncludes(SSHConfig.parse(text), base, host, depth + 1));
    }
  }
  return out;
}

/** Glob with `*` and `?` in the last path component (what Include patterns use in practice), sorted. */
function globFiles(pattern: string): string[] {
  const dir = dirname(pattern);
  const name = basename(pattern);
  if (!/[*?[]/.test(name)) {
    try {
      return statSync(pattern).isFile() ? [pattern] : [];
    } catch {
      return [];
    }
  }
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const re = new RegExp(
    `^${name
      .replace(/[\\^$.|+(){}]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return entries
    .filter((e) => re.test(e) && !e.startsWith('.'))
    .sort()
    .map((e) => join(dir, e))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
}

// ------------------------------------------------------------------------------------ common

function yes(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return /^(yes|true|on)$/i.test(v.trim());
}

function num(v: string | undefined, dflt: number, what: string): number {
  if (v === undefined || v === 'none') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new SpecError(`ssh config: ${what} must be a number of seconds, got ${JSON.stringify(v)}`);
  return n;
}

function strictness(v: string | undefined): StrictHostKeyChecking {
  switch ((v ?? 'ask').trim().toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
    case 'false':
      return 'no';
    default:
      return 'ask';
  }
}

function finish(host: string, resolver: HostConfig['resolver'], raw: RawValues, options: ResolveOptions): HostConfig {
  const local = userInfo().username;
  const hostname = expandTokens(raw.hostname ?? host, { h: host, n: host, u: local }).toLowerCase();
  const port = options.port ?? num(raw.port, 22, 'Port');
  const user = options.user ?? raw.user ?? local;
  const ctx: Tokens = { h: hostname, n: host, p: String(port), r: user, u: local };
  ctx.k = raw.hostKeyAlias ?? host;
  const files = (list: string[]) => list.map((f) => expandTokens(f, ctx));
  let identityAgent: string | undefined = raw.identityAgent;
  if (identityAgent === undefined || identityAgent === 'SSH_AUTH_SOCK') identityAgent = process.env.SSH_AUTH_SOCK || undefined;
  else if (identityAgent === 'none') identityAgent = undefined;
  else if (identityAgent.startsWith('$')) identityAgent = process.env[identityAgent.slice(1)] || undefined;
  else identityAgent = expandTokens(identityAgent, ctx);
  const jump = raw.proxyJump?.trim();
  const proxyCommand = raw.proxyCommand?.trim();
  return {
    host,
    hostname,
    port,
    user,
    identityFiles: files(raw.identityFiles),
    identitiesOnly: yes(raw.identitiesOnly, false),
    identityAgent,
    proxyJump:
      !jump || jump === 'none'
        ? []
        : jump
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    serverAliveInterval: num(raw.serverAliveInterval, 0, 'ServerAliveInterval'),
    serverAliveCountMax: num(raw.serverAliveCountMax, 3, 'ServerAliveCountMax'),
    strictHostKeyChecking: strictness(raw.strictHostKeyChecking),
    userKnownHostsFiles: files(raw.userKnownHostsFiles.length > 0 ? raw.userKnownHostsFiles : DEFAULT_USER_KNOWN_HOSTS),
    globalKnownHostsFiles: files(raw.globalKnownHostsFiles.length > 0 ? raw.globalKnownHostsFiles : DEFAULT_GLOBAL_KNOWN_HOSTS),
    hostKeyAlias: raw.hostKeyAlias,
    connectTimeout: raw.connectTimeout === undefined || raw.connectTimeout === 'none' ? undefined : num(raw.connectTimeout, 0, 'ConnectTimeout'),
    compression: yes(raw.compression, false),
    hashKnownHosts: yes(raw.hashKnownHosts, false),
    proxyCommand: !proxyCommand || proxyCommand === 'none' ? undefined : proxyCommand,
    resolver,
  };
}

interface Tokens {
  h?: string;
  n?: string;
  p?: string;
  r?: string;
  u?: string;
  k?: string;
}

/** OpenSSH's `%` tokens (%% %d %h %i %k %L %l %n %p %r %u) and a leading `~`. */
export function expandTokens(value: string, tokens: Tokens): string {
  const expanded = value.replace(/%(.)/g, (all, t: string) => {
    switch (t) {
      case '%':
        return '%';
      case 'd':
        return homedir();
      case 'i':
        return String(process.getuid?.() ?? '');
      case 'L':
        return localHostname().split('.')[0] ?? '';
      case 'l':
        return localHostname();
      default: {
        const v = tokens[t as keyof Tokens];
        return v ?? all;
      }
    }
  });
  return expandHome(expanded);
}

export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}
