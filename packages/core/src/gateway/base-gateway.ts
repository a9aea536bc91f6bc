import { Channel } from '../channel/channel.js';
import {
  DumpError,
  describeError,
  GatewayClosedError,
  type GatewayCloseInfo,
  LoadError,
  ProtocolError,
  RemoteError,
  type RemoteErrorInfo,
  SpecError,
} from '../errors.js';
import type { Transport } from '../spec/transport-types.js';
import { FrameType, frameTypeNames, HEADER_SIZE, readU32, writeHeader } from '../wire/frame.js';
import { FrameDecoder } from '../wire/frame-decoder.js';
import { type ChannelCodec, type ChannelLike, dumpParts, loads, loadsAt, writeInt32Item } from '../wire/serializer.js';

export interface WireOptions {
  /** Receive window per channel in bytes: how much a peer may send before we read. Default 4 MiB. */
  window?: number;
  /** Largest frame payload in bytes; larger messages travel in pieces. Default 1 MiB. */
  maxFrame?: number;
  /** Bytes queued for the transport above which send() waits. Default 8 MiB. */
  writeHighWater?: number;
  /** Largest single item in bytes, once serialized, either side may send. Default 1 GiB. */
  maxMessage?: number;
}

export const DEFAULT_WINDOW = 4 << 20;
export const DEFAULT_MAX_FRAME = 1 << 20;
export const DEFAULT_MAX_MESSAGE = 1 << 30;
/** Limits on the options above (docs/protocol.md): credits are u32, frames must fit a window. */
export const MIN_WINDOW = 4096;
export const MAX_WINDOW = 1 << 30;
export const MIN_FRAME = 1024;
export const MAX_MAX_MESSAGE = 2 ** 32 - 1;
const SMALL_FRAME = 8192;
/** A payload rest at least this large is read into place by transports that can (Transport.readInto). */
const DIRECT_READ_MIN = 64 * 1024;
const SLAB = 64 * 1024;
const RESOLVED: Promise<void> = Promise.resolve();

const tick: (fn: () => void) => void =
  typeof (globalThis as { process?: { nextTick?: unknown } }).process?.nextTick === 'function'
    ? (globalThis as unknown as { process: { nextTick(fn: () => void): void } }).process.nextTick
    : queueMicrotask;

/**
 * The channel multiplexer shared by both ends: frames in and out, channel table, flow control,
 * batching of writes. The local Gateway and the remote WorkerGateway add their roles on top.
 */
export abstract class BaseGateway {
  /** The gateway's id within its group (gw0, gw1, …, or the spec's id=). */
  id: string;
  /** @internal our receive window per channel (the worker adopts the master's in the handshake). */ _window!: number;
  /** @internal */ _maxFrame: number;
  /** @internal */ _creditThreshold!: number;
  /** @internal peer's window: the credit a new channel starts with. */
  _peerWindow!: number;
  /** @internal largest message we accept, and the largest the peer accepts (from its handshake). */
  _maxMessage: number;
  /** @internal */ _peerMaxMessage: number;
  protected readonly transport: Transport;
  readonly #channels = new Map<number, Channel>();
  #nextId: number;
  readonly #parity: number;
  readonly #decoder: FrameDecoder;
  readonly #codec: ChannelCodec;
  readonly #highWater: number;

  // writer state
  #slab = new Uint8Array(SLAB);
  #slabStart = 0;
  #slabPos = 0;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #blocked = false;
  #drainWaiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];

  #down: GatewayClosedError | null = null;
  /** Set at the first unreadable frame. */
  #broken = false;
  /** The chunk being decoded: a payload in any other buffer was allocated for it alone. */
  #reading: Uint8Array | null = null;

  constructor(id: string, transport: Transport, role: 'master' | 'worker', options?: WireOptions) {
    this.id = id;
    this.transport = transport;
    this._setWindow(checkOption('window', options?.window, DEFAULT_WINDOW, MIN_WINDOW, MAX_WINDOW));
    this._maxFrame = Math.min(checkOption('maxFrame', options?.maxFrame, DEFAULT_MAX_FRAME, MIN_FRAME, MAX_WINDOW), Math.floor((this._window * 3) / 4));
    this._maxMessage = checkOption('maxMessage', options?.maxMessage, DEFAULT_MAX_MESSAGE, 1, MAX_MAX_MESSAGE);
    this._peerMaxMessage = this._maxMessage;
    this.#highWater = checkOption('writeHighWater', options?.writeHighWater, 8 << 20, 0, Number.MAX_SAFE_INTEGER);
    this.#parity = role === 'master' ? 1 : 0;
    this.#nextId = role === 'master' ? 1 : 2;
    this.#decoder = new FrameDecoder(this, { maxPayload: Math.max(this._maxFrame, DEFAULT_MAX_FRAME) });
    this.#codec = {
      toWire: (ch: ChannelLike, path: string) => {
        const c = ch as unknown as Channel;
        if (c.gateway !== this) {
          throw new DumpError(
            `cannot send channel ${c.id} of gateway ${c.gateway.id} over gateway ${this.id} (at ${path}): a channel only travels over its own gateway`,
            path,
          );
        }
        return c.id;
      },
      fromWire: (id: number) => {
        // A reference to one of our channels that was closed and forgotten meanwhile: a closed stand-in.
        return this.#lookup(id, true) ?? Channel._closed(this, id);
      },
    };
    transport.onDrain(() => this.#onDrain());
    transport.readInto?.(
      () => (this.#down || this.#broken ? undefined : this.#decoder.directTarget(DIRECT_READ_MIN)),
      (n) => this.#onDirect(n),
    );
    transport.onData((chunk) => this.#onBytes(chunk));
  }

  /** @internal sets our receive window (before any channel exists) and what follows from it. */
  _setWindow(window: number): void {
    this._window = window;
    this._creditThreshold = Math.max(1, Math.floor(window / 4));
    this._peerWindow = window;
    if (this._maxFrame !== undefined) this._maxFrame = Math.min(this._maxFrame, Math.floor((window * 3) / 4));
  }

  /**
   * @internal Something local waits on this gateway (+1) or stopped waiting (-1). The local Gateway
   * keeps the process alive only while something waits; the remote side ignores it.
   */
  _hold(_delta: number): void {}

  /** Opens a new channel; the peer learns of it when it is sent inside a message. */
  newChannel<T = unknown>(): Channel<T> {
    this._checkOpen();
    const id = this.#nextId;
    this.#nextId += 2;
    const ch = new Channel<T>(this, id, this._peerWindow);
    this.#channels.set(id, ch as Channel);
    return ch;
  }

  /** @internal throws GatewayClosedError when down. */
  _checkOpen(): void {
    if (this.#down) throw this.#down;
  }

  get isDown(): boolean {
    return this.#down !== null;
  }

  /** @internal */
  get _numChannels(): number {
    return this.#channels.size;
  }

  /** @internal */
  _channels(): IterableIterator<Channel> {
    return this.#channels.values();
  }

  // ------------------------------------------------------------------ reading

  #onBytes(chunk: Uint8Array): void {
    if (this.#down || this.#broken) return;
    // Buffers become plain Uint8Array views: the decoder's own buffers are plain ones, and code
    // that sees one kind of array is optimized once instead of deoptimized on the other.
    const bytes = chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#reading = bytes;
    try {
      this.#decoder.push(bytes);
    } catch (error) {
      this.#readFailed(error);
    }
  }

  /** `n` bytes were read straight into the payload the decoder is collecting. */
  #onDirect(n: number): void {
    if (this.#down || this.#broken) return;
    this.#reading = null;
    try {
      this.#decoder.pushDirect(n);
    } catch (error) {
      this.#readFailed(error);
    }
  }

  /** Nothing after a bad frame can be trusted: read no further, whatever the subclass does next. */
  #readFailed(error: unknown): void {
    this.#broken = true;
    this._protocolFailure(this.#describeFailure(error));
  }

  /** Every failure while reading becomes a ProtocolError that names the offending frame's offset. */
  #describeFailure(error: unknown): ProtocolError {
    const at = this.#decoder.frameOffset;
    const frame = `${BaseGateway._typeName(this.#decoder.frameType)} frame at byte ${at}`;
    if (error instanceof ProtocolError) {
      if (error.offset !== undefined) return error;
      return new ProtocolError(`${error.message} (${frame})`, { offset: at, code: error.code as 'TSNET_ERR_PROTOCOL', cause: error.cause });
    }
    if (error instanceof LoadError) {
      const inner = error.offset === undefined ? '' : `, payload byte ${error.offset}`;
      return new ProtocolError(`undecodable message in the ${frame}${inner}: ${error.message}`, { cause: error, offset: at });
    }
    return new ProtocolError(`internal error while reading the ${frame}: ${(error as Error)?.message}`, { cause: error, offset: at });
  }

  /** Subclasses decide what a broken wire means (kill the process, exit). */
  protected abstract _protocolFailure(error: ProtocolError): void;
  /** `payload` may be a view of a reused read buffer: decode it, do not keep it. */
  protected abstract _onControl(type: number, flags: number, channelId: number, payload: Uint8Array): void;

  /** @internal FrameSink */
  onFrame(type: number, flags: number, channelId: number, buf: Uint8Array, start: number, end: number): void {
    switch (type) {
      case FrameType.DATA: {
        const ch = this.#lookup(channelId, true);
        ch?._onData(flags, buf, start, end, buf !== this.#reading);
        return;
      }
      case FrameType.CREDIT: {
        if (end - start !== 4) throw this.#bad(`CREDIT frame with ${end - start} payload bytes (expected 4)`);
        const ch = this.#lookup(channelId, false);
        ch?._onCredit(readU32(buf, start));
        return;
      }
      case FrameType.CLOSE:
      case FrameType.CLOSE_ERROR: {
        const payload = buf.subarray(start, end);
        if (channelId === 0) {
          this._onControl(type, flags, channelId, payload);
          return;
        }
        const ch = this.#lookup(channelId, false);
        let err: RemoteError | null = null;
        if (type === FrameType.CLOSE_ERROR) err = new RemoteError(this._loadErrorInfo(payload), this.id, channelId);
        ch?._onClose(err);
        return;
      }
      case FrameType.HELLO:
      case FrameType.TERMINATE:
      case FrameType.OUTPUT:
        if (channelId !== 0) throw this.#bad(`channel ${channelId} given; this frame belongs to channel 0`);
        this._onControl(type, flags, channelId, buf.subarray(start, end));
        return;
      default:
        this._onControl(type, flags, channelId, buf.subarray(start, end));
    }
  }

  /** @internal FrameSink: a DATA frame continuing a large message is read straight into it. */
  payloadTarget(type: number, _flags: number, channelId: number, length: number): Uint8Array | undefined {
    if (type !== FrameType.DATA) return undefined;
    return this.#channels.get(channelId)?._payloadTarget(length);
  }

  /** @internal */
  _loadErrorInfo(payload: Uint8Array): RemoteErrorInfo {
    // A copy: a field (code) may be a binary view, and the payload may lie in a reused read buffer.
    const v = loads(payload.slice()) as Partial<RemoteErrorInfo> | null;
    if (typeof v !== 'object' || v === null) throw new LoadError('CLOSE_ERROR payload is not an error description');
    return {
      name: String(v.name ?? 'Error'),
      message: String(v.message ?? ''),
      stack: String(v.stack ?? ''),
      ...(v.code !== undefined ? { code: v.code } : {}),
    };
  }

  #bad(what: string): ProtocolError {
    const at = this.#decoder.frameOffset;
    return new ProtocolError(`bad ${BaseGateway._typeName(this.#decoder.frameType)} frame at byte ${at}: ${what}`, { offset: at });
  }

  /** Finds a channel, creating one the peer opened. Throws for ids this side could not have issued. */
  #lookup(id: number, create: boolean): Channel | undefined {
    const ch = this.#channels.get(id);
    if (ch) return ch;
    if (id === 0) throw this.#bad('channel frame for channel 0 (reserved for the gateway)');
    if ((id & 1) === this.#parity) {
      if (id >= this.#nextId) throw this.#bad(`channel ${id} was never opened by this side`);
      return undefined; // closed and forgotten: a late frame
    }
    if (!create) return undefined;
    const fresh = new Channel(this, id, this._peerWindow);
    this.#channels.set(id, fresh);
    return fresh;
  }

  /** @internal registers a channel the peer opened with EXEC or STATUS. */
  _acceptChannel(id: number): Channel {
    if (id === 0 || (id & 1) === this.#parity) throw this.#bad(`peer opened channel ${id} with the wrong parity`);
    if (this.#channels.has(id)) throw this.#bad(`peer opened channel ${id} twice`);
    const ch = new Channel(this, id, this._peerWindow);
    this.#channels.set(id, ch);
    return ch;
  }

  /** @internal */
  _forget(id: number): void {
    this.#channels.delete(id);
  }

  /** @internal */
  _dump(value: unknown): Uint8Array[] {
    return dumpParts(value, this.#codec);
  }

  /** @internal loads the item `buf[start, end)`. */
  _load(buf: Uint8Array, start: number, end: number): unknown {
    return loadsAt(buf, start, end, this.#codec);
  }

  // ------------------------------------------------------------------ writing

  /** @internal queues one frame; written in a batch on the next tick. */
  _writeFrame(type: number, flags: number, channelId: number, parts: readonly Uint8Array[], total: number): void {
    if (this.#down) return;
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

  /**
   * @internal a DATA frame of one int32 item, serialized straight into the slab: the bytes
   * dumpParts() would give, without its two allocations.
   */
  _writeInt32(channelId: number, value: number): void {
    if (this.#down) return;
    if (this.#slab.length - this.#slabPos < HEADER_SIZE + 5) this.#newSlab();
    writeHeader(this.#slab, this.#slabPos, FrameType.DATA, 0, channelId, 5);
    this.#slabPos = writeInt32Item(this.#slab, this.#slabPos + HEADER_SIZE, value);
    this.#queued(HEADER_SIZE + 5);
  }

  /** Counts bytes queued for the wire and makes sure they go out: now past 1 MiB, else at the end of the tick. */
  #queued(bytes: number): void {
    this.#outBytes += bytes;
    if (this.#outBytes >= 1 << 20 && !this.#blocked) this.#flush();
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
    if (this.#out.length === 0 || this.#down) return;
    const chunks = this.#out;
    this.#out = [];
    this.#outBytes = 0;
    let ok: boolean;
    if (chunks.length === 1) ok = this.transport.write(chunks[0]!);
    else if (this.transport.writev) ok = this.transport.writev(chunks);
    else {
      ok = true;
      for (const c of chunks) ok = this.transport.write(c) && ok;
    }
    if (!ok) this.#blocked = true;
    else this.#releaseWriters();
  }

  #onDrain(): void {
    this.#blocked = false;
    this.#flush();
    if (!this.#blocked) this.#releaseWriters();
  }

  #releaseWriters(): void {
    // Checked first: this runs on every flush, and splice(0) allocates even when nobody waits.
    if (this.#drainWaiters.length === 0 || this.#outBytes >= this.#highWater) return;
    for (const w of this.#drainWaiters.splice(0)) w.resolve();
  }

  /** @internal resolves when the writer can take more (transport not backed up). */
  _writable(): Promise<void> {
    if (this.#down) return Promise.reject(this.#down);
    if (!this.#blocked || this.#outBytes < this.#highWater) return RESOLVED;
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** @internal */
  _writeCredit(channelId: number, bytes: number): void {
    const b = new Uint8Array(4);
    b[0] = bytes >>> 24;
    b[1] = (bytes >>> 16) & 0xff;
    b[2] = (bytes >>> 8) & 0xff;
    b[3] = bytes & 0xff;
    this._writeFrame(FrameType.CREDIT, 0, channelId, [b], 4);
  }

  /** @internal */
  _writeClose(channelId: number, error: unknown): void {
    if (error === undefined || error === null) {
      this._writeFrame(FrameType.CLOSE, 0, channelId, [], 0);
      return;
    }
    const parts = dumpParts(describeError(error));
    let total = 0;
    for (const p of parts) total += p.length;
    if (total > this._maxFrame) {
      const info = describeError(error);
      this._writeClose(channelId, { name: info.name, message: info.message.slice(0, 4096), stack: info.stack.slice(0, 16384) });
      return;
    }
    this._writeFrame(FrameType.CLOSE_ERROR, 0, channelId, parts, total);
  }

  /** @internal writes a small control frame carrying JSON. */
  _writeJson(type: number, flags: number, channelId: number, value: unknown): void {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    this._writeFrame(type, flags, channelId, [bytes], bytes.length);
  }

  /** @internal flushes queued frames now (before exit). */
  _flushNow(): void {
    if (!this.#blocked) this.#flush();
  }

  /** @internal bytes queued locally for the wire. */
  get _queuedOut(): number {
    return this.#outBytes + (this.#slabPos - this.#slabStart);
  }

  /**
   * @internal takes the gateway down: every channel and pending call fails with a
   * GatewayClosedError built from `info`. Idempotent; returns the error.
   */
  _markDown(info: GatewayCloseInfo, stderr = ''): GatewayClosedError {
    if (this.#down) return this.#down;
    const error = new GatewayClosedError(this.id, info, stderr);
    this.#down = error;
    this.#out = [];
    this.#outBytes = 0;
    for (const w of this.#drainWaiters.splice(0)) w.reject(error);
    for (const ch of [...this.#channels.values()]) ch._onGatewayClosed(error);
    this.#channels.clear();
    return error;
  }

  /** @internal the largest frame payload we read (at least the default, so a peer's default frames always fit). */
  _setMaxPayload(maxFrame: number): void {
    this.#decoder.maxPayload = Math.max(maxFrame, DEFAULT_MAX_FRAME);
  }

  /** @internal */
  get _decoderOffset(): number {
    return this.#decoder.offset;
  }

  /** @internal frame type name for messages. */
  static _typeName(type: number): string {
    return frameTypeNames[type] ?? `type ${type}`;
  }

  /** @internal Node stream adapters, provided by the platform layer (streams.ts). */
  abstract _makeFile(channel: Channel, mode: 'r' | 'w', options?: { proxyClose?: boolean }): import('node:stream').Readable | import('node:stream').Writable;
}

/** Throws SpecError for wire options out of range (docs/protocol.md, limits). */
export function checkWireOptions(options: WireOptions | undefined): void {
  checkOption('window', options?.window, DEFAULT_WINDOW, MIN_WINDOW, MAX_WINDOW);
  checkOption('maxFrame', options?.maxFrame, DEFAULT_MAX_FRAME, MIN_FRAME, MAX_WINDOW);
  checkOption('maxMessage', options?.maxMessage, DEFAULT_MAX_MESSAGE, 1, MAX_MAX_MESSAGE);
  checkOption('writeHighWater', options?.writeHighWater, 8 << 20, 0, Number.MAX_SAFE_INTEGER);
}

function checkOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SpecError(`gateway option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
