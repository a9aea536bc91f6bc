/**
 * The standalone socket server (`node tsnet-bootstrap.js serve`): the bootstrapping point for hosts
 * without SSH. One port serves plain TCP clients and WebSocket upgrades (told apart by their first
 * bytes), optionally inside TLS. Nothing but the handshake lines is read before a client proved it
 * knows the token; each authenticated connection then gets a fresh child process of its own.
 */

import type { ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { withTimeout } from '@tsnet/core/worker';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import { LineError, LineReader } from './line-reader.js';
import { killGroup, Session, spawnChild } from './session.js';
import {
  type AuthMode,
  CLIENT_MAGIC,
  clientProof,
  formatAddress,
  isNonce,
  MAX_LINE,
  makeNonce,
  parseMagicLine,
  proofMatches,
  SOCKET_PROTOCOL,
  serverGreeting,
  serverProof,
} from './socket-protocol.js';

export interface ServerOptions {
  host: string;
  port: number;
  /** The shared secret; null runs without authentication (--insecure-no-auth, loopback only). */
  token: Buffer | null;
  tls: { cert: Buffer; key: Buffer } | null;
  /** Serve one gateway, then exit. */
  once: boolean;
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

/** Enough of a WebSocket handshake or of our hello to tell them apart. */
const SNIFF_BYTES = 4;
/** The largest WebSocket message accepted; clients send the bundle and frames in smaller pieces. */
const WS_MAX_PAYLOAD = 1 << 20;

class HandshakeFailure extends Error {
  /**
   * The server answered (a DENIED or BUSY line, an HTTP response): close gently so the answer is
   * read, not lost to a reset. 'http': the http server is sending it and closes by itself.
   */
  readonly answered: 'line' | 'http' | null;
  constructor(message: string, answered: 'line' | 'http' | null = null) {
    super(message);
    this.answered = answered;
  }
}

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
}

export class TsnetServer {
  readonly #options: ServerOptions;
  readonly #server: net.Server;
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #secureContext: tls.SecureContext | null;
  readonly #pending = new Set<Pending>();
  readonly #sessions = new Set<Session>();
  readonly #upgrades = new WeakMap<Duplex, { resolve(ws: WebSocket): void; reject(e: Error): void }>();
  readonly #childEnv: NodeJS.ProcessEnv;
  readonly #spares: ChildProcess[] = [];
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
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
    this.#http = http.createServer();
    this.#http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const waiter = this.#upgrades.get(socket);
      if (!waiter) {
        socket.destroy();
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => waiter.resolve(ws));
    });
    this.#http.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.#upgrades.get(req.socket)?.reject(new HandshakeFailure(`HTTP ${req.method ?? '?'} without a WebSocket upgrade`, 'http'));
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('This is a tsnet server: connect with makeGateway("ws=ws://HOST:PORT/") or makeGateway("socket=HOST:PORT").\n');
    });
    this.#http.on('clientError', (error: Error, socket: Duplex) => {
      this.#upgrades.get(socket)?.reject(new HandshakeFailure(`bad HTTP request: ${error.message}`));
      socket.destroy();
    });
  }

  /** Binds and resolves with the bound address. */
  listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#options.host, port: this.#options.port }, () => {
        this.#server.removeListener('error', onError);
        this.#fillSpares();
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  get address(): net.AddressInfo {
    return this.#server.address() as net.AddressInfo;
  }

  get authMode(): AuthMode {
    return this.#options.token ? 'hmac-sha256' : 'none';
  }

  // ------------------------------------------------------------------ handshake

  #accept(raw: net.Socket): void {
    const id = ++this.#count;
    const peer = formatAddress(raw.remoteAddress, raw.remotePort);
    raw.on('error', () => {}); // the outcome line says what happened
    if (this.#stopping || this.#onceTaken) {
      raw.destroy();
      return;
    }
    const kind = this.#secureContext ? 'tls' : 'tcp';
    if (this.#pending.size >= this.#options.maxPending) {
      // Drop the oldest handshake rather than refuse the newest: a slow client (slowloris) holds
      // its slot the longest, while an honest handshake takes a few round trips.
      const oldest = this.#pending.values().next().value as Pending;
      this.#pending.delete(oldest);
      oldest.evicted = true;
      oldest.stream.destroy();
      oldest.raw.destroy();
    }
    raw.setNoDelay(true);
    const conn: Pending = { id, peer, kind, raw, stream: raw, timedOut: false, evicted: false, waitingFor: 'the hello' };
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
        else if (conn.evicted) why = `dropped for a newer connection: ${this.#options.maxPending} were in their handshake (--max-pending)`;
        else if (error instanceof HandshakeFailure) why = error.message;
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
    }
    let stream = conn.stream;
    conn.waitingFor = 'the hello';
    const first = await sniff(stream, SNIFF_BYTES);
    if (first.subarray(0, 4).toString('latin1') === 'GET ') {
      conn.kind = conn.kind === 'tls' ? 'wss' : 'ws';
      conn.waitingFor = 'the WebSocket upgrade';
      stream = await this.#upgrade(stream);
      conn.waitingFor = 'the hello';
      conn.stream = stream;
    } else if (first[0] === 0x16 && !this.#secureContext) {
      throw new HandshakeFailure('TLS handshake on a server without TLS (drop //tls, or start the server with --tls-cert/--tls-key)');
    } else if (!CLIENT_MAGIC.startsWith(first.subarray(0, CLIENT_MAGIC.length).toString('latin1'))) {
      throw new HandshakeFailure(`not a tsnet client (first bytes ${hexPreview(first)})`);
    }
    return this.#authenticate(conn, stream);
  }

  #upgrade(stream: Duplex): Promise<Duplex> {
    return new Promise<WebSocket>((resolve, reject) => {
      const onClose = (): void => reject(new LineError('closed', 'closed'));
      stream.once('close', onClose);
      this.#upgrades.set(stream, {
        resolve: (ws) => {
          stream.removeListener('close', onClose);
          resolve(ws);
        },
        reject,
      });
      this.#http.emit('connection', stream);
      // The http parser reads the socket directly from now on; the sniffed bytes wait in the
      // stream's buffer and are delivered by resuming it.
      stream.resume();
    }).then((ws) => {
      const duplex = createWebSocketStream(ws);
      // The duplex emits 'close' only when destroyed: make "the connection is gone" uniform.
      ws.once('close', () => duplex.destroy());
      duplex.on('error', () => {});
      return duplex;
    });
  }

  async #authenticate(conn: Pending, stream: Duplex): Promise<Session | null> {
    const reader = new LineReader(stream, MAX_LINE);
    const hello = parseMagicLine(await reader.next(), CLIENT_MAGIC);
    if (!hello) throw new HandshakeFailure('not a tsnet client (bad hello line)');
    const serverNonce = makeNonce();
    const token = this.#options.token;
    conn.waitingFor = 'authentication (a client without a token?)';
    // The greeting goes out even to a client of another version, so it can name both versions.
    await write(stream, serverGreeting({ protocol: this.#options.protocol, auth: this.authMode, nonce: serverNonce }));
    if (hello.version !== SOCKET_PROTOCOL) {
      reader.detach();
      throw new HandshakeFailure(`the client speaks socket protocol ${hello.version}, this server ${SOCKET_PROTOCOL}`, 'line');
    }
    const clientNonce = hello.rest;
    if (!isNonce(clientNonce)) throw new HandshakeFailure('bad client nonce');
    const auth = await reader.next();
    if (!auth.startsWith('AUTH ')) throw new HandshakeFailure('no AUTH line');
    let answer: string;
    if (token) {
      if (!proofMatches(clientProof(token, serverNonce, clientNonce), auth.slice(5))) {
        reader.detach();
        await write(stream, "DENIED authentication failed: the token does not match the server's\n");
        throw new HandshakeFailure(auth.slice(5) === '-' ? 'no token given' : 'wrong token', 'line');
      }
      answer = serverProof(token, serverNonce, clientNonce);
    } else {
      answer = '-';
    }
    if (this.#sessions.size + this.#reserved >= this.#options.maxConnections || this.#stopping || this.#onceTaken) {
      const why =
        this.#stopping || this.#onceTaken ? 'the server is shutting down' : `the server already serves ${this.#sessions.size} gateways (--max-connections)`;
      reader.detach();
      await write(stream, `BUSY ${why}\n`);
      throw new HandshakeFailure(`busy: ${why}`, 'line');
    }
    // Reserved from here, so two clients authenticating at once cannot both take the last slot.
    this.#reserved++;
    if (this.#options.once) this.#takeOnce(conn);
    const leftover = reader.detach();
    try {
      await write(stream, `OK ${answer}\n`);
    } catch (error) {
      if (this.#options.once) void this.stop(); // the one gateway is gone before it started
      throw error;
    } finally {
      this.#reserved--;
    }
    const session = new Session({ id: conn.id, peer: conn.peer, kind: conn.kind, stream, leftover, env: this.#childEnv, log: this.#options.log });
    this.#sessions.add(session);
    return session;
  }

  // ------------------------------------------------------------------ sessions

  #startSession(session: Session): void {
    session.start(this.#takeSpare());
    if (this.#stopping) session.stop();
    void session.done.then(() => {
      this.#sessions.delete(session);
      if (this.#options.once) void this.stop();
    });
  }

  /** A waiting spare child, if one is alive; a new spare is started in its place. */
  #takeSpare(): ChildProcess | undefined {
    let spare: ChildProcess | undefined;
    while ((spare = this.#spares.shift())) {
      if (spare.exitCode === null && spare.signalCode === null) break;
    }
    setImmediate(() => this.#fillSpares());
    return spare;
  }

  /** Keeps `spares` children waiting. A spare that dies is not replaced until the next gateway
   * takes one, so a Node that cannot start does not turn into a spawn loop. */
  #fillSpares(): void {
    while (!this.#stopping && !this.#onceTaken && this.#spares.length < this.#options.spares) {
      let child: ChildProcess;
      try {
        child = spawnChild(this.#childEnv);
      } catch (error) {
        this.#options.log(`cannot start a spare child: ${(error as Error).message}`);
        return;
      }
      child.on('error', () => {});
      child.once('exit', () => {
        const i = this.#spares.indexOf(child);
        if (i !== -1) this.#spares.splice(i, 1);
      });
      this.#spares.push(child);
    }
  }

  /** --once: the first authenticated gateway is the only one; stop listening for more. */
  #takeOnce(self: Pending): void {
    this.#onceTaken = true;
    this.#server.close();
    // The spare is kept for this one gateway (#takeSpare runs after this); no more are started.
    for (const p of this.#pending) {
      if (p === self) continue;
      p.stream.destroy();
      p.raw.destroy();
    }
  }

  /** Kills every child's process group at once (a second SIGTERM). */
  killAll(): void {
    for (const spare of this.#spares.splice(0)) killGroup(spare);
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
      this.#server.close();
      for (const spare of this.#spares.splice(0)) killGroup(spare);
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
      this.#resolveFinished();
    })();
    return this.#stopping;
  }
}

/** Reads until `min` bytes (or a newline) arrived, then puts them back; the caller reads them again. */
function sniff(stream: Duplex, min: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const cleanup = (): void => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('close', onEnd);
      stream.removeListener('error', onEnd);
    };
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < min && buffer.indexOf(10) === -1) return;
      cleanup();
      stream.pause();
      stream.unshift(buffer);
      resolve(buffer);
    };
    const onEnd = (): void => {
      cleanup();
      reject(new LineError('closed', 'closed'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onEnd);
  });
}

function write(stream: Duplex, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, 'latin1', (error) => (error ? reject(error) : resolve()));
  });
}

function hexPreview(b: Buffer): string {
  return (
    b
      .subarray(0, 8)
      .toString('hex')
      .replace(/(..)(?!$)/g, '$1 ') + (b.length > 8 ? ' …' : '')
  );
}
