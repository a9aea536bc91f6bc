/**
 * Whether a handed-off child's wire ended at a frame boundary, told to the socket server on a pipe
 * of its own (the status fd, see BootConfig.statusFd). Handed off, the server does not see the
 * child's frames, and a `process.exit()` while a large write is under way leaves part of a frame in
 * the connection: a trailer written after it would be read as the rest of that frame. So the child
 * reports from its 'exit' hook, synchronously: `CLEAN` when every byte handed to its wire has left
 * (whole frames only: the frame writer writes whole frames in each call), `PARTIAL` otherwise; and
 * again after every later write (an exit hook that sends), so the last byte the server reads holds.
 * The server writes the trailer only after a `CLEAN` last byte; no byte at all (a signal, a fatal
 * error, `process.reallyExit`) counts as `PARTIAL`, and the client asks the server how the child
 * ended (exit-records.ts). A status pipe that cannot be written is left alone: the server then asks.
 * The child's side is `reportWireEnd`, the server's `followWireEnd`.
 */
import { writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

export const CLEAN = 'C';
export const PARTIAL = 'P';

/** The wire's write side, as far as this module needs it. */
interface Out {
  write(chunks: Uint8Array[]): boolean;
  idle?(): boolean;
}

/** Reports on `fd` at exit whether `out` ended where a write ended; returns `out` with its writes followed after that. */
export function reportWireEnd<T extends Out>(fd: number, out: T): T {
  let exiting = false;
  const report = (): void => {
    try {
      writeSync(fd, out.idle?.() ? CLEAN : PARTIAL);
    } catch {
      // the server is gone, or remote code closed the fd: without the byte the server asks
    }
  };
  process.on('exit', () => {
    exiting = true;
    report();
  });
  return {
    ...out,
    write(chunks: Uint8Array[]) {
      const ok = out.write(chunks);
      if (exiting) report();
      return ok;
    },
  };
}

/** The server's side: reads the child's status pipe; the function tells whether the last byte so far was CLEAN. */
export function followWireEnd(pipe: Readable): () => boolean {
  let last = '';
  pipe.on('error', () => {});
  pipe.setEncoding('latin1');
  pipe.on('data', (text: string) => {
    last = text.slice(-1);
  });
  return () => last === CLEAN;
}
