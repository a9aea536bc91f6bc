/**
 * ssh2's errors turned into tsnet's: each message says which hop failed (`where`), what went wrong
 * in words a user acts on (refused, unreachable, no handshake, which auth methods were tried) and
 * keeps ssh2's error as `cause`. Pure functions: nothing here does I/O or throws.
 */
import { AuthenticationError, ConnectError } from '@tsnet/core/transport';
import type { AuthPlan } from './auth.js';
import type { HostConfig } from './host-config.js';

/** An ssh2 client error: `level` says which layer raised it, `code` is the socket's errno name. */
export type Ssh2Error = Error & { level?: string; code?: string };

/** "user@host port 2222 (host "alias") via jump" — how messages name a hop. */
export function describeHop(cfg: HostConfig, through: string): string {
  return `${cfg.user}@${cfg.hostname}${cfg.port === 22 ? '' : ` port ${cfg.port}`}${cfg.host !== cfg.hostname ? ` (host "${cfg.host}")` : ''}${through}`;
}

export function proxyCommandError(cfg: HostConfig, where: string): ConnectError {
  return new ConnectError(
    `ssh ${where}: ProxyCommand is set in the ssh config ("${cfg.proxyCommand}"), which @tsnet/transport-ssh does not run; use ProxyJump instead`,
  );
}

export function jumpHostError(error: unknown, where: string, jump: string, cfg: HostConfig): ConnectError {
  return new ConnectError(`ssh ${where}: the jump host ${jump} could not open a connection to ${cfg.hostname}:${cfg.port}: ${(error as Error).message}`, {
    cause: error,
  });
}

/** The phases of opening a connection, as error messages name them (the bootstrap follows). */
export type SshPhase = 'TCP connect' | 'SSH handshake' | 'authentication';

/** The connection attempt was stopped by the gateway's signal (connectTimeout or the caller's). */
export function abortedDuring(signal: AbortSignal, where: string, phase: SshPhase): ConnectError {
  const reason: unknown = signal.reason;
  const timedOut =
    (reason as { name?: unknown } | undefined)?.name === 'TimeoutError' || (reason as { code?: unknown } | undefined)?.code === 'TSNET_ERR_TIMEOUT';
  return new ConnectError(`ssh ${where}: ${timedOut ? 'connectTimeout ran out' : 'aborted by the signal'} during the ${phase}`, {
    cause: reason,
  });
}

/** What an error during the handshake (before 'ready') means. */
export function handshakeError(
  error: Ssh2Error,
  context: { cfg: HostConfig; where: string; readyTimeout: number; auth: Pick<AuthPlan, 'tried' | 'serverMethods'>; phase?: SshPhase },
): AuthenticationError | ConnectError {
  const { cfg, where, readyTimeout, auth } = context;
  if (error.level === 'client-authentication') {
    const server = auth.serverMethods();
    return new AuthenticationError(
      `ssh: authentication failed for ${where}. Tried: ${auth.tried.join('; ')}.` +
        `${server ? ` The server accepts: ${server.join(', ')}.` : ''} ` +
        `Check User and IdentityFile in the ssh config, pass identity=PATH, load the key into ssh-agent, or give a key/passphrase in code (createSsh).`,
      { user: cfg.user, host: cfg.hostname, port: cfg.port, methods: [...auth.tried], cause: error },
    );
  }
  const code = error.code;
  let what: string;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') what = `cannot resolve the host name "${cfg.hostname}" (${code})`;
  else if (code === 'ECONNREFUSED') what = `connection refused (is sshd running on port ${cfg.port}?)`;
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') what = `host unreachable (${code})`;
  else if (error.level === 'client-timeout') what = `no SSH handshake within ${readyTimeout} ms (it was at the ${context.phase ?? 'SSH handshake'})`;
  else what = error.message;
  return new ConnectError(`ssh ${where}: ${what}`, { cause: error });
}
