import type { Gateway } from '../gateway/gateway.js';
import type { XSpec } from './xspec.js';

/** How a transport ended. */
export interface TransportExit {
  /** Process exit code, where a process was involved and exited normally. */
  code: number | null;
  /** Signal that ended the process, if any. */
  signal: string | null;
  /** What went wrong at the transport level (connection reset, spawn failure), if anything. */
  error?: Error;
  /** A sentence for users, e.g. "remote process was killed by SIGKILL". */
  reason?: string;
  /**
   * The transport did not see the remote process end (the connection was closed on it, or a relay
   * did not answer): something else ends it (a server, a watchdog). Group.terminate() reports it.
   */
  unconfirmed?: boolean;
}

/**
 * A byte stream to a remote runtime plus its lifecycle. This is all a gateway needs from a
 * transport; framing and channels live above it.
 *
 * Failure semantics, which every implementation keeps:
 * - `onData` is called with bytes in order; after `closed` settles it is never called again.
 * - `write()` never throws: after the stream broke, writes are dropped and `closed` settles.
 *   It returns false when the caller should wait for the `onDrain` callback before writing more.
 * - `closed` settles exactly once, never rejects, and only after the remote side is gone
 *   (process reaped, connection ended).
 * - `kill()` forcibly ends the remote side (the whole process tree where the transport can) and
 *   resolves with `closed`.
 */
export interface Transport {
  /** Short label for errors and traces: "popen:4242", "ssh:build01", "tcp:10.0.0.5:8888". */
  readonly label: string;
  /**
   * Sets the receiver of incoming bytes. Bytes that arrived before are delivered at once, in order.
   * A chunk is valid only during the call: the transport may read the next one into the same memory.
   */
  onData(handler: (chunk: Uint8Array) => void): void;
  /**
   * Optional, called before onData: a read may land straight in memory the gateway names (the rest
   * of a large payload, from `target()`) instead of a chunk for onData; `landed(n)` then reports it.
   * Bytes stay in stream order across both paths.
   */
  readInto?(target: () => Uint8Array | undefined, landed: (n: number) => void): void;
  /** Called when a write returned false and the stream can take more. */
  onDrain(handler: () => void): void;
  write(chunk: Uint8Array): boolean;
  /** Writes several chunks as one system call where possible (writev). */
  writev?(chunks: Uint8Array[]): boolean;
  /**
   * Calls back once every byte written so far has left the process (handed to the kernel), or the
   * transport broke. A send resolves through it when its payload was written by reference, so its
   * buffer may be reused; a transport without it has such payloads copied first.
   */
  flushed?(callback: () => void): void;
  /** No more bytes will be written: the remote sees EOF. */
  end(): void;
  /** Settles when the transport is fully down. Never rejects. */
  readonly closed: Promise<TransportExit>;
  kill(): Promise<TransportExit>;
  /** Remote diagnostics (stderr) as text lines, when the transport has a side stream for them. */
  onStderr?(handler: (text: string) => void): void;
  /** Remote stdout bytes outside the wire, when the transport keeps it apart (popen). */
  onStdout?(handler: (text: string) => void): void;
  /** Let the transport keep the local process alive (the default) or not; a gateway unrefs it while nothing waits on it. */
  ref?(): void;
  unref?(): void;
  /** Remote process id, where known before the handshake. */
  readonly pid?: number;
  /** The runtime the transport started (`runtime=` of the spec) and its executable, for messages when it fails to boot. */
  readonly runtime?: { readonly name: string; readonly exe: string } | undefined;
}

export interface ConnectOptions {
  spec: XSpec;
  gatewayId: string;
  signal?: AbortSignal;
  /**
   * `connectTimeout` from the gateway options, ms: the bound of the whole start (connect, login,
   * bootstrap). A provider stops its own phases by it and names the phase that ran out.
   */
  timeout?: number;
  /**
   * For via=: the gateway whose host starts this one. A provider that supports it starts its
   * command there with connectVia() (from `@tsnet/core/transport`); one that does not must refuse.
   */
  via?: Gateway;
}

/**
 * A transport provider: `@tsnet/transport-popen` exports one for `popen`, and so on. makeGateway()
 * finds it by the spec's type, or takes one passed directly.
 */
export interface TransportProvider {
  readonly type: string;
  connect(options: ConnectOptions): Promise<Transport>;
}
