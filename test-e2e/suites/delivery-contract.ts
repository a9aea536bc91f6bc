// What a resolved send() means (README "Delivery"), over every kind of gateway: once `await send(x)`
// resolved, x is in the kernel or in memory tsnet owns, so a thread that blocks right after it has
// still delivered x, and a buffer refilled right after it arrives as it was. Plus sendMany.
// The blocking side spins on a flag file the other side writes once it received the item: if the
// item were stuck in the spinner's process, the flag would never come and the spin would end at its
// bound (20 s) with 'timed out' instead.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '@tsnet/core';
import { afterAll, describe, expect, test } from 'vitest';

const SPIN_MS = 20_000;
const SIZES = [16, 1000, 8192, 8193, 65_536, 300_000, 3 * 1024 * 1024];

export function deliveryContract(gateway: () => Gateway): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-delivery-'));
  let n = 0;
  const flag = (): string => join(dir, `flag-${n++}`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('a resolved send()', () => {
    test('remote code that blocks its thread right after await send() has delivered the item', { timeout: 60_000 }, async () => {
      const f = flag();
      const ch = gateway().remoteExec(
        `const fs = require('node:fs');
         await channel.send('started');
         const end = Date.now() + ${SPIN_MS};
         while (!fs.existsSync(kwargs) && Date.now() < end) {}
         await channel.send(fs.existsSync(kwargs) ? 'saw the flag' : 'timed out');`,
        f,
      );
      expect(await ch.receive()).toBe('started');
      writeFileSync(f, '');
      expect(await ch.receive()).toBe('saw the flag');
      await ch.waitClose();
    });

    test('local code that blocks right after await send() has delivered the item', { timeout: 60_000 }, async () => {
      const f = flag();
      const ch = gateway().remoteExec(`const x = await channel.receive(); require('node:fs').writeFileSync(kwargs, String(x)); await channel.receive();`, f);
      await ch.send('go');
      const end = Date.now() + SPIN_MS;
      while (!existsSync(f) && Date.now() < end) {}
      expect(existsSync(f)).toBe(true);
      await ch.send(null);
      await ch.waitClose();
    });

    test('a Uint8Array refilled right after await send() arrives unchanged, both ways, 16 B to 3 MiB', { timeout: 120_000 }, async () => {
      const ch = gateway().remoteExec(
        `
        const same = (b, v) => { for (let i = 0; i < b.length; i++) if (b[i] !== v) return false; return b.length > 0; };
        for (const size of kwargs) {
          const got = await channel.receive();
          await channel.send([got.length, same(got, 1)]);
          const mine = new Uint8Array(size).fill(3);
          await channel.send(mine);
          mine.fill(4);
        }`,
        SIZES,
      );
      for (const size of SIZES) {
        const buf = new Uint8Array(size).fill(1);
        await ch.send(buf);
        buf.fill(2);
        expect(await ch.receive()).toEqual([size, true]);
        const got = (await ch.receive()) as Uint8Array;
        expect(got.length).toBe(size);
        expect(got.every((b) => b === 3)).toBe(true);
      }
      await ch.waitClose();
    });
  });

  describe('sendMany', () => {
    test('an array and a generator, in order, both ways', { timeout: 60_000 }, async () => {
      const ch = gateway().remoteExec(`
        const got = [];
        for (let i = 0; i < 6; i++) got.push(await channel.receive());
        await channel.send(got);
        await channel.sendMany(got.map((x) => x * 10));
        function* gen() { for (let i = 0; i < 3; i++) yield 'g' + i; }
        await channel.sendMany(gen());
        await channel.sendMany([]);`);
      await ch.sendMany([1, 2, 3]);
      await ch.sendMany(
        (function* () {
          yield 4;
          yield 5;
          yield 6;
        })(),
      );
      expect(await ch.receive()).toEqual([1, 2, 3, 4, 5, 6]);
      const back = [];
      for (let i = 0; i < 9; i++) back.push(await ch.receive());
      expect(back).toEqual([10, 20, 30, 40, 50, 60, 'g0', 'g1', 'g2']);
      await ch.waitClose();
    });

    test('300k objects from a generator arrive in order, checked on the remote', { timeout: 120_000 }, async () => {
      const count = 300_000;
      const ch = gateway().remoteExec(
        `let bad = -1;
         for (let i = 0; i < kwargs; i++) {
           const o = await channel.receive();
           if (bad < 0 && (o.i !== i || o.s !== 'item ' + i || o.even !== (i % 2 === 0))) bad = i;
         }
         await channel.send(bad);`,
        count,
      );
      let pulled = 0;
      function* items() {
        for (let i = 0; i < count; i++) {
          pulled++;
          yield { i, s: `item ${i}`, even: i % 2 === 0 };
        }
      }
      await ch.sendMany(items());
      expect(pulled).toBe(count);
      expect(await ch.receive()).toBe(-1);
      await ch.waitClose();
    });

    test('stops at an item that cannot be serialized: the items before it were sent, the channel stays usable', async () => {
      const ch = gateway().remoteExec('const a = await channel.receive(); const b = await channel.receive(); await channel.send([a, b]);');
      await expect(ch.sendMany([1, () => 0, 3] as unknown[])).rejects.toMatchObject({ code: 'TSNET_ERR_DUMP' });
      await ch.send(2);
      expect(await ch.receive()).toEqual([1, 2]);
      await ch.waitClose();
    });
  });
}
