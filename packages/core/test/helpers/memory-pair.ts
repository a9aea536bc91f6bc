// A master Gateway wired to a WorkerGateway in this process over an in-memory byte pipe. The pipe
// behaves like a kernel pipe where it matters for flow control: bytes arrive asynchronously, split
// into pieces of at most `chunk` bytes, and write() returns false (then 'drain') once `capacity`
// bytes wait unread. Remote code runs in this process, so it cannot be killed: use real gateways
// for fault tests.
import { createRequire } from 'node:module';
import { Gateway, type GatewayOptions, XSpec } from '@tsnet/core';
import { type Channel, type ExecRequest, execute, type Transport, type TransportExit, WorkerGateway } from '@tsnet/core/worker';
import type { WireOptions } from '../../src/wire/limits.js';

export interface PipeOptions {
  /** Largest piece delivered to the reader at once. Default 64 KiB (a Linux pipe read). */
  chunk?: number;
  /** Bytes in flight before write() returns false. Default 64 KiB (a Linux pipe buffer). */
  capacity?: number;
}

export type Direction = 'toWorker' | 'toMaster';

/** One direction of the pipe plus the lifecycle shared by both ends. */
class Pipe {
  readonly chunk: number;
  readonly capacity: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #scheduled = false;
  #reader: ((chunk: Uint8Array) => void) | null = null;
  #drain: (() => void) | null = null;
  #wantDrain = false;
  ended = false;
  onEnd: (() => void) | null = null;
  tap: ((bytes: Uint8Array) => void) | undefined;

  constructor(options?: PipeOptions) {
    this.chunk = options?.chunk ?? 64 * 1024;
    this.capacity = options?.capacity ?? 64 * 1024;
  }

  setReader(fn: (chunk: Uint8Array) => void): void {
    this.#reader = fn;
    this.#schedule();
  }

  setDrain(fn: () => void): void {
    this.#drain = fn;
  }

  write(chunk: Uint8Array): boolean {
    if (this.ended) return true;
    this.tap?.(chunk);
    // A copy, as a kernel pipe makes one: the writer may reuse its buffer afterwards.
    for (let at = 0; at < chunk.length; at += this.chunk) this.#queue.push(chunk.slice(at, at + this.chunk));
    this.#queued += chunk.length;
    this.#schedule();
    if (this.#queued >= this.capacity) {
      this.#wantDrain = true;
      return false;
    }
    return true;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || !this.#reader) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      // Deliver about one capacity's worth per turn, as a reader of a real pipe would.
      let delivered = 0;
      while (this.#queue.length > 0 && delivered < this.capacity) {
        const c = this.#queue.shift()!;
        this.#queued -= c.length;
        delivered += c.length;
        this.#reader?.(c);
      }
      if (this.#queue.length > 0) this.#schedule();
      else if (this.ended) this.onEnd?.();
      if (this.#wantDrain && this.#queued < this.capacity) {
        this.#wantDrain = false;
        this.#drain?.();
      }
    });
  }

  get queued(): number {
    return this.#queued;
  }
}

class MemoryTransport implements Transport {
  readonly label: string;
  readonly closed: Promise<TransportExit>;
  #resolve!: (e: TransportExit) => void;
  #out: Pipe;
  #in: Pipe;
  #onKill: () => void;

  constructor(label: string, out: Pipe, input: Pipe, onKill: () => void) {
    this.label = label;
    this.#out = out;
    this.#in = input;
    this.#onKill = onKill;
    this.closed = new Promise((r) => {
      this.#resolve = r;
    });
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.#in.setReader(handler);
  }
  onDrain(handler: () => void): void {
    this.#out.setDrain(handler);
  }
  write(chunk: Uint8Array): boolean {
    return this.#out.write(chunk);
  }
  writev(chunks: Uint8Array[]): boolean {
    let ok = true;
    for (const c of chunks) ok = this.#out.write(c);
    return ok;
  }
  end(): void {
    this.#out.end();
  }
  async kill(): Promise<TransportExit> {
    this.#onKill();
    return this.closed;
  }
  /** @internal */
  _close(exit: TransportExit): void {
    this.#resolve(exit);
  }
}

export interface MemoryPair {
  gw: Gateway;
  worker: WorkerGateway;
  /** Writes raw bytes to the master as if the worker had sent them (for hostile-peer tests). */
  injectToMaster(bytes: Uint8Array): void;
  /** Bytes written by the master and not yet read by the worker, and the other way round. */
  inFlight(): { toWorker: number; toMaster: number };
}

/**
 * A started master Gateway and its in-process WorkerGateway. `options` apply to the master (the
 * worker takes window and maxFrame from the handshake); `workerOptions` to the worker.
 */
export async function memoryPair(
  options?: GatewayOptions & { pipe?: PipeOptions; tap?: (direction: Direction, bytes: Uint8Array) => void },
  workerOptions?: WireOptions,
): Promise<MemoryPair> {
  const toWorker = new Pipe(options?.pipe);
  const toMaster = new Pipe(options?.pipe);
  const tap = options?.tap;
  if (tap) {
    toWorker.tap = (b) => tap('toWorker', b);
    toMaster.tap = (b) => tap('toMaster', b);
  }
  let finished = false;
  const finish = (exit: TransportExit): void => {
    if (finished) return;
    finished = true;
    toWorker.end();
    toMaster.end();
    // Both ends see the process gone after the pipes drained, as with a real child.
    setImmediate(() => {
      masterSide._close(exit);
      workerSide._close({ code: null, signal: null });
    });
  };
  const masterSide = new MemoryTransport('memory:master', toWorker, toMaster, () => finish({ code: null, signal: 'SIGKILL' }));
  const workerSide = new MemoryTransport('memory:worker', toMaster, toWorker, () => finish({ code: 137, signal: null }));
  // The worker sees its input end like a real remote sees stdin EOF.
  toWorker.onEnd = () => workerSide._close({ code: null, signal: null });
  const require = createRequire(import.meta.url);
  const worker = new WorkerGateway(
    workerSide,
    {
      execute: (channel: Channel, request: ExecRequest) => execute(channel, request, { require, cwd: process.cwd() }),
      info: () => ({
        pid: process.pid,
        ppid: process.ppid,
        cwd: process.cwd(),
        platform: process.platform,
        arch: process.arch,
        hostname: 'memory',
        executable: process.execPath,
        runtime: 'node',
        versions: { ...process.versions },
      }),
      memory: () => process.memoryUsage(),
      uptime: () => process.uptime(),
      globals: () => Object.getOwnPropertyNames(globalThis),
      exit: (code: number) => finish({ code, signal: null }),
    },
    workerOptions,
  );
  const { pipe: _pipe, tap: _tap, ...gatewayOptions } = options ?? {};
  const gw = new Gateway('mem', new XSpec('popen//id=mem'), masterSide, { output: 'ignore', ...gatewayOptions });
  await gw._start(gatewayOptions);
  return {
    gw,
    worker,
    injectToMaster: (bytes) => toMaster.write(bytes),
    inFlight: () => ({ toWorker: toWorker.queued, toMaster: toMaster.queued }),
  };
}
