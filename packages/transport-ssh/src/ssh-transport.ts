import { ConnectError, type Transport, type TransportExit } from '@tsnet/core/transport';
import type ssh2 from 'ssh2';
import { killCommand as killCommandFor } from './remote-command.js';
import type { SshConnection } from './ssh-connection.js';

/** Small frames are coalesced into writes of up to this many bytes: one SSH packet each. */
const COALESCE = 32 * 1024;
/** How long kill() waits for the channel to close before giving up on the remote side. */
const KILL_WAIT_MS = 5000;
/** A spawned gateway's wire closed: how long its exit status (on the stderr channel) may take to follow. */
const EXIT_STATUS_WAIT_MS = 2000;

/** A gateway started by a spawner (see @tsnet/bootstrap's spawner.ts): its stderr and exit status come on a channel of their own. */
export interface SpawnedChannels {
  stderr: ssh2.ClientChannel;
  /** Word that starts the exit status line the spawner writes on `stderr`: `\0<exit> <code|-> <signal|->\n`. */
  exit: string;
}
/**
 * Receive window of an exec channel. ssh2 (like OpenSSH) keeps 1-2 MiB in flight, which caps one
 * channel at about 2 MiB per round trip; we read everything at once (tsnet channels do their own
 * flow control), so a larger window costs no buffering and lifts that cap on long links.
 */
export const RECEIVE_WINDOW = 8 << 20;

interface ChannelInternals {
  incoming?: { window?: number; state?: string };
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { channelWindowAdjust?(id: number, amount: number): void } };
}

/**
 * A gateway's byte stream over one SSH exec channel: frames go to the remote stdin and come back on
 * its stdout (after the ready marker the start script prints; anything a login shell printed
 * before it is passed on as stdout text); stderr is the remote diagnostics.
 */
export class SshTransport implements Transport {
  readonly label: string;
  /** The runtime started and its executable (for messages when it fails to boot). */
  readonly runtime: { name: string; exe: string } | undefined;
  readonly closed: Promise<TransportExit>;
  /** Resolves with the remote pid once the start script printed its marker; rejects if it never does. */
  readonly ready: Promise<number>;
  /** True once the runtime's first bytes came (past its bootstrap: it answers the handshake); false if it ended first. */
  readonly talking: Promise<boolean>;
  #talked!: (yes: boolean) => void;
  readonly #channel: ssh2.ClientChannel;
  readonly #conn: SshConnection;
  readonly #marker: Buffer;
  readonly #spawned: SpawnedChannels | undefined;
  /** Spawned: stderr text held back while it could be the start of the exit status line. */
  #errHeld = '';
  #errDone = false;
  #pid: number | undefined;
  #readyExtra = '';
  #synced = false;
  #pre: Buffer = Buffer.alloc(0);
  #data: ((chunk: Uint8Array) => void) | null = null;
  #pending: Buffer[] = [];
  #stderr: ((text: string) => void) | null = null;
  #stderrText = '';
  #stdout: ((text: string) => void) | null = null;
  #stdoutText = '';
  #exit: { code: number | null; signal: string | null } | null = null;
  #done = false;
  #wireClosed = false;
  #refed = true;
  #resolveClosed!: (exit: TransportExit) => void;
  #readyWaiter!: { resolve(pid: number): void; reject(e: Error): void };

  constructor(
    channel: ssh2.ClientChannel,
    conn: SshConnection,
    label: string,
    marker: string,
    receiveWindow = RECEIVE_WINDOW,
    runtime?: { name: string; exe: string },
    spawned?: SpawnedChannels,
  ) {
    this.runtime = runtime;
    this.#spawned = spawned;
    this.#channel = channel;
    this.#conn = conn;
    this.label = label;
    this.#marker = Buffer.from(`${marker} `, 'latin1');
    this.closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
    this.ready = new Promise((resolve, reject) => {
      this.#readyWaiter = { resolve, reject };
    });
    this.ready.catch(() => {});
    this.talking = new Promise((r) => {
      this.#talked = r;
    });
    const grow = windowGrower(channel, receiveWindow);
    channel.on('data', (chunk: Buffer) => {
      grow();
      this.#onStdout(chunk);
    });
    grow();
    const errStream = spawned ? spawned.stderr : channel.stderr;
    errStream.setEncoding('utf8');
    errStream.on('data', (text: string) => (spawned ? this.#onSpawnedStderr(text) : this.#onStderrText(text)));
    channel.on('error', () => {}); // surfaces as 'close' (and the connection's reason)
    if (spawned) {
      spawned.stderr.on('error', () => {});
      const ended = (): void => {
        if (this.#errDone) return;
        this.#errDone = true;
        if (this.#errHeld) this.#onStderrText(this.#errHeld);
        this.#errHeld = '';
        if (this.#wireClosed) setImmediate(() => this.#finish());
      };
      // EOF is enough: the spawner sends nothing after the status line ('close' waits for our side too).
      spawned.stderr.on('end', ended);
      spawned.stderr.on('close', ended);
      // A forwarded socket is half-closed: sshd closes the channel once we end our side too (an
      // exec session closes when its process exits). The runtime's end of the wire is its exit.
      channel.on('end', () => this.end());
    }
    channel.on('exit', (code: number | null, signal?: string) => {
      this.#exit = {
        code: typeof code === 'number' ? code : null,
        signal: signal ? (signal.startsWith('SIG') ? signal : `SIG${signal}`) : null,
      };
    });
    channel.on('close', () => {
      this.#wireClosed = true;
      // Spawned: the exit status follows on the stderr channel (bounded: the spawner may be gone).
      if (spawned && !this.#errDone) {
        setTimeout(() => this.#finish(), EXIT_STATUS_WAIT_MS).unref();
        return;
      }
      // The connection's own failure (keepalive timeout, reset) is reported just before or after
      // its channels close: give it a moment to be known, so the reason names it.
      setImmediate(() => this.#finish());
    });
    conn.onLost(() => this.#finish());
    conn.holdRef();
  }

  /** The process stays alive for this gateway (the default while it is busy). */
  ref(): void {
    if (this.#refed || this.#done) return;
    this.#refed = true;
    this.#conn.holdRef();
  }

  /** This gateway alone does not keep the process alive (it is idle). */
  unref(): void {
    if (!this.#refed || this.#done) return;
    this.#refed = false;
    this.#conn.dropRef();
  }

  /** Remote pid (also the process group: sshd starts the session with setsid), once known. */
  get remotePid(): number | undefined {
    return this.#pid;
  }

  /** What the start script printed on its marker line after the pid (what a learning start found out). */
  get readyExtra(): string {
    return this.#readyExtra;
  }

  /** Everything the remote wrote to stderr so far, when no handler took it yet. */
  get bufferedStderr(): string {
    return this.#stderrText;
  }

  get exitInfo(): { code: number | null; signal: string | null } | null {
    return this.#exit;
  }

  #onStdout(chunk: Buffer): void {
    if (this.#done) return;
    if (this.#synced) {
      this.#deliver(chunk);
      return;
    }
    this.#pre = this.#pre.length ? Buffer.concat([this.#pre, chunk]) : chunk;
    const at = this.#pre.indexOf(this.#marker);
    if (at === -1) {
      // Keep only what could still be the start of the marker; the rest is shell chatter.
      const keep = this.#marker.length + 16;
      if (this.#pre.length > keep * 4) {
        this.#chatter(this.#pre.subarray(0, this.#pre.length - keep));
        this.#pre = this.#pre.subarray(this.#pre.length - keep);
      }
      return;
    }
    const nl = this.#pre.indexOf(10, at);
    if (nl === -1) {
      // The marker is followed by a pid and a newline; more than that is not our marker line.
      if (this.#pre.length - at > this.#marker.length + 32) {
        this.#chatter(this.#pre);
        this.#pre = Buffer.alloc(0);
      }
      return;
    }
    if (at > 0) this.#chatter(this.#pre.subarray(0, at));
    const line = this.#pre.subarray(at + this.#marker.length, nl).toString('utf8');
    const space = line.indexOf(' ');
    const pid = Number(space === -1 ? line : line.slice(0, space));
    if (space !== -1) this.#readyExtra = line.slice(space + 1);
    const rest = this.#pre.subarray(nl + 1);
    this.#pre = Buffer.alloc(0);
    this.#synced = true;
    if (Number.isInteger(pid) && pid > 0) this.#pid = pid;
    this.#readyWaiter.resolve(this.#pid ?? 0);
    if (rest.length) this.#deliver(rest);
  }

  #onStderrText(text: string): void {
    if (this.#stderr) this.#stderr(text);
    else this.#stderrText = keepEnd(this.#stderrText + text); // before the gateway listens: bounded
  }

  /** Spawned: stderr text, up to the spawner's exit status line (`\0<exit> <code> <signal>\n`: no text has a NUL). */
  #onSpawnedStderr(text: string): void {
    if (this.#exit) return;
    const needle = `\0${this.#spawned!.exit} `;
    let all = this.#errHeld + text;
    this.#errHeld = '';
    const at = all.indexOf(needle);
    if (at !== -1) {
      const end = all.indexOf('\n', at + needle.length);
      if (end === -1) {
        this.#errHeld = all.slice(at);
        all = all.slice(0, at);
      } else {
        const [code, signal] = all.slice(at + needle.length, end).split(' ');
        this.#exit = { code: code && code !== '-' ? Number(code) : null, signal: signal && signal !== '-' ? signal : null };
        all = all.slice(0, at);
        if (this.#wireClosed) setImmediate(() => this.#finish());
      }
    } else {
      // Hold back an end that could be the start of the status line.
      for (let k = Math.min(needle.length, all.length); k > 0; k--) {
        if (all.endsWith(needle.slice(0, k))) {
          this.#errHeld = all.slice(all.length - k);
          all = all.slice(0, all.length - k);
          break;
        }
      }
    }
    if (all) this.#onStderrText(all);
  }

  #chatter(bytes: Buffer): void {
    const text = bytes.toString('utf8');
    if (this.#stdout) this.#stdout(text);
    else this.#stdoutText = keepEnd(this.#stdoutText + text);
  }

  #deliver(chunk: Buffer): void {
    this.#talked(true);
    if (this.#data) this.#data(chunk);
    else this.#pending.push(chunk);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    const lost = this.#conn.lostReason;
    const exit: TransportExit = this.#exit ? { ...this.#exit } : { code: null, signal: null };
    if (!this.#exit && lost) {
      exit.reason = lost.reason;
      if (lost.error) exit.error = lost.error;
    } else if (!this.#exit) {
      exit.reason = `the SSH channel to ${this.#conn.label} closed without an exit status`;
    }
    this.#readyWaiter.reject(new ConnectError(exit.reason ?? 'the remote command ended before starting node'));
    this.#talked(false);
    if (this.#refed) {
      this.#refed = false;
      this.#conn.dropRef();
    }
    try {
      this.#channel.removeAllListeners('data');
      this.#channel.destroy();
      this.#spawned?.stderr.destroy();
    } catch {
      // already closed
    }
    this.#resolveClosed(exit);
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.#data = handler;
    const pending = this.#pending;
    this.#pending = [];
    for (const c of pending) handler(c);
  }

  onDrain(handler: () => void): void {
    this.#channel.on('drain', handler);
  }

  onStderr(handler: (text: string) => void): void {
    this.#stderr = handler;
    if (this.#stderrText) {
      const t = this.#stderrText;
      this.#stderrText = '';
      handler(t);
    }
  }

  onStdout(handler: (text: string) => void): void {
    this.#stdout = handler;
    if (this.#stdoutText) {
      const t = this.#stdoutText;
      this.#stdoutText = '';
      handler(t);
    }
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done || !this.#channel.writable) return true;
    return this.#channel.write(chunk);
  }

  // No flushed(): ssh2 copies each write into an encrypted packet, except the rest of one that
  // waits for the SSH window, and its write callbacks do not say when that rest left (a write
  // after it is called back first). So the gateway copies large payloads before writing them here
  // (FrameWriter, without flushed), and a resolved send() may reuse its buffer.

  /**
   * ssh2 sends every write as its own SSH packet (one cipher pass and one socket write each), so
   * small frames are joined into writes of up to one packet.
   */
  writev(chunks: Uint8Array[]): boolean {
    if (this.#done || !this.#channel.writable) return true;
    let ok = true;
    let batch: Uint8Array[] = [];
    let size = 0;
    const flush = () => {
      if (batch.length === 0) return;
      ok = this.#channel.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, size)) && ok;
      batch = [];
      size = 0;
    };
    for (const c of chunks) {
      if (c.length >= COALESCE) {
        flush();
        ok = this.#channel.write(c) && ok;
        continue;
      }
      if (size + c.length > COALESCE) flush();
      batch.push(c);
      size += c.length;
    }
    flush();
    return ok;
  }

  end(): void {
    if (this.#done) return;
    try {
      this.#channel.end();
    } catch {
      // channel already gone
    }
  }

  /**
   * Ends the remote runtime and its process group: a `signal` channel request (honoured by sshd for
   * sessions of non-root users) and, as sshd refuses to signal root sessions, `kill -9 -<pid>` over
   * a second exec channel of the same connection.
   */
  async kill(): Promise<TransportExit> {
    if (this.#done) return this.closed;
    try {
      this.#channel.signal('KILL');
    } catch {
      // not open any more
    }
    // Bounded from here: opening the second exec channel may itself never be answered. Not unref'd:
    // the caller awaits kill(), and an unref'd connection keeps nothing else alive.
    const timer = setTimeout(() => {
      // The connection does not answer: nothing more can reach the remote side.
      this.#channel.close();
      this.#finish();
    }, KILL_WAIT_MS);
    if (this.#pid !== undefined) void this.#conn.run(killCommandFor(this.#pid)).catch(() => {});
    else this.#channel.close();
    const exit = await this.closed;
    clearTimeout(timer);
    return exit;
  }
}

/**
 * Tops the channel's receive window up to `target` whenever it falls below half of it, the
 * way ssh2's own windowAdjust() does (same bookkeeping, so ssh2's check at 1 MiB never fires). A
 * no-op if ssh2's internals ever change shape: ssh2's own 2 MiB window then applies.
 */
function windowGrower(channel: ssh2.ClientChannel, target: number): () => void {
  const c = channel as unknown as ChannelInternals;
  if (target <= 2 << 20) return () => {}; // ssh2's own window is that large already
  const adjust = c._client?._protocol?.channelWindowAdjust;
  if (typeof adjust !== 'function' || typeof c.incoming?.window !== 'number' || typeof c.outgoing?.id !== 'number') return () => {};
  const protocol = c._client!._protocol!;
  return () => {
    const incoming = c.incoming!;
    const window = incoming.window!;
    if (window >= target / 2 || c.outgoing!.state === 'closed' || c.outgoing!.state === 'closing') return;
    const amount = target - window;
    incoming.window = window + amount;
    adjust.call(protocol, c.outgoing!.id!, amount);
  };
}

/** What is kept of text written before anyone listens: its end, where errors are. */
const EARLY_TEXT = 64 * 1024;
function keepEnd(text: string): string {
  return text.length > EARLY_TEXT ? text.slice(-EARLY_TEXT) : text;
}
