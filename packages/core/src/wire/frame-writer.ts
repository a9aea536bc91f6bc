import { uninitialized } from '../util/uninitialized.js';
import { FrameType, HEADER_SIZE, writeHeader, writeU32 } from './frame.js';
import { writeQuickItem } from './quick-item.js';
import { isInt32, writeInt32Item } from './serializer.js';

/** Where a FrameWriter's bytes go: a Transport's write side. */
export interface FrameOutput {
  /** Returns false when the caller should wait for `drained()` before writing more. */
  write(chunk: Uint8Array): boolean;
  writev?(chunks: Uint8Array[]): boolean;
  /**
   * Calls back once every byte written so far has left the process (is in the kernel), or the
   * output broke. Without it, the writer copies payloads it would otherwise pass by reference.
   */
  flushed?(callback: () => void): void;
}

interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // a send nobody awaits must not turn a closed gateway into an unhandled rejection
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const SMALL_FRAME = 8192;
const SLAB = 64 * 1024;
/** Queued bytes past which the writer flushes at once instead of at the end of the tick. */
const FLUSH_NOW = 1 << 20;
const RESOLVED: Promise<void> = Promise.resolve();

const tick: (fn: () => void) => void =
  typeof (globalThis as { process?: { nextTick?: unknown } }).process?.nextTick === 'function'
    ? (globalThis as unknown as { process: { nextTick(fn: () => void): void } }).process.nextTick
    : queueMicrotask;

/**
 * Frames out, batched: small frames (header and payload) are copied into 64 KiB slabs, large
 * payloads go as they are behind their header, and everything queued in one tick leaves in one
 * write (writev). Its output is a sink (FrameOutput), so it does no I/O of its own; the only
 * scheduling is the end-of-tick flush.
 *
 * Contract: writeFrame() never throws and never blocks. `delivered()` resolves once every frame
 * queued so far is in the kernel or in memory the writer owns: small frames are copied into the
 * slab when queued; a batch that carries payloads by reference resolves when the output reports
 * them gone (`flushed`), so the caller may then reuse its buffer. While the output is backed up
 * (write returned false), nothing is written until `drained()`: small frames then resolve at once
 * (they are in the slab) until `highWater` bytes wait, and later ones wait for the drain: that is
 * the back pressure. It rejects with the close error after `close()`; after close() frames are dropped.
 */
export class FrameWriter {
  readonly #output: FrameOutput;
  readonly #highWater: number;
  // not zeroed: only bytes written are ever sent
  #slab = uninitialized(SLAB);
  #slabStart = 0;
  #slabPos = 0;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #blocked = false;
  /** What delivered() returned for the frames queued since the last flush (made on demand). */
  #batch: Batch | null = null;
  /** The queued frames carry payloads by reference: their batch waits for `flushed`. */
  #refs = false;
  /** Batches written whose referenced payloads have not left yet. */
  #leaving: Batch[] = [];
  #closed: Error | null = null;
  /** gw.stats(): frames and bytes (headers included) queued for the output. */
  frames = 0;
  bytes = 0;
  readonly #canFlush: boolean;

  constructor(output: FrameOutput, highWater: number) {
    this.#output = output;
    this.#highWater = highWater;
    this.#canFlush = typeof output.flushed === 'function';
  }

  /** Queues one frame; written in a batch on the next tick. */
  writeFrame(type: number, flags: number, channelId: number, parts: readonly Uint8Array[], total: number): void {
    if (this.#closed) return;
    if (total <= SMALL_FRAME) {
      if (this.#slab.length - this.#slabPos < HEADER_SIZE + total) this.#newSlab();
      writeHeader(this.#slab, this.#slabPos, type, flags, channelId, total);
      let at = this.#slabPos + HEADER_SIZE;
      for (const p of parts) {
        this.#slab.set(p, at);
        at += p.length;
      }
      this.#slabPos = at;
    } else {
      if (this.#slab.length - this.#slabPos < HEADER_SIZE) this.#newSlab();
      writeHeader(this.#slab, this.#slabPos, type, flags, channelId, total);
      this.#slabPos += HEADER_SIZE;
      this.#pushSlab();
      // Without flushed() we cannot know when the output let go of a view: copy it.
      for (const p of parts) if (p.length > 0) this.#out.push(this.#canFlush ? p : p.slice());
      if (this.#canFlush) this.#refs = true;
    }
    this.#queued(HEADER_SIZE + total);
  }

  /**
   * A DATA frame of an int32, a short string or a small plain tree serialized straight into the
   * slab (quick-item.ts): the bytes dumpParts() gives, without its buffers. Returns the payload's
   * length, or 0 (and writes nothing) for another value, or one over `max` bytes or longer than
   * what is left of the slab.
   */
  writeQuick(channelId: number, item: unknown, max: number): number {
    if (this.#closed) return 0;
    const room = Math.min(max, SMALL_FRAME);
    if (this.#slab.length - this.#slabPos < HEADER_SIZE + 1024) this.#newSlab();
    const at = this.#slabPos + HEADER_SIZE;
    let n = 5;
    if (isInt32(item)) {
      if (room < 5) return 0;
      writeInt32Item(this.#slab, at, item);
    } else {
      n = writeQuickItem(this.#slab, at, Math.min(this.#slab.length, at + room), item) - at;
      if (n < 0) return 0;
    }
    writeHeader(this.#slab, this.#slabPos, FrameType.DATA, 0, channelId, n);
    this.#slabPos = at + n;
    this.#queued(HEADER_SIZE + n);
    return n;
  }

  /** A frame whose payload is one u32 (CREDIT), written straight into the slab. */
  writeU32Frame(type: number, channelId: number, value: number): void {
    if (this.#closed) return;
    if (this.#slab.length - this.#slabPos < HEADER_SIZE + 4) this.#newSlab();
    writeHeader(this.#slab, this.#slabPos, type, 0, channelId, 4);
    writeU32(this.#slab, this.#slabPos + HEADER_SIZE, value);
    this.#slabPos += HEADER_SIZE + 4;
    this.#queued(HEADER_SIZE + 4);
  }

  /** Counts bytes queued for the wire and makes sure they go out: now past 1 MiB, else at the end of the tick. */
  #queued(bytes: number): void {
    this.frames++;
    this.bytes += bytes;
    this.#outBytes += bytes;
    if (this.#outBytes >= FLUSH_NOW && !this.#blocked) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      tick(this.#flushTick);
    }
  }

  #newSlab(): void {
    this.#pushSlab();
    this.#slab = uninitialized(SLAB);
    this.#slabStart = 0;
    this.#slabPos = 0;
  }

  #pushSlab(): void {
    if (this.#slabPos > this.#slabStart) {
      this.#out.push(this.#slab.subarray(this.#slabStart, this.#slabPos));
      this.#slabStart = this.#slabPos;
    }
  }

  readonly #flushTick = (): void => {
    this.#flushScheduled = false;
    if (!this.#blocked) this.#flush();
  };

  #flush(): void {
    this.#pushSlab();
    if (this.#out.length === 0 || this.#closed) return;
    const chunks = this.#out;
    const batch = this.#batch;
    const refs = this.#refs;
    this.#out = [];
    this.#outBytes = 0;
    this.#batch = null;
    this.#refs = false;
    const output = this.#output;
    let ok: boolean;
    if (chunks.length === 1) ok = output.write(chunks[0]!);
    else if (output.writev) ok = output.writev(chunks);
    else {
      ok = true;
      for (const c of chunks) ok = output.write(c) && ok;
    }
    if (!ok) this.#blocked = true;
    // Frames written earlier may still hold payloads (a message's first pieces): settle after them.
    if (!refs && this.#leaving.length === 0) {
      batch?.resolve();
      return;
    }
    // Tracked even when nobody asked yet (a flush past FLUSH_NOW runs before delivered() is called).
    const leaving = batch ?? newBatch();
    this.#leaving.push(leaving);
    output.flushed!(() => {
      const i = this.#leaving.indexOf(leaving);
      if (i < 0) return;
      // every batch written before this one has left too
      for (const b of this.#leaving.splice(0, i + 1)) b.resolve();
    });
  }

  /** The output can take more (its drain event). */
  drained(): void {
    this.#blocked = false;
    this.#flush();
  }

  /**
   * Resolves once every frame queued so far is in the kernel or in memory the writer owns (see the
   * class contract); one promise is shared by all frames of a batch.
   */
  delivered(): Promise<void> {
    if (this.#closed) {
      // handled here too, like the batches: a send nobody awaits must not be an unhandled rejection
      const p = Promise.reject(this.#closed);
      p.catch(() => {});
      return p;
    }
    if (this.#out.length === 0 && this.#slabPos === this.#slabStart)
      return this.#leaving.length === 0 ? RESOLVED : this.#leaving[this.#leaving.length - 1]!.promise;
    // Backed up: small frames wait in the slab (ours) up to highWater before the sender must wait.
    if (this.#blocked && !this.#refs && this.#leaving.length === 0 && this.#outBytes < this.#highWater) return RESOLVED;
    this.#batch ??= newBatch();
    return this.#batch.promise;
  }

  /** Flushes queued frames now (before exit), unless the output is backed up. */
  flushNow(): void {
    if (!this.#blocked) this.#flush();
  }

  /** Bytes queued locally for the wire. */
  get queued(): number {
    return this.#outBytes + (this.#slabPos - this.#slabStart);
  }

  /** Drops what is queued and fails every delivered() promise with `error`; later frames are dropped. Idempotent. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#out = [];
    this.#outBytes = 0;
    this.#batch?.reject(error);
    this.#batch = null;
    for (const b of this.#leaving.splice(0)) b.reject(error);
  }
}
