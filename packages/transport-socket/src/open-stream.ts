import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { ConnectError, HostKeyError, raceSignal } from '@tsnet/core/transport';
import { createWebSocketStream, WebSocket } from 'ws';
import type { SocketTarget } from './socket-spec.js';

/** A byte stream to the server, before the handshake. */
export interface OpenStream {
  stream: Duplex;
  /** Sends a TCP RST where the stream allows it, so the server sees a kill and not a goodbye. */
  destroy(): void;
  /** The TCP socket underneath (inside TLS or a WebSocket): what keeps the process alive or not. */
  socket: { ref(): unknown; unref(): unknown } | undefined;
}

const SERVE_HINT = 'Is the server running? Start it with `node tsnet-bootstrap.js serve --listen HOST:PORT --token-file PATH`.';

/** Opens TCP, TLS or WebSocket; rejects with a ConnectError that says what failed and what to do. */
export async function openStream(target: SocketTarget, signal?: AbortSignal): Promise<OpenStream> {
  const ca = target.caFile !== undefined ? readCa(target) : undefined;
  const opened = target.kind === 'ws' ? tunnel(target).then((socket) => openWebSocket(target, ca, socket)) : openSocket(target, ca);
  if (!signal) return opened;
  try {
    return await raceSignal(opened, signal);
  } catch (error) {
    // aborted: a stream that opens after all is closed at once
    void opened.then(
      (s) => s.destroy(),
      () => {},
    );
    throw error;
  }
}

function readCa(target: SocketTarget): Buffer {
  try {
    return readFileSync(target.caFile!);
  } catch (error) {
    throw new ConnectError(`${target.label}: cannot read tls-ca=${target.caFile}: ${(error as Error).message}`, { cause: error });
  }
}

function openSocket(target: SocketTarget, ca: Buffer | undefined): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: target.host, port: target.port });
    raw.setNoDelay(true);
    const fail = (error: Error): void => {
      raw.destroy();
      reject(connectError(target, error));
    };
    raw.once('error', fail);
    const destroy = (): void => {
      if (raw.destroyed) return;
      // resetAndDestroy exists from Node 16.17/18.3 and needs a connected TCP handle.
      try {
        raw.resetAndDestroy();
      } catch {
        raw.destroy();
      }
    };
    if (!target.tls) {
      raw.once('connect', () => {
        raw.removeListener('error', fail);
        raw.on('error', () => {}); // from here on, errors surface as 'close' (and in the transport)
        resolve({ stream: raw, destroy, socket: raw });
      });
      return;
    }
    raw.once('connect', () => {
      const secure = tls.connect({
        socket: raw,
        ...(net.isIP(target.host) ? {} : { servername: target.host }),
        ...(ca ? { ca } : {}),
        // A pinned certificate replaces CA and host-name checks; it is compared below.
        rejectUnauthorized: target.fingerprint === undefined,
      });
      secure.once('error', fail);
      secure.once('secureConnect', () => {
        const problem = checkPin(target, secure.getPeerCertificate());
        if (problem) {
          secure.destroy();
          raw.destroy();
          reject(problem);
          return;
        }
        secure.removeListener('error', fail);
        raw.removeListener('error', fail);
        // From here on, errors surface as 'close' (and in the transport).
        secure.on('error', () => {});
        raw.on('error', () => {});
        resolve({
          stream: secure,
          destroy: () => {
            destroy();
            secure.destroy();
          },
          socket: {
            ref: () => {
              raw.ref();
              secure.ref();
            },
            unref: () => {
              raw.unref();
              secure.unref();
            },
          },
        });
      });
    });
  });
}

/** With proxy=, a CONNECT tunnel to the server through the HTTP proxy; without, undefined. */
function tunnel(target: SocketTarget): Promise<net.Socket | undefined> {
  const proxy = target.proxy;
  if (!proxy) return Promise.resolve(undefined);
  const authority = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: proxy.port ? Number(proxy.port) : 80,
      method: 'CONNECT',
      path: authority,
      headers: { host: authority },
    });
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new ConnectError(`${target.label}: the proxy ${proxy.host} refused the tunnel with HTTP ${res.statusCode} ${res.statusMessage ?? ''}`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('error', (error) => {
      reject(new ConnectError(`${target.label}: cannot reach the proxy ${proxy.host}: ${error.message}`, { cause: error }));
    });
    req.end();
  });
}

function openWebSocket(target: SocketTarget, ca: Buffer | undefined, tunnelled: net.Socket | undefined): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.url!, {
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
      ...(ca ? { ca } : {}),
      ...(target.fingerprint !== undefined ? { rejectUnauthorized: false } : {}),
      // Through a proxy, the WebSocket (and TLS for wss://) runs inside the CONNECT tunnel.
      ...(tunnelled
        ? {
            createConnection: ((options: tls.ConnectionOptions) =>
              target.tls
                ? tls.connect({ ...options, socket: tunnelled, ...(net.isIP(target.host) ? {} : { servername: target.host }) })
                : tunnelled) as unknown as typeof net.createConnection,
          }
        : {}),
    });
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(error);
    };
    ws.on('error', (error) => fail(connectError(target, error)));
    ws.once('unexpected-response', (_req, res) => {
      fail(
        new ConnectError(
          `${target.label}: the server answered HTTP ${res.statusCode} ${res.statusMessage ?? ''} instead of a WebSocket upgrade. ` +
            'Is it a tsnet server (node tsnet-bootstrap.js serve), and does the proxy in between pass WebSocket upgrades?',
        ),
      );
    });
    if (target.fingerprint !== undefined) {
      ws.once('upgrade', (res) => {
        const problem = checkPin(target, (res.socket as tls.TLSSocket).getPeerCertificate());
        if (problem) fail(problem);
      });
    }
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      const stream = createWebSocketStream(ws);
      // The duplex emits 'close' only when destroyed: make "the connection is gone" one event.
      ws.once('close', () => stream.destroy());
      stream.on('error', () => {}); // surfaces as 'close' (and in the transport)
      resolve({ stream, destroy: () => ws.terminate(), socket: (ws as unknown as { _socket?: net.Socket })._socket });
    });
  });
}

function checkPin(target: SocketTarget, cert: tls.PeerCertificate): HostKeyError | undefined {
  if (target.fingerprint === undefined) return undefined;
  const got = cert?.fingerprint256;
  if (got && got.toUpperCase() === target.fingerprint) return undefined;
  return new HostKeyError(
    `${target.label}: the server's TLS certificate does not match tls-fingerprint=: expected ${target.fingerprint}, got ${got ?? 'no certificate'}. ` +
      'Either the certificate was replaced (update the pin from the server log) or someone is in between.',
    { host: target.host, port: target.port, reason: 'changed', fingerprint: got ?? '', knownFingerprints: [target.fingerprint] },
  );
}

function connectError(target: SocketTarget, error: Error): ConnectError {
  const code = (error as NodeJS.ErrnoException).code;
  let hint: string;
  switch (code) {
    case 'ECONNREFUSED':
      hint = `connection refused. ${SERVE_HINT}`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      hint = `cannot resolve the host name ${JSON.stringify(target.host)}`;
      break;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      hint = `cannot reach ${target.host}:${target.port} (${code}); check the address and any firewall`;
      break;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      hint =
        `the server's TLS certificate is not trusted (${code}: ${error.message}). ` +
        'Pin it with tls-fingerprint=AA:BB:… (the server prints it at start) or trust its CA with tls-ca=PATH';
      break;
    default:
      hint = error.message;
      if (code === 'ECONNRESET' || /wrong version number|packet length too long/i.test(error.message)) {
        hint += ' (does the client use //tls and the server not, or the other way round?)';
      }
  }
  return new ConnectError(`${target.label}: ${hint}`, { cause: error });
}
