/**
 * The standalone socket server (`node tsnet-bootstrap.js serve`): the bootstrapping point for hosts
 * without SSH. One port serves plain TCP clients and WebSocket upgrades (told apart by their first
 * bytes), optionally inside TLS. Nothing but the handshake lines is read before a client proved it
 * knows the token; each authenticated connection then gets a fresh child process of its own.
 */

import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { withTimeout } from '@tsnet/core/worker';
import { ExitRecords } from './exit-records.js';
import { LineError } from './line-reader.js';
import { PeerWatch } from './peer-watch.js';
import { authenticate, HandshakeFailure, ServerHandshake, sniff, sniffProtocol, WebSocketUpgrader, write } from './server-handshake.js';
import { SELF, Session } from './session.js';
import { type AuthMode, formatAddress } from './socket-protocol.js';
import { SpareChildren } from './spare-children.js';

export interface ServerOptions {
  host: string;
  port: number;
  /** The shared secret; null runs without authentication (--insecure-no-auth, loopback only). */
  token: Buffer | null;
  tls: { cert: Buffer; key: Buffer } | null;
  /** Serve one gateway, then exit. */
  once: boolean;
  /** Hand plain TCP connections to their child (Node servers with /proc only; see handoff.ts); false: relay every byte (--relay). */
  handoff: boolean;
  /** Milliseconds from accept to a finished handshake (TLS, HTTP upgrade and auth included). */
  handshakeTimeout: number;
  /** Authenticated sessions at once. */
  maxConnections: number;
  /** Connections still in their handshake at once. */
  maxPending: number;
  /** On stop, how long children may take to finish before they are killed. */
  stopTimeout: number;
  /** Children started ahead of time, so a gateway does not wait for Node to start (0: on demand). */
  spares: number;
  /** The frame protocol version of this bundle, announced in the greeting. */
  protocol: number;
  log(line: string): void;
}

/** Connections that have not sent a byte yet, held per --max-pending slot (they cost only a socket). */
const SILENT_PER_PENDING = 16;

/** How long a refused client may take to read the answer and close before the server cuts it. */
const ANSWER_LINGER_MS = 1000;

interface Pending {
  id: number;
  peer: string;
  kind: string;
  raw: net.Socket;
  stream: Duplex;
  timedOut: boolean;
  evicted: boolean;
  /** What the server waits for, for the log line of a connection that goes. */
  waitingFor: string;
  /** Steps of the handshake done (TLS, first bytes, hello): who is furthest along is evicted last. */
  stage: number;
}

export class TsnetServer {
  readonly #options: ServerOptions;
  readonly #server: net.Server;
  readonly #upgrader = new WebSocketUpgrader();
  readonly #secureContext: tls.SecureContext | null;
  readonly #pending = new Set<Pending>();
  readonly #sessions = new Set<Session>();
  readonly #childEnv: NodeJS.ProcessEnv;
  readonly #spares: SpareChildren;
  /** Follows handed-off connections; undefined (no /proc, or --relay): every connection is relayed. */
  readonly #watch: PeerWatch | undefined;
  /** How ended sessions ended, for clients that ask (their stream ended without the trailer). */
  readonly #exits = new ExitRecords();
  #count = 0;
  /** Authenticated connections between their OK and their session. */
  #reserved = 0;
  #stopping: Promise<void> | null = null;
  #onceTaken = false;
  #resolveFinished!: () => void;
  /** Resolves when the server stopped (stop(), or --once after its gateway). */
  readonly finished: Promise<void>;

  constructor(options: ServerOptions) {
    this.#options = options;
    this.finished = new Promise((r) => {
      this.#resolveFinished = r;
    });
    this.#secureContext = options.tls ? tls.createSecureContext({ cert: options.tls.cert, key: options.tls.key }) : null;
    this.#childEnv = { ...process.env };
    delete this.#childEnv.TSNET_TOKEN;
    this.#server = net.createServer({ pauseOnConnect: false }, (raw) => this.#accept(raw));
    // accept() failures (EMFILE and friends) must not end the server.
    this.#server.on('error', (error) => options.log(`accept failed: ${error.message}`));
    this.#watch = options.handoff ? PeerWatch.open() : undefined;
    // Spares get an IPC channel, over which a connection is handed to them (Node servers only).
    this.#spares = new SpareChildren({ count: options.spares, env: this.#childEnv, log: options.log, ipc: this.#watch !== undefined });
  }

  /** Binds and resolves with the bound address. */
  listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#options.host, port: this.#options.port }, () => {
        this.#server.removeListener('error', onError);
        this.#spares.fill();
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  get address(): net.AddressInfo {
    return this.#server.address() as net.AddressInfo;
  }

  /** For the start-up log: whether plain TCP connections are handed to their children, and if not why. */
  get dataPath(): string {
    if (!this.#options.handoff) return 'relay (--relay)';
    if (!this.#watch) return 'relay (no /proc/self/net/tcp)';
    if (SELF !== 'node') return 'relay (runtime cannot pass sockets)';
    return 'plain TCP handed to the child; TLS, WebSocket relayed';
  }

  get authMode(): AuthMode {
    return this.#options.token ? 'hmac-sha256' : 'none';
  }

  // ------------------------------------------------------------------ handshake

  #accept(raw: net.Socket): void {
    const id = ++this.#count;
    const peer = formatAddress(raw.remoteAddress, raw.remotePort);
    raw.on('error', () => {}); // the outcome line says what happened
    // Stopping (or --once taken), only a client that may ask how its session ended gets in.
    if ((this.#stopping || this.#onceTaken) && !this.#exits.awaiting) {
      raw.destroy();
      return;
    }
    const kind = this.#secureContext ? 'tls' : 'tcp';
    // A connection that has not sent a byte costs a socket and nothing more: many are held, so that a
    // flood of them (half-open, unauthenticated) cannot push out an honest client before its hello
    // is read; those that have spoken count against --max-pending (see #advance).
    if (this.#count0() >= this.#options.maxPending * SILENT_PER_PENDING) this.#evict(0);
    raw.setNoDelay(true);
    const conn: Pending = { id, peer, kind, raw, stream: raw, timedOut: false, evicted: false, waitingFor: 'the hello', stage: 0 };
    this.#pending.add(conn);
    const timer = setTimeout(() => {
      conn.timedOut = true;
      conn.stream.destroy();
      raw.destroy();
    }, this.#options.handshakeTimeout);
    this.#handshake(conn).then(
      (session) => {
        clearTimeout(timer);
        this.#pending.delete(conn);
        if (session) this.#startSession(session);
      },
      (error: unknown) => {
        clearTimeout(timer);
        this.#pending.delete(conn);
        let why: string;
        if (conn.timedOut) why = `handshake timeout (${this.#options.handshakeTimeout} ms, waiting for ${conn.waitingFor})`;
        else if (conn.evicted) {
          why =
            conn.stage === 0
              ? `dropped for a newer connection: ${this.#options.maxPending * SILENT_PER_PENDING} had not sent a byte (16 × --max-pending)`
              : `dropped for a newer connection: ${this.#options.maxPending} were in their handshake (--max-pending)`;
        } else if (error instanceof HandshakeFailure) why = error.message;
        else if (error instanceof LineError) why = error.reason === 'closed' ? `closed while the server waited for ${conn.waitingFor}` : error.message;
        else why = `handshake failed: ${(error as Error).message ?? String(error)}`;
        this.#options.log(`#${id} ${peer} ${conn.kind}: refused: ${why}`);
        if (error instanceof HandshakeFailure && error.answered && !conn.timedOut && !conn.evicted) {
          // Unread bytes at close would make the kernel send a reset, which can destroy the answer
          // before the client reads it: discard what comes, end our side, cut after a moment.
          if (error.answered === 'line') {
            conn.stream.on('data', () => {});
            conn.stream.resume();
            conn.stream.end();
          }
          setTimeout(() => {
            conn.stream.destroy();
            raw.destroy();
          }, ANSWER_LINGER_MS).unref();
          return;
        }
        conn.stream.destroy();
        raw.destroy();
      },
    );
  }

  /** Handshakes that have not sent a byte yet. */
  #count0(): number {
    let n = 0;
    for (const p of this.#pending) if (p.stage === 0) n++;
    return n;
  }

  /**
   * Drops a pending handshake: the oldest of the least far along among those at `minStage` or
   * beyond (a Set iterates in insertion order). A slow client (slowloris) holds its slot the
   * longest; an honest handshake moves on within a round trip, so it is never the one dropped.
   */
  #evict(minStage: number): void {
    let victim: Pending | undefined;
    for (const p of this.#pending) if (p.stage >= minStage && (victim === undefined || p.stage < victim.stage)) victim = p;
    if (!victim) return;
    this.#pending.delete(victim);
    victim.evicted = true;
    victim.stream.destroy();
    victim.raw.destroy();
  }

  /** `conn` got further in its handshake; past --max-pending clients that spoke, one is dropped. */
  #advance(conn: Pending): void {
    conn.stage++;
    if (conn.stage !== 1) return;
    if (this.#pending.size - this.#count0() > this.#options.maxPending) this.#evict(1);
  }

  /** Runs TLS, the WebSocket upgrade and authentication; resolves with the session to start. */
  async #handshake(conn: Pending): Promise<Session | null> {
    if (this.#secureContext) {
      conn.waitingFor = 'the TLS handshake';
      const secure = new tls.TLSSocket(conn.raw, { isServer: true, secureContext: this.#secureContext });
      secure.on('error', () => {}); // the outcome line says what happened
      conn.stream = secure;
      await new Promise<void>((resolve, reject) => {
        secure.once('secure', resolve);
        secure.once('error', (e: Error) => reject(new HandshakeFailure(`TLS handshake failed: ${e.message} (a client without //tls?)`)));
        secure.once('close', () => reject(new LineError('closed', 'closed')));
      });
      this.#advance(conn);
    }
    let stream = conn.stream;
    conn.waitingFor = 'the hello';
    const first = await sniff(stream);
    this.#advance(conn); // it spoke
    if (sniffProtocol(first, this.#secureContext !== null) === 'websocket') {
      conn.kind = conn.kind === 'tls' ? 'wss' : 'ws';
      conn.waitingFor = 'the WebSocket upgrade';
      stream = await this.#upgrader.upgrade(stream);
      conn.waitingFor = 'the hello';
      conn.stream = stream;
    }
    const handshake = new ServerHandshake({ token: this.#options.token, protocol: this.#options.protocol });
    const { ok, leftover, exitOf } = await authenticate(stream, handshake, (what) => {
      conn.waitingFor = what;
      this.#advance(conn); // its hello was read
    });
    if (exitOf !== undefined) {
      await this.#answerExit(conn, stream, ok, exitOf);
      return null;
    }
    if (this.#sessions.size + this.#reserved >= this.#options.maxConnections || this.#stopping || this.#onceTaken) {
      const why =
        this.#stopping || this.#onceTaken ? 'the server is shutting down' : `the server already serves ${this.#sessions.size} gateways (--max-connections)`;
      await write(stream, `BUSY ${why}\n`);
      throw new HandshakeFailure(`busy: ${why}`, 'line');
    }
    // Reserved from here, so two clients authenticating at once cannot both take the last slot.
    this.#reserved++;
    if (this.#options.once) this.#takeOnce(conn);
    try {
      await write(stream, ok);
    } catch (error) {
      if (this.#options.once) void this.stop(); // the one gateway is gone before it started
      throw error;
    } finally {
      this.#reserved--;
    }
    const session = new Session({
      id: conn.id,
      peer: conn.peer,
      kind: conn.kind,
      stream,
      leftover,
      handoff: this.#watch !== undefined,
      watch: this.#watch,
      env: this.#childEnv,
      log: this.#options.log,
      onEnded: (status, awaited) => this.#exits.add(handshake.session, conn.id, status, awaited),
    });
    this.#sessions.add(session);
    return session;
  }

  /** An authenticated EXIT question: how the session it names ended (exit-records.ts), then a gentle close. */
  async #answerExit(conn: Pending, stream: Duplex, ok: string, session: string): Promise<void> {
    const status = this.#exits.take(session);
    const answer = status
      ? `EXIT ${JSON.stringify({ code: status.code, signal: status.signal })}\n`
      : 'UNKNOWN no record of that session (ended over a minute ago, asked already, or the server restarted)\n';
    const what = status ? `#${status.id} ${status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`}` : 'an unknown session';
    this.#options.log(`#${conn.id} ${conn.peer} ${conn.kind}: asked how ${what}`);
    await write(stream, ok + answer);
    stream.on('data', () => {});
    stream.end();
    setTimeout(() => {
      stream.destroy();
      conn.raw.destroy();
    }, ANSWER_LINGER_MS).unref();
  }

  // ------------------------------------------------------------------ sessions

  #startSession(session: Session): void {
    session.start(this.#spares.take());
    if (this.#stopping) session.stop();
    void session.done.then(() => {
      this.#sessions.delete(session);
      if (this.#options.once) void this.stop();
    });
  }

  /** --once: the first authenticated gateway is the only one; stop listening for more. */
  #takeOnce(self: Pending): void {
    this.#onceTaken = true;
    // The listener stays open until stop() ends: the client may ask how its session ended.
    // The spare is kept for this one gateway (take() runs after this); no more are started.
    this.#spares.close();
    for (const p of this.#pending) {
      if (p === self) continue;
      p.stream.destroy();
      p.raw.destroy();
    }
  }

  /** Kills every child's process group at once (a second SIGTERM). */
  killAll(): void {
    this.#spares.killAll();
    for (const s of this.#sessions) s.kill('the server was stopped hard');
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Stops accepting, drops connections still in their handshake, asks every child to finish
   * (stdin EOF, as after gw.exit()), and kills the process groups still there after stopTimeout.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#spares.close();
      this.#spares.killAll();
      for (const p of this.#pending) {
        p.stream.destroy();
        p.raw.destroy();
      }
      const sessions = [...this.#sessions];
      for (const s of sessions) s.stop();
      const all = Promise.all(sessions.map((s) => s.done));
      const timedOut = await withTimeout(
        all.then(() => false),
        this.#options.stopTimeout,
        () => true,
      );
      if (timedOut) {
        for (const s of this.#sessions) s.kill('the server stopped');
        await withTimeout(all, 2000, undefined, { unref: true });
      }
      // Clients whose session ended without an exit status in the stream may still ask for it.
      await this.#exits.settled();
      this.#server.close();
      this.#resolveFinished();
    })();
    return this.#stopping;
  }
}
