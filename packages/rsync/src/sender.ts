/**
 * The sending side of a sync (local for a push, remote for a pull), to one or many receivers at
 * once. It sends the list, takes every receiver's needs, then reads each needed file once and
 * feeds it to every receiver that wants it: whole (small files batched), or through a Matcher
 * per receiver for deltas. Each receiver has its own send queue; after each chunk the sender waits
 * until every queue is under HIGH_WATER, so the slowest receiver paces the reading and memory
 * stays bounded (N × HIGH_WATER plus the channel windows). A receiver that fails is dropped from
 * the fan-out and the others carry on; its error is in its result. Requests are checked: an index
 * that is not a file of the list, or a path, is refused (UnsafePathError / ProtocolError).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '@tsnet/core';
import { type DeltaOp, Matcher } from './delta.js';
import { UnsafePathError } from './errors.js';
import { createHasher, type Hasher } from './hash.js';
import { CHUNK, type Entry, LIST_BATCH, type Link, PATH, type ReceiverReport, SIZE, type Signature, SMALL_FILE, sizeOf, TYPE } from './protocol.js';
import type { Scan } from './scan.js';

const HIGH_WATER = 8 * 1024 * 1024;

export interface Progress {
  phase: 'scan' | 'transfer' | 'done';
  path?: string;
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface SendTarget {
  link: Link;
  onProgress?: ((p: Progress) => void) | undefined;
}

export interface SendResult {
  bytesSent: number;
  report: ReceiverReport;
}

class Peer {
  readonly link: Link;
  readonly onProgress: ((p: Progress) => void) | undefined;
  need = new Map<number, Signature | null>();
  failed: unknown = null;
  bytes = 0;
  files = 0;
  doneBytes = 0;
  totalFiles = 0;
  totalBytes = 0;
  #queued = 0;
  #wake: (() => void) | null = null;
  batch: Array<[number, Uint8Array]> = [];
  batchBytes = 0;
  matcher: Matcher | null = null;
  recipe: Hasher | null = null;

  constructor(t: SendTarget) {
    this.link = t.link;
    this.onProgress = t.onProgress;
  }

  get ok(): boolean {
    return this.failed === null;
  }

  fail(error: unknown): void {
    if (this.failed === null) this.failed = error;
    this.#wake?.();
  }

  enqueue(item: unknown): void {
    if (!this.ok) return;
    const size = sizeOf(item);
    this.bytes += size;
    this.#queued += size;
    this.link.send(item).then(
      () => {
        this.#queued -= size;
        if (this.#queued < HIGH_WATER) this.#wake?.();
      },
      (error: unknown) => this.fail(error),
    );
  }

  async ready(limit = HIGH_WATER): Promise<void> {
    while (this.ok && this.#queued > limit) {
      await new Promise<void>((r) => {
        this.#wake = r;
      });
      this.#wake = null;
    }
  }

  flushBatch(): void {
    if (this.batch.length === 0) return;
    this.enqueue({ t: 'files', items: this.batch });
    this.batch = [];
    this.batchBytes = 0;
  }

  progress(phase: Progress['phase'], path?: string): void {
    const p: Progress = { phase, files: this.files, totalFiles: this.totalFiles, bytes: this.doneBytes, totalBytes: this.totalBytes };
    if (path !== undefined) p.path = path;
    this.onProgress?.(p);
  }
}

function checkSignature(sig: unknown, path: string): Signature | null {
  if (sig === null) return null;
  const s = sig as Signature;
  const ok =
    typeof s === 'object' &&
    Number.isSafeInteger(s.blockSize) &&
    s.blockSize >= 1 &&
    s.blockSize <= 1 << 20 &&
    Number.isSafeInteger(s.size) &&
    s.size >= 1 &&
    s.weak instanceof Uint8Array &&
    s.strong instanceof Uint8Array &&
    s.weak.length === 4 * Math.ceil(s.size / s.blockSize) &&
    s.strong.length === 2 * s.weak.length;
  if (!ok) throw new ProtocolError(`the receiving side sent a malformed block signature for ${path}`);
  return s;
}

/** Checks a receiver's `need` message against the list this side sent. */
export function checkNeed(msg: unknown, entries: readonly Entry[]): Map<number, Signature | null> {
  const m = msg as { t?: unknown; files?: unknown };
  if (typeof m !== 'object' || m === null || m.t !== 'need' || !Array.isArray(m.files))
    throw new ProtocolError('expected the list of needed files from the receiving side');
  const need = new Map<number, Signature | null>();
  for (const item of m.files as unknown[]) {
    const [i, sig] = Array.isArray(item) ? item : [item, null];
    if (typeof i === 'string') throw new UnsafePathError(i, 'the receiving side asked for a path instead of an entry of the list it was sent');
    if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0 || i >= entries.length) {
      throw new ProtocolError(`the receiving side asked for entry ${String(i)}; the list it was sent has ${entries.length}`);
    }
    const e = entries[i]!;
    if (e[TYPE] !== 'f') throw new UnsafePathError(e[PATH], 'the receiving side asked for the content of something that is not a file');
    if (need.has(i)) throw new ProtocolError(`the receiving side asked for ${e[PATH]} twice`);
    need.set(i, checkSignature(sig, e[PATH]));
  }
  return need;
}

function readAt(fd: number, buf: Uint8Array, pos: number): number {
  return readSync(fd, buf, 0, buf.length, pos);
}

/** The file went away or cannot be read since the walk: it is skipped (and reported), not fatal. */
function gone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EACCES' || code === 'EPERM';
}

async function streamFile(root: string, entries: readonly Entry[], i: number, peers: Peer[], blockHasher: Hasher): Promise<void> {
  const e = entries[i]!;
  let fd: number;
  try {
    fd = openSync(join(root, e[PATH]), 'r');
  } catch (error) {
    if (!gone(error)) throw error;
    for (const p of peers) p.enqueue({ t: 'gone', i });
    return;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= SMALL_FILE && peers.every((p) => p.need.get(i) === null)) {
      const data = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, data, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      const content = got === size ? data : data.subarray(0, got);
      for (const p of peers) {
        if (p.batchBytes + content.length + 64 > CHUNK) p.flushBatch();
        p.batch.push([i, content]);
        p.batchBytes += content.length + 64;
      }
      return;
    }
    for (const p of peers) {
      p.flushBatch();
      const sig = p.need.get(i) ?? null;
      p.matcher = sig ? new Matcher(sig, blockHasher, p.recipe!) : null;
      p.enqueue({ t: 'begin', i, delta: sig !== null });
    }
    // Deltas are checked with their recipe hash (delta.ts); whole files rely on the channel's own
    // integrity (pipe, TCP, SSH's MAC), as a hash of them would catch nothing more.
    // A sent array is not copied, so a chunk sent whole is fresh each time; when every target takes
    // a delta, one buffer serves the whole file (a Matcher keeps nothing of a chunk it was fed).
    const reuse = peers.every((p) => p.matcher !== null) ? Buffer.allocUnsafe(CHUNK) : null;
    for (let pos = 0; ; ) {
      const chunk = reuse ?? Buffer.allocUnsafe(CHUNK);
      const n = readAt(fd, chunk, pos);
      if (n === 0) break;
      pos += n;
      const data = n === CHUNK ? chunk : chunk.subarray(0, n);
      for (const p of peers) {
        if (!p.ok) continue;
        if (p.matcher) for (const op of p.matcher.feed(data)) p.enqueue(op);
        else p.enqueue(data);
      }
      await Promise.all(peers.map((p) => p.ready()));
    }
    for (const p of peers) {
      if (p.matcher) for (const op of p.matcher.finish() as DeltaOp[]) p.enqueue(op);
      p.enqueue({ t: 'end', i, hash: p.matcher ? p.matcher.recipe() : null });
      p.matcher = null;
    }
  } finally {
    closeSync(fd);
  }
}

function checkReport(msg: unknown): ReceiverReport {
  const r = msg as ReceiverReport;
  const list = (x: unknown) => Array.isArray(x) && x.every((p) => typeof p === 'string');
  if (
    typeof r !== 'object' ||
    r === null ||
    r.t !== 'report' ||
    !list(r.created) ||
    !list(r.updated) ||
    !list(r.deleted) ||
    !list(r.skipped) ||
    typeof r.unchanged !== 'number'
  ) {
    throw new ProtocolError('expected the report of the receiving side');
  }
  return r;
}

/**
 * Sends `tree` (scanned from `root`) to every target. Resolves with one settled result per target,
 * in order; never rejects for a target's failure (only for a local read error, which fails all).
 */
export async function sendTree(root: string, tree: Scan, targets: readonly SendTarget[]): Promise<Array<PromiseSettledResult<SendResult>>> {
  const { entries } = tree;
  const peers = targets.map((t) => new Peer(t));
  const blockHasher = await createHasher();
  // one recipe hasher per target: each target's delta is its own
  await Promise.all(peers.map(async (p) => (p.recipe = await createHasher())));
  for (const p of peers) {
    for (let k = 0; k < entries.length || k === 0; k += LIST_BATCH) {
      const done = k + LIST_BATCH >= entries.length;
      const msg: Record<string, unknown> = { t: 'list', entries: entries.slice(k, k + LIST_BATCH), done };
      if (done) Object.assign(msg, { skipped: tree.skipped, protect: tree.protect });
      p.enqueue(msg);
    }
  }
  await Promise.all(
    peers.map(async (p) => {
      try {
        p.need = checkNeed(await p.link.receive(), entries);
        p.totalFiles = p.need.size;
        for (const i of p.need.keys()) p.totalBytes += entries[i]![SIZE];
        p.progress('scan');
      } catch (error) {
        p.fail(error);
      }
    }),
  );
  const wanted = new Set<number>();
  for (const p of peers) if (p.ok) for (const i of p.need.keys()) wanted.add(i);
  const order = [...wanted].sort((a, b) => a - b);
  const serve = async (list: readonly number[], who: Peer[], whole: boolean) => {
    for (const i of list) {
      const want = who.filter((p) => p.ok && p.need.has(i));
      if (want.length === 0) continue;
      if (whole) for (const p of want) p.need.set(i, null);
      await streamFile(root, entries, i, want, blockHasher);
      for (const p of want) {
        p.files++;
        p.doneBytes += entries[i]![SIZE];
        p.progress('transfer', entries[i]![PATH]);
      }
      await Promise.all(want.map((p) => p.ready()));
    }
  };
  await serve(order, peers, false);
  return Promise.all(
    peers.map(async (p): Promise<PromiseSettledResult<SendResult>> => {
      try {
        for (let round = 0; ; round++) {
          p.flushBatch();
          p.enqueue({ t: 'done' });
          await p.ready(0);
          if (!p.ok) throw p.failed;
          const msg = await p.link.receive();
          if ((msg as { t?: unknown }).t === 'need' && round === 0) {
            // Delta blocks that matched by hash but not in content (a collision): those files again, whole.
            const again = checkNeed(msg, entries);
            for (const [i] of again) p.need.set(i, null);
            await serve([...again.keys()], [p], true);
            continue;
          }
          const report = checkReport(msg);
          if (!p.ok) throw p.failed;
          p.progress('done');
          return { status: 'fulfilled', value: { bytesSent: p.bytes, report } };
        }
      } catch (error) {
        return { status: 'rejected', reason: p.failed ?? error };
      }
    }),
  );
}
