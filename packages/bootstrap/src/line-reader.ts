import type { Readable } from 'node:stream';

/** Why a handshake line could not be read. */
export class LineError extends Error {
  readonly reason: 'too-long' | 'closed';
  constructor(reason: 'too-long' | 'closed', message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Reads `\n`-terminated lines of at most `maxLine` bytes from a stream, for the handshake. It
 * never buffers more than one line: a peer that sends more without a newline is cut off.
 * `detach()` hands back whatever arrived after the last line and leaves the stream paused.
 */
export class LineReader {
  readonly #stream: Readable;
  readonly #maxLine: number;
  #buffer: Buffer = Buffer.alloc(0);
  #waiter: { resolve(line: string): void; reject(error: Error): void } | null = null;
  #failure: LineError | null = null;
  readonly #onData = (chunk: Buffer): void => {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    this.#deliver();
  };
  readonly #onEnd = (): void => {
    this.#fail(new LineError('closed', 'the connection closed during the handshake'));
  };

  constructor(stream: Readable, maxLine: number) {
    this.#stream = stream;
    this.#maxLine = maxLine;
    stream.on('data', this.#onData);
    stream.on('end', this.#onEnd);
    stream.on('close', this.#onEnd);
    stream.on('error', this.#onEnd);
  }

  /** The next line, without its `\n` (and without a `\r` before it). */
  next(): Promise<string> {
    if (this.#waiter) throw new Error('LineReader.next() called twice');
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#deliver();
      if (this.#waiter) this.#stream.resume();
    });
  }

  #deliver(): void {
    const waiter = this.#waiter;
    const i = this.#buffer.indexOf(10);
    if (i === -1 || i > this.#maxLine) {
      if (this.#buffer.length > this.#maxLine) {
        this.#fail(new LineError('too-long', `a handshake line longer than ${this.#maxLine} bytes arrived`));
      } else if (this.#failure && waiter) {
        this.#waiter = null;
        waiter.reject(this.#failure);
      }
      return;
    }
    if (!waiter) {
      this.#stream.pause();
      return;
    }
    this.#waiter = null;
    const end = i > 0 && this.#buffer[i - 1] === 13 ? i - 1 : i;
    const line = this.#buffer.toString('utf8', 0, end);
    this.#buffer = this.#buffer.subarray(i + 1);
    waiter.resolve(line);
  }

  #fail(error: LineError): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    if (waiter && (error.reason === 'too-long' || this.#buffer.indexOf(10) === -1)) {
      this.#waiter = null;
      waiter.reject(this.#failure);
    }
  }

  /** Stops reading; returns the bytes received after the last line. The stream is left paused. */
  detach(): Buffer {
    const s = this.#stream;
    s.removeListener('data', this.#onData);
    s.removeListener('end', this.#onEnd);
    s.removeListener('close', this.#onEnd);
    s.removeListener('error', this.#onEnd);
    s.pause();
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return rest;
  }
}
