/**
 * pullDir(): the other direction. The agent scans remoteDir on the gateway and sends; this side
 * receives into localDir with the same checks as a remote receiver (names are untrusted: nothing
 * is written or deleted outside localDir; a bad name rejects with UnsafePathError before anything
 * is written for it). `filter` runs here, on the remote entries (a Stats-like object with
 * isFile/isDirectory/isSymbolicLink, size, mode and mtimeMs).
 */
import { resolve } from 'node:path';
import type { Channel, Gateway } from '@tsnet/core';
import type { AgentArgs } from './agent.js';
import { agentSource } from './agent-source.js';
import { receive } from './receiver.js';
import type { RSyncOptions, SendOptions, TargetReport } from './rsync.js';

export interface PullOptions extends RSyncOptions, Pick<SendOptions, 'signal'> {
  delete?: boolean;
}

/** Receives over an open channel whose other end is a sender (the agent, or a test's own). */
export async function pullOver(channel: Channel, gatewayId: string, localDir: string, options: PullOptions = {}): Promise<TargetReport> {
  const { signal } = options;
  signal?.throwIfAborted();
  const onAbort = () => void channel.close(signal?.reason instanceof Error ? signal.reason : new Error('aborted')).catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const report = await receive(channel, resolve(localDir), {
      delete: options.delete,
      dryRun: options.dryRun,
      checksum: options.checksum,
      exclude: options.exclude,
      ignoreFiles: options.ignoreFiles,
      filter: options.filter,
    });
    await channel.waitClose().catch(() => {});
    return {
      gatewayId,
      destDir: localDir,
      created: report.created,
      updated: report.updated,
      deleted: report.deleted,
      unchanged: report.unchanged,
      skipped: report.skipped,
      bytesSent: report.received,
    };
  } catch (error) {
    await channel.close(error instanceof Error ? error : undefined).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export async function pullDir(gateway: Gateway, remoteDir: string, localDir: string, options: PullOptions = {}): Promise<TargetReport> {
  const kwargs: AgentArgs = {
    role: 'send',
    root: remoteDir,
    checksum: options.checksum === true,
    exclude: options.exclude ?? [],
    ignoreFiles: options.ignoreFiles ?? [],
  };
  const channel = gateway.remoteExec(agentSource(), kwargs as unknown as Record<string, unknown>);
  return pullOver(channel, gateway.id, localDir, options);
}
