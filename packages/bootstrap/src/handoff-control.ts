/**
 * The control stream of a child the socket server handed its client's connection to (stdin, after
 * the bundle): frames from the server, never from the client. OUTPUT frames carry what the child
 * wrote natively to fd 1/2 (the server reads those pipes), sent on as the child's own OUTPUT
 * frames, so they land between two frames of the wire; a TERMINATE asks for a graceful stop, as
 * gw.exit() does. End of the stream means nothing (the wire's end is what ends the child); a frame
 * of any other type or bad bytes stop the reading of the control stream, the wire goes on.
 */
import { FrameDecoder, FrameType, type WorkerGateway } from '@tsnet/core/worker';

/** FrameFlag.STDERR of core's wire/frame.ts. */
const STDERR_FLAG = 2;

type ControlIn = { read(hooks: { onChunk(c: Uint8Array): void }, onEnd: () => void): void; unref?(): void };

export function readControl(gateway: WorkerGateway, input: ControlIn, rest: Uint8Array | undefined): void {
  let broken = false;
  const decoder = new FrameDecoder({
    onFrame(type, flags, _id, buf, start, end) {
      if (type === FrameType.OUTPUT) gateway.writeOutput(flags & STDERR_FLAG ? 'stderr' : 'stdout', buf.slice(start, end));
      // The same path as a TERMINATE from the wire (the server puts it here: it no longer sees the wire).
      else if (type === FrameType.TERMINATE)
        (gateway as unknown as { _onControl(t: number, f: number, c: number, p: Uint8Array): void })._onControl(type, 0, 0, new Uint8Array(0));
    },
  });
  const push = (c: Uint8Array): void => {
    if (broken) return;
    try {
      decoder.push(c);
    } catch {
      broken = true;
    }
  };
  if (rest && rest.length > 0) push(rest);
  input.read({ onChunk: push }, () => {});
  // The control stream alone must not keep the child alive once its wire is gone.
  input.unref?.();
}
