/**
 * The receiving side of a sync (remote for a push, local for a pull). It takes the sender's list,
 * checks every name (paths.ts) before touching anything, makes the directories, compares each
 * entry with what destDir holds, answers with what it needs (old-file signatures for deltas),
 * writes what arrives through writer.ts, then deletes extraneous entries (with `delete`), sets the
 * directories' modes and mtimes, and reports. Links in the way of a directory are replaced by the
 * directory, never followed. On any error the current temporary file is removed and the error
 * propagates (the channel closes with it). In a dry run nothing is written.
 */
import {
  chmodSync,
  closeSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  type Stats,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '@tsnet/core';
import { type LocalSignature, signatureOf } from './delta.js';
import { createHasher, type Hasher } from './hash.js';
import { checkEntries, checkNames, parentOf } from './paths.js';
import { DELTA_MIN, type Entry, EXTRA, type Link, MODE, MTIME, PATH, type ReceiverReport, SIZE, type Signature, SMALL_FILE, sizeOf, TYPE } from './protocol.js';
import { hashFile, type Rules, scan } from './scan.js';
import { StreamWriter, tempBeside, writeWholeAsync } from './writer.js';

export interface ReceiveOptions extends Rules {
  delete?: boolean | undefined;
  dryRun?: boolean | undefined;
  checksum?: boolean | undefined;
  /** Local pulls only: entries it refuses are left out (and protected from delete). */
  filter?: ((relPath: string, stat: Stats) => boolean) | undefined;
}

const YIELD_EVERY = 64 * 1024 * 1024;
const sameTime = (a: number, b: number) => Math.abs(a - b) < 1;

function kindOf(st: Stats): 'f' | 'd' | 'l' | 'x' {
  return st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'x';
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null; // no exception per new file
  } catch {
    return null;
  }
}

function statShim(e: Entry): Stats {
  const type = e[TYPE];
  return {
    isFile: () => type === 'f',
    isDirectory: () => type === 'd',
    isSymbolicLink: () => type === 'l',
    size: e[SIZE],
    mode: e[MODE],
    mtimeMs: e[MTIME],
  } as Stats;
}

async function readList(link: Link, counter: { n: number }): Promise<{ entries: Entry[]; skipped: string[]; protect: string[] }> {
  const entries: Entry[] = [];
  const dirs = new Set<string>();
  const seen = new Set<string>();
  const skipped: string[] = [];
  const protect: string[] = [];
  for (;;) {
    const msg = (await link.receive()) as { t?: unknown; entries?: unknown; done?: unknown; skipped?: unknown; protect?: unknown };
    counter.n += sizeOf(msg);
    if (typeof msg !== 'object' || msg === null || msg.t !== 'list') throw new ProtocolError('expected the file list from the sending side');
    for (const e of checkEntries(msg.entries, dirs, seen)) entries.push(e);
    skipped.push(...checkNames(msg.skipped));
    protect.push(...checkNames(msg.protect));
    if (msg.done === true) return { entries, skipped, protect };
  }
}

export async function receive(link: Link, destDir: string, options: ReceiveOptions = {}): Promise<ReceiverReport> {
  const dry = options.dryRun === true;
  const counter = { n: 0 };
  const { entries, skipped, protect } = await readList(link, counter);
  const report: ReceiverReport = { t: 'report', created: [], updated: [], deleted: [], unchanged: 0, skipped, received: 0 };
  const hasher = await createHasher();

  // Entries the local filter refuses (pulls), with everything under them.
  const dropped = new Set<number>();
  if (options.filter) {
    const droppedDirs: string[] = [];
    for (const [i, e] of entries.entries()) {
      const p = e[PATH];
      if (droppedDirs.some((d) => p.startsWith(`${d}/`))) dropped.add(i);
      else if (!options.filter(p, statShim(e))) {
        dropped.add(i);
        protect.push(p);
        if (e[TYPE] === 'd') droppedDirs.push(p);
      }
    }
  }

  if (!dry) mkdirSync(destDir, { recursive: true });
  const have = await scan(destDir, { exclude: options.exclude, ignoreFiles: options.ignoreFiles, missingOk: true });
  if (!dry) for (const t of have.temps) rmSync(t, { force: true });
  /** Dest subtrees removed because a list entry of another type took their place. */
  const replaced = new Set<string>();

  const need: Array<[number, Signature | null]> = [];
  /** The full digests and identity of each old file a delta is asked against. */
  const kept = new Map<number, LocalSignature>();
  const dirsToFinish: Entry[] = [];
  /** Directories this run makes (or, dry, would make): what goes in them is new, no lstat needed. */
  const madeDirs = new Set<string>();
  for (const [i, e] of entries.entries()) {
    if (dropped.has(i)) continue;
    const rel = e[PATH];
    const path = join(destDir, rel);
    // lstat even what the walk did not list (excluded by this side's rules): it may still be in the
    // way; but not inside a directory just made (every entry's parent is listed before it)
    const old = madeDirs.has(parentOf(rel)) ? null : lstatOrNull(path);
    const oldKind = old ? kindOf(old) : null;
    const type = e[TYPE];
    if (old && oldKind !== type) {
      // A different kind is in the way (a link where a directory goes, a directory where a file goes): remove it, never follow it.
      replaced.add(rel);
      if (!dry) rmSync(path, { recursive: true, force: true });
    }
    const isNew = old === null;
    const changedKind = old !== null && oldKind !== type;
    if (type === 'd') {
      if (isNew || changedKind) {
        (isNew ? report.created : report.updated).push(rel);
        if (!dry) mkdirSync(path, { mode: 0o700 });
        madeDirs.add(rel);
      } else {
        report.unchanged++;
        if (!dry && (old!.mode & 0o300) !== 0o300) chmodSync(path, (old!.mode & 0o7777) | 0o700);
      }
      dirsToFinish.push(e);
    } else if (type === 'l') {
      const target = e[EXTRA] as string;
      if (!isNew && !changedKind && readlinkSync(path) === target) {
        report.unchanged++;
        continue;
      }
      (isNew ? report.created : report.updated).push(rel);
      if (!dry) {
        const temp = tempBeside(path);
        symlinkSync(target, temp);
        try {
          lutimesSync(temp, e[MTIME] / 1000, e[MTIME] / 1000);
        } catch {
          // not every file system keeps link times
        }
        renameSync(temp, path);
      }
    } else {
      if (isNew || changedKind) {
        (isNew ? report.created : report.updated).push(rel);
        need.push([i, null]);
        continue;
      }
      const sameSize = old!.size === e[SIZE];
      let sameContent = sameSize && sameTime(old!.mtimeMs, e[MTIME]) && !options.checksum;
      if (!sameContent && options.checksum && sameSize && typeof e[EXTRA] === 'string') sameContent = hashFile(path, old!.size, hasher) === e[EXTRA];
      if (sameContent) {
        const modeDiffers = (old!.mode & 0o7777) !== e[MODE];
        const timeDiffers = !sameTime(old!.mtimeMs, e[MTIME]);
        if (!modeDiffers && !timeDiffers) report.unchanged++;
        else {
          report.updated.push(rel);
          if (!dry) {
            if (modeDiffers) chmodSync(path, e[MODE]);
            if (timeDiffers) utimesSync(path, e[MTIME] / 1000, e[MTIME] / 1000);
          }
        }
        continue;
      }
      report.updated.push(rel);
      if (!dry && e[SIZE] > SMALL_FILE && old!.size >= DELTA_MIN) {
        const fd = openSync(path, 'r');
        try {
          const local = signatureOf(fd, old!.size, hasher);
          need.push([i, local.sig]);
          kept.set(i, local);
        } finally {
          closeSync(fd);
        }
      } else need.push([i, null]);
    }
  }

  await receiveData(link, destDir, entries, dry ? [] : need, kept, hasher, report, counter);

  // Delete what the list does not have, deepest first. A directory goes only once empty: what the
  // rules exclude (not in `have`) or the filter protects stays, and so does the directory holding it.
  if (options.delete) {
    const listed = new Set(entries.filter((_e, i) => !dropped.has(i)).map((e) => e[PATH]));
    const keep = new Set(protect);
    const under = (p: string, set: Iterable<string>) => {
      for (const d of set) if (p === d || p.startsWith(`${d}/`)) return true;
      return false;
    };
    const deletedChildren = new Map<string, number>();
    const deleted: string[] = [];
    for (let k = have.entries.length - 1; k >= 0; k--) {
      const e = have.entries[k]!;
      const p = e[PATH];
      if (listed.has(p) || under(p, keep) || under(p, replaced)) continue;
      const path = join(destDir, p);
      let gone = true;
      if (e[TYPE] === 'd') {
        if (dry) gone = readdirSync(path).length === (deletedChildren.get(p) ?? 0);
        else {
          try {
            rmdirSync(path);
          } catch {
            gone = false; // it holds something excluded or protected
          }
        }
      } else if (!dry) rmSync(path, { force: true });
      if (!gone) continue;
      deleted.push(p);
      const slash = p.lastIndexOf('/');
      const parent = slash < 0 ? '' : p.slice(0, slash);
      deletedChildren.set(parent, (deletedChildren.get(parent) ?? 0) + 1);
    }
    report.deleted = deleted.reverse();
  }

  if (!dry) {
    for (let k = dirsToFinish.length - 1; k >= 0; k--) {
      const e = dirsToFinish[k]!;
      const path = join(destDir, e[PATH]);
      chmodSync(path, e[MODE]);
      utimesSync(path, e[MTIME] / 1000, e[MTIME] / 1000);
    }
  }
  report.received = counter.n;
  await link.send(report);
  return report;
}

async function receiveData(
  link: Link,
  destDir: string,
  entries: Entry[],
  need: Array<[number, Signature | null]>,
  kept: Map<number, LocalSignature>,
  hasher: Hasher,
  report: ReceiverReport,
  counter: { n: number },
): Promise<void> {
  const pending = new Map<number, Signature | null>(need);
  await link.send({ t: 'need', files: need });
  const expect = (i: unknown): Entry => {
    if (typeof i !== 'number' || !pending.has(i)) throw new ProtocolError(`data arrived for list entry ${String(i)}, which was not asked for`);
    return entries[i]!;
  };
  let current: { writer: StreamWriter; i: number } | null = null;
  let retry: number[] = [];
  let copied = 0;
  try {
    for (;;) {
      const msg = (await link.receive()) as Record<string, unknown> | Uint8Array | unknown[];
      counter.n += sizeOf(msg);
      if (current) {
        if (msg instanceof Uint8Array) {
          current.writer.literal(msg);
          continue;
        }
        if (Array.isArray(msg)) {
          copied += current.writer.copy(msg[0], msg[1]);
          if (copied >= YIELD_EVERY) {
            copied = 0; // let the rest of this process run (a pull's local side is the caller's process)
            await new Promise((r) => setImmediate(r));
          }
          continue;
        }
        const m = msg as { t?: unknown; i?: unknown; hash?: unknown };
        if (m.t !== 'end' || m.i !== current.i || (typeof m.hash !== 'string' && m.hash !== null))
          throw new ProtocolError(`expected the end of ${current.writer.path}`);
        const e = entries[current.i]!;
        const sig = pending.get(current.i);
        pending.delete(current.i);
        if (sig && m.hash === null) throw new ProtocolError(`the delta of ${e[PATH]} ended without its content hash`);
        if (!current.writer.commit(m.hash as string | null, e[MODE], e[MTIME])) {
          if (!sig) throw new ProtocolError(`${e[PATH]} arrived whole with a content hash that does not match: the transfer is corrupt`);
          retry.push(current.i); // a block hash collision: ask for it whole
          pending.set(current.i, null);
        }
        current = null;
        continue;
      }
      const m = msg as { t?: unknown; i?: unknown; items?: unknown; delta?: unknown };
      if (m.t === 'files' && Array.isArray(m.items)) {
        const writes: Array<[Entry, Uint8Array]> = [];
        for (const item of m.items as unknown[]) {
          if (!Array.isArray(item) || !(item[1] instanceof Uint8Array)) throw new ProtocolError('a small-file item is not [index, bytes]');
          const e = expect(item[0]);
          if (pending.get(item[0] as number)) throw new ProtocolError(`${e[PATH]} was asked for as a delta and arrived whole`);
          pending.delete(item[0] as number);
          writes.push([e, item[1]]);
        }
        // checked whole before anything is written; then written several at a time
        await Promise.all(writes.map(([e, data]) => writeWholeAsync(join(destDir, e[PATH]), data, e[MODE], e[MTIME])));
      } else if (m.t === 'begin') {
        const e = expect(m.i);
        const sig = pending.get(m.i as number) ?? null;
        if (m.delta !== (sig !== null)) throw new ProtocolError(`${e[PATH]} arrived as ${m.delta ? 'a delta' : 'whole'}, not as asked`);
        const path = join(destDir, e[PATH]);
        const local = sig ? kept.get(m.i as number)! : null;
        const basis = local ? { path, blockSize: sig!.blockSize, size: sig!.size, full: local.full, identity: local.identity } : null;
        current = { i: m.i as number, writer: new StreamWriter(path, hasher, basis) };
      } else if (m.t === 'gone') {
        const e = expect(m.i);
        pending.delete(m.i as number);
        report.skipped.push(e[PATH]);
        for (const list of [report.created, report.updated]) {
          const k = list.indexOf(e[PATH]);
          if (k >= 0) list.splice(k, 1);
        }
      } else if (m.t === 'done') {
        if (retry.length > 0) {
          await link.send({ t: 'need', files: retry.map((i) => [i, null]) });
          retry = [];
          continue;
        }
        if (pending.size > 0) throw new ProtocolError(`the sending side finished without sending ${pending.size} requested files`);
        return;
      } else throw new ProtocolError(`unexpected message ${JSON.stringify(m).slice(0, 80)} from the sending side`);
    }
  } catch (error) {
    (current as { writer: StreamWriter } | null)?.writer.abort();
    throw error;
  }
}
