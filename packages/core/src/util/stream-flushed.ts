/**
 * When a Node Writable has let go of everything written to it: `writableLength` counts the bytes
 * it still holds (queued, or in a write the handle has not completed), so at 0 they are in the
 * kernel (or the next layer copied them). Otherwise an empty write's callback runs after every
 * earlier write completed, or failed, or the stream was destroyed (its callback then gets the
 * error): the callback runs exactly once in every case, never synchronously.
 */

interface FlushableStream {
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
}

const EMPTY = new Uint8Array(0);

export function streamFlushed(stream: FlushableStream, callback: () => void): void {
  if (stream.writableLength === 0 || stream.destroyed) {
    queueMicrotask(callback);
    return;
  }
  let called = false;
  stream.write(EMPTY, () => {
    if (called) return;
    called = true;
    callback();
  });
}
