/**
 * Every error tsnet raises is a TsnetError with a stable `code`. Branch on `code` (or
 * `isTsnetError(e, code)`) rather than `instanceof` when two copies of @tsnet/core may be loaded.
 * docs/errors.md lists every code with its causes and what to do.
 */

export type ErrorCode =
  | 'TSNET_ERR'
  | 'TSNET_ERR_SPEC'
  | 'TSNET_ERR_SOURCE'
  | 'TSNET_ERR_CONNECT'
  | 'TSNET_ERR_AUTH'
  | 'TSNET_ERR_HOST_KEY'
  | 'TSNET_ERR_BOOTSTRAP'
  | 'TSNET_ERR_PROTOCOL'
  | 'TSNET_ERR_VERSION'
  | 'TSNET_ERR_GATEWAY_CLOSED'
  | 'TSNET_ERR_CHANNEL_CLOSED'
  | 'TSNET_ERR_REMOTE'
  | 'TSNET_ERR_TIMEOUT'
  | 'TSNET_ERR_ABORTED'
  | 'TSNET_ERR_DUMP'
  | 'TSNET_ERR_LOAD'
  | 'TSNET_ERR_CALLBACK_SET'
  | 'TSNET_ERR_GROUP'
  | 'TSNET_ERR_RSYNC'
  | 'TSNET_ERR_UNSAFE_PATH'
  | 'TSNET_ERR_TEST';

const brand = Symbol.for('tsnet.error');

export class TsnetError extends Error {
  readonly code: ErrorCode;
  constructor(message: string, options?: { code?: ErrorCode; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? 'TSNET_ERR';
    Object.defineProperty(this, brand, { value: true });
  }
}

/** True for any tsnet error (from any copy of the package), optionally with the given code. */
export function isTsnetError(error: unknown, code?: ErrorCode): error is TsnetError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[brand] === true &&
    (code === undefined || (error as TsnetError).code === code)
  );
}

/** A spec string, XSpec or option is malformed or names a transport that is not installed. */
export class SpecError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'TSNET_ERR_SPEC' });
  }
}

/** remoteExec() got source it cannot ship: closures, native functions, syntax errors, bundling failures. */
export class SourceError extends TsnetError {
  readonly freeVariables: readonly string[];
  constructor(message: string, options?: { cause?: unknown; freeVariables?: readonly string[] }) {
    super(message, { ...options, code: 'TSNET_ERR_SOURCE' });
    this.freeVariables = options?.freeVariables ?? [];
  }
}

/** The transport could not reach the remote runtime (spawn failed, connection refused, DNS). */
export class ConnectError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown; code?: 'TSNET_ERR_CONNECT' | 'TSNET_ERR_AUTH' | 'TSNET_ERR_HOST_KEY' }) {
    super(message, { cause: options?.cause, code: options?.code ?? 'TSNET_ERR_CONNECT' });
  }
}

/**
 * The remote side refused our credentials: an SSH login (`user`, and every method tried in
 * `methods`), or a socket server's token handshake (`methods` names the token's source). `host`
 * and `port` say where.
 */
export class AuthenticationError extends ConnectError {
  /** The login name, where the transport has one (ssh). */
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number;
  /** What was tried, in order, e.g. `publickey (agent key ED25519 SHA256:…)`, `publickey (~/.ssh/id_ed25519)`, `token (token-file=…)`. */
  readonly methods: readonly string[];
  constructor(message: string, details: { host: string; port: number; user?: string; methods?: readonly string[]; cause?: unknown }) {
    super(message, { cause: details.cause, code: 'TSNET_ERR_AUTH' });
    this.user = details.user;
    this.host = details.host;
    this.port = details.port;
    this.methods = details.methods ?? [];
  }
}

/**
 * The server's key was refused: an SSH host key unknown under strict checking, different from the
 * recorded one (`changed`: always refused) or marked @revoked; or a TLS certificate that does not
 * match its pin (`tls-fingerprint=`: `changed`). `fingerprint` is the key the server showed,
 * `knownFingerprints` what was expected (SHA256:… as ssh-keygen -l prints them, or the pin).
 */
export class HostKeyError extends ConnectError {
  readonly host: string;
  readonly port: number;
  readonly reason: 'unknown' | 'changed' | 'revoked';
  /** The key's type where the transport knows it (ssh: `ssh-ed25519`, …). */
  readonly keyType: string | undefined;
  readonly fingerprint: string;
  readonly knownFingerprints: readonly string[];
  /** The known_hosts files consulted (ssh); empty for a pin given in the spec. */
  readonly knownHostsFiles: readonly string[];
  constructor(
    message: string,
    details: {
      host: string;
      port: number;
      reason: 'unknown' | 'changed' | 'revoked';
      fingerprint: string;
      knownFingerprints: readonly string[];
      keyType?: string;
      knownHostsFiles?: readonly string[];
    },
  ) {
    super(message, { code: 'TSNET_ERR_HOST_KEY' });
    this.host = details.host;
    this.port = details.port;
    this.reason = details.reason;
    this.keyType = details.keyType;
    this.fingerprint = details.fingerprint;
    this.knownFingerprints = details.knownFingerprints;
    this.knownHostsFiles = details.knownHostsFiles ?? [];
  }
}

/** The remote runtime started but never completed the handshake; `stderr` holds what it said. */
export class BootstrapError extends TsnetError {
  readonly stderr: string;
  constructor(message: string, options?: { cause?: unknown; stderr?: string }) {
    super(message, { cause: options?.cause, code: 'TSNET_ERR_BOOTSTRAP' });
    this.stderr = options?.stderr ?? '';
  }
}

/** The byte stream carried something that is not a valid tsnet frame. `offset` is the stream byte offset. */
export class ProtocolError extends TsnetError {
  readonly offset: number | undefined;
  constructor(message: string, options?: { cause?: unknown; offset?: number; code?: 'TSNET_ERR_PROTOCOL' | 'TSNET_ERR_VERSION' }) {
    super(message, { cause: options?.cause, code: options?.code ?? 'TSNET_ERR_PROTOCOL' });
    this.offset = options?.offset;
  }
}

export interface GatewayCloseInfo {
  /** A sentence saying why the gateway is down. */
  reason: string;
  exitCode?: number;
  signal?: string;
  error?: Error;
}

/** The gateway is down (exited, killed, connection lost, protocol error); says which and why. */
export class GatewayClosedError extends TsnetError {
  readonly gatewayId: string;
  readonly reason: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: string;
  constructor(gatewayId: string, info: GatewayCloseInfo, stderr = '') {
    super(`gateway ${gatewayId} is closed: ${info.reason}${formatStderrTail(stderr)}`, { cause: info.error, code: 'TSNET_ERR_GATEWAY_CLOSED' });
    this.gatewayId = gatewayId;
    this.reason = info.reason;
    this.exitCode = info.exitCode;
    this.signal = info.signal;
    this.stderr = stderr;
  }
}

/** A group refused a request: an id already in use, a via= naming no gateway of the group. */
export class GroupError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'TSNET_ERR_GROUP' });
  }
}

/** send() or receive() on a channel that is closed. `by` says which side closed it. */
export class ChannelClosedError extends TsnetError {
  readonly channelId: number;
  readonly by: 'local' | 'remote';
  /**
   * From `waitClose()` after a local `close()`: how many items the peer had sent that arrived after
   * the close and were dropped (0 otherwise).
   */
  readonly dropped: number;
  constructor(channelId: number, gatewayId: string, by: 'local' | 'remote', what = 'channel', options?: { detail?: string; dropped?: number }) {
    super(`${what} ${channelId} on gateway ${gatewayId} is closed (closed by the ${by} side${options?.detail ?? ''})`, { code: 'TSNET_ERR_CHANNEL_CLOSED' });
    this.channelId = channelId;
    this.by = by;
    this.dropped = options?.dropped ?? 0;
  }
}

export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack: string;
  code?: unknown;
}

/** Remote code threw (or the peer closed the channel with an error). Sticky on its channel. */
export class RemoteError extends TsnetError {
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteStack: string;
  readonly remoteCode: unknown;
  readonly gatewayId: string;
  readonly channelId: number;
  constructor(info: RemoteErrorInfo, gatewayId: string, channelId: number) {
    super(`${info.name}: ${info.message} (remote, gateway ${gatewayId}, channel ${channelId})`, { code: 'TSNET_ERR_REMOTE' });
    this.remoteName = info.name;
    this.remoteMessage = info.message;
    this.remoteStack = info.stack;
    this.remoteCode = info.code;
    this.gatewayId = gatewayId;
    this.channelId = channelId;
    this.stack = `${this.name}: ${this.message}\n--- remote stack ---\n${info.stack}`;
  }
}

/** receive()/waitClose() gave up after `timeout` ms. Nothing was consumed; the channel stays usable. */
export class TimeoutError extends TsnetError {
  /** The bound in ms; undefined when an AbortSignal.timeout() fired (its DOMException is the `cause`). */
  readonly timeout: number | undefined;
  constructor(message: string, timeout: number | undefined, options?: { cause?: unknown }) {
    super(message, { code: 'TSNET_ERR_TIMEOUT', ...(options?.cause === undefined ? {} : { cause: options.cause }) });
    this.timeout = timeout;
  }
}

/** An AbortSignal given to a tsnet call aborted; the signal's reason is the `cause`. */
export class AbortError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'TSNET_ERR_ABORTED', ...(options?.cause === undefined ? {} : { cause: options.cause }) });
  }
}

/**
 * What a call rejects with when its `signal` aborts: a tsnet error with a stable code (callers branch
 * on `code`; a DOMException's numeric `code` would break them), the signal's reason as `cause`. A
 * reason that is already a tsnet error is kept as it is; an `AbortSignal.timeout()` becomes a TimeoutError.
 */
export function abortError(signal: AbortSignal, what = 'the operation'): TsnetError {
  const reason: unknown = signal.reason;
  if (isTsnetError(reason)) return reason;
  if ((reason as { name?: unknown } | undefined)?.name === 'TimeoutError') {
    return new TimeoutError(`${what} timed out (AbortSignal.timeout())`, undefined, { cause: reason });
  }
  return new AbortError(`${what} was aborted${reason instanceof Error ? `: ${reason.message}` : ''}`, { cause: reason });
}

/** A value cannot be serialized. `path` is where the bad value sits, e.g. `value.key[2].other`. */
export class DumpError extends TsnetError {
  readonly path: string;
  constructor(message: string, path = 'value') {
    super(message, { code: 'TSNET_ERR_DUMP' });
    this.path = path;
  }
}

/** Bytes cannot be deserialized (corrupt, truncated, too deep, unknown tag). */
export class LoadError extends TsnetError {
  readonly offset: number | undefined;
  constructor(message: string, offset?: number) {
    super(message, { code: 'TSNET_ERR_LOAD' });
    this.offset = offset;
  }
}

/**
 * A remote's stderr for the end of an error message: a heading and its last `maxLines` lines,
 * indented; '' when it said nothing.
 */
export function formatStderrTail(stderr: string, maxLines = Number.POSITIVE_INFINITY): string {
  const text = stderr.trim();
  if (!text) return '';
  const lines = text.split('\n');
  return `\nLast lines of remote stderr:\n${indent(lines.length > maxLines ? lines.slice(-maxLines).join('\n') : text)}`;
}

export function indent(text: string, prefix = '  '): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

/** Plain description of any thrown value, for errors that cross the wire. */
export function describeError(error: unknown): RemoteErrorInfo {
  if (error instanceof RemoteError) {
    return { name: error.remoteName, message: error.remoteMessage, stack: error.remoteStack, code: error.remoteCode };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const info: RemoteErrorInfo = { name: error.name, message: error.message, stack: error.stack ?? `${error.name}: ${error.message}` };
    if (typeof code === 'string' || typeof code === 'number') info.code = code;
    return info;
  }
  const text = typeof error === 'string' ? error : safeString(error);
  return { name: 'Error', message: text, stack: text };
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * Gives each error class its `name` for good, as written here: names survive minification (the
 * remote bundle is minified; so may be a user's bundle). Transport packages call it for their own.
 */
export function keepErrorNames(classes: Record<string, abstract new (...args: never[]) => Error>): void {
  for (const [name, cls] of Object.entries(classes)) {
    Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  }
}

keepErrorNames({
  TsnetError,
  SpecError,
  SourceError,
  ConnectError,
  AuthenticationError,
  HostKeyError,
  BootstrapError,
  ProtocolError,
  GatewayClosedError,
  GroupError,
  ChannelClosedError,
  RemoteError,
  TimeoutError,
  AbortError,
  DumpError,
  LoadError,
});
