import { Channel } from '../channel/channel.js';
import { ChannelTable } from '../channel/channel-table.js';
import { DumpError, describeError, GatewayClosedError, type GatewayCloseInfo, LoadError, ProtocolError, RemoteError, type RemoteErrorInfo } from '../errors.js';
import type { Transport } from '../spec/transport-types.js';
import { trace, tracing } from '../util/trace.js';
import { FrameFlag, FrameType, frameTypeNames, readU32 } from '../wire/frame.js';
import { FrameDecoder } from '../wire/frame-decoder.js';
import { FrameWriter } from '../wire/frame-writer.js';
import {
  checkOption,
  creditThreshold,
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_MESSAGE,
  DEFAULT_WINDOW,
  DEFAULT_WRITE_HIGH_WATER,
  MAX_MAX_MESSAGE,
  MAX_WINDOW,
  MIN_FRAME,
  MIN_WINDOW,
  maxFrameFor,
  type WireOptions,
} from '../wire/limits.js';
import { type ChannelCodec, type ChannelLike, dumpParts, loads, loadsAt } from '../wire/serializer.js';
import type { ThreadRoute } from './thread-exec.js';

/** gw.stats(): this side's view, counted from the start. Bytes and frames include frame headers. */
export interface GatewayStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  channelsOpen: number;
  channelsTotal: number;
}

/** A payload rest at least this large is read into place by transports that can (Transport.readInto). */
const DIRECT_READ_MIN = 64 * 1024;

/**
 * The channel multiplexer shared by both ends: it drives the frame decoder, dispatches frames to
 * the channel table, and writes through a FrameWriter. The local Gateway and the remote
 * WorkerGateway add their roles on top (control frames, what a broken wire means).
 *
 * Contract: every failure while reading becomes one ProtocolError naming the frame's offset, given
 * to `_protocolFailure()` once; nothing is read after it. `_markDown()` fails every channel and
 * every waiting writer with one GatewayClosedError; later writes are dropped.
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
  readonly #table: ChannelTable;
  readonly #decoder: FrameDecoder;
  readonly #writer: FrameWriter;
  readonly #codec: ChannelCodec;

  #down: GatewayClosedError | null = null;
  /** Set at the first unreadable frame. */
  #broken = false;
  /** The chunk being decoded: a payload in any other buffer was allocated for it alone. */
  #reading: Uint8Array | null = null;
  #bytesIn = 0;
  #framesIn = 0;
  #channelsTotal = 0;
  /** @internal channels served by a worker-thread exec (remote side only): their frames are relayed. */
  protected _routes: Map<number, ThreadRoute> | null = null;

  constructor(id: string, transport: Transport, role: 'master' | 'worker', options?: WireOptions) {
    this.id = id;
    this.transport = transport;
    this._setWindow(checkOption('window', options?.window, DEFAULT_WINDOW, MIN_WINDOW, MAX_WINDOW));
    this._maxFrame = Math.min(checkOption('maxFrame', options?.maxFrame, DEFAULT_MAX_FRAME, MIN_FRAME, MAX_WINDOW), maxFrameFor(this._window));
    this._maxMessage = checkOption('maxMessage', options?.maxMessage, DEFAULT_MAX_MESSAGE, 1, MAX_MAX_MESSAGE);
    this._peerMaxMessage = this._maxMessage;
    const highWater = checkOption('writeHighWater', options?.writeHighWater, DEFAULT_WRITE_HIGH_WATER, 0, Number.MAX_SAFE_INTEGER);
    this.#table = new ChannelTable(
      role,
      (channelId) => {
        const ch = new Channel(this, channelId, this._peerWindow);
        this.#channelsTotal++;
        this._channelOpened(ch);
        return ch;
      },
      (what) => this.#bad(what),
    );
    this.#decoder = new FrameDecoder(this, { maxPayload: Math.max(this._maxFrame, DEFAULT_MAX_FRAME) });
    this.#writer = new FrameWriter(transport, highWater);
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
      fromWire: (channelId: number) => {
        // A reference to one of our channels that was closed and forgotten meanwhile: a closed stand-in.
        return this.#table.lookup(channelId, true) ?? Channel._closed(this, channelId);
      },
    };
    transport.onDrain(() => this.#writer.drained());
    transport.readInto?.(
      () => (this.#down || this.#broken ? undefined : this.#decoder.directTarget(DIRECT_READ_MIN)),
      (n) => this.#onDirect(n),
    );
    transport.onData((chunk) => this.#onBytes(chunk));
  }

  /** @internal sets our receive window (before any channel exists) and what follows from it. */
  _setWindow(window: number): void {
    this._window = window;
    this._creditThreshold = creditThreshold(window);
    this._peerWindow = window;
    if (this._maxFrame !== undefined) this._maxFrame = Math.min(this._maxFrame, maxFrameFor(window));
  }

  /**
   * @internal Something local waits on this gateway (+1) or stopped waiting (-1). The local Gateway
   * keeps the process alive only while something waits; the remote side ignores it.
   */
  _hold(_delta: number): void {}

  /** Opens a new channel; the peer learns of it when it is sent inside a message. */
  newChannel<In = unknown, Out = In>(): Channel<In, Out> {
    this._checkOpen();
    return this.#table.open() as unknown as Channel<In, Out>;
  }

  /** @internal throws GatewayClosedError when down. */
  _checkOpen(): void {
    if (this.#down) throw this.#down;
  }

  get isDown(): boolean {
    return this.#down !== null;
  }

  /** Bytes and frames each way (headers included), channels open now and opened in all. */
  stats(): GatewayStats {
    const w = this.#writer;
    return {
      bytesIn: this.#bytesIn,
      bytesOut: w.bytes,
      framesIn: this.#framesIn,
      framesOut: w.frames,
      channelsOpen: this.#table.size,
      channelsTotal: this.#channelsTotal,
    };
  }

  /** @internal a channel joined the table (opened here, by the peer, or arrived in an item). */
  protected _channelOpened(ch: Channel): void {
    if (tracing.channel) trace('channel', this.id, `open ${ch.id}`);
  }

  /** @internal a channel left the table: both sides closed it, or the gateway went down. */
  protected _channelClosed(ch: Channel): void {
    if (tracing.channel) trace('channel', this.id, `close ${ch.id} ${ch._outcome?.error?.name ?? ''} ${JSON.stringify(ch.stats())}`);
  }

  /** @internal */
  get _numChannels(): number {
    return this.#table.size;
  }

  /** @internal */
  _channels(): IterableIterator<Channel> {
    return this.#table.values();
  }

  // ------------------------------------------------------------------ reading

  #onBytes(chunk: Uint8Array): void {
    if (this.#down || this.#broken) return;
    // Buffers become plain Uint8Array views: the decoder's own buffers are plain ones, and code
    // that sees one kind of array is optimized once instead of deoptimized on the other.
    this.#bytesIn += chunk.length;
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
    this.#bytesIn += n;
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
    this.#framesIn++;
    if (tracing.frame && type !== FrameType.OUTPUT) this.#traceFrame('<', type, flags, channelId, end - start);
    if (this._routes !== null && type >= FrameType.DATA && type <= FrameType.CREDIT) {
      const route = this._routes.get(channelId);
      if (route) {
        route.toThread(type, flags, channelId, buf.slice(start, end));
        return;
      }
    }
    switch (type) {
      case FrameType.DATA: {
        const ch = this.#table.lookup(channelId, true);
        ch?._onData(flags, buf, start, end, buf !== this.#reading);
        return;
      }
      case FrameType.CREDIT: {
        if (end - start !== 4) throw this.#bad(`CREDIT frame with ${end - start} payload bytes (expected 4)`);
        const ch = this.#table.lookup(channelId, false);
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
        const ch = this.#table.lookup(channelId, false);
        let err: RemoteError | null = null;
        if (type === FrameType.CLOSE_ERROR) err = this._remoteError(this._loadErrorInfo(payload), channelId);
        ch?._onClose(err, (flags & FrameFlag.ABORT) !== 0);
        return;
      }
      case FrameType.END: {
        if (channelId === 0 || end !== start) throw this.#bad(channelId === 0 ? 'END on channel 0' : 'END with a payload');
        this.#table.lookup(channelId, true)?._onEnd();
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
    return this.#table.get(channelId)?._payloadTarget(length);
  }

  /** @internal the RemoteError a CLOSE_ERROR carries (the host maps module stacks to their sources). */
  _remoteError(info: RemoteErrorInfo, channelId: number): RemoteError {
    return new RemoteError(info, this.id, channelId);
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

  /** @internal registers a channel the peer opened with EXEC or STATUS. */
  _acceptChannel(id: number): Channel {
    return this.#table.accept(id);
  }

  /** @internal see ChannelTable.share(). */
  _shareIds(ids?: Int32Array): Int32Array {
    return this.#table.share(ids);
  }

  /** @internal */
  _forget(id: number): void {
    const ch = this.#table.get(id);
    this.#table.forget(id);
    if (ch) this._channelClosed(ch);
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

  #traceFrame(dir: string, type: number, flags: number, channelId: number, length: number): void {
    trace('frame', this.id, `${dir} ${BaseGateway._typeName(type)} ch=${channelId} flags=${flags} len=${length}`);
  }

  /** @internal queues one frame; written in a batch on the next tick. */
  _writeFrame(type: number, flags: number, channelId: number, parts: readonly Uint8Array[], total: number): void {
    if (tracing.frame && type !== FrameType.OUTPUT) this.#traceFrame('>', type, flags, channelId, total);
    this.#writer.writeFrame(type, flags, channelId, parts, total);
  }

  /** @internal a DATA frame of a small item serialized straight into the outgoing slab (FrameWriter.writeQuick): its length, or 0. */
  _writeQuick(channelId: number, item: unknown, max: number): number {
    const n = this.#writer.writeQuick(channelId, item, max);
    if (tracing.frame && n > 0) this.#traceFrame('>', FrameType.DATA, 0, channelId, n);
    return n;
  }

  /** @internal resolves once every frame queued so far is in the kernel or in memory tsnet owns (FrameWriter.delivered). */
  _delivered(): Promise<void> {
    return this.#writer.delivered();
  }

  /** @internal */
  _writeCredit(channelId: number, bytes: number): void {
    if (tracing.frame) this.#traceFrame('>', FrameType.CREDIT, 0, channelId, 4);
    this.#writer.writeU32Frame(FrameType.CREDIT, channelId, bytes);
  }

  /** @internal */
  _writeClose(channelId: number, error: unknown, abort = false): void {
    if (error === undefined || error === null) {
      this._writeFrame(FrameType.CLOSE, 0, channelId, [], 0);
      return;
    }
    const parts = dumpParts(describeError(error));
    let total = 0;
    for (const p of parts) total += p.length;
    if (total > this._maxFrame) {
      const info = describeError(error);
      this._writeClose(channelId, { name: info.name, message: info.message.slice(0, 4096), stack: info.stack.slice(0, 16384) }, abort);
      return;
    }
    this._writeFrame(FrameType.CLOSE_ERROR, abort ? FrameFlag.ABORT : 0, channelId, parts, total);
  }

  /** @internal half-close: no more DATA from this side on the channel. */
  _writeEnd(channelId: number): void {
    this._writeFrame(FrameType.END, 0, channelId, [], 0);
  }

  /** @internal writes a small control frame carrying JSON. */
  _writeJson(type: number, flags: number, channelId: number, value: unknown): void {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    this._writeFrame(type, flags, channelId, [bytes], bytes.length);
  }

  /** @internal flushes queued frames now (before exit). */
  _flushNow(): void {
    this.#writer.flushNow();
  }

  /** @internal bytes queued locally for the wire. */
  get _queuedOut(): number {
    return this.#writer.queued;
  }

  /**
   * @internal takes the gateway down: every channel and pending call fails with a
   * GatewayClosedError built from `info`. Idempotent; returns the error.
   */
  _markDown(info: GatewayCloseInfo, stderr = ''): GatewayClosedError {
    if (this.#down) return this.#down;
    const error = new GatewayClosedError(this.id, info, stderr);
    this.#down = error;
    this.#writer.close(error);
    const all = [...this.#table.values()];
    for (const ch of all) ch._onGatewayClosed(error);
    this.#table.clear();
    for (const ch of all) this._channelClosed(ch);
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
