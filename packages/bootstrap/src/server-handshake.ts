/**
 * The server half of the socket handshake (socket-protocol.ts has the wire format; transport-socket's
 * client-handshake.ts is the other half): telling a tsnet client from a WebSocket upgrade by its
 * first bytes, the upgrade itself, and the hello / greeting / proof exchange.
 *
 * The decisions are I/O-free (`sniffProtocol`, `ServerHandshake`): they take bytes or lines and
 * say what to answer, so they are tested without sockets. The rest drives them on a stream.
 * Every refusal is a `HandshakeFailure` whose message is the server's log line; `answered` says
 * whether the client was sent a DENIED/BUSY line or an HTTP response first (then the server closes
 * gently, so the answer is read rather than lost to a reset). A stream that closes mid-handshake
 * rejects with a `LineError` ('closed'). Nothing here keeps timers: the server's handshake timeout
 * destroys the stream, which rejects whatever waits on it.
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import { LineError, LineReader } from './line-reader.js';
import {
  type AuthMode,
  CLIENT_MAGIC,
  clientProof,
  isNonce,
  MAX_LINE,
  makeNonce,
  parseMagicLine,
  proofMatches,
  SOCKET_PROTOCOL,
  serverGreeting,
  serverProof,
} from './socket-protocol.js';

export class HandshakeFailure extends Error {
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

/** Enough of a WebSocket handshake or of our hello to tell them apart. */
export const SNIFF_BYTES = 4;
/** The largest WebSocket message accepted; clients send the bundle and frames in smaller pieces. */
const WS_MAX_PAYLOAD = 1 << 20;

/**
 * What the first bytes of a connection (at least SNIFF_BYTES, or up to a newline) are: an HTTP
 * request to upgrade, or the start of a tsnet hello. Throws a HandshakeFailure for anything else.
 */
export function sniffProtocol(first: Buffer, tls: boolean): 'websocket' | 'tsnet' {
  if (first.subarray(0, 4).toString('latin1') === 'GET ') return 'websocket';
  if (first[0] === 0x16 && !tls) {
    throw new HandshakeFailure('TLS handshake on a server without TLS (drop //tls, or start the server with --tls-cert/--tls-key)');
  }
  if (!CLIENT_MAGIC.startsWith(first.subarray(0, CLIENT_MAGIC.length).toString('latin1'))) {
    throw new HandshakeFailure(`not a tsnet client (first bytes ${hexPreview(first)})`);
  }
  return 'tsnet';
}

/** What to send the client, and the failure to raise once it is sent (null: go on). */
export interface HandshakeStep {
  reply: string;
  failure: HandshakeFailure | null;
  /** An AUTH line's `EXIT <session>`: the client asks how an ended session's process ended (no session starts). */
  exitOf?: string;
}

/**
 * The server's side of the line exchange, I/O-free: feed it the client's hello line, then its AUTH
 * line; each answer says what to send. A line that is not what the protocol expects throws a
 * HandshakeFailure (nothing to send). After a successful `auth`, the reply is the OK line: the
 * caller sends it once it has a session slot for the client (or sends BUSY instead).
 */
export class ServerHandshake {
  readonly #token: Buffer | null;
  readonly #protocol: number;
  readonly #serverNonce = makeNonce();
  #clientNonce: string | null = null;

  constructor(options: { token: Buffer | null; protocol: number }) {
    this.#token = options.token;
    this.#protocol = options.protocol;
  }

  get authMode(): AuthMode {
    return this.#token ? 'hmac-sha256' : 'none';
  }

  /** This connection's session id (the server nonce of its greeting): a later EXIT question names it. */
  get session(): string {
    return this.#serverNonce;
  }

  hello(line: string): HandshakeStep {
    const hello = parseMagicLine(line, CLIENT_MAGIC);
    if (!hello) throw new HandshakeFailure('not a tsnet client (bad hello line)');
    // The greeting goes out even to a client of another version, so it can name both versions.
    const reply = serverGreeting({ protocol: this.#protocol, auth: this.authMode, nonce: this.#serverNonce });
    if (hello.version !== SOCKET_PROTOCOL) {
      return { reply, failure: new HandshakeFailure(`the client speaks socket protocol ${hello.version}, this server ${SOCKET_PROTOCOL}`, 'line') };
    }
    if (!isNonce(hello.rest)) return { reply, failure: new HandshakeFailure('bad client nonce') };
    this.#clientNonce = hello.rest;
    return { reply, failure: null };
  }

  auth(line: string): HandshakeStep {
    const clientNonce = this.#clientNonce;
    if (clientNonce === null) throw new Error('ServerHandshake.auth() before a good hello');
    if (!line.startsWith('AUTH ')) throw new HandshakeFailure('no AUTH line');
    const token = this.#token;
    // `AUTH <proof> EXIT <session>`: a question about an ended session (socket-protocol.ts).
    const m = /^(\S*) EXIT ([0-9a-f]{64})$/.exec(line.slice(5));
    const given = m ? m[1]! : line.slice(5);
    const exitOf = m ? { exitOf: m[2]! } : {};
    if (!token) return { reply: 'OK -\n', failure: null, ...exitOf };
    if (!proofMatches(clientProof(token, this.#serverNonce, clientNonce), given)) {
      return {
        reply: "DENIED authentication failed: the token does not match the server's\n",
        failure: new HandshakeFailure(given === '-' ? 'no token given' : 'wrong token', 'line'),
      };
    }
    return { reply: `OK ${serverProof(token, this.#serverNonce, clientNonce)}\n`, failure: null, ...exitOf };
  }
}

/**
 * Runs the line exchange on `stream` up to the client's proof. Resolves with the OK line still to
 * send and the bytes that arrived after the AUTH line; rejects with a HandshakeFailure (after
 * sending the answer it calls for) or a LineError. `waiting` is told what the server waits for.
 */
export async function authenticate(
  stream: Duplex,
  handshake: ServerHandshake,
  waiting: (what: string) => void,
): Promise<{ ok: string; leftover: Buffer; exitOf: string | undefined }> {
  const reader = new LineReader(stream, MAX_LINE);
  const greeting = handshake.hello(await reader.next());
  waiting('authentication (a client without a token?)');
  await write(stream, greeting.reply);
  if (greeting.failure) {
    if (greeting.failure.answered) reader.detach();
    throw greeting.failure;
  }
  const answer = handshake.auth(await reader.next());
  const leftover = reader.detach();
  if (answer.failure) {
    await write(stream, answer.reply);
    throw answer.failure;
  }
  return { ok: answer.reply, leftover, exitOf: answer.exitOf };
}

/** Reads until `min` bytes (or a newline) arrived, then puts them back; the caller reads them again. */
export function sniff(stream: Duplex, min = SNIFF_BYTES): Promise<Buffer> {
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

/**
 * The WebSocket side of the port: an HTTP server that only upgrades. A plain HTTP request gets a
 * 426 with a hint and fails its connection's upgrade with a HandshakeFailure ('http'); a bad
 * request fails it too.
 */
export class WebSocketUpgrader {
  readonly #http = http.createServer();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
  readonly #upgrades = new WeakMap<Duplex, { resolve(ws: WebSocket): void; reject(e: Error): void }>();

  constructor() {
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

  /** Hands the (sniffed) stream to the HTTP parser; resolves with the WebSocket as a byte stream. */
  upgrade(stream: Duplex): Promise<Duplex> {
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
}

export function write(stream: Duplex, text: string): Promise<void> {
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
