import { readFileSync } from 'node:fs';
import { SpecError, type XSpec } from '@tsnet/core/transport';

/** Where and how to connect, read from a `socket=` or `ws=` spec. */
export interface SocketTarget {
  kind: 'tcp' | 'ws';
  /** tcp: host and port; ws: parsed from the URL (for messages). */
  host: string;
  port: number;
  /** ws only: the URL as given. */
  url: string | undefined;
  tls: boolean;
  /** SHA-256 certificate fingerprint to pin, as `AA:BB:…` (uppercase). */
  fingerprint: string | undefined;
  /** PEM file of the CA(s) to trust instead of the system ones. */
  caFile: string | undefined;
  /** ws only: an HTTP proxy to tunnel through with CONNECT (`proxy=http://HOST:PORT`). */
  proxy: URL | undefined;
  /** Where the token comes from, for messages ("token-file=/path"); undefined without one. */
  tokenSource: string | undefined;
  /** `tcp:host:port`, `tls:host:port`, `ws:url`. */
  label: string;
}

/** Keys a popen or ssh spec takes that a socket gateway cannot honour: the server decides. */
const NOT_HERE = ['chdir', 'node', 'runtime', 'exe', 'nice', 'via'];

export function parseSocketSpec(spec: XSpec): SocketTarget {
  const text = String(spec);
  const fail = (message: string): never => {
    throw new SpecError(`gateway spec ${JSON.stringify(text)}: ${message}`);
  };
  if (spec.get('token') !== undefined) {
    fail('never put the token in the spec (specs get logged); use token-file=PATH or token-env=NAME');
  }
  for (const key of NOT_HERE) {
    if (spec.get(key) !== undefined) {
      fail(`${key}= is not supported on ${spec.type} gateways: the remote runs where and as the server decides (use remoteExec, e.g. process.chdir())`);
    }
  }
  if (Object.keys(spec.env).length > 0) fail(`env: keys are not supported on ${spec.type} gateways; set process.env in remoteExec instead`);

  const tokenFile = spec.getString('token-file');
  const tokenEnv = spec.getString('token-env');
  if (tokenFile !== undefined && tokenEnv !== undefined) fail('give the token one way: token-file= or token-env=, not both');
  const tokenSource = tokenFile !== undefined ? `token-file=${tokenFile}` : tokenEnv !== undefined ? `token-env=${tokenEnv}` : undefined;

  const fingerprintText = spec.getString('tls-fingerprint');
  let fingerprint: string | undefined;
  if (fingerprintText !== undefined) {
    const hex = fingerprintText.replace(/^sha256[:=]/i, '').replace(/:/g, '');
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      fail('tls-fingerprint= takes the SHA-256 fingerprint as printed by `openssl x509 -noout -fingerprint -sha256` (AA:BB:…, 32 bytes)');
    }
    fingerprint = hex.toUpperCase().replace(/(..)(?!$)/g, '$1:');
  }
  const caFile = spec.getString('tls-ca');
  if (fingerprint && caFile) fail('give tls-fingerprint= or tls-ca=, not both (a pinned certificate needs no CA)');
  const tlsKey = spec.get('tls');
  if (tlsKey !== undefined && tlsKey !== true) fail('tls is a bare key (…//tls), it takes no value');

  if (spec.type === 'ws') {
    const url = spec.getString('ws') ?? fail('ws= needs a URL: ws=ws://HOST:PORT/ or ws=wss://HOST:PORT/');
    const stray = spec.keys().find((k) => k.startsWith('/'));
    if (stray !== undefined) {
      fail(
        `a key starts with "/" (${JSON.stringify(stray)}): a URL ending in "/" runs into the next "//"; write it without the last "/" (ws=ws://HOST:PORT//…)`,
      );
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return fail(`ws=${url} is not a URL: give ws=ws://HOST:PORT/ or ws=wss://HOST:PORT/`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') fail(`ws= takes a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
    const secure = parsed.protocol === 'wss:';
    if (tlsKey && !secure) fail('//tls with a ws:// URL: use a wss:// URL for WebSocket over TLS');
    if ((fingerprint || caFile) && !secure) fail('tls-fingerprint= and tls-ca= need a wss:// URL');
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const port = parsed.port ? Number(parsed.port) : secure ? 443 : 80;
    const proxyText = spec.getString('proxy');
    let proxy: URL | undefined;
    if (proxyText !== undefined) {
      try {
        proxy = new URL(proxyText);
      } catch {
        fail(`proxy=${proxyText} is not a URL: give proxy=http://HOST:PORT`);
      }
      if (proxy!.protocol !== 'http:') fail(`proxy= takes an http:// proxy URL (tunnelled with CONNECT), got ${JSON.stringify(proxyText)}`);
      if (proxy!.username || proxy!.password) fail('proxy credentials cannot go in the spec (specs get logged); use a proxy that admits this host');
    }
    return { kind: 'ws', host, port, url, tls: secure, fingerprint, caFile, proxy, tokenSource, label: `ws:${url}` };
  }

  const address = spec.getString('socket') ?? fail('socket= needs an address: socket=HOST:PORT (IPv6 as socket=[::1]:PORT)');
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(address);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port > 0 && port <= 65535)) fail(`socket=${address}: give HOST:PORT, with IPv6 addresses in brackets ([::1]:8888)`);
  const host = m![1] ?? m![2]!;
  const tls = tlsKey === true;
  if ((fingerprint || caFile) && !tls) fail('tls-fingerprint= and tls-ca= need //tls');
  const label = `${tls ? 'tls' : 'tcp'}:${address}`;
  if (spec.get('proxy') !== undefined) fail('proxy= is for ws= gateways (HTTP proxies carry WebSocket, not raw TCP)');
  return { kind: 'tcp', host, port, url: undefined, tls, fingerprint, caFile, proxy: undefined, tokenSource, label };
}

/** Reads the token the spec points to; undefined when the spec names none. */
export function readToken(spec: XSpec, target: SocketTarget): Buffer | undefined {
  const file = spec.getString('token-file');
  const envName = spec.getString('token-env');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new SpecError(`${target.label}: cannot read token-file=${file}: ${(error as Error).message}`, { cause: error });
    }
    const token = text.trim();
    if (!token) throw new SpecError(`${target.label}: token-file=${file} is empty`);
    return Buffer.from(token, 'utf8');
  }
  if (envName !== undefined) {
    const token = process.env[envName]?.trim();
    if (!token) throw new SpecError(`${target.label}: token-env=${envName} names an environment variable that is not set (or empty)`);
    return Buffer.from(token, 'utf8');
  }
  return undefined;
}
