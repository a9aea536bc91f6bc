import { Duplex } from 'node:stream';
import type { Channel } from '../channel/channel.js';
import { ChannelClosedError, ConnectError, RemoteError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';

/**
 * Runs on the master's host: connects to host:port from there and relays bytes both ways over its
 * channel, with the channel's credit as backpressure. Shipped by remoteExec, so self-contained.
 */
async function tsnetTcpRelay(channel: Channel<Uint8Array | string>, kw: { host: string; port: number }): Promise<void> {
  const net = require('node:net') as typeof import('node:net');
  const sock = net.connect({ host: kw.host, port: kw.port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  await channel.send('connected');
  sock.on('data', (d: Buffer) => {
    sock.pause();
    channel.send(d).then(
      () => sock.resume(),
      () => sock.destroy(),
    );
  });
  const ended = new Promise<void>((resolve) => {
    sock.once('close', () => resolve());
    sock.once('error', () => resolve());
  });
  void ended.then(() => channel.close().catch(() => {}));
  for await (const chunk of channel) {
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  }
  sock.end();
  await ended;
}

/**
 * A byte stream to `host:port` as seen from the master gateway's host: for transports that reach a
 * host only the master can reach (`ssh=inner//via=gw0`), like OpenSSH's ProxyJump. The connection
 * itself (SSH handshake, authentication, host key checks) still runs here.
 */
export async function connectTcpVia(master: Gateway, host: string, port: number): Promise<Duplex> {
  const ch = master.remoteExec(tsnetTcpRelay, { host, port }) as Channel<unknown>;
  try {
    await ch.receive();
  } catch (error) {
    const why = error instanceof RemoteError ? error.remoteMessage : (error as Error).message;
    throw new ConnectError(`cannot reach ${host}:${port} through gateway ${master.id}: ${why}`, { cause: error });
  }
  return new Duplex({
    read() {
      ch.receive().then(
        (item) => this.push(typeof item === 'string' ? Buffer.from(item) : (item as Uint8Array)),
        (error: unknown) => {
          if (error instanceof ChannelClosedError) this.push(null);
          else this.destroy(error as Error);
        },
      );
    },
    write(chunk: Buffer, _encoding, callback) {
      ch.send(chunk).then(() => callback(), callback);
    },
    final(callback) {
      ch.close().then(() => callback(), callback);
    },
    destroy(error, callback) {
      ch.close().catch(() => {});
      callback(error);
    },
  });
}
