import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { type AddressInfo, isIP } from 'node:net';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { PROTOCOL_VERSION } from '@tsnet/core/worker';
import { type ServerOptions, TsnetServer } from './server.js';
import { formatAddress, MIN_TOKEN_LENGTH } from './socket-protocol.js';

export const SERVE_USAGE = `Usage: node tsnet-bootstrap.js serve [options]

Runs a tsnet socket server, the bootstrapping point for hosts without SSH. Clients connect with
makeGateway('socket=HOST:PORT//token-file=PATH') or makeGateway('ws=ws://HOST:PORT/…//token-file=PATH');
one port serves both. Every authenticated connection gets a fresh Node process of its own.

Options:
  --listen HOST:PORT       where to listen (default 127.0.0.1:8888). IPv6 as [::1]:8888; a host name
                           binds its first address; port 0 picks a free port
  --token-file PATH        file holding the shared secret (at least ${MIN_TOKEN_LENGTH} characters);
                           or set the TSNET_TOKEN environment variable
  --insecure-no-auth       accept clients without a token; refused unless the address is loopback
  --tls-cert PATH          PEM certificate (chain): serve over TLS; clients add //tls
  --tls-key PATH           PEM private key of --tls-cert
  --once                   serve one gateway, then exit
  --relay                  pass every byte through the server process. Without it (the default) a
                           plain TCP connection on a Node server on Linux is handed to its child after
                           authentication, and the server leaves the data path; TLS, WebSocket, Bun
                           and Deno servers and hosts without /proc always relay
  --handoff                the default (accepted for older command lines); contradicts --relay
  --handshake-timeout MS   time a connection has to finish TLS, upgrade and authentication (default 10000)
  --max-connections N      gateways served at once (default 32)
  --max-pending N          connections in their handshake at once that have sent something (default
                           16; past it the oldest of those least far along is dropped); up to 16 × N
                           more that have sent nothing yet are held, the oldest dropped first
  --stop-timeout MS        on SIGTERM, time children get to finish before they are killed (default 5000)
  --spare N                children started ahead of time, so a gateway need not wait for Node to
                           start (default 1; 0 starts each child on demand)
  -h, --help               show this text

The first line on stdout is "listening on HOST:PORT"; stderr gets one line per connection.
SIGTERM or SIGINT stops the server (a second one kills the children at once).

Make a token:  node -e "console.log(require('crypto').randomBytes(32).toString('hex'))" > token && chmod 600 token
`;

/** A command-line mistake: printed with the usage, exit code 2. */
class UsageError extends Error {}

interface Parsed {
  options: Omit<ServerOptions, 'log' | 'protocol'>;
  notes: string[];
}

/** The options of `serve`: each valued one may be given once; the bare ones are flags. */
const SERVE_OPTIONS = {
  listen: { type: 'string' },
  'token-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-pending': { type: 'string' },
  'stop-timeout': { type: 'string' },
  spare: { type: 'string' },
  'insecure-no-auth': { type: 'boolean' },
  once: { type: 'boolean' },
  handoff: { type: 'boolean' },
  relay: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/**
 * argv → `--name` → value (true for a flag). node:util's parser splits `--name=value`, `--name value`
 * and `-h`; it runs non-strict so that each mistake gets our message, in argv order.
 */
function readFlags(argv: string[]): Map<string, string | true> {
  const { tokens } = parseArgs({ args: argv, options: SERVE_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  // tokens arrived in Node 18.7; older ones ignore the option.
  if (!tokens) throw new Error(`node ${process.version} is too old for the server: it needs Node ≥ 18.7`);
  const flags = new Map<string, string | true>();
  for (const token of tokens) {
    const arg = argv[token.index]!;
    if (token.kind !== 'option' || !Object.hasOwn(SERVE_OPTIONS, token.name)) throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    const name = token.rawName === '-h' ? '-h' : `--${token.name}`;
    if (SERVE_OPTIONS[token.name as keyof typeof SERVE_OPTIONS].type === 'boolean') {
      flags.set(name, true);
      continue;
    }
    if (token.value === undefined) throw new UsageError(`${name} needs a value`);
    if (flags.has(name)) throw new UsageError(`${name} is given twice`);
    flags.set(name, token.value);
  }
  return flags;
}

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv): Parsed | 'help' {
  const flags = readFlags(argv);
  if (flags.has('--help') || flags.has('-h')) return 'help';
  const str = (k: string): string | undefined => {
    const v = flags.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const int = (k: string, def: number, min: number): number => {
    const v = str(k);
    if (v === undefined) return def;
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${k} takes a whole number of at least ${min}, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const { host, port } = parseListen(str('--listen') ?? '127.0.0.1:8888');
  const notes: string[] = [];

  if (flags.has('--relay') && flags.has('--handoff')) throw new UsageError('--relay contradicts --handoff: give one or the other (the handoff is the default)');
  const insecure = flags.has('--insecure-no-auth');
  const tokenFile = str('--token-file');
  const envToken = env.TSNET_TOKEN;
  let token: Buffer | null = null;
  if (insecure) {
    if (tokenFile || envToken) throw new UsageError('--insecure-no-auth contradicts --token-file / TSNET_TOKEN: give one or the other');
  } else if (tokenFile && envToken) {
    throw new UsageError('both --token-file and TSNET_TOKEN are set: give the token one way only');
  } else if (tokenFile) {
    let text: string;
    try {
      text = fs.readFileSync(tokenFile, 'utf8');
      const mode = fs.statSync(tokenFile).mode;
      if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
        notes.push(`warning: ${tokenFile} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
      }
    } catch (error) {
      throw new UsageError(`cannot read --token-file ${tokenFile}: ${(error as Error).message}`);
    }
    token = checkToken(text.trim(), `the token in ${tokenFile}`);
    notes.push(`auth: token from ${tokenFile}`);
  } else if (envToken) {
    token = checkToken(envToken.trim(), 'TSNET_TOKEN');
    notes.push('auth: token from TSNET_TOKEN');
  } else {
    throw new UsageError('no token: pass --token-file PATH or set TSNET_TOKEN (or, on loopback only, --insecure-no-auth)');
  }
  if (insecure) notes.push('auth: NONE (--insecure-no-auth): anyone who can connect runs code as this user');

  const certPath = str('--tls-cert');
  const keyPath = str('--tls-key');
  let tlsFiles: ServerOptions['tls'] = null;
  if (certPath || keyPath) {
    if (!certPath || !keyPath) throw new UsageError('--tls-cert and --tls-key go together');
    try {
      tlsFiles = { cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) };
    } catch (error) {
      throw new UsageError(`cannot read the TLS files: ${(error as Error).message}`);
    }
    try {
      notes.push(`tls: certificate SHA-256 fingerprint ${new X509Certificate(tlsFiles.cert).fingerprint256} (clients pin it with //tls-fingerprint=…)`);
    } catch (error) {
      throw new UsageError(`--tls-cert ${certPath} is not a PEM certificate: ${(error as Error).message}`);
    }
  }

  return {
    options: {
      host,
      port,
      token,
      tls: tlsFiles,
      once: flags.has('--once'),
      handoff: !flags.has('--relay'),
      handshakeTimeout: int('--handshake-timeout', 10_000, 1),
      maxConnections: int('--max-connections', 32, 1),
      maxPending: int('--max-pending', 16, 1),
      stopTimeout: int('--stop-timeout', 5000, 0),
      spares: int('--spare', 1, 0),
    },
    notes,
  };
}

function checkToken(token: string, what: string): Buffer {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(`${what} is shorter than ${MIN_TOKEN_LENGTH} characters: use a long random one (see "Make a token" below)`);
  }
  return Buffer.from(token, 'utf8');
}

/** `HOST:PORT`, `[V6]:PORT` or `PORT`. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? (/^\d+$/.test(text) ? [text, undefined, '127.0.0.1', text] : null);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`--listen takes HOST:PORT ([::1]:PORT for IPv6), got ${JSON.stringify(text)}`);
  const host = m[1] ?? m[2] ?? '';
  if (host === '') throw new UsageError(`--listen ${text}: give a host (0.0.0.0 for all IPv4 addresses, :: for all)`);
  return { host, port };
}

function refuseInsecure(address: string): void {
  process.stderr.write(
    `tsnet-bootstrap serve: refusing --insecure-no-auth on ${address}, which is not a loopback address: ` +
      'anyone who can reach it could run code here. Use a token (--token-file), or listen on 127.0.0.1 / [::1].\n',
  );
  process.exitCode = 2;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export async function serve(argv: string[]): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`${new Date().toISOString()} tsnet-server ${line}\n`);
  };
  let parsed: Parsed | 'help';
  try {
    parsed = parseServeArgs(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`tsnet-bootstrap serve: ${error.message}\nRun "node tsnet-bootstrap.js serve --help" for the options.\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(SERVE_USAGE);
    return;
  }
  const { host } = parsed.options;
  if (!parsed.options.token && isIP(host) && !isLoopback(host)) {
    refuseInsecure(formatAddress(host, parsed.options.port));
    return;
  }
  const server = new TsnetServer({ ...parsed.options, protocol: PROTOCOL_VERSION, log });
  let address: AddressInfo;
  try {
    address = await server.listen();
  } catch (error) {
    process.stderr.write(`tsnet-bootstrap serve: cannot listen on ${parsed.options.host}:${parsed.options.port}: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  if (!parsed.options.token && !isLoopback(address.address)) {
    // A host name that resolved to a non-loopback address: checked once bound.
    refuseInsecure(formatAddress(address.address, address.port));
    process.exit(2);
  }
  // A closed stdout/stderr (the terminal went away) must not turn every log line into an error.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  // A bug in one connection's handling must not take the others down.
  process.on('uncaughtException', (error) => log(`internal error (server continues): ${error.stack ?? String(error)}`));
  process.on('unhandledRejection', (error) => log(`internal error (server continues): ${String(error)}`));
  let signals = 0;
  const onSignal = (signal: string): void => {
    signals++;
    if (signals === 1) {
      log(`${signal}: stopping (children get ${parsed.options.stopTimeout} ms to finish)`);
      void server.stop();
    } else {
      log(`${signal} again: killing the children now`);
      server.killAll();
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.stdout.write(`listening on ${formatAddress(address.address, address.port)}\n`);
  log(
    `pid ${process.pid} listening on ${formatAddress(address.address, address.port)} (tcp and WebSocket${parsed.options.tls ? ', TLS' : ''}), ` +
      `node ${process.version}, protocol ${PROTOCOL_VERSION}${parsed.options.once ? ', --once' : ''}`,
  );
  log(`data path: ${server.dataPath}`);
  for (const note of parsed.notes) log(note);
  await server.finished;
  log('stopped');
  process.exit(0);
}
