/**
 * What a served child writes to fd 1 and 2 natively (a native add-on, writeSync(1, …), Node's own
 * fatal errors), read by the server from its stdout/stderr pipes and held as OUTPUT frames until
 * they can go between two frames of the wire. Past OUTPUT_QUEUE_MAX waiting bytes (or while the
 * destination needs a drain) the pipes pause, so a child that prints without end cannot fill the
 * server's memory. Nothing is dropped: what waits at the end goes with the last flush.
 */
import type { Readable, Writable } from 'node:stream';
import { encodeFrame, FrameType } from '@tsnet/core/worker';

/** FrameFlag.STDERR of @tsnet/core's wire/frame.ts (which @tsnet/core/worker does not export yet). */
export const STDERR_FLAG = 2;
/** Native stdout/stderr bytes go to the client in OUTPUT frames of at most this payload. */
const OUTPUT_PIECE = 64 * 1024;
/** Past this many bytes of OUTPUT frames waiting for a frame boundary, the child's stdout/stderr pause. */
const OUTPUT_QUEUE_MAX = 1 << 20;

export class NativeOutput {
  #frames: Uint8Array[] = [];
  #bytes = 0;

  /** Cuts `text` into OUTPUT frames (`flags`: 0 or STDERR_FLAG) and queues them. */
  push(flags: number, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i += OUTPUT_PIECE) {
      this.#frames.push(encodeFrame(FrameType.OUTPUT, flags, 0, bytes.subarray(i, i + OUTPUT_PIECE)));
    }
    this.#bytes += bytes.length;
  }

  /** Writes the waiting frames to `to` if `ready` (the wire is between two frames), then pauses or resumes `sources`. */
  flush(to: Writable | undefined, ready: boolean, sources: Array<Readable | null | undefined>): void {
    if (this.#frames.length > 0 && ready && to && !to.destroyed && !to.writableEnded) {
      for (const frame of this.#frames) to.write(frame);
      this.#frames = [];
      this.#bytes = 0;
    }
    const hold = this.#bytes > OUTPUT_QUEUE_MAX || !!to?.writableNeedDrain;
    for (const s of sources) {
      if (!s || s.destroyed) continue;
      if (hold) s.pause();
      else if (s.isPaused()) s.resume();
    }
  }
}
