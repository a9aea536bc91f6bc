// Half-close (channel.end()) and what close() with the peer still sending says, over every kind
// of gateway (popen: half-close.test.ts; ssh: ssh/api-ssh.test.ts).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChannelClosedError, type Gateway, makeGateway } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GatewayKind } from '../helpers/gateway-kinds.js';

/** Blocks this thread (no event-loop turn, so nothing is read from the wire) until `file` exists. */
function blockUntilExists(file: string, limitMs = 20_000): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + limitMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${limitMs} ms`);
    Atomics.wait(cell, 0, 0, 5);
  }
}

export function halfCloseContract(kind: GatewayKind): void {
  let gw: Gateway;
  let tmp: string;
  beforeAll(async () => {
    await kind.setup();
    gw = await makeGateway(kind.spec('//id=half'), { output: 'ignore' });
    tmp = mkdtempSync(join(tmpdir(), 'tsnet-half-close-'));
  });
  afterAll(async () => {
    await gw?.exit();
    await kind.teardown();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('end()', () => {
    test('with replies in flight: the remote loop ends after the last item, every reply arrives', async () => {
      const ch = gw.remoteExec(`
        let n = 0;
        for await (const x of channel) { n++; await channel.send(x * 2); }
        await channel.send({ seen: n });
      `);
      const items = Array.from({ length: 2000 }, (_, i) => i);
      for (const i of items) void ch.send(i);
      await ch.end(); // right after the last send: thousands of replies still to come
      const replies: unknown[] = [];
      for await (const r of ch) replies.push(r);
      expect(replies).toEqual([...items.map((i) => i * 2), { seen: 2000 }]);
      await ch.waitClose();
    });

    test('after end() the peer may still send; this side can no longer', async () => {
      const ch = gw.remoteExec(`
        for await (const x of channel) void x;
        for (let i = 0; i < 100; i++) await channel.send(i);
      `);
      await ch.send('only item');
      await ch.end();
      await expect(ch.send('too late')).rejects.toBeInstanceOf(ChannelClosedError);
      await expect(ch.send('too late')).rejects.toMatchObject({ by: 'local' });
      expect(ch.isClosed()).toBe(false); // the other direction is open
      const got: number[] = [];
      for await (const x of ch) got.push(x as number);
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(ch.isClosed()).toBe(true);
    });

    test('end() on both sides closes the channel on both', async () => {
      const report = gw.newChannel();
      const ch = gw.remoteExec(
        `
        const { report } = kwargs;
        await channel.send('a');
        await channel.end();
        const got = [];
        for await (const x of channel) got.push(x);
        await report.send([got, channel.isClosed()]);
        await report.receive(); // the channel is done while its code still runs
      `,
        { report },
      );
      expect(await ch.receive()).toBe('a');
      await ch.send('b');
      await ch.end();
      await ch.waitClose({ timeout: 5000 });
      expect(ch.isClosed()).toBe(true);
      expect(await report.receive()).toEqual([['b'], true]);
      await report.send('finish');
    });

    test("pipeline(source, ch.makeFile('w')) finishes on both sides and the reply still arrives", async () => {
      const data = randomBytes(3 << 20);
      const ch = gw.remoteExec(`
        const { createHash } = require('node:crypto');
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of channel) { bytes += chunk.length; hash.update(chunk); }
        await channel.send({ bytes, sha: hash.digest('hex') });
      `);
      await pipeline(Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20, 2 << 20), data.subarray(2 << 20)]), ch.makeFile('w'));
      expect(await ch.receive()).toEqual({ bytes: data.length, sha: createHash('sha256').update(data).digest('hex') });
      await ch.waitClose();
    });

    test("makeFile('w', { proxyClose: true }) closes the channel fully", async () => {
      const ch = gw.remoteExec('for await (const x of channel) void x;');
      await pipeline(Readable.from([Buffer.from('x')]), ch.makeFile('w', { proxyClose: true }));
      expect(ch.isClosed()).toBe(true);
      await expect(ch.receive()).rejects.toMatchObject({ by: 'local' });
    });
  });

  describe('close() while the peer still sends', () => {
    test('waitClose() rejects naming the items dropped; the peer is told its sends are dropped', async () => {
      const marker = join(tmp, `burst-${Date.now()}`);
      const report = gw.newChannel<string>();
      const ch = gw.remoteExec(
        `
        const { marker, report } = kwargs;
        await channel.receive(); // go
        for (let i = 0; i < 100; i++) await channel.send(i);
        await new Promise((r) => setImmediate(r)); // written to the wire
        require('node:fs').writeFileSync(marker, 'sent');
        for await (const x of channel) void x; // until the close arrives
        await channel.send('more').catch((e) => report.send(e.name + ': ' + e.message));
      `,
        { marker, report },
      );
      await ch.send('go');
      // Flushed now, then this thread blocks: the 100 items are on the wire before close() and read after it.
      gw._flushNow();
      blockUntilExists(marker);
      await ch.close();
      const error = (await ch.waitClose({ timeout: 10_000 }).catch((e: unknown) => e)) as ChannelClosedError;
      expect(error).toBeInstanceOf(ChannelClosedError);
      expect(error.dropped).toBe(100);
      expect(error.message).toMatch(/100 item\(s\) the remote side sent arrived after close\(\) and were dropped: end\(\) stops sending and keeps receiving/);
      expect(await report.receive({ timeout: 10_000 })).toMatch(
        /^ChannelClosedError: channel \d+ on gateway .* is closed \(closed by the remote side while this side could still send: what this side sends is dropped/,
      );
    });

    test('a close() with nothing in flight resolves waitClose() as before', async () => {
      const ch = gw.remoteExec('for await (const x of channel) await channel.send(x);');
      await ch.send(1);
      expect(await ch.receive()).toBe(1);
      await ch.close();
      await ch.waitClose({ timeout: 10_000 });
    });
  });
}
