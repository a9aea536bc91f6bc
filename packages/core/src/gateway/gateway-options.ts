import type { Channel } from '../channel/channel.js';
import type { Transport } from '../spec/transport-types.js';
import { checkWireOptions, type WireOptions } from '../wire/limits.js';

/**
 * The options and result shapes of the host Gateway (re-exported by gateway.ts), and the checks
 * of options made before a gateway exists: a bad option throws a TypeError or a TsnetError naming
 * it, and never leaves a started remote process behind.
 */

export interface RemoteExecOptions {
  /** Aborting it aborts the remote code's `channel.signal`; this channel's receive()/waitClose() reject with AbortError. */
  signal?: AbortSignal;
  /** Run in a fresh worker thread of the remote runtime, which an abort or close() terminates. */
  worker?: boolean;
  /** With `worker`: milliseconds the code has to return after an abort or close() before its thread is terminated. Default 1000. */
  abortTimeout?: number;
  /** Module sources: 'all' bundles npm dependencies too (default: they stay require() calls resolved remotely). */
  bundle?: 'local' | 'all';
}

export interface RemoteStatus {
  numChannels: number;
  numExecuting: number;
  /** Seconds since the remote runtime started. */
  uptime: number;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  /** Bytes received by the remote and not yet read by remote code. */
  queuedBytesIn: number;
  /** Bytes remote code sent that wait for the wire or for local credit. */
  queuedBytesOut: number;
}

export interface GatewayOptions extends WireOptions {
  /** Where remote stdout/stderr go: 'inherit' (local stderr, each line prefixed `[id] `), or 'ignore'. Default 'inherit'. */
  output?: 'inherit' | 'ignore';
  /** Milliseconds to wait for the remote runtime's handshake. Default 30000. */
  connectTimeout?: number;
  signal?: AbortSignal;
}

/**
 * A function shipped by remoteExec(): called remotely as `fn(channel, kwargs)`, where its channel
 * receives `In` and sends `Out` (the local end is then a `Channel<Out, In>`).
 */
export type RemoteFunction<In, Out, K> = (channel: Channel<In, Out>, kwargs: K) => unknown;
/** The kwargs argument of remoteExec(fn, …): optional only when fn's second parameter accepts undefined. */
export type KwargsOf<K> = undefined extends K ? [kwargs?: K] : [kwargs: K];

/** Bad options must not leave the already started remote process behind. */
export function checkedOptions(options: GatewayOptions | undefined, transport: Transport): GatewayOptions | undefined {
  try {
    checkWireOptions(options);
  } catch (error) {
    void transport.kill();
    throw error;
  }
  return options;
}
