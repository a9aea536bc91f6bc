/**
 * Resolved ssh config per host, kept by a provider so that the gateways to one host evaluate it
 * once (`ssh -G` is a process start per evaluation: at fleet size, thousands of them).
 *
 * Contract: an entry is reused while the config files it came from (the `configFile`, or
 * ~/.ssh/config and /etc/ssh/ssh_config) keep their size and mtime; files pulled in by `Include`
 * are not watched (a change there is seen by the next provider, or after the main file changes).
 * Concurrent lookups of one key share one evaluation; a failed one is not kept.
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type HostConfig, type ResolveOptions, resolveHostConfig } from './host-config.js';

const SYSTEM_CONFIG = '/etc/ssh/ssh_config';

function stamp(options: ResolveOptions): string {
  const files = options.configFile ? [options.configFile] : [join(homedir(), '.ssh', 'config'), SYSTEM_CONFIG];
  return files
    .map((f) => {
      const s = statSync(f, { throwIfNoEntry: false });
      return s ? `${s.size}:${s.mtimeMs}` : '-';
    })
    .join(' ');
}

export class HostConfigCache {
  readonly #entries = new Map<string, { stamp: string; config: Promise<HostConfig> }>();

  resolve(host: string, options: ResolveOptions): Promise<HostConfig> {
    const key = JSON.stringify([host, options.configFile ?? null, options.user ?? null, options.port ?? null, options.resolver ?? 'auto']);
    const now = stamp(options);
    const hit = this.#entries.get(key);
    if (hit && hit.stamp === now) return hit.config;
    const config = resolveHostConfig(host, options);
    const entry = { stamp: now, config };
    this.#entries.set(key, entry);
    config.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return config;
  }
}
