/**
 * RSync: one source directory pushed to many gateways at once. addTarget() starts nothing;
 * send() scans once, starts the agent on every target, streams through sender.ts, and resolves
 * with one report per target. A target that fails does not stop the others: send() then rejects
 * with an RSyncError naming it (the reports of the others are on the error's `reports`). send()
 * without targets added since the last send() throws an RSyncError. An aborted signal closes every
 * channel; each receiver removes its temporary file, and send() rejects with the signal's reason.
 */
import type { Stats } from 'node:fs';
import { resolve } from 'node:path';
import type { Channel, Gateway } from '@tsnet/core';
import type { AgentArgs } from './agent.js';
import { agentSource } from './agent-source.js';
import { RSyncError } from './errors.js';
import { createHasher } from './hash.js';
import { scan } from './scan.js';
import { type Progress, sendTree } from './sender.js';

export interface RSyncOptions {
  /** gitignore patterns, relative to the source directory. */
  exclude?: string[];
  /** Names of ignore files honoured in every directory, e.g. ['.gitignore']. */
  ignoreFiles?: string[];
  /** false leaves the entry out (and keeps a receiver's copy from being deleted). */
  filter?: (relPath: string, stat: Stats) => boolean;
  /** Compare content (xxh128) even when size and mtime agree. */
  checksum?: boolean;
  /** Compare and report, write nothing. */
  dryRun?: boolean;
}

export interface TargetOptions {
  /** Delete what the destination has and the source does not (excluded paths are kept). */
  delete?: boolean;
  /** Called when this target is done. */
  finished?: () => void;
}

export interface TargetReport {
  gatewayId: string;
  destDir: string;
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: number;
  skipped: string[];
  /** Payload bytes sent to this target: list, file data, delta instructions. */
  bytesSent: number;
}

export interface SyncReport {
  targets: TargetReport[];
}

export type ProgressEvent = Progress & { gatewayId: string };

export interface SendOptions {
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

interface Target {
  gateway: Gateway;
  destDir: string;
  options: TargetOptions;
}

/** A send() that failed for some targets; `reports` holds the targets that finished. */
export class RSyncTargetError extends RSyncError {
  readonly reports: TargetReport[];
  readonly failures: Array<{ gatewayId: string; destDir: string; error: unknown }>;
  constructor(failures: Array<{ gatewayId: string; destDir: string; error: unknown }>, reports: TargetReport[]) {
    const list = failures.map((f) => `${f.gatewayId}:${f.destDir}: ${(f.error as Error)?.message ?? String(f.error)}`).join('; ');
    super(`sync failed for ${failures.length} of ${failures.length + reports.length} targets: ${list}`, { cause: failures[0]?.error });
    this.reports = reports;
    this.failures = failures;
  }
}

export class RSync {
  readonly #source: string;
  readonly #options: RSyncOptions;
  #targets: Target[] = [];
  #sent = false;

  constructor(sourceDir: string, options: RSyncOptions = {}) {
    this.#source = resolve(sourceDir);
    this.#options = options;
  }

  addTarget(gateway: Gateway, destDir: string, options: TargetOptions = {}): void {
    if (typeof destDir !== 'string' || destDir === '') throw new RSyncError('addTarget() needs a destination directory (a non-empty string)');
    this.#targets.push({ gateway, destDir, options });
  }

  async send(options: SendOptions = {}): Promise<SyncReport> {
    const targets = this.#targets;
    if (targets.length === 0) {
      throw new RSyncError(
        this.#sent
          ? 'send() was called again without new targets: add them with addTarget() first'
          : 'send() has no targets: add them with addTarget(gateway, destDir) first',
      );
    }
    this.#targets = [];
    this.#sent = true;
    const { signal, onProgress } = options;
    signal?.throwIfAborted();
    const o = this.#options;
    const tree = await scan(this.#source, {
      exclude: o.exclude,
      ignoreFiles: o.ignoreFiles,
      filter: o.filter,
      hasher: o.checksum ? await createHasher() : undefined,
    });
    const source = agentSource();
    const channels: Channel[] = targets.map((t) => {
      const kwargs: AgentArgs = {
        role: 'receive',
        destDir: t.destDir,
        delete: t.options.delete === true,
        dryRun: o.dryRun === true,
        checksum: o.checksum === true,
        exclude: o.exclude ?? [],
        ignoreFiles: o.ignoreFiles ?? [],
      };
      return t.gateway.remoteExec(source, kwargs as unknown as Record<string, unknown>);
    });
    const onAbort = () => {
      for (const ch of channels) void ch.close(signal?.reason instanceof Error ? signal.reason : new Error('aborted')).catch(() => {});
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let ok = false;
    try {
      const results = await sendTree(
        this.#source,
        tree,
        channels.map((link, k) => ({
          link,
          onProgress: onProgress && ((p: Progress) => onProgress({ gatewayId: targets[k]!.gateway.id, ...p })),
        })),
      );
      signal?.throwIfAborted();
      const reports: TargetReport[] = [];
      const failures: Array<{ gatewayId: string; destDir: string; error: unknown }> = [];
      for (const [k, r] of results.entries()) {
        const t = targets[k]!;
        if (r.status === 'rejected') {
          failures.push({ gatewayId: t.gateway.id, destDir: t.destDir, error: r.reason });
          void channels[k]!.close().catch(() => {});
          continue;
        }
        const { report, bytesSent } = r.value;
        reports.push({
          gatewayId: t.gateway.id,
          destDir: t.destDir,
          created: report.created,
          updated: report.updated,
          deleted: report.deleted,
          unchanged: report.unchanged,
          skipped: report.skipped,
          bytesSent,
        });
        t.options.finished?.();
      }
      if (failures.length > 0) throw new RSyncTargetError(failures, reports);
      await Promise.all(channels.map((ch) => ch.waitClose().catch(() => {})));
      ok = true;
      return { targets: reports };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // a local failure (a source that cannot be read) must not leave the agents waiting
      if (!ok) for (const ch of channels) void ch.close().catch(() => {});
    }
  }
}
