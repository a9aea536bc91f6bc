import { type ChildProcess, spawn } from 'node:child_process';
import type * as net from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import { encodeFrame, FrameType, killGroup, STDIO_GRACE_MS } from '@tsnet/core/worker';
import type { BootConfig } from './boot-config.js';
import { HEADER_MAGIC } from './first-stage.js';
import { encodeTrailer, FrameScanner } from './frame-scanner.js';
import { canHandOff, keepStopped, readAgain, sendWire, stopReading } from './handoff.js';
import type { PeerWatch } from './peer-watch.js';
import { firstStageArgs } from './runtime-launch.js';

/** What every child is told, whatever the client's header said: the server relies on fd 3 and the group. */
const CHILD_CONFIG: BootConfig = { wireFd: 3, output: 'frames', killGroup: true, watchPpid: true };
/** The bootstrap header line is short; anything longer is not a tsnet client. */
const MAX_HEADER = 4096;
/** The largest bootstrap bundle a handed-off connection may announce (it is held until whole). */
const MAX_BUNDLE = 16 << 20;
/** How long a client may keep the connection open after the child exited and the server ended it. */
const LINGER_MS = 2000;
/** FrameFlag.STDERR of @tsnet/core's wire/frame.ts (which @tsnet/core/worker does not export yet). */
const STDERR_FLAG = 2;
/** Native stdout/stderr bytes go to the client in OUTPUT frames of at most this payload. */
const OUTPUT_PIECE = 64 * 1024;
/** Past this many bytes of OUTPUT frames waiting for a frame boundary, the child's stdout/stderr pause. */
const OUTPUT_QUEUE_MAX = 1 << 20;

/** The kill reason (and log text) of a session whose client went away first. */
const CLIENT_GONE = 'the client went away';

/** The runtime the server runs on (Bun and Deno report a Node version too); its children run on it as well. */
export const SELF = 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node';

/**
 * A fresh `node -e <first stage>` (or the server's own runtime's equivalent) in its own process
 * group, waiting for the bootstrap on stdin. `wire`: a net.Socket is dup'ed into the child as its
 * fd 3 (the handoff); 'ipc' (a spare child, Node only) gives it a pipe as fd 3 and an IPC channel
 * as fd 4, over which a connection can be handed to it later (handoff.ts's sendWire).
 */
export function spawnChild(env: NodeJS.ProcessEnv, wire?: net.Socket | 'ipc'): ChildProcess {
  const ipc = wire === 'ipc' && SELF === 'node';
  return spawn(process.execPath, firstStageArgs(SELF), {
    stdio: ['pipe', 'pipe', 'pipe', wire === undefined || wire === 'ipc' ? 'pipe' : wire, ...(ipc ? (['ipc'] as const) : [])],
    detached: true,
    env,
    windowsHide: true,
  });
}

/** SIGKILLs a child's whole process group (the one definition, from core). */
export { killGroup };

export interface SessionOptions {
  id: number;
  peer: string;
  kind: string;
  stream: Duplex;
  /** Bytes that arrived with the last handshake line. */
  leftover: Buffer;
  /** Give a plain TCP connection to the child (Node servers only; the default, --relay turns it off). */
  handoff: boolean;
  /** Follows handed-off connections (undefined where it cannot: then the relay is kept). */
  watch: PeerWatch | undefined;
  /** Environment for the child (the server's, without the token). */
  env: NodeJS.ProcessEnv;
  log(line: string): void;
  /**
   * The child exited and the connection is about to end: how it ended, and whether its client
   * will ask for that (the stream ends without the trailer while the client is still there).
   */
  onEnded?(status: { code: number | null; signal: string | null }, awaited: boolean): void;
}

/**
 * One authenticated connection: a fresh Node child in its own process group, with the stream
 * relayed to its stdin and its fd 3 relayed back. When the connection closes before the child
 * exited, the whole group is killed at once: a vanished client leaves nothing behind. When the
 * child exits, its status travels back as a trailer frame and the connection is ended.
 *
 * The child's console output travels in its own OUTPUT frames (output: 'frames'); what it writes
 * to fd 1 and 2 natively (a native add-on, writeSync(1, …), Node's own fatal errors) is sent as
 * OUTPUT frames too, put between two of the child's frames, so nothing the remote prints is lost.
 */
export class Session {
  readonly id: number;
  readonly done: Promise<void>;
  readonly #options: SessionOptions;
  readonly #stream: Duplex;
  readonly #started = Date.now();
  readonly #scanner = new FrameScanner();
  /** Client → child frames, so a graceful stop can put a TERMINATE between two of them. */
  readonly #inScanner = new FrameScanner();
  /** Bundle bytes still to pass before the client's frames start. */
  #bundleLeft = 0;
  #stopping = false;
  #resolveDone!: () => void;
  #child: ChildProcess | undefined;
  #header: Buffer | null = Buffer.alloc(0);
  #exit: { code: number | null; signal: string | null } | null = null;
  #streamClosed = false;
  #killedBecause: string | null = null;
  #failure: string | null = null;
  #stderrTail = '';
  #finished = false;
  /** OUTPUT frames of native stdout/stderr bytes, waiting for the wire to be between two frames. */
  #output: Uint8Array[] = [];
  #outputBytes = 0;
  /** Plain TCP on a Node server: the child gets the connection itself once the bundle is in. */
  readonly #handoff: boolean;
  /** The header line and bundle, held until the bundle is whole (handoff only). */
  #held: Buffer[] = [];
  #handedOff = false;
  /** The handed-off connection's socket inode (peer-watch.ts), and the function that stops watching it. */
  #inode: string | undefined;
  #unwatch: (() => void) | undefined;
  /** A spare child kept for the handoff (it gets the connection over IPC once the bundle is in). */
  #spare: ChildProcess | undefined;

  constructor(options: SessionOptions) {
    this.id = options.id;
    this.#options = options;
    this.#stream = options.stream;
    // Handed off only where the server can still tell that the client went away (peer-watch.ts).
    const watch = options.watch;
    this.#inode = options.handoff && watch && canHandOff(options.stream, options.kind, SELF) ? watch.inodeOf(options.stream) : undefined;
    this.#handoff = this.#inode !== undefined && watch!.connected(this.#inode);
    this.done = new Promise((r) => {
      this.#resolveDone = r;
    });
    // Listened to from the start: the connection may go between authentication and start().
    this.#stream.on('error', () => {});
    this.#stream.once('close', () => {
      this.#streamClosed = true;
      this.#dropSpare();
      if (this.#child && !this.#exit) this.kill(CLIENT_GONE);
      this.#finish();
    });
  }

  /** True when the connection goes to the child. */
  get handsOff(): boolean {
    return this.#handoff;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the child, or adopts `spare`, a child started ahead of time that is still waiting. */
  start(spare?: ChildProcess): void {
    const stream = this.#stream;
    if (this.#streamClosed || this.#child) {
      if (spare) killGroup(spare);
      return;
    }
    if (this.#handoff) {
      // The child gets the connection once the bundle is in: a spare over IPC, else spawned with it.
      if (spare?.connected) this.#spare = spare;
      else if (spare) killGroup(spare);
      stream.on('data', (chunk: Buffer) => this.#relayIn(chunk, null));
      if (this.#options.leftover.length > 0) this.#relayIn(this.#options.leftover, null);
      stream.resume();
      return;
    }
    // A spare's IPC channel is for a handoff only; remote code gets no process.send().
    if (spare?.connected) spare.disconnect();
    const child = this.#launch(spare);
    if (!child) return;
    const stdin = child.stdin as Writable;
    // client → child stdin
    stream.on('data', (chunk: Buffer) => {
      if (!this.#relayIn(chunk, stdin)) stream.pause();
    });
    stdin.on('drain', () => {
      if (!this.#stopping) stream.resume();
    });
    if (this.#options.leftover.length > 0) this.#relayIn(this.#options.leftover, stdin);
    stream.resume();

    // child fd 3 → client
    const wire = child.stdio[3] as Readable;
    wire.on('error', () => {});
    wire.on('data', (chunk: Buffer) => {
      this.#scanner.push(chunk);
      if (!stream.destroyed && !stream.write(chunk)) wire.pause();
      this.#flushOutput();
    });
    stream.on('drain', () => {
      wire.resume();
      this.#flushOutput();
    });
  }

  /** Spawns the child (or adopts the spare; with `socket`, the connection becomes its fd 3) and follows its output and exit. */
  #launch(spare?: ChildProcess, socket?: net.Socket): ChildProcess | undefined {
    let child: ChildProcess;
    try {
      child = spare ?? spawnChild(this.#options.env, socket);
    } catch (error) {
      this.#failure = `cannot start ${process.execPath}: ${(error as Error).message}`;
      this.#stream.destroy();
      this.#streamClosed = true;
      this.#finish();
      return undefined;
    }
    this.#child = child;
    child.stdin!.on('error', () => {}); // EPIPE once the child died: its exit event tells the story
    // Decoded as UTF-8 so that no frame ends inside a character (the client decodes each frame).
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => this.#queueOutput(0, text));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      this.#stderrTail = (this.#stderrTail + text).slice(-400);
      this.#queueOutput(STDERR_FLAG, text);
    });
    child.once('error', (error) => {
      this.#failure ??= `cannot start ${process.execPath}: ${error.message}`;
      if (!this.#exit) this.#onChildExit(null, null);
    });
    child.once('exit', (code, signal) => this.#onChildExit(code, signal));
    return child;
  }

  #queueOutput(flags: number, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i += OUTPUT_PIECE) {
      this.#output.push(encodeFrame(FrameType.OUTPUT, flags, 0, bytes.subarray(i, i + OUTPUT_PIECE)));
    }
    this.#outputBytes += bytes.length;
    this.#flushOutput();
  }

  /** Sends the waiting OUTPUT frames if the wire is between two frames; pauses stdout/stderr while they pile up. */
  #flushOutput(): void {
    const child = this.#child;
    // Handed off: the child puts them between its frames itself (handoff-control.ts).
    const stream: Writable = this.#handoff ? (child?.stdin as Writable) : this.#stream;
    const ready = this.#handoff ? this.#handedOff && !this.#stopping : this.#scanner.atBoundary;
    if (this.#output.length > 0 && ready && stream && !stream.destroyed && !stream.writableEnded) {
      for (const frame of this.#output) stream.write(frame);
      this.#output = [];
      this.#outputBytes = 0;
    }
    const hold = this.#outputBytes > OUTPUT_QUEUE_MAX || !!stream?.writableNeedDrain;
    for (const s of [child?.stdout, child?.stderr]) {
      if (!s || s.destroyed) continue;
      if (hold) s.pause();
      else if (s.isPaused()) s.resume();
    }
  }

  /** `stdin` is null before a handoff's child exists (the header and bundle are held until then). */
  #relayIn(chunk: Buffer, stdin: Writable | null): boolean {
    if (this.#failure || this.#stopping) return true;
    if (this.#handoff && this.#header === null) return this.#holdBundle(chunk);
    if (this.#header === null) {
      this.#scanIn(chunk);
      return stdin!.write(chunk);
    }
    // The bootstrap header line: keep length and hash, replace the config with the server's.
    const buf = this.#header.length === 0 ? chunk : Buffer.concat([this.#header, chunk]);
    const nl = buf.indexOf(10);
    if (nl === -1) {
      if (buf.length > MAX_HEADER) this.#protocolFailure('sent no bootstrap header');
      else this.#header = buf;
      return true;
    }
    const fields = buf.toString('latin1', 0, nl).split(' ');
    if (fields[0] !== HEADER_MAGIC || !/^\d+$/.test(fields[1] ?? '') || !/^[0-9A-Za-z]+$/.test(fields[2] ?? '')) {
      this.#protocolFailure('sent no bootstrap header');
      return true;
    }
    this.#header = null;
    this.#bundleLeft = Number(fields[1]);
    const rest = buf.subarray(nl + 1);
    if (this.#handoff) {
      // Held in memory until whole: the bootstrap is ~150 KB, a claim past MAX_BUNDLE is not one.
      if (this.#bundleLeft > MAX_BUNDLE) {
        this.#protocolFailure(`announced a ${this.#bundleLeft}-byte bootstrap (at most ${MAX_BUNDLE})`);
        return true;
      }
      this.#held.push(Buffer.from(`${fields[1]} ${fields[2]}`, 'latin1'));
      return this.#holdBundle(rest);
    }
    stdin!.write(`${HEADER_MAGIC} ${fields[1]} ${fields[2]} ${JSON.stringify(CHILD_CONFIG)}\n`, 'latin1');
    this.#scanIn(rest);
    return stdin!.write(rest);
  }

  /**
   * Handoff: holds the bundle until it is whole, then stops reading the connection (what the
   * kernel still holds is the child's to read) and gives the child the header, the bundle and,
   * in the header, the bytes of the client's frames the server read past the bundle.
   */
  #holdBundle(chunk: Buffer): boolean {
    if (this.#handedOff || this.#failure) return true;
    if (this.#bundleLeft > chunk.length) {
      this.#bundleLeft -= chunk.length;
      this.#held.push(chunk);
      return true;
    }
    this.#held.push(chunk.subarray(0, this.#bundleLeft));
    const socket = this.#stream as net.Socket;
    const past = [chunk.subarray(this.#bundleLeft), ...stopReading(socket)];
    this.#bundleLeft = 0;
    this.#handedOff = true;
    // A spare that died (or lost its channel) while the bundle came is replaced by a fresh child.
    let spare = this.#spare;
    this.#spare = undefined;
    if (spare && (!spare.connected || spare.exitCode !== null || spare.signalCode !== null)) {
      killGroup(spare);
      spare = undefined;
    }
    const child = this.#launch(spare, spare ? undefined : socket);
    keepStopped(socket);
    if (!child) return true;
    // From here the server sees the connection's TCP state only: a client gone while the child is busy (and not reading) is found there.
    this.#unwatch = this.#options.watch!.watch(this.#inode!, () => {
      if (!this.#exit) this.kill(CLIENT_GONE);
    });
    if (spare) sendWire(spare, socket, (error) => this.kill(`the connection could not be passed to the spare child: ${error.message}`));
    const stdin = child.stdin!;
    stdin.on('drain', () => this.#flushOutput());
    const [lengthAndHash, ...bundle] = this.#held;
    this.#held = [];
    const config: BootConfig = { ...CHILD_CONFIG, handoff: Buffer.concat(past).toString('base64'), ...(spare ? { wireIpc: true } : {}) };
    stdin.write(`${HEADER_MAGIC} ${lengthAndHash!.toString('latin1')} ${JSON.stringify(config)}\n`, 'latin1');
    for (const b of bundle) stdin.write(b);
    this.#flushOutput();
    return true;
  }

  #scanIn(chunk: Buffer): void {
    if (this.#bundleLeft >= chunk.length) {
      this.#bundleLeft -= chunk.length;
      return;
    }
    this.#inScanner.push(chunk.subarray(this.#bundleLeft));
    this.#bundleLeft = 0;
  }

  #protocolFailure(what: string): void {
    this.#failure = `the client ${what}`;
    this.#header = null;
    this.kill(this.#failure);
    this.#stream.destroy();
  }

  #onChildExit(code: number | null, signal: string | null): void {
    if (this.#exit) return;
    this.#exit = { code, signal };
    if (this.#unwatch) {
      this.#unwatch();
      // A child that ended on its own after its client went (it read the end of its wire) is logged as the relay logs it.
      if (!this.#options.watch!.connected(this.#inode!)) this.#killedBecause ??= CLIENT_GONE;
    }
    // Grandchildren the remote code left behind go with it.
    this.#killGroup();
    const child = this.#child;
    const wire = this.#handoff ? undefined : (child?.stdio[3] as Readable | undefined);
    let ended = false;
    const endStream = (): void => {
      if (ended) return;
      ended = true;
      for (const s of child?.stdio ?? []) s?.destroy();
      const stream = this.#stream;
      const open = !stream.destroyed && !stream.writableEnded;
      // The trailer only goes between two frames; a child killed mid-frame gets none.
      // Handed off, the server did not see the child's frames: an exit with a code follows a flush
      // of the wire (remote.ts), a signal may have cut a frame. Without a trailer the client asks
      // the server how the child ended (a second connection, exit-records.ts): recorded first.
      const boundary = this.#handoff ? !this.#handedOff || code !== null : this.#scanner.atBoundary;
      this.#options.onEnded?.({ code, signal }, open && !boundary && this.#killedBecause !== CLIENT_GONE);
      if (open) {
        this.#flushOutput();
        if (boundary) stream.write(encodeTrailer({ code, signal }));
        // The connection is the server's alone again: its client's close ends the session at once.
        if (this.#handedOff) readAgain(stream as net.Socket);
        stream.end();
        setTimeout(() => stream.destroy(), LINGER_MS).unref();
      }
      this.#finish();
    };
    // The wire and the native output may still hold the child's last bytes: wait for their ends.
    const open = [wire, child?.stdout, child?.stderr].filter((s): s is Readable => !!s && !s.readableEnded && !s.destroyed);
    if (open.length === 0) {
      endStream();
      return;
    }
    let left = open.length;
    const timer = setTimeout(endStream, STDIO_GRACE_MS);
    for (const s of open) {
      s.once('end', () => {
        if (--left > 0) return;
        clearTimeout(timer);
        endStream();
      });
    }
  }

  /**
   * Asks the child to finish, as gw.exit() does: no more client input, a TERMINATE between two frames
   * (running tasks may finish; what they send still reaches the client), then end of its stdin.
   */
  stop(): void {
    if (this.#handoff && !this.#child && !this.#stopping) {
      this.#stopping = true;
      this.#dropSpare();
      this.#stream.destroy(); // still before its bundle: nothing runs yet
      return;
    }
    const stdin = this.#child?.stdin;
    if (!stdin || stdin.destroyed || this.#stopping) return;
    if (this.#handedOff) {
      // The wire is the child's: the TERMINATE goes on its control stream, after any queued output.
      this.#flushOutput();
      this.#stopping = true;
      stdin.write(encodeFrame(FrameType.TERMINATE, 0, 0));
      stdin.end();
      return;
    }
    this.#stopping = true;
    this.#stream.pause();
    if (this.#header === null && this.#bundleLeft === 0 && this.#inScanner.atBoundary) {
      stdin.write(encodeFrame(FrameType.TERMINATE, 0, 0));
    }
    stdin.end();
  }

  /** A spare kept for a handoff that will not happen. */
  #dropSpare(): void {
    if (this.#spare) killGroup(this.#spare);
    this.#spare = undefined;
  }

  /** Kills the child's whole process group now. */
  kill(reason: string): void {
    this.#killedBecause ??= reason;
    this.#dropSpare();
    this.#killGroup();
    if (!this.#child) this.#stream.destroy();
  }

  #killGroup(): void {
    if (this.#child) killGroup(this.#child);
  }

  #finish(): void {
    if (this.#finished || !this.#streamClosed || (this.#child && !this.#exit)) return;
    this.#finished = true;
    const seconds = ((Date.now() - this.#started) / 1000).toFixed(1);
    const exit = this.#exit;
    let outcome: string;
    if (this.#failure) outcome = `failed: ${this.#failure}`;
    else if (!this.#child) outcome = 'the client went away before its child was started';
    else if (this.#killedBecause) outcome = `${this.#killedBecause}; remote killed`;
    else if (exit?.signal) outcome = `remote killed by ${exit.signal}`;
    else outcome = `remote exited with code ${exit?.code ?? '?'}`;
    // One log line per connection: the child's last stderr line, printable characters only.
    const stderr = this.#stderrTail
      .trim()
      .split('\n')
      .pop()
      ?.replace(/[^\x20-\x7e]/g, '?');
    const detail = stderr && (this.#failure || (exit?.code ?? 0) !== 0) ? ` (stderr: ${stderr.slice(0, 200)})` : '';
    this.#options.log(`#${this.id} ${this.#options.peer} ${this.#options.kind}: served ${seconds} s, pid ${this.pid ?? '-'}, ${outcome}${detail}`);
    this.#resolveDone();
  }
}
