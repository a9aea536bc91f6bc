/**
 * The host key check of one SSH hop, as OpenSSH does it: the key must be in known_hosts under the
 * hop's name (HostKeyAlias, else `host` / `[host]:port`); a revoked or changed key is always refused;
 * an unknown key is refused under `strict` and recorded under `accept-new`.
 *
 * The verifier answers ssh2 through its `verify` callback and never throws: a refusal is kept as a
 * `HostKeyError` (`refusal`), which the connection reports instead of ssh2's own generic error.
 * known_hosts is read at handshake time, so a key another gateway just recorded is seen; failing to
 * record a key is only a debug line (the connection still goes ahead, as ssh does).
 */
import { HostKeyError } from '@tsnet/core/transport';
import { tildify } from './auth.js';
import type { HostConfig } from './host-config.js';
import { baseKeyType, checkHostKey, fingerprint, keyTypeOf, knownHostsName, knownKeyTypes, readKnownHosts, recordHostKey } from './known-hosts.js';

export type HostKeyPolicy = 'strict' | 'accept-new';

/** Host key algorithms ssh2 negotiates, in its order of preference. */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/** Known key types first, as ssh does, so that a host with several keys shows the one we know. */
function hostKeyAlgorithms(known: string[]): string[] {
  const bases = new Set(known.map(baseKeyType));
  const first = HOST_KEY_ALGORITHMS.filter((a) => bases.has(baseKeyType(a)));
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

/** The policy in force: the one given (spec or code), else StrictHostKeyChecking from the ssh config. */
export function policyFor(cfg: HostConfig, policy: HostKeyPolicy | undefined): HostKeyPolicy {
  if (policy) return policy;
  // OpenSSH's "no" also records new keys; a changed key is refused here in every mode.
  return cfg.strictHostKeyChecking === 'accept-new' || cfg.strictHostKeyChecking === 'no' ? 'accept-new' : 'strict';
}

export interface HostKeyVerifier {
  /** ssh2's `hostVerifier`. */
  verify(key: Buffer, verify: (ok: boolean) => void): void;
  /** Why the last key was refused, or null. */
  readonly refusal: HostKeyError | null;
  /** Whether an unknown key was recorded in known_hosts (accept-new). */
  readonly recorded: boolean;
  /** The host key algorithms to offer, the types known for this host first. */
  readonly algorithms: string[];
}

/**
 * A verifier for one connection attempt to `cfg`; `where` names the hop in messages
 * ("user@host port 2222 via jump").
 */
export function hostKeyVerifier(
  cfg: HostConfig,
  options: { policy: HostKeyPolicy | undefined; where: string; debug?: ((line: string) => void) | undefined },
): HostKeyVerifier {
  const { where, debug } = options;
  const name = cfg.hostKeyAlias ?? knownHostsName(cfg.hostname, cfg.port);
  const files = [...cfg.userKnownHostsFiles, ...cfg.globalKnownHostsFiles];
  const policy = policyFor(cfg, options.policy);
  let refusal: HostKeyError | null = null;
  let recorded = false;
  const verify = (key: Buffer, verify: (ok: boolean) => void): void => {
    // Read at handshake time: another gateway may just have recorded this host.
    const entries = readKnownHosts(files);
    const verdict = checkHostKey(entries, name, key);
    const type = keyTypeOf(key);
    const fp = fingerprint(key);
    const fpOf = (e: { key: string; keyType: string; file: string; line: number }) =>
      `${e.keyType} ${fingerprint(Buffer.from(e.key, 'base64'))} (${tildify(e.file)}:${e.line})`;
    if (verdict.status === 'match') {
      verify(true);
      return;
    }
    if (verdict.status === 'revoked') {
      refusal = new HostKeyError(
        `ssh ${where}: the host key ${type} ${fp} is marked @revoked in ${tildify(verdict.entry.file)}:${verdict.entry.line}; refusing to connect.`,
        { host: name, port: cfg.port, reason: 'revoked', keyType: type, fingerprint: fp, knownFingerprints: [fpOf(verdict.entry)], knownHostsFiles: files },
      );
      verify(false);
      return;
    }
    if (verdict.status === 'changed') {
      refusal = new HostKeyError(
        `ssh ${where}: HOST KEY CHANGED for ${name}. The server presented ${type} ${fp}, but known_hosts has ` +
          `${verdict.known.map(fpOf).join(', ')}. Someone could be intercepting the connection, or the host was reinstalled. ` +
          `If the change is expected, remove the old key (ssh-keygen -R '${name}'${files[0] ? ` -f ${tildify(files[0])}` : ''}) and connect again.`,
        { host: name, port: cfg.port, reason: 'changed', keyType: type, fingerprint: fp, knownFingerprints: verdict.known.map(fpOf), knownHostsFiles: files },
      );
      verify(false);
      return;
    }
    if (policy === 'accept-new') {
      const file = cfg.userKnownHostsFiles[0];
      if (file) {
        try {
          recordHostKey(file, name, key, cfg.hashKnownHosts);
          recorded = true;
          debug?.(`recorded ${name} ${type} ${fp} in ${file}`);
        } catch (error) {
          debug?.(`could not record the host key in ${file}: ${(error as Error).message}`);
        }
      }
      verify(true);
      return;
    }
    const others = verdict.other.length ? ` known_hosts has other key types for it: ${verdict.other.map(fpOf).join(', ')}.` : '';
    refusal = new HostKeyError(
      `ssh ${where}: the host key of ${name} is unknown (${type} ${fp}) and host key checking is strict.${others} ` +
        `Check the fingerprint, then add the key to ${tildify(cfg.userKnownHostsFiles[0] ?? '~/.ssh/known_hosts')} ` +
        `(ssh-keyscan${cfg.port === 22 ? '' : ` -p ${cfg.port}`} ${cfg.hostname}), or pass hostkey=accept-new to record it on first use.`,
      { host: name, port: cfg.port, reason: 'unknown', keyType: type, fingerprint: fp, knownFingerprints: verdict.other.map(fpOf), knownHostsFiles: files },
    );
    verify(false);
  };
  return {
    verify,
    get refusal() {
      return refusal;
    },
    get recorded() {
      return recorded;
    },
    algorithms: hostKeyAlgorithms(knownKeyTypes(readKnownHosts(files), name)),
  };
}
