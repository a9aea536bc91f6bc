/**
 * SSH connections and their sharing. One connection per (user, host, port, jump chain, identity)
 * serves every gateway to that host as separate exec channels, like OpenSSH's ControlMaster; it is
 * closed when its last gateway is gone. Connections to jump hosts are shared the same way. Each
 * hop's host key is checked against its own known_hosts under its own name.
 */
import type { Duplex } from 'node:stream';
import { AuthenticationError, ConnectError, connectTcpVia, type Gateway, HostKeyError } from '@tsnet/core/transport';
import ssh2 from 'ssh2';
import { type AuthOptions, planAuth, tildify } from './auth.js';
import type { HostConfig } from './host-config.js';
import { baseKeyType, checkHostKey, fingerprint, keyTypeOf, knownHostsName, knownKeyTypes, readKnownHosts, recordHostKey } from './known-hosts.js';

export type HostKeyPolicy = 'strict' | 'accept-new';

/** Per-gateway settings that shape a connection (from the spec and from code). */
export interface ConnectionSettings {
  /** Overrides StrictHostKeyChecking for every hop. */
  hostKeyPolicy?: HostKeyPolicy | undefined;
  /** Keepalive interval in seconds (0 = off); default ServerAliveInterval, else 5. */
  keepalive?: number | undefined;
  /** `identity=` from the spec: tried before the config's IdentityFile keys. */
  identity?: string | undefined;
  auth: AuthOptions;
  /** Handshake + login timeout, ms (ConnectTimeout wins when set). */
  readyTimeout: number;
  /** Compression: true/false, or undefined for the config's Compression. */
  compression?: boolean | undefined;
  /** `via=`: the first hop's TCP connection is opened from this gateway's host. */
  viaGateway?: Gateway | undefined;
  debug?: ((line: string) => void) | undefined;
}

export const DEFAULT_KEEPALIVE_S = 5;

/** Host key algorithms ssh2 negotiates, in its order of preference. */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/** Known key types first, as ssh does, so that a host with several keys shows the one we know. */
function hostKeyAlgorithms(known: string[]): string[] {
  const bases = new Set(known.map(baseKeyType));
  const first = HOST_KEY_ALGORITHMS.filter((a) => bases.has(baseKeyType(a)));
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

export function policyFor(cfg: HostConfig, settings: ConnectionSettings): HostKeyPolicy {
  if (settings.hostKeyPolicy) return settings.hostKeyPolicy;
  // OpenSSH's "no" also records new keys; a changed key is refused here in every mode.
  return cfg.strictHostKeyChecking === 'accept-new' || cfg.strictHostKeyChecking === 'no' ? 'accept-new' : 'strict';
}

export interface LostInfo {
  reason: string;
  error?: Error;
}

interface PoolEntry {
  key: string;
  refs: number;
  conn: SshConnection | null;
  ready: Promise<SshConnection>;
  dead: boolean;
}

export class SshConnection {
  readonly label: string;
  readonly client: ssh2.Client;
  readonly cfg: HostConfig;
  /** Set when sshd refused another session on this connection (MaxSessions). */
  full = false;
  lostReason: LostInfo | null = null;
  #channels = 0;
  #lostListeners = new Set<() => void>();
  #ending = false;
  #refs = 0;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  /** @internal */ _entry: PoolEntry | null = null;
  /** @internal */ _via: SshConnection | null = null;
  /** @internal */ _pool: ConnectionPool | null = null;

  constructor(client: ssh2.Client, cfg: HostConfig) {
    this.client = client;
    this.cfg = cfg;
    this.label = `${cfg.user}@${cfg.hostname}${cfg.port === 22 ? '' : `:${cfg.port}`}`;
  }

  get channels(): number {
    return this.#channels;
  }

  /**
   * Keeps the local process alive while a gateway on this connection (or on one reached through it)
   * waits for something; an idle connection lets the process end (the gateways' unref()).
   */
  holdRef(): void {
    if (this.#refs++ === 0) this.#setRef(true);
  }

  dropRef(): void {
    if (--this.#refs === 0) this.#setRef(false);
  }

  #setRef(on: boolean): void {
    const sock = (this.client as unknown as { _sock?: { ref?(): void; unref?(): void } })._sock;
    if (on) sock?.ref?.();
    else sock?.unref?.();
    if (on) this._via?.holdRef();
    else this._via?.dropRef();
  }

  /**
   * Our own keepalive rather than ssh2's, whose timer cannot be unref'd: every `interval` s a
   * keepalive@openssh.com request (what ssh's ServerAliveInterval sends); no answer for
   * `count` intervals and the connection is declared lost and torn down.
   */
  startKeepalive(interval: number, count: number, describe: string): void {
    if (interval <= 0) return;
    const ms = interval * 1000;
    // The last answer came at most ~one interval before a tick; a silent peer is given up on at the
    // tick `count` intervals after its last answer.
    const limit = Math.max(2, count) * ms - ms / 2;
    const internals = this.client as unknown as { _protocol?: { ping?(): void }; _callbacks?: Array<(err: unknown) => void> };
    let last = Date.now();
    const heard = () => {
      last = Date.now();
    };
    const ping =
      typeof internals._protocol?.ping === 'function' && Array.isArray(internals._callbacks)
        ? () => {
            internals._callbacks!.push(heard);
            internals._protocol!.ping!();
          }
        : // Public fallback: a global request the server answers with a failure; any answer will do.
          () => this.client.unforwardIn('tsnet-keepalive.invalid', 0, heard);
    this.#keepalive = setInterval(() => {
      if (!this.isAlive) {
        this.#stopKeepalive();
        return;
      }
      if (Date.now() - last >= limit) {
        this.#stopKeepalive();
        this._lost({ reason: `the SSH connection to ${this.label} was lost: no answer to keepalive within ${describe}` });
        this.client.destroy();
        return;
      }
      try {
        ping();
      } catch {
        // the socket is going down: 'close' reports it
      }
    }, ms);
    this.#keepalive.unref();
  }

  #stopKeepalive(): void {
    if (this.#keepalive !== undefined) clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }

  /** @internal the connection went down by itself. */
  _lost(info: LostInfo): void {
    this.#stopKeepalive();
    if (this.lostReason || this.#ending) return;
    this.lostReason = info;
    if (this._entry) this._entry.dead = true;
    for (const l of [...this.#lostListeners]) l();
  }

  onLost(listener: () => void): void {
    if (this.lostReason) queueMicrotask(listener);
    else this.#lostListeners.add(listener);
  }

  get isAlive(): boolean {
    return !this.lostReason && !this.#ending;
  }

  /** Opens an exec channel (no pty). */
  exec(command: string): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      if (!this.isAlive) {
        reject(new ConnectError(`the SSH connection to ${this.label} is down: ${this.lostReason?.reason ?? 'closed'}`));
        return;
      }
      try {
        this.client.exec(command, (error, channel) => {
          if (error) {
            reject(error);
            return;
          }
          this.#channels++;
          channel.once('close', () => {
            this.#channels--;
            this.full = false;
          });
          resolve(channel);
        });
      } catch (error) {
        reject(error);
      }
    });
  }

  /** Runs a short command on its own channel; resolves with its exit code (rejects after `timeout`). */
  async run(command: string, timeout = 5000): Promise<number | null> {
    const channel = await this.exec(command);
    return new Promise((resolve, reject) => {
      let code: number | null = null;
      const timer = setTimeout(() => {
        channel.close();
        reject(new Error(`${this.label}: "${command}" did not finish within ${timeout} ms`));
      }, timeout);
      channel.on('exit', (c: number | null) => {
        code = c;
      });
      channel.on('close', () => {
        clearTimeout(timer);
        resolve(code);
      });
      channel.resume();
      channel.stderr.resume();
      channel.end();
    });
  }

  /** A TCP stream to host:port from this host (the next ProxyJump hop). */
  forwardOut(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (error, stream) => {
        if (error) reject(error);
        else resolve(stream);
      });
    });
  }

  /** Drops one user; the last one closes the connection (and releases its jump host). */
  release(): void {
    const entry = this._entry;
    if (!entry) return;
    entry.refs--;
    if (entry.refs > 0) return;
    this.close();
  }

  close(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#stopKeepalive();
    if (this._entry) {
      this._entry.dead = true;
      this._pool?._remove(this._entry);
    }
    this.client.end();
    // A connection that does not say goodbye (dead peer) is not waited for.
    setTimeout(() => this.client.destroy(), 2000).unref();
    const via = this._via;
    this._via = null;
    via?.release();
  }
}

/** A jump host hop target parsed from `[user@]host[:port]`. */
export interface Target {
  user: string | undefined;
  host: string;
  port: number | undefined;
}

/** Connections of one provider, shared by key. */
export class ConnectionPool {
  readonly #entries = new Map<string, PoolEntry[]>();

  /** @internal */
  _remove(entry: PoolEntry): void {
    const list = this.#entries.get(entry.key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.#entries.delete(entry.key);
  }

  /** Number of live or pending connections (tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (const list of this.#entries.values()) n += list.filter((e) => !e.dead).length;
    return n;
  }

  /** All live connections. */
  connections(): SshConnection[] {
    const out: SshConnection[] = [];
    for (const list of this.#entries.values()) for (const e of list) if (e.conn && !e.dead) out.push(e.conn);
    return out;
  }

  /**
   * A connection for the last host of `chain` (the hops before it are its ProxyJump path), shared
   * when one exists; the caller owns one reference and must release() it.
   */
  async acquire(chain: HostConfig[], settings: ConnectionSettings, options?: { fresh?: boolean }): Promise<SshConnection> {
    const cfg = chain[chain.length - 1]!;
    const key = chainKey(chain, settings);
    const list = this.#entries.get(key) ?? [];
    if (!options?.fresh) {
      for (const entry of list) {
        if (entry.dead || entry.conn?.full) continue;
        entry.refs++;
        try {
          const conn = await entry.ready;
          if (conn.isAlive) return conn;
        } catch {
          // that attempt failed for its owner too; try afresh below
        }
        entry.refs--;
      }
    }
    const entry: PoolEntry = { key, refs: 1, conn: null, ready: undefined as unknown as Promise<SshConnection>, dead: false };
    entry.ready = (async () => {
      let via: SshConnection | null = null;
      if (chain.length > 1) via = await this.acquire(chain.slice(0, -1), { ...settings, identity: undefined });
      try {
        const conn = await openConnection(cfg, via, settings);
        conn._entry = entry;
        conn._via = via;
        conn._pool = this;
        entry.conn = conn;
        if (entry.dead) conn.close();
        return conn;
      } catch (error) {
        via?.release();
        throw error;
      }
    })();
    list.push(entry);
    this.#entries.set(key, list);
    try {
      return await entry.ready;
    } catch (error) {
      entry.dead = true;
      this._remove(entry);
      throw error;
    }
  }
}

/** What makes two gateways share a connection: the same hops, and the same connection-level settings. */
function chainKey(chain: HostConfig[], settings: ConnectionSettings): string {
  const hops = chain.map((c) => `${c.user}@${c.hostname}:${c.port}`).join(' -> ');
  const extra = [
    settings.identity !== undefined ? `identity ${settings.identity}` : '',
    settings.compression !== undefined ? `compress ${settings.compression}` : '',
    settings.keepalive !== undefined ? `keepalive ${settings.keepalive}` : '',
    settings.viaGateway ? `via gateway ${settings.viaGateway.id}` : '',
  ].filter(Boolean);
  return extra.length ? `${hops} [${extra.join(', ')}]` : hops;
}

function describeKeepalive(interval: number, count: number): string {
  return `${interval * count} s (keepalive every ${interval} s, ${count} unanswered)`;
}

/** Opens and authenticates one connection, directly or through `via`. */
export async function openConnection(cfg: HostConfig, via: SshConnection | null, settings: ConnectionSettings): Promise<SshConnection> {
  const through = via ? ` via ${via.label}` : settings.viaGateway ? ` via gateway ${settings.viaGateway.id}` : '';
  const where = `${cfg.user}@${cfg.hostname}${cfg.port === 22 ? '' : ` port ${cfg.port}`}${cfg.host !== cfg.hostname ? ` (host "${cfg.host}")` : ''}${through}`;
  if (cfg.proxyCommand) {
    throw new ConnectError(
      `ssh ${where}: ProxyCommand is set in the ssh config ("${cfg.proxyCommand}"), which @tsnet/transport-ssh does not run; use ProxyJump instead`,
    );
  }
  const name = cfg.hostKeyAlias ?? knownHostsName(cfg.hostname, cfg.port);
  const files = [...cfg.userKnownHostsFiles, ...cfg.globalKnownHostsFiles];
  const policy = policyFor(cfg, settings);
  let refusal: HostKeyError | null = null;
  let recorded = false;
  const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
    // Read at handshake time: another gateway may just have recorded this host.
    const entries = readKnownHosts(files);
    const verdict = checkHostKey(entries, name, key);
    const type = keyTypeOf(key);
    const fp = fingerprint(key);
    const fpOf = (e: { key: string; keyType: string; file: string; line: number }) =>
      `${e.keyType} ${fingerprint(Buffer.from(e.key, 'base64'))} (${tildify(e.file)}:${e.line})`;
    if (verdict.status === 'match') {
      verify(true);
      return;
    }
    if (verdict.status === 'revoked') {
      refusal = new HostKeyError(
        `ssh ${where}: the host key ${type} ${fp} is marked @revoked in ${tildify(verdict.entry.file)}:${verdict.entry.line}; refusing to connect.`,
        { host: name, port: cfg.port, reason: 'revoked', keyType: type, fingerprint: fp, knownFingerprints: [fpOf(verdict.entry)], knownHostsFiles: files },
      );
      verify(false);
      return;
    }
    if (verdict.status === 'changed') {
      refusal = new HostKeyError(
        `ssh ${where}: HOST KEY CHANGED for ${name}. The server presented ${type} ${fp}, but known_hosts has ` +
          `${verdict.known.map(fpOf).join(', ')}. Someone could be intercepting the connection, or the host was reinstalled. ` +
          `If the change is expected, remove the old key (ssh-keygen -R '${name}'${files[0] ? ` -f ${tildify(files[0])}` : ''}) and connect again.`,
        { host: name, port: cfg.port, reason: 'changed', keyType: type, fingerprint: fp, knownFingerprints: verdict.known.map(fpOf), knownHostsFiles: files },
      );
      verify(false);
      return;
    }
    if (policy === 'accept-new') {
      const file = cfg.userKnownHostsFiles[0];
      if (file) {
        try {
          recordHostKey(file, name, key, cfg.hashKnownHosts);
          recorded = true;
          settings.debug?.(`recorded ${name} ${type} ${fp} in ${file}`);
        } catch (error) {
          settings.debug?.(`could not record the host key in ${file}: ${(error as Error).message}`);
        }
      }
      verify(true);
      return;
    }
    const others = verdict.other.length ? ` known_hosts has other key types for it: ${verdict.other.map(fpOf).join(', ')}.` : '';
    refusal = new HostKeyError(
      `ssh ${where}: the host key of ${name} is unknown (${type} ${fp}) and host key checking is strict.${others} ` +
        `Check the fingerprint, then add the key to ${tildify(cfg.userKnownHostsFiles[0] ?? '~/.ssh/known_hosts')} ` +
        `(ssh-keyscan${cfg.port === 22 ? '' : ` -p ${cfg.port}`} ${cfg.hostname}), or pass hostkey=accept-new to record it on first use.`,
      { host: name, port: cfg.port, reason: 'unknown', keyType: type, fingerprint: fp, knownFingerprints: verdict.other.map(fpOf), knownHostsFiles: files },
    );
    verify(false);
  };

  const auth = planAuth(cfg, settings.identity, settings.auth);
  const interval = settings.keepalive ?? (cfg.serverAliveInterval > 0 ? cfg.serverAliveInterval : DEFAULT_KEEPALIVE_S);
  const count = Math.max(1, cfg.serverAliveCountMax);
  const compression = settings.compression ?? cfg.compression;
  const readyTimeout = cfg.connectTimeout ? cfg.connectTimeout * 1000 : settings.readyTimeout;

  let sock: Duplex | undefined;
  if (!via && settings.viaGateway) {
    // The first hop's TCP connection starts on the master gateway's host; SSH itself runs here.
    sock = await connectTcpVia(settings.viaGateway, cfg.hostname, cfg.port);
  } else if (via) {
    try {
      sock = await via.forwardOut(cfg.hostname, cfg.port);
    } catch (error) {
      throw new ConnectError(
        `ssh ${where}: the jump host ${via.label} could not open a connection to ${cfg.hostname}:${cfg.port}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  const client = new ssh2.Client();
  const conn = new SshConnection(client, cfg);
  const known = knownKeyTypes(readKnownHosts(files), name);
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(error);
    };
    client.once('ready', () => {
      settled = true;
      resolve();
    });
    client.on('error', (error: Error & { level?: string; code?: string }) => {
      if (settled) {
        conn._lost({ reason: `the SSH connection to ${conn.label} was lost: ${error.message}`, error });
        return;
      }
      if (refusal) return fail(refusal);
      if (error.level === 'client-authentication') {
        const server = auth.serverMethods();
        return fail(
          new AuthenticationError(
            `ssh: authentication failed for ${where}. Tried: ${auth.tried.join('; ')}.` +
              `${server ? ` The server accepts: ${server.join(', ')}.` : ''} ` +
              `Check User and IdentityFile in the ssh config, pass identity=PATH, load the key into ssh-agent, or give a key/passphrase in code (createSsh).`,
            { user: cfg.user, host: cfg.hostname, port: cfg.port, methods: [...auth.tried], cause: error },
          ),
        );
      }
      const code = error.code;
      let what: string;
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') what = `cannot resolve the host name "${cfg.hostname}" (${code})`;
      else if (code === 'ECONNREFUSED') what = `connection refused (is sshd running on port ${cfg.port}?)`;
      else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') what = `host unreachable (${code})`;
      else if (error.level === 'client-timeout') what = `no SSH handshake within ${readyTimeout} ms`;
      else what = error.message;
      fail(new ConnectError(`ssh ${where}: ${what}`, { cause: error }));
    });
    client.on('close', () => {
      if (!settled) {
        fail(refusal ?? new ConnectError(`ssh ${where}: the connection closed during the handshake`));
        return;
      }
      conn._lost({ reason: `the SSH connection to ${conn.label} was closed by the remote side` });
    });
    const algorithms: ssh2.Algorithms = { serverHostKey: hostKeyAlgorithms(known) as ssh2.ServerHostKeyAlgorithm[] };
    if (compression) algorithms.compress = ['zlib@openssh.com', 'zlib', 'none'];
    try {
      client.connect({
        host: cfg.hostname,
        port: cfg.port,
        ...(sock ? { sock } : {}),
        username: cfg.user,
        hostVerifier,
        authHandler: auth.handler,
        keepaliveInterval: 0, // ours: startKeepalive()
        readyTimeout,
        algorithms,
        ...(settings.debug ? { debug: settings.debug } : {}),
      } as ssh2.ConnectConfig);
    } catch (error) {
      fail(new ConnectError(`ssh ${where}: ${(error as Error).message}`, { cause: error }));
    }
  });
  conn.startKeepalive(interval, count, describeKeepalive(interval, Math.max(2, count)));
  settings.debug?.(`connected to ${conn.label}${recorded ? ' (host key recorded)' : ''}`);
  return conn;
}
