/**
 * The login attempts for one host, in OpenSSH's spirit: a key given in code, `identity=` from the
 * spec, the ssh-agent (only keys matching IdentityFile when IdentitiesOnly is set), the
 * IdentityFile keys (encrypted ones with a passphrase), then a password given in code. Each
 * attempt is prepared only when reached (no passphrase prompt for a key that is never needed) and
 * recorded, so that a failed login can say exactly what was tried.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import ssh2 from 'ssh2';
import type { HostConfig } from './host-config.js';
import { fingerprint } from './known-hosts.js';

type AuthAttempt = ssh2.AnyAuthMethod;

/** Authentication material given in code (see createSsh()). */
export interface AuthOptions {
  /** A private key (PEM/OpenSSH text or Buffer), tried first. */
  privateKey?: string | Buffer;
  /**
   * Passphrase for encrypted keys: one string for all, or a function asked per key file
   * (`'<code>'` for `privateKey`); return undefined to skip that key.
   */
  passphrase?: string | ((keyFile: string) => string | undefined | Promise<string | undefined>);
  /** Password, tried after the keys when the server accepts passwords. */
  password?: string;
  /** Agent socket to use instead of IdentityAgent / SSH_AUTH_SOCK; false: no agent. */
  agent?: string | false;
}

interface Candidate {
  /** What the error message calls it. */
  label: string;
  method: 'publickey' | 'password';
  prepare(): Promise<AuthAttempt | null>;
}

export interface AuthPlan {
  handler: ssh2.AuthHandlerMiddleware;
  /** What was tried (or skipped, with why), in order. */
  tried: string[];
  /** Methods the server said it accepts, once known. */
  serverMethods(): string[] | null;
}

export function tildify(path: string): string {
  const home = homedir();
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

function keyIsEncryptedError(error: Error): boolean {
  return /no passphrase given/i.test(error.message);
}

async function askPassphrase(auth: AuthOptions, file: string): Promise<string | undefined> {
  const p = auth.passphrase;
  if (typeof p === 'function') return p(file);
  return p;
}

/** Public key blobs (base64) of the identity files, for IdentitiesOnly filtering of agent keys. */
function identityBlobs(files: readonly string[]): Set<string> {
  const blobs = new Set<string>();
  for (const file of files) {
    try {
      const pub = readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/)[1];
      if (pub) {
        blobs.add(pub);
        continue;
      }
    } catch {
      // no .pub next to it: derive from the private key when it is not encrypted
    }
    try {
      const key = ssh2.utils.parseKey(readFileSync(file));
      const k = Array.isArray(key) ? key[0] : key;
      if (k && !(k instanceof Error)) blobs.add(k.getPublicSSH().toString('base64'));
    } catch {
      // unreadable: not an identity
    }
  }
  return blobs;
}

/**
 * Wraps the agent to count its keys (for the error message) and, under IdentitiesOnly, to offer only
 * the keys that match an IdentityFile.
 */
class FilteringAgent extends ssh2.BaseAgent<ssh2.ParsedKey> {
  readonly #inner: ssh2.OpenSSHAgent;
  readonly #only: Set<string> | null;
  offered = -1;
  constructor(inner: ssh2.OpenSSHAgent, only: Set<string> | null) {
    super();
    this.#inner = inner;
    this.#only = only;
  }
  override getIdentities(cb: (err: Error | undefined, publicKeys?: ssh2.ParsedKey[]) => void): void {
    this.#inner.getIdentities((err, keys) => {
      if (err || !keys) return cb(err ?? undefined, undefined);
      const only = this.#only;
      // OpenSSHAgent hands out parsed keys.
      const parsed = keys as ssh2.ParsedKey[];
      const offered = only ? parsed.filter((k) => only.has(k.getPublicSSH().toString('base64'))) : parsed;
      this.offered = offered.length;
      cb(undefined, offered);
    });
  }
  override sign(pubKey: ssh2.ParsedKey, data: Buffer, options: ssh2.SigningRequestOptions | ssh2.SignCallback, cb?: ssh2.SignCallback): void {
    if (typeof options === 'function') this.#inner.sign(pubKey, data, options);
    else this.#inner.sign(pubKey, data, options, cb);
  }
}

export function planAuth(cfg: HostConfig, extraIdentity: string | undefined, auth: AuthOptions): AuthPlan {
  const user = cfg.user;
  const candidates: Candidate[] = [];
  const tried: string[] = [];
  let serverMethods: string[] | null = null;

  const keyCandidate = (label: string, source: string, load: () => Buffer | string): Candidate => ({
    label,
    method: 'publickey',
    async prepare() {
      let data: Buffer | string;
      try {
        data = load();
      } catch (error) {
        tried.push(`${label}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
        return null;
      }
      let parsed = ssh2.utils.parseKey(data);
      let passphrase: string | undefined;
      if (parsed instanceof Error && keyIsEncryptedError(parsed)) {
        passphrase = await askPassphrase(auth, source);
        if (passphrase === undefined) {
          tried.push(`${label}: encrypted, and no passphrase was given (createSsh({ passphrase }))`);
          return null;
        }
        parsed = ssh2.utils.parseKey(data, passphrase);
      }
      if (parsed instanceof Error) {
        tried.push(`${label}: unusable (${parsed.message})`);
        return null;
      }
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!key) return null;
      tried.push(`${label} [${key.type} ${fingerprint(key.getPublicSSH())}]`);
      return { type: 'publickey', username: user, key: data, ...(passphrase !== undefined ? { passphrase } : {}) } as AuthAttempt;
    },
  });

  if (auth.privateKey !== undefined) {
    const k = auth.privateKey;
    candidates.push(keyCandidate('publickey with the key given in code', '<code>', () => k));
  }
  const files: string[] = [];
  if (extraIdentity) files.push(extraIdentity);
  for (const f of cfg.identityFiles) if (!files.includes(f)) files.push(f);

  const agentSocket = auth.agent === false ? undefined : (auth.agent ?? cfg.identityAgent);
  if (agentSocket) {
    const agent = new FilteringAgent(new ssh2.OpenSSHAgent(agentSocket), cfg.identitiesOnly ? identityBlobs(files) : null);
    candidates.push({
      label: `publickey with the ssh-agent at ${agentSocket}`,
      method: 'publickey',
      async prepare() {
        tried.push(`publickey with the ssh-agent at ${agentSocket}${cfg.identitiesOnly ? ' (IdentitiesOnly: only keys matching IdentityFile)' : ''}`);
        return { type: 'agent', username: user, agent } as AuthAttempt;
      },
    });
  }
  for (const file of files) {
    const explicit = file === extraIdentity;
    // Default identities (~/.ssh/id_*) that do not exist are not worth mentioning, as with ssh.
    if (!explicit && !existsSync(file)) continue;
    candidates.push(keyCandidate(`publickey with ${tildify(file)}`, file, () => readFileSync(file)));
  }
  if (auth.password !== undefined) {
    const password = auth.password;
    candidates.push({
      label: 'password',
      method: 'password',
      async prepare() {
        tried.push('password (given in code)');
        return { type: 'password', username: user, password } as AuthAttempt;
      },
    });
  }

  let next = 0;
  const handler: ssh2.AuthHandlerMiddleware = (methodsLeft, _partial, callback) => {
    if (methodsLeft) serverMethods = methodsLeft;
    void (async () => {
      while (next < candidates.length) {
        const c = candidates[next++]!;
        if (methodsLeft && !methodsLeft.includes(c.method)) {
          tried.push(`${c.label}: skipped, the server does not accept ${c.method}`);
          continue;
        }
        const attempt = await c.prepare();
        if (attempt) return callback(attempt);
      }
      callback(false as unknown as AuthAttempt);
    })().catch(() => callback(false as unknown as AuthAttempt));
  };
  if (candidates.length === 0) tried.push('nothing: no agent (SSH_AUTH_SOCK unset), no identity file found, no key or password given in code');
  return { handler, tried, serverMethods: () => serverMethods };
}
