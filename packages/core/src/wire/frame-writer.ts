import { FrameType, HEADER_SIZE, writeHeader, writeU32 } from './frame.js';
import { writeInt32Item } from './serializer.js';

/** Where a FrameWriter's bytes go: a Transport's write side. */
export interface FrameOutput {
  /** Returns false when the caller should wait for `drained()` before writing more. */
  write(chunk: Uint8Array): boolean;
  writev?(chunks: Uint8Array[]): boolean;
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
 * Contract: writeFrame() never throws and never blocks; `writable()` resolves when the output is
 * not backed up past `highWater` bytes, and rejects with the close error after `close()`. After
 * close() frames are dropped. Call `drained()` when the output can take more.
 */
export class FrameWriter {
  readonly #output: FrameOutput;
  readonly #highWater: number;
  #slab = new Uint8Array(SLAB);
  #slabStart = 0;
  #slabPos = 0;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #blocked = false;
  #drainWaiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  #closed: Error | null = null;
  /** gw.stats(): frames and bytes (headers included) queued for the output. */
  frames = 0;
  bytes = 0;

  constructor(output: FrameOutput, highWater: number) {
    this.#output = output;
    this.#highWater = highWater;
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
      for (const p of parts) if (p.length > 0) this.#out.push(p);
    }
    this.#queued(HEADER_SIZE + total);
  }

  /** A DATA frame of one int32 item, serialized straight into the slab: the bytes dumpParts() would give, without its two allocations. */
  writeInt32(channelId: number, value: number): void {
    if (this.#closed) return;
    if (this.#slab.length - this.#slabPos < HEADER_SIZE + 5) this.#newSlab();
    writeHeader(this.#slab, this.#slabPos, FrameType.DATA, 0, channelId, 5);
    this.#slabPos = writeInt32Item(this.#slab, this.#slabPos + HEADER_SIZE, value);
    this.#queued(HEADER_SIZE + 5);
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
    this.#slab = new Uint8Array(SLAB);
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
    this.#out = [];
    this.#outBytes = 0;
    const output = this.#output;
    let ok: boolean;
    if (chunks.length === 1) ok = output.write(chunks[0]!);
    else if (output.writev) ok = output.writev(chunks);
    else {
      ok = true;
      for (const c of chunks) ok = output.write(c) && ok;
    }
    if (!ok) this.#blocked = true;
    else this.#releaseWriters();
  }

  /** The output can take more (its drain event). */
  drained(): void {
    this.#blocked = false;
    this.#flush();
    if (!this.#blocked) this.#releaseWriters();
  }

  #releaseWriters(): void {
    // Checked first: this runs on every flush, and splice(0) allocates even when nobody waits.
    if (this.#drainWaiters.length === 0 || this.#outBytes >= this.#highWater) return;
    for (const w of this.#drainWaiters.splice(0)) w.resolve();
  }

  /** Resolves when the writer can take more (output not backed up). */
  writable(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (!this.#blocked || this.#outBytes < this.#highWater) return RESOLVED;
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** Flushes queued frames now (before exit), unless the output is backed up. */
  flushNow(): void {
    if (!this.#blocked) this.#flush();
  }

  /** Bytes queued locally for the wire. */
  get queued(): number {
    return this.#outBytes + (this.#slabPos - this.#slabStart);
  }

  /** Drops what is queued and fails every writable() waiter with `error`; later frames are dropped. Idempotent. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#out = [];
    this.#outBytes = 0;
    for (const w of this.#drainWaiters.splice(0)) w.reject(error);
  }
}
