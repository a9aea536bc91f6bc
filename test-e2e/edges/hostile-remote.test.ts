// Issue 21, a hostile or broken remote: remote code writes raw frames to its wire (fd 3 on every
// transport). The local side must never crash, hang or grow without bound because of it: a flood
// of CLOSE_ERROR frames on channel 0 keeps a bounded stderr tail, a second HELLO that carries an
// error is a protocol error, and on socket= gateways the server's private trailer type (0xE0)
// from remote code is a ProtocolError, never a silent swallow or an unbounded buffer.
import { describe, expect, test } from 'vitest';
import { type GatewayKind, popenKind, socketKind, sshKind } from '../helpers/gateway-kinds.js';
import { useKindGroup } from '../helpers/use-kind.js';

// Remote helpers: a frame as bytes, and a write of it to the wire once the gateway's own writes are out.
const RAW = `
  const fs = require('node:fs');
  const frame = (type, ch, payload) => {
    const b = Buffer.alloc(12 + payload.length);
    b[0] = 0xf7; b[1] = type; b.writeUInt32BE(ch, 4); b.writeUInt32BE(payload.length, 8); payload.copy(b, 12);
    return b;
  };
  const raw = async (bytes) => {
    await new Promise((r) => setTimeout(r, 50));
    for (let at = 0; at < bytes.length; ) {
      try { at += fs.writeSync(3, bytes, at); } catch (e) { if (e.code !== 'EAGAIN') throw e; await new Promise((r) => setTimeout(r, 1)); }
    }
  };
`;

describe.each([popenKind, sshKind(), socketKind()] as GatewayKind[])('$name', (kind) => {
  const { open } = useKindGroup(kind);

  test('a flood of CLOSE_ERROR frames on channel 0 keeps a bounded stderr tail; the local side stays up', async () => {
    const gw = await open();
    const ch = gw.remoteExec(`${RAW}
      const line = 'x'.repeat(3000);
      const info = Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify({ name: 'E', message: 'm'.repeat(10000), stack: Array(12).fill(line).join('\\n') }))]);
      const one = frame(5, 0, info);
      await raw(Buffer.concat(Array(3000).fill(one)));
      await channel.send('still here');
    `);
    expect(await ch.receive({ timeout: 30_000 })).toBe('still here');
    const lines = gw.stderr.split('\n');
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(2001);
    await gw.exit({ timeout: 2000 });
    expect((await gw.closed).reason.length).toBeLessThan(5000);
  });

  test('a second HELLO that carries an error is a protocol error', async () => {
    const gw = await open();
    const ch = gw.remoteExec(`${RAW}
      await raw(frame(1, 0, Buffer.from(JSON.stringify({ version: 1, error: 'refused after all' }))));
      await new Promise(() => {});
    `);
    const error = await ch.receive({ timeout: 20_000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/protocol error: .*unexpected second handshake/);
    expect((await gw.closed).reason).toMatch(/^protocol error/);
  });
});

describe('socket: the server trailer type from remote code', () => {
  const kind = socketKind();
  const { open } = useKindGroup(kind);

  test('a forged trailer (0xE0) is a ProtocolError, not a silent swallow', async () => {
    const gw = await open();
    const ch = gw.remoteExec(`${RAW}
      await raw(frame(0xe0, 0, Buffer.from('{"code":0,"signal":null}')));
      for (;;) { await channel.send('after'); await new Promise((r) => setTimeout(r, 20)); }
    `);
    const error = await (async () => {
      try {
        for (;;) await ch.receive({ timeout: 20_000 });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error.message).toMatch(/protocol error: .*frame type 0xe0 is the server's own/);
    const closed = await gw.closed;
    expect(closed.error?.name).toBe('ProtocolError');
  });

  test('a trailer length of 0xFFFFFFFF is refused from its header: nothing after it is buffered', async () => {
    const gw = await open();
    const before = process.memoryUsage().rss;
    const ch = gw.remoteExec(`${RAW}
      const head = Buffer.alloc(12); head[0] = 0xf7; head[1] = 0xe0; head.writeUInt32BE(0xffffffff, 8);
      await raw(head);
      const block = Buffer.alloc(1 << 20, 0x61);
      for (let i = 0; i < 256; i++) await raw(block);
    `);
    const error = await ch.receive({ timeout: 30_000 }).catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/protocol error: .*a trailer frame of 4294967295 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });
});
