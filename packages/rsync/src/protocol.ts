/**
 * The messages a sender and a receiver exchange over one channel, and the sizes both sides use.
 * The sender's list goes first; the receiver answers with what it needs; the sender streams it;
 * `done` asks for the receiver's report. Every message is checked on arrival (paths.ts,
 * checkNeed in sender.ts): the other side is untrusted.
 */

/** [path, type, mode, size, mtimeMs, extra]: extra is the link target (links) or content hash (files, checksum mode). */
export type Entry = [path: string, type: 'f' | 'd' | 'l', mode: number, size: number, mtimeMs: number, extra: string | null];

export const PATH = 0;
export const TYPE = 1;
export const MODE = 2;
export const SIZE = 3;
export const MTIME = 4;
export const EXTRA = 5;

/** Block signature of the receiver's old file: weak rolling sums and 8 bytes of xxh128 per block. */
export interface Signature {
  blockSize: number;
  /** Length of the basis file. */
  size: number;
  /** Uint32 little-endian per block. */
  weak: Uint8Array;
  /** 8 bytes per block. */
  strong: Uint8Array;
}

export type ListMessage = { t: 'list'; entries: Entry[]; done: boolean; skipped?: string[]; protect?: string[] };
/** [index into the list, signature of the old file to send a delta against, or null for the whole file]. */
export type NeedMessage = { t: 'need'; files: Array<[number, Signature | null]> };
/** Small files, whole: [index, content]. */
export type FilesMessage = { t: 'files'; items: Array<[number, Uint8Array]> };
/** A large file follows: Uint8Array items are literal bytes, [block, count] items copy from the old file. */
export type BeginMessage = { t: 'begin'; i: number; delta: boolean };
/** `hash`: xxh128 of the content, for deltas; null for whole files (the channel guards those). */
export type EndMessage = { t: 'end'; i: number; hash: string | null };
export type GoneMessage = { t: 'gone'; i: number };
export type DoneMessage = { t: 'done' };

export interface ReceiverReport {
  t: 'report';
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: number;
  skipped: string[];
  /** Payload bytes the receiver took in. */
  received: number;
}

/** Files up to this size go whole, batched; larger ones stream, as deltas when an old version exists. */
export const SMALL_FILE = 128 * 1024;
/** A delta needs an old file at least this large; below it a whole copy is as cheap. */
export const DELTA_MIN = 64 * 1024;
/**
 * Read size for large files and the most a batch of small ones holds: under a gateway's default
 * maxFrame (1 MiB) with room for the item's header, so each message is one frame and the
 * receiver takes it without assembling pieces.
 */
export const CHUNK = 1024 * 1024 - 16 * 1024;
/** List entries per message. */
export const LIST_BATCH = 4096;
/** Temporary files are named `${TEMP_PREFIX}<id>.tmp` beside their destination. */
export const TEMP_PREFIX = '.~tsnet-rsync.';
export const TEMP_RE = /^\.~tsnet-rsync\..*\.tmp$/;

/** rsync's block size: 700 bytes up to 490,000 bytes, then √size rounded to 8, at most 128 KiB. */
export function blockSizeFor(size: number): number {
  if (size <= 700 * 700) return 700;
  const b = Math.floor(Math.sqrt(size) / 8) * 8;
  return Math.min(b, 128 * 1024);
}

/** What both sides need of a channel (a @tsnet/core Channel is one). */
export interface Link {
  send(item: unknown): Promise<void>;
  receive(): Promise<unknown>;
}

/** Payload size of a message, for the byte counts of the reports. */
export function sizeOf(item: unknown): number {
  if (item instanceof Uint8Array) return item.length;
  if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'number') return 12;
  if (typeof item === 'object' && item !== null && (item as { t?: unknown }).t === 'files') {
    let n = 16;
    for (const [, data] of (item as FilesMessage).items) n += data.length + 8;
    return n;
  }
  return JSON.stringify(item, (_k, v) => (v instanceof Uint8Array ? v.length : v)).length;
}
