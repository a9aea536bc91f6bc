import type { Duplex } from 'node:stream';
import { FrameScanner } from '@tsnet/bootstrap';
import { ProtocolError, streamFlushed, type Transport, type TransportExit } from '@tsnet/core/transport';

/** WebSocket messages are kept below the server's limit (1 MiB) whatever size the gateway writes. */
const WS_PIECE = 256 * 1024;

/**
 * A gateway's byte stream over a connection to the socket server, after the handshake. The
 * server ends the stream with a trailer frame carrying the remote process's exit status; it is
 * taken off here and reported in `closed`, so the gateway never sees it. Where the server could
 * not write one (a handed-off remote killed by a signal may have cut a frame), `askExit` asks it
 * on a second connection (bounded in time); `closed` reports what it says, or why it could not.
 *
 * Closing the connection is how the server learns to kill the remote: `kill()` closes it (with a
 * TCP reset where possible). `end()` therefore does not close anything: gw.exit() sends TERMINATE
 * before it, the remote finishes, and the server ends the connection after the trailer.
 */
export class SocketTransport implements Transport {
  readonly label: string;
  readonly closed: Promise<TransportExit>;
  readonly #stream: Duplex;
  readonly #destroy: () => void;
  readonly #scanner = new FrameScanner();
  readonly #pieces: boolean;
  #handler: ((chunk: Uint8Array) => void) | null = null;
  #early: Uint8Array[] = [];
  #ended = false;
  #error: Error | undefined;
  #killed = false;
  #protocolError: ProtocolError | null = null;
  readonly #socket: { ref(): unknown; unref(): unknown } | undefined;
  readonly #askExit: (() => Promise<Pick<TransportExit, 'code' | 'signal'> | string>) | undefined;

  constructor(options: {
    label: string;
    stream: Duplex;
    destroy(): void;
    socket?: { ref(): unknown; unref(): unknown } | undefined;
    leftover: Uint8Array;
    websocket: boolean;
    /** Asks the server how the remote ended, for a stream that ended without the trailer (ask-exit.ts). */
    askExit?: () => Promise<Pick<TransportExit, 'code' | 'signal'> | string>;
    /** Reads the stream in place instead of its 'data' events (in-place-socket.ts); chunks are valid only during the call. */
    start?: (onChunk: (chunk: Uint8Array) => void) => void;
  }) {
    this.#askExit = options.askExit;
    this.label = options.label;
    this.#socket = options.socket;
    this.#stream = options.stream;
    this.#destroy = options.destroy;
    this.#pieces = options.websocket;
    const stream = options.stream;
    this.closed = new Promise<TransportExit>((resolve) => {
      stream.once('close', () => resolve(this.#exit()));
    });
    stream.on('error', (error: Error) => {
      this.#error ??= error;
    });
    if (options.start) {
      if (options.leftover.length > 0) this.#onChunk(options.leftover);
      options.start((chunk) => this.#onChunk(chunk));
      return;
    }
    stream.on('data', (chunk: Buffer) => this.#onChunk(chunk));
    if (options.leftover.length > 0) this.#onChunk(options.leftover);
    stream.resume();
  }

  #onChunk(chunk: Uint8Array): void {
    if (this.#protocolError) return;
    this.#scanner.split(chunk, (bytes) => {
      if (this.#handler) this.#handler(bytes);
      else this.#early.push(new Uint8Array(bytes)); // copied: the reader may reuse its memory
    });
    const violation = this.#scanner.violation;
    if (violation !== null) {
      // Remote code wrote the server's private frame type: the stream can no longer be trusted.
      this.#protocolError = new ProtocolError(`${this.label}: ${violation}`);
      this.#destroy();
      this.#stream.destroy();
    }
  }

  #exit(): TransportExit | Promise<TransportExit> {
    if (this.#protocolError) {
      return { code: null, signal: null, error: this.#protocolError, reason: `protocol error: ${this.#protocolError.message}` };
    }
    const trailer = this.#scanner.trailer;
    if (trailer) {
      try {
        const status = JSON.parse(Buffer.from(trailer).toString('utf8')) as { code: number | null; signal: string | null };
        return { code: status.code ?? null, signal: status.signal ?? null };
      } catch {
        // a malformed trailer is reported like a lost connection
      }
    }
    if (this.#killed) {
      // Closing the connection is the kill: the server ends the process after this side let go.
      return { code: null, signal: null, unconfirmed: true, reason: 'the connection was closed by gw.kill(): the server kills the remote process' };
    }
    const error = this.#error;
    const lost = (asked: string): TransportExit => ({
      code: null,
      signal: null,
      ...(error ? { error } : {}),
      reason: error
        ? `the connection to ${this.label} was lost: ${error.message}${asked}`
        : `the server closed the connection to ${this.label} without an exit status (the server was stopped, or the remote process was killed)${asked}`,
    });
    if (!this.#askExit) return lost('');
    return this.#askExit().then((answer) =>
      typeof answer === 'string' ? lost(`; asking the server how the remote ended failed: ${answer}`) : { code: answer.code, signal: answer.signal },
    );
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.#handler = handler;
    const early = this.#early;
    this.#early = [];
    for (const c of early) handler(c);
  }

  onDrain(handler: () => void): void {
    this.#stream.on('drain', handler);
  }

  write(chunk: Uint8Array): boolean {
    const s = this.#stream;
    if (this.#ended || s.destroyed || s.writableEnded) return true;
    if (!this.#pieces || chunk.length <= WS_PIECE) return s.write(chunk);
    let ok = true;
    for (let i = 0; i < chunk.length; i += WS_PIECE) ok = s.write(chunk.subarray(i, i + WS_PIECE));
    return ok;
  }

  writev(chunks: Uint8Array[]): boolean {
    const s = this.#stream;
    if (this.#ended || s.destroyed || s.writableEnded) return true;
    s.cork();
    let ok = true;
    for (const c of chunks) ok = this.write(c);
    s.uncork();
    return ok;
  }

  flushed(callback: () => void): void {
    streamFlushed(this.#stream, callback);
  }

  /**
   * The gateway keeps the process alive only while something waits on it (KeepAlive): an idle
   * socket= or ws= gateway lets a script end, as popen and ssh ones do.
   */
  ref(): void {
    this.#socket?.ref();
  }

  unref(): void {
    this.#socket?.unref();
  }

  /** No more writes. The connection stays open for the remote's last frames (see the class comment). */
  end(): void {
    this.#ended = true;
  }

  /** Closes the connection; the server then kills the remote process group. */
  async kill(): Promise<TransportExit> {
    if (!this.#stream.destroyed) {
      this.#killed = true;
      this.#destroy();
      this.#stream.destroy();
    }
    return this.closed;
  }
}
