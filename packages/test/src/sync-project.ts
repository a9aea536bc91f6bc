/**
 * `--rsync-dir DIR`: the project onto the gateways that do not see this file system, to the same
 * absolute path. Found out, not assumed: a marker file with a random name is written into DIR
 * here, and each gateway is asked whether it sees it. One that does not gets DIR synced (with
 * @tsnet/rsync: `.gitignore` honoured in every directory, `.git` left out, node_modules included
 * unless ignored, what the source no longer has deleted), and then the marker written there, so
 * that the other gateways on that host see it and are not synced again: once per host. The markers
 * are removed here and there at the end, also on failure. A sync failure rejects (nothing runs).
 */
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RSync } from '@tsnet/rsync';
import type { WorkerSlot } from './worker-slot.js';

export interface SyncReport {
  gatewayId: string;
  spec: string;
  /** The gateway saw DIR already (this file system, or a host synced earlier in this run). */
  shared: boolean;
  /** Files created or updated, and payload bytes sent (0 and 0 for a second run with no change). */
  files: number;
  bytes: number;
}

async function probe(channel: { send(v: unknown): Promise<void> }, kwargs: { marker: string; write: boolean; remove: boolean }) {
  const fs = await import('node:fs');
  if (kwargs.write) fs.writeFileSync(kwargs.marker, 'tsnet-test marker\n');
  if (kwargs.remove) fs.rmSync(kwargs.marker, { force: true });
  await channel.send(fs.existsSync(kwargs.marker));
}

async function ask(slot: WorkerSlot, marker: string, mode: { write?: boolean; remove?: boolean } = {}): Promise<boolean> {
  const gw = slot.gateway;
  if (!gw) throw new Error(`${slot.spec} is not open`);
  const ch = gw.remoteExec(probe as never, { marker, write: mode.write ?? false, remove: mode.remove ?? false });
  const seen = (await ch.receive()) as boolean;
  await ch.waitClose();
  return seen;
}

export async function syncProject(dir: string, slots: WorkerSlot[], signal?: AbortSignal): Promise<SyncReport[]> {
  const root = resolve(dir);
  const name = `.tsnet-test-marker-${randomUUID()}`;
  const marker = join(root, name);
  writeFileSync(marker, 'tsnet-test marker\n');
  const reports: SyncReport[] = [];
  const synced: WorkerSlot[] = [];
  try {
    // One at a time: a host synced through one gateway is then seen by its other gateways.
    for (const slot of slots) {
      const gatewayId = slot.gateway?.id ?? slot.spec;
      if (await ask(slot, marker)) {
        reports.push({ gatewayId, spec: slot.spec, shared: true, files: 0, bytes: 0 });
        continue;
      }
      const rsync = new RSync(root, { ignoreFiles: ['.gitignore'], exclude: ['.git/', '.tsnet-test-marker-*'] });
      rsync.addTarget(slot.gateway as NonNullable<WorkerSlot['gateway']>, root, { delete: true });
      const { targets } = await rsync.send(signal ? { signal } : {});
      const t = targets[0];
      reports.push({ gatewayId, spec: slot.spec, shared: false, files: (t?.created.length ?? 0) + (t?.updated.length ?? 0), bytes: t?.bytesSent ?? 0 });
      await ask(slot, marker, { write: true });
      synced.push(slot);
    }
  } finally {
    rmSync(marker, { force: true });
    await Promise.all(synced.map((slot) => ask(slot, marker, { remove: true }).catch(() => false)));
  }
  return reports;
}
