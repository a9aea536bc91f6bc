/**
 * One authenticated SSH connection (an ssh2 Client) and what gateways do with it: exec channels,
 * short commands, TCP forwards for the next jump hop, a keepalive and ref counting.
 *
 * Opening fails with a typed error (`HostKeyError`, `AuthenticationError`, `ConnectError`; see
 * ssh-errors.ts) and leaves nothing open. Once open, a connection that goes down by itself (reset,
 * keepalive timeout, remote close) is "lost": `lostReason` says why, `onLost` listeners run once,
 * `exec` rejects with a `ConnectError`. `close()` is idempotent; it ends the client (destroying it
 * after 2 s if the peer does not answer) and releases the jump hop it was tunnelled through.
 *
 * Sharing is not this file's business: a connection is told its `ConnectionSlot` (the pool's side,
 * see connection-pool.ts) and its jump `Hop`, and sees nothing else of either.
 */
import type { Duplex } from 'node:stream';
import { ConnectError, connectTcpVia, type Gateway } from '@tsnet/core/transport';
import ssh2 from 'ssh2';
import { type AuthOptions, planAuth } from './auth.js';
import type { HostConfig } from './host-config.js';
import { type HostKeyPolicy, hostKeyVerifier } from './host-key-verifier.js';
import { abortedDuring, describeHop, handshakeError, jumpHostError, proxyCommandError, type Ssh2Error, type SshPhase } from './ssh-errors.js';

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
  /** Stops the opening (TCP connect, SSH handshake, authentication) when it aborts. */
  signal?: AbortSignal | undefined;
}

export const DEFAULT_KEEPALIVE_S = 5;

export interface LostInfo {
  reason: string;
  error?: Error;
}

/** What a connection tells whoever shares it out (the pool). */
export interface ConnectionSlot {
  /** One user is done with the connection; true when none is left (the connection then closes). */
  release(): boolean;
  /** The connection is lost or closing: stop handing it out. May be called more than once. */
  retire(): void;
}

/** The jump host a connection is tunnelled through: held while this one is held, released when it closes. */
export type Hop = Pick<SshConnection, 'holdRef' | 'dropRef' | 'release'>;

function describeKeepalive(interval: number, count: number): string {
  return `${interval * count} s (keepalive every ${interval} s, ${count} unanswered)`;
}

export class SshConnection {
  readonly label: string;
  readonly client: ssh2.Client;
  readonly cfg: HostConfig;
  /** Set when sshd refused another session on this connection (MaxSessions). */
  full = false;
  #lostReason: LostInfo | null = null;
  #channels = 0;
  #lostListeners = new Set<() => void>();
  #ending = false;
  #refs = 0;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  readonly #slot: ConnectionSlot | null;
  #via: Hop | null;
  #starts = 0;

  private constructor(client: ssh2.Client, cfg: HostConfig, via: Hop | null, slot: ConnectionSlot | null) {
    this.client = client;
    this.cfg = cfg;
    this.label = `${cfg.user}@${cfg.hostname}${cfg.port === 22 ? '' : `:${cfg.port}`}`;
    this.#via = via;
    this.#slot = slot;
  }

  /**
   * Marks a gateway start on this connection until the returned function is called. A start writes
   * small packets back to back (a spawned start's two request lines, the bootstrap's tail, the
   * HELLO), which Nagle would hold behind the peer's delayed ACK (40 ms on Linux), so TCP_NODELAY
   * is on while any start is in progress (until its runtime answers) and 50 ms after. Otherwise it
   * is off: a stream of awaited small sends is one write per item, and Nagle can coalesce those
   * segments (on loopback 0.16-0.17M msg/s against 83-95k with TCP_NODELAY, about half the local CPU
   * per item, the same round trip; a stream begun right after a start gains less, 88-106k).
   */
  startBegins(): () => void {
    if (this.#starts++ === 0) this.client.setNoDelay(true);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      setTimeout(() => {
        if (--this.#starts === 0 && !this.#ending) this.client.setNoDelay(false);
      }, 50).unref();
    };
  }

  /**
   * Opens and authenticates one connection to `cfg`, directly, through the jump connection `via`,
   * or from `settings.viaGateway`'s host. `slot` is told when the connection retires and asked
   * whether a release was the last.
   */
  static async open(cfg: HostConfig, via: SshConnection | null, settings: ConnectionSettings, slot: ConnectionSlot | null = null): Promise<SshConnection> {
    const where = describeHop(cfg, via ? ` via ${via.label}` : settings.viaGateway ? ` via gateway ${settings.viaGateway.id}` : '');
    if (cfg.proxyCommand) throw proxyCommandError(cfg, where);
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
        throw jumpHostError(error, where, via.label, cfg);
      }
    }

    const client = new ssh2.Client();
    const conn = new SshConnection(client, cfg, via, slot);
    const hostKey = hostKeyVerifier(cfg, { policy: settings.hostKeyPolicy, where, debug: settings.debug });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      // Which phase an error or the timeout hit, for its message.
      let phase: SshPhase = 'TCP connect';
      const signal = settings.signal;
      const onAbort = () => fail(abortedDuring(signal!, where, phase));
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        client.destroy();
        reject(error);
      };
      if (signal?.aborted) {
        fail(abortedDuring(signal, where, phase));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      client.once('connect', () => {
        phase = 'SSH handshake';
      });
      client.once('handshake', () => {
        phase = 'authentication';
      });
      client.once('ready', () => {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      client.on('error', (error: Ssh2Error) => {
        if (settled) {
          conn.#lost({ reason: `the SSH connection to ${conn.label} was lost: ${error.message}`, error });
          return;
        }
        fail(hostKey.refusal ?? handshakeError(error, { cfg, where, readyTimeout, auth, phase }));
      });
      client.on('close', () => {
        if (!settled) {
          fail(hostKey.refusal ?? new ConnectError(`ssh ${where}: the connection closed during the ${phase}`));
          return;
        }
        conn.#lost({ reason: `the SSH connection to ${conn.label} was closed by the remote side` });
      });
      const algorithms: ssh2.Algorithms = { serverHostKey: hostKey.algorithms as ssh2.ServerHostKeyAlgorithm[] };
      if (compression) algorithms.compress = ['zlib@openssh.com', 'zlib', 'none'];
      try {
        client.connect({
          host: cfg.hostname,
          port: cfg.port,
          ...(sock ? { sock } : {}),
          username: cfg.user,
          hostVerifier: hostKey.verify,
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
    conn.#startKeepalive(interval, count, describeKeepalive(interval, Math.max(2, count)));
    settings.debug?.(`connected to ${conn.label}${hostKey.recorded ? ' (host key recorded)' : ''}`);
    return conn;
  }

  get channels(): number {
    return this.#channels;
  }

  /** Why the connection went down by itself, or null while it is up (or was closed by us). */
  get lostReason(): LostInfo | null {
    return this.#lostReason;
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
    if (on) this.#via?.holdRef();
    else this.#via?.dropRef();
  }

  /**
   * Our own keepalive rather than ssh2's, whose timer cannot be unref'd: every `interval` s a
   * keepalive@openssh.com request (what ssh's ServerAliveInterval sends); no answer for
   * `count` intervals and the connection is declared lost and torn down.
   */
  #startKeepalive(interval: number, count: number, describe: string): void {
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
        this.#lost({ reason: `the SSH connection to ${this.label} was lost: no answer to keepalive within ${describe}` });
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

  /** The connection went down by itself. */
  #lost(info: LostInfo): void {
    this.#stopKeepalive();
    if (this.#lostReason || this.#ending) return;
    this.#lostReason = info;
    this.#slot?.retire();
    for (const l of [...this.#lostListeners]) l();
  }

  onLost(listener: () => void): void {
    if (this.#lostReason) queueMicrotask(listener);
    else this.#lostListeners.add(listener);
  }

  get isAlive(): boolean {
    return !this.#lostReason && !this.#ending;
  }

  /** Opens an exec channel (no pty). */
  exec(command: string): Promise<ssh2.ClientChannel> {
    return this.#open((done) => this.client.exec(command, done));
  }

  /**
   * Opens a `direct-streamlocal@openssh.com` channel to a Unix socket on the host (OpenSSH sshd);
   * `counted: false` for a gateway's second channel (its stderr): `channels` counts gateways.
   */
  streamLocal(socketPath: string, counted = true): Promise<ssh2.ClientChannel> {
    return this.#open((done) => this.client.openssh_forwardOutStreamLocal(socketPath, done), counted);
  }

  #open(open: (done: (error: Error | undefined, channel: ssh2.ClientChannel) => void) => void, counted = true): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      if (!this.isAlive) {
        reject(new ConnectError(`the SSH connection to ${this.label} is down: ${this.#lostReason?.reason ?? 'closed'}`));
        return;
      }
      try {
        open((error, channel) => {
          if (error) {
            reject(error);
            return;
          }
          if (counted) {
            this.#channels++;
            channel.once('close', () => {
              this.#channels--;
              this.full = false;
            });
          }
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
        reject(new ConnectError(`${this.label}: "${command}" did not finish within ${timeout} ms`));
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
    if (this.#slot?.release()) this.close();
  }

  close(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#stopKeepalive();
    this.#slot?.retire();
    this.client.end();
    // A connection that does not say goodbye (dead peer) is not waited for.
    setTimeout(() => this.client.destroy(), 2000).unref();
    const via = this.#via;
    this.#via = null;
    via?.release();
  }
}
