/**
 * Writes one destination file the safe way: into a new temporary file beside it (O_EXCL |
 * O_NOFOLLOW, so nothing planted there is followed), with its mode and mtime set, then renamed over
 * the destination, so the destination is at every moment its old or its new content. abort()
 * removes the temporary; a process killed mid-file leaves one, which the next run removes (the
 * receiver's walk lists them). Delta copies are checked against the old file's block count.
 */
import { closeSync, constants, copyFileSync, fchmodSync, ftruncateSync, futimesSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ProtocolError } from '@tsnet/core';
import { identityOf } from './delta.js';
import type { Hasher } from './hash.js';
import { TEMP_PREFIX } from './protocol.js';

let counter = 0;
const FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

export function tempBeside(path: string): string {
  return join(dirname(path), `${TEMP_PREFIX}${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}.tmp`);
}

function writeAll(fd: number, data: Uint8Array, position: number | null = null): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, position === null ? null : position + off);
}

/**
 * A small file in one go, through the thread pool, so that a batch of small files is created
 * several at a time: creating a file costs mostly waiting on the file system (journal, directory
 * locks), not CPU.
 */
export async function writeWholeAsync(path: string, data: Uint8Array, mode: number, mtimeMs: number): Promise<void> {
  const temp = tempBeside(path);
  const fh = await open(temp, FLAGS, 0o600);
  try {
    for (let off = 0; off < data.length; ) off += (await fh.write(data, off, data.length - off)).bytesWritten;
    await fh.chmod(mode);
    await fh.utimes(mtimeMs / 1000, mtimeMs / 1000);
  } catch (error) {
    await fh.close();
    await unlink(temp);
    throw error;
  }
  await fh.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

export interface Basis {
  path: string;
  blockSize: number;
  size: number;
  /** The receiver's 16-byte xxh128 of each old block (from its signature). */
  full: Uint8Array;
  /** identityOf() the old file when its signature was taken. */
  identity: string;
}

/**
 * A large file, streamed: literal bytes and copies from the old file. For a delta the temporary
 * starts as a copy of the old file made by the kernel (copyFileSync: a reflink where the file
 * system has them, an in-kernel copy otherwise), so a block that stays where it was is neither read
 * nor written; literals and moved blocks are written in place. The recipe hash (delta.ts) takes the
 * literals and the signature's digest of each copied block; the old file must keep the identity it
 * had for the signature (checked after the copy and at commit), else commit() fails and the file
 * is asked for again whole.
 */
export class StreamWriter {
  readonly path: string;
  readonly #temp: string;
  readonly #fd: number;
  readonly #hasher: Hasher;
  readonly #basis: Basis | null;
  readonly #basisFd: number | null;
  #buf: Buffer | null = null;
  #done = false;
  /** The old file changed since its signature: the result cannot be trusted. */
  #stale = false;
  /** Bytes of the new content so far (the write position). */
  written = 0;

  constructor(path: string, hasher: Hasher, basis: Basis | null) {
    this.path = path;
    this.#hasher = hasher.init();
    this.#temp = tempBeside(path);
    this.#basis = basis;
    if (basis) {
      // EXCL: the temporary is new (a link planted at its name makes this fail, not followed)
      copyFileSync(basis.path, this.#temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      this.#fd = openSync(this.#temp, constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0));
    } else this.#fd = openSync(this.#temp, FLAGS, 0o600);
    try {
      this.#basisFd = basis ? openSync(basis.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)) : null;
      if (basis && identityOf(this.#basisFd!) !== basis.identity) this.#stale = true;
    } catch (error) {
      closeSync(this.#fd);
      unlinkSync(this.#temp);
      throw error;
    }
  }

  literal(data: Uint8Array): void {
    writeAll(this.#fd, data, this.written);
    if (this.#basis) this.#hasher.update(data);
    this.written += data.length;
  }

  /** Copies blocks [block, block + count) of the old file. Returns the bytes copied. */
  copy(block: unknown, count: unknown): number {
    const b = this.#basis;
    if (!b || this.#basisFd === null) throw new ProtocolError(`a block copy arrived for ${this.path}, which is sent whole`);
    const blocks = Math.ceil(b.size / b.blockSize);
    if (
      !Number.isSafeInteger(block) ||
      !Number.isSafeInteger(count) ||
      (block as number) < 0 ||
      (count as number) < 1 ||
      (block as number) + (count as number) > blocks
    ) {
      throw new ProtocolError(`a block copy [${String(block)}, ${String(count)}] for ${this.path} is outside the old file's ${blocks} blocks`);
    }
    let pos = (block as number) * b.blockSize;
    const end = Math.min(b.size, pos + (count as number) * b.blockSize);
    const start = pos;
    this.#hasher.update(b.full.subarray((block as number) * 16, ((block as number) + (count as number)) * 16));
    if (pos !== this.written) {
      // a moved block: copy it from the old file (one already in place is in the temporary copy)
      this.#buf ??= Buffer.allocUnsafe(1024 * 1024);
      while (pos < end) {
        const n = readSync(this.#basisFd, this.#buf, 0, Math.min(this.#buf.length, end - pos), pos);
        if (n === 0) {
          this.#stale = true; // shorter than its signature: it changed
          break;
        }
        writeAll(this.#fd, this.#buf.subarray(0, n), this.written + (pos - start));
        pos += n;
      }
    }
    this.written += end - start;
    return end - start;
  }

  /**
   * Checks the content hash of a delta (whole files are guarded by the channel), sets mode and
   * mtime, renames into place. False when the hash differs (nothing renamed).
   */
  commit(hash: string | null, mode: number, mtimeMs: number): boolean {
    const ok = !this.#basis || (!this.#stale && identityOf(this.#basisFd!) === this.#basis.identity && this.#hasher.digest('hex') === hash);
    if (!ok) {
      this.abort();
      return false;
    }
    if (this.#basis) ftruncateSync(this.#fd, this.written); // the copy of the old file may be longer
    fchmodSync(this.#fd, mode);
    futimesSync(this.#fd, mtimeMs / 1000, mtimeMs / 1000);
    this.#close();
    renameSync(this.#temp, this.path);
    this.#done = true;
    return true;
  }

  #close(): void {
    closeSync(this.#fd);
    if (this.#basisFd !== null) closeSync(this.#basisFd);
  }

  /** Removes the temporary file; a no-op after commit() or abort(). */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    try {
      this.#close();
    } catch {
      // already closed
    }
    try {
      unlinkSync(this.#temp);
    } catch {
      // already gone
    }
  }
}
