import type { Duplex } from 'node:stream';
import { LineError, LineReader, socketProtocol as sp } from '@tsnet/bootstrap';
import { AuthenticationError, ConnectError, PROTOCOL_VERSION, ProtocolError } from '@tsnet/core/transport';
import type { SocketTarget } from './socket-spec.js';

/** What the handshake left: the bytes after its last line, this session's id, and the answer to an EXIT question. */
export interface Handshaken {
  leftover: Buffer;
  /** The server nonce of the greeting: names this session in a later EXIT question. */
  session: string;
  /** With `exitOf`: the server's line after OK (`EXIT {…}` or `UNKNOWN …`). */
  answer?: string;
}

/**
 * The client half of the server handshake (see socket-protocol.ts in @tsnet/bootstrap): hello,
 * greeting, proof, and the server's proof checked before anything else is sent. `exitOf` turns
 * it into an EXIT question about that ended session: then the line after OK is the answer.
 */
export async function clientHandshake(stream: Duplex, target: SocketTarget, token: Buffer | undefined, exitOf?: string): Promise<Handshaken> {
  const reader = new LineReader(stream, sp.MAX_LINE);
  const clientNonce = sp.makeNonce();
  stream.write(sp.clientHello(clientNonce));
  const line = await readLine(reader, target, 'greeting');
  const magic = sp.parseMagicLine(line, sp.SERVER_MAGIC);
  if (!magic) {
    throw new ConnectError(`${target.label} is not a tsnet server: it answered ${JSON.stringify(line.slice(0, 80))}`);
  }
  let greeting: sp.ServerGreeting | undefined;
  try {
    greeting = JSON.parse(magic.rest) as sp.ServerGreeting;
  } catch {
    // named below, with the version
  }
  if (magic.version !== sp.SOCKET_PROTOCOL) {
    throw new ProtocolError(
      `${target.label}: the server speaks tsnet socket protocol ${magic.version}` +
        `${typeof greeting?.protocol === 'number' ? ` (frame protocol ${greeting.protocol})` : ''}, ` +
        `this client speaks socket protocol ${sp.SOCKET_PROTOCOL} (frame protocol ${PROTOCOL_VERSION}). ` +
        'Run the tsnet-bootstrap.js of the same @tsnet version on the server as here (it is in @tsnet/bootstrap/dist/standalone/).',
      { code: 'TSNET_ERR_VERSION' },
    );
  }
  if (!greeting || typeof greeting.nonce !== 'string' || !sp.isNonce(greeting.nonce)) {
    throw new ProtocolError(`${target.label}: the server's greeting is malformed: ${JSON.stringify(magic.rest.slice(0, 120))}`);
  }
  const question = exitOf === undefined ? '' : ` EXIT ${exitOf}`;
  if (greeting.auth === 'hmac-sha256') {
    if (!token) {
      throw new AuthenticationError(
        `${target.label}: the server requires a token, and the spec names none. Add //token-file=PATH or //token-env=NAME ` +
          "(the server's --token-file or TSNET_TOKEN).",
        authDetails(target),
      );
    }
    stream.write(`AUTH ${sp.clientProof(token, greeting.nonce, clientNonce)}${question}\n`);
  } else if (greeting.auth === 'none') {
    if (token) {
      // A server that skips authentication while we expect it could be an impostor: send it nothing.
      throw new AuthenticationError(
        `${target.label}: the server runs without authentication (--insecure-no-auth) but the spec gives ${target.tokenSource}; ` +
          'refusing to send code to a server that cannot prove it knows the token. Drop the token key if that server is meant.',
        authDetails(target),
      );
    }
    stream.write(`AUTH -${question}\n`);
  } else {
    throw new ProtocolError(`${target.label}: the server asks for an authentication this client does not know: ${JSON.stringify(greeting.auth)}`);
  }
  const answer = await readLine(reader, target, 'answer to the authentication');
  const space = answer.indexOf(' ');
  const verb = space === -1 ? answer : answer.slice(0, space);
  const rest = space === -1 ? '' : answer.slice(space + 1);
  switch (verb) {
    case 'OK':
      if (token && !sp.proofMatches(sp.serverProof(token, greeting.nonce, clientNonce), rest)) {
        throw new AuthenticationError(
          `${target.label}: the server accepted us but could not prove it knows the token: it is not the server the token belongs to. Nothing was sent.`,
          authDetails(target),
        );
      }
      if (exitOf !== undefined)
        return { leftover: Buffer.alloc(0), session: greeting.nonce, answer: await readLine(reader, target, 'answer to the EXIT question') };
      return { leftover: reader.detach(), session: greeting.nonce };
    case 'DENIED':
      throw new AuthenticationError(
        `${target.label}: the server refused the token from ${target.tokenSource}: ${rest || 'authentication failed'}`,
        authDetails(target),
      );
    case 'BUSY':
      throw new ConnectError(`${target.label}: the server is busy: ${rest}. Try again later, or raise its --max-connections.`);
    default:
      throw new ProtocolError(`${target.label}: unexpected answer from the server: ${JSON.stringify(answer.slice(0, 80))}`);
  }
}

async function readLine(reader: LineReader, target: SocketTarget, what: string): Promise<string> {
  try {
    return await reader.next();
  } catch (error) {
    if (error instanceof LineError && error.reason === 'closed') {
      throw new ConnectError(
        `${target.label}: the server closed the connection before its ${what}. ` +
          (target.tls
            ? 'Check that the server runs with --tls-cert/--tls-key; its log says why.'
            : 'If the server runs with TLS, add //tls to the spec; otherwise its log says why (handshake timeout, too many connections).'),
        { cause: error },
      );
    }
    throw new ProtocolError(`${target.label}: bad ${what} from the server: ${(error as Error).message}`, { cause: error });
  }
}

/** What an AuthenticationError says about a token handshake: where, and the token's source. */
function authDetails(target: SocketTarget): { host: string; port: number; methods: string[] } {
  return { host: target.host, port: target.port, methods: target.tokenSource ? [`token (${target.tokenSource})`] : [] };
}
