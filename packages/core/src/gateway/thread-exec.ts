import { describeError } from '../errors.js';
import { encodeFrame, FrameFlag, FrameType, PROTOCOL_VERSION } from '../wire/frame.js';
import { FrameDecoder } from '../wire/frame-decoder.js';
import { dumpParts, loadsAt } from '../wire/serializer.js';

/** A worker thread as the platform starts it (bootstrap worker-thread.ts): bytes each way, and its end. */
export interface ThreadHandle {
  post(bytes: Uint8Array): void;
  terminate(): void;
}

/** Where the gateway sends a frame of a channel that a thread exec serves. */
export interface ThreadRoute {
  toThread(type: number, flags: number, channelId: number, payload: Uint8Array): void;
}

/** What a thread exec needs from the remote gateway. */
export interface ThreadGateway {
  readonly id: string;
  readonly _window: number;
  readonly _maxFrame: number;
  readonly _maxMessage: number;
  _writeFrame(type: number, flags: number, channelId: number, parts: readonly Uint8Array[], total: number): void;
}

/**
 * One `{ worker: true }` exec on the remote side: a fresh worker thread runs a gateway of its own
 * (the same bundle), and this relays the frames of its channels between it and the wire. The
 * thread's gateway takes channel ids from a counter it shares with ours (so ids never clash), and
 * the channels it owns are the exec channel plus every channel named in an item that crosses
 * between the two (found by decoding those items here once more).
 *
 * Contract: the exec ends when its code returns (the thread says so with an EXEC frame, which no
 * gateway sends otherwise), or
 * `abortTimeout` ms after the local side aborted or closed the exec channel, or when the thread
 * dies (uncaught error, process.exit()). Then the thread is terminated, and each of its channels
 * that is still open is closed towards the local side with an error saying why. Frames that come
 * later for its channels are dropped.
 */
export interface ThreadExec extends ThreadRoute {
  /** The gateway is going down. */
  stop(): void;
}

// Closures rather than a class with #private fields: this runs on every remote, and local names
// minify where field names do not (the injected bundle has a size budget).
export function startThreadExec(
  gw: ThreadGateway,
  routes: Map<number, ThreadRoute>,
  execId: number,
  abortTimeout: number,
  start: (onBytes: (b: Uint8Array) => void, onExit: (why: unknown) => void) => ThreadHandle,
  done: () => void,
): ThreadExec {
  /** Channels of the thread it has not closed yet. */
  const open = new Set<number>();
  /** Messages split over several DATA frames, per direction and channel, until complete. */
  const partial = [new Map<number, Uint8Array[]>(), new Map<number, Uint8Array[]>()];
  let ended = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const claim = (id: number): void => {
    if (routes.has(id)) return;
    routes.set(id, self);
    open.add(id);
  };
  const post = (type: number, flags: number, channelId: number, payload: Uint8Array): void => {
    if (!ended) thread.post(encodeFrame(type, flags, channelId, payload));
  };
  /** Channels named in an item that crosses are the thread's from now on. */
  const scan = (dir: number, channelId: number, flags: number, payload: Uint8Array): void => {
    const pending = partial[dir]!;
    let item = payload;
    const parts = pending.get(channelId);
    if (parts) {
      parts.push(payload);
      if (flags & FrameFlag.MORE) return;
      pending.delete(channelId);
      item = concat(parts.slice(1)); // the first frame only announced the length
    } else if (flags & FrameFlag.MORE) {
      pending.set(channelId, [payload]);
      return;
    }
    try {
      loadsAt(item, 0, item.length, { toWire: () => 0, fromWire: claim });
    } catch {
      // not decodable here: the receiver will say so
    }
  };
  /** Terminates the thread and closes what it left open, once. */
  const end = (why: string): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    thread.terminate();
    const parts = dumpParts(describeError(new Error(`worker exec ${execId} on gateway ${gw.id} ended: ${why}`)));
    const total = parts.reduce((n, p) => n + p.length, 0);
    for (const id of open) gw._writeFrame(FrameType.CLOSE_ERROR, 0, id, parts, total);
    open.clear();
    done();
  };
  const fromThread = (type: number, flags: number, channelId: number, payload: Uint8Array): void => {
    if (ended || type === FrameType.HELLO) return; // its handshake was for us
    // EXEC is never sent by a gateway: the thread's way to say its code returned (see WorkerGateway)
    if (type === FrameType.EXEC) end('it returned');
    else {
      if (type === FrameType.DATA) scan(1, channelId, flags, payload);
      gw._writeFrame(type, flags, channelId, [payload], payload.length);
      if (type === FrameType.CLOSE || type === FrameType.CLOSE_ERROR) open.delete(channelId);
    }
  };
  const self: ThreadExec = {
    toThread(type, flags, channelId, payload) {
      if (type === FrameType.DATA) scan(0, channelId, flags, payload);
      post(type, flags, channelId, payload);
      if ((type === FrameType.CLOSE || type === FrameType.CLOSE_ERROR) && channelId === execId && !ended && !timer) {
        // The local side aborted or closed the exec: the code has abortTimeout ms to return.
        const why = flags & FrameFlag.ABORT ? 'aborted' : 'closed';
        timer = setTimeout(() => end(`${why}, it did not return within abortTimeout (${abortTimeout} ms): its thread was terminated`), abortTimeout);
      }
    },
    stop: () => end('the gateway closed'),
  };
  const decoder = new FrameDecoder({ onFrame: (t, f, c, b, s, e) => fromThread(t, f, c, b.slice(s, e)) }, { maxPayload: 1 << 30 });
  claim(execId);
  const thread = start(
    (bytes) => decoder.push(bytes),
    (why) => end(`its thread ended: ${why instanceof Error ? why.message : `exit code ${why}`}`),
  );
  const hello = { version: PROTOCOL_VERSION, id: gw.id, window: gw._window, maxFrame: gw._maxFrame, maxMessage: gw._maxMessage };
  post(FrameType.HELLO, 0, 0, new TextEncoder().encode(JSON.stringify(hello)));
  post(FrameType.EXEC, 0, execId, new Uint8Array(0));
  return self;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
