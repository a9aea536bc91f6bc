/**
 * The socket server's handshake: the lines exchanged on a TCP, TLS or WebSocket stream before
 * anything else. The client speaks first, so one port can tell it apart from an HTTP upgrade.
 *
 *   client → server   TSNET-CLIENT/1 <client nonce>\n
 *   server → client   TSNET-SERVER/1 {"protocol":1,"auth":"hmac-sha256","nonce":"<server nonce>"}\n
 *   client → server   AUTH <client proof>\n               (AUTH - when the server says auth "none")
 *   server → client   OK <server proof>\n                 (OK - without auth)
 *               or   DENIED <sentence>\n  or  BUSY <sentence>\n, then the server closes.
 *
 * After OK the client sends the bootstrap preamble and frames; the server relays them to a fresh
 * child process, or (plain TCP on a Node server) hands the connection itself to the child. The last
 * bytes the server sends are a TRAILER frame with the child's exit status, written only where the
 * server knows the stream is between two frames.
 *
 * A stream that ends without a trailer (a handed-off child killed by a signal, or a relayed one
 * killed mid-frame) leaves the client asking, on a second connection, how that session ended; the
 * session is named by the server nonce of its greeting:
 *
 *   client → server   AUTH <client proof> EXIT <server nonce of the ended session>\n
 *   server → client   OK <server proof>\n then  EXIT {"code":null,"signal":"SIGTERM"}\n
 *               or   OK <server proof>\n then  UNKNOWN <sentence>\n, then the server closes.
 *
 * Proofs are HMAC-SHA256 keyed with the token over both nonces and a role label, so the token
 * never crosses the wire, a recorded handshake is useless against a new server nonce, and the
 * server proves it knows the token too (it answers only after the client proved it, so an
 * unauthenticated peer gets nothing to brute-force offline).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Frame layout constants (the server reads frame headers to find the trailer's place). */
export { HEADER_SIZE, MAGIC } from '@tsnet/core/worker';

/** Version of this handshake (not the frame protocol). Bumped on any incompatible change to it. */
export const SOCKET_PROTOCOL = 1;
export const CLIENT_MAGIC = 'TSNET-CLIENT/';
export const SERVER_MAGIC = 'TSNET-SERVER/';
/** Longest handshake line either side accepts. */
export const MAX_LINE = 512;
/** Shortest token the server and the client accept. */
export const MIN_TOKEN_LENGTH = 16;
/** Frame type of the server's last frame (never passed to the gateway): JSON `{code, signal}`. */
export const TRAILER_TYPE = 0xe0;

export type AuthMode = 'hmac-sha256' | 'none';

export interface ServerGreeting {
  /** The frame protocol (PROTOCOL_VERSION) the server's own bundle speaks; informative. */
  protocol: number;
  auth: AuthMode;
  nonce: string;
}

export function makeNonce(): string {
  return randomBytes(32).toString('hex');
}

export function clientProof(token: Uint8Array, serverNonce: string, clientNonce: string): string {
  return createHmac('sha256', token).update(`tsnet-socket-${SOCKET_PROTOCOL} client ${serverNonce} ${clientNonce}`).digest('hex');
}

export function serverProof(token: Uint8Array, serverNonce: string, clientNonce: string): string {
  return createHmac('sha256', token).update(`tsnet-socket-${SOCKET_PROTOCOL} server ${clientNonce} ${serverNonce}`).digest('hex');
}

/** Constant-time comparison of a hex proof against the expected one. */
export function proofMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'hex');
  const b = /^[0-9a-f]*$/i.test(given) ? Buffer.from(given, 'hex') : Buffer.alloc(0);
  // Compare equal lengths only; a wrong length still costs one comparison.
  return timingSafeEqual(a, b.length === a.length ? b : Buffer.alloc(a.length)) && b.length === a.length;
}

export function clientHello(nonce: string): string {
  return `${CLIENT_MAGIC}${SOCKET_PROTOCOL} ${nonce}\n`;
}

export function serverGreeting(greeting: ServerGreeting): string {
  return `${SERVER_MAGIC}${SOCKET_PROTOCOL} ${JSON.stringify(greeting)}\n`;
}

/** Splits `MAGICn rest` into the version number and the rest; undefined when the magic is absent. */
export function parseMagicLine(line: string, magic: string): { version: number; rest: string } | undefined {
  if (!line.startsWith(magic)) return undefined;
  const space = line.indexOf(' ');
  const version = Number(line.slice(magic.length, space === -1 ? undefined : space));
  if (!Number.isInteger(version)) return undefined;
  return { version, rest: space === -1 ? '' : line.slice(space + 1) };
}

/** A nonce as sent on the wire: 64 lowercase hex digits. */
export function isNonce(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

/** A socket address for messages: `127.0.0.1:8888`, `[::1]:8888`, `?` when unknown. */
export function formatAddress(address: string | undefined, port: number | undefined): string {
  if (!address) return '?';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
