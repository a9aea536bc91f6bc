import type { Readable, Writable } from 'node:stream';
import { ChannelClosedError, TsnetError } from '../errors.js';
import { builtin } from '../io/builtin.js';
import type { Channel } from './channel.js';

/**
 * A Writable that sends each chunk as one item; backpressure follows the channel's window. Ending
 * it half-closes the channel (end(): the peer's iteration ends, replies still arrive); with
 * `proxyClose` it closes the channel fully instead, and a destroy with an error closes it with
 * that error.
 */
function channelWritable(channel: Channel, options?: { proxyClose?: boolean }): Writable {
  const { Writable } = builtin<typeof import('node:stream')>('node:stream');
  return new Writable({
    highWaterMark: 256 * 1024,
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, callback) {
      channel.send(chunk).then(() => callback(), callback);
    },
    final(callback) {
      (options?.proxyClose ? channel.close() : channel.end()).then(() => callback(), callback);
    },
    destroy(error, callback) {
      if (options?.proxyClose && error) channel.close(error).catch(() => {});
      callback(error);
    },
  });
}

/** A Readable of Buffers (strings are UTF-8 encoded); ends when the channel closes; destroying it closes the channel. */
function channelReadable(channel: Channel): Readable {
  const { Readable } = builtin<typeof import('node:stream')>('node:stream');
  return new Readable({
    highWaterMark: 256 * 1024,
    read() {
      channel.receive().then(
        (item) => {
          if (typeof item === 'string') this.push(Buffer.from(item, 'utf8'));
          else if (item instanceof Uint8Array) this.push(Buffer.from(item.buffer, item.byteOffset, item.byteLength));
          else this.destroy(new TypeError(`channel ${channel.id} carried a ${typeof item} where makeFile('r') expects bytes or strings`));
        },
        (error: unknown) => {
          if (error instanceof ChannelClosedError) this.push(null);
          else this.destroy(error as Error);
        },
      );
    },
    // Destroyed before the end: nobody reads any more; the peer's pending send() rejects with
    // ChannelClosedError (after a normal end the channel is closed already and this is a no-op).
    destroy(error, callback) {
      channel.close().catch(() => {});
      callback(error);
    },
  });
}

export function makeFileFor(channel: Channel, mode: 'r' | 'w', options?: { proxyClose?: boolean }): Readable | Writable {
  if (mode === 'w') return channelWritable(channel, options);
  if (mode === 'r') return channelReadable(channel);
  throw new TsnetError(`makeFile() mode must be 'r' or 'w', got ${JSON.stringify(mode)}`);
}

/** Output kept for a stream nobody reads before newer output is dropped (remote output cannot be paused). */
const OUTPUT_CAP = 8 << 20;

/**
 * A Readable of one remote output stream as text, from now on; it ends when the gateway closes.
 * `gatewayId` says whose output it is.
 */
export function outputReadable(
  gatewayId: string,
  which: 'stdout' | 'stderr',
  subscribe: (listener: (stream: 'stdout' | 'stderr', text: string) => void) => () => void,
  closed: Promise<unknown>,
): Readable & { readonly gatewayId: string } {
  let dropped = 0;
  const off = subscribe((stream, text) => {
    if (stream !== which || readable.destroyed) return;
    if (readable.readableLength > OUTPUT_CAP) {
      dropped += text.length;
      return;
    }
    if (dropped > 0) {
      readable.push(`[tsnet: ${dropped} characters of remote ${which} of gateway ${gatewayId} dropped: nobody read this stream]\n`);
      dropped = 0;
    }
    readable.push(text);
  });
  const { Readable } = builtin<typeof import('node:stream')>('node:stream');
  const readable = new Readable({
    encoding: 'utf8',
    read() {},
    destroy(error, callback) {
      off();
      callback(error);
    },
  });
  void closed.then(() => {
    off();
    if (!readable.destroyed) readable.push(null);
  });
  Object.defineProperty(readable, 'gatewayId', { value: gatewayId, enumerable: true });
  return readable as Readable & { readonly gatewayId: string };
}
