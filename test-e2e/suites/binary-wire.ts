// The wire under binary load, for runtimes whose stdin is read by other means than Node's pipe
// handles (Bun.stdin.stream(), Deno.stdin.read(); see packages/bootstrap/src/runtime-stdin.ts):
// bytes of every value in pieces of every size, both ways at once, checked by hash on the far side.
import { createHash } from 'node:crypto';
import { type Gateway, makeGateway } from '@tsnet/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { GatewayKind } from '../helpers/gateway-kinds.js';

/** Deterministic pseudo-random sizes (1 byte … 3 MiB) and contents. */
function pieces(seed: number, total: number): Uint8Array[] {
  let x = seed;
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x;
  };
  const out: Uint8Array[] = [];
  for (let sent = 0; sent < total; ) {
    const r = next();
    const size = Math.min(total - sent, r % 7 === 0 ? 1 + (r % 3_145_728) : 1 + (r % 70_000));
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (i * 251 + r) & 0xff;
    out.push(b);
    sent += size;
  }
  return out;
}

export function binaryWire(kind: GatewayKind): void {
  let gw: Gateway;
  beforeAll(async () => {
    await kind.setup();
    gw = await makeGateway(kind.spec('//id=binary'), { output: 'ignore' });
  });
  afterAll(async () => {
    await gw?.exit();
    await kind.teardown();
  });

  test('24 MiB each way at once in pieces of 1 byte to 3 MiB arrive whole and in order', async () => {
    const up = pieces(7, 24 << 20);
    const want = createHash('sha256');
    for (const p of up) want.update(p);
    const ch = gw.remoteExec(
      `
      const { createHash } = require('node:crypto');
      const h = createHash('sha256'); let n = 0, count = 0;
      const sending = (async () => {
        let x = 11;
        for (let sent = 0; sent < kwargs; ) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          const size = Math.min(kwargs - sent, 1 + (x % 200_000));
          const b = new Uint8Array(size);
          for (let i = 0; i < size; i++) b[i] = (i * 13 + x) & 0xff;
          await channel.send(b);
          sent += size;
        }
        await channel.send('sent');
      })();
      for (let b; (b = await channel.receive()) !== null; ) { h.update(b); n += b.length; count++; }
      await sending;
      await channel.send([h.digest('hex'), n, count]);
    `,
      24 << 20,
    );
    const receiving = (async () => {
      const h = createHash('sha256');
      let n = 0;
      for (;;) {
        const b = await ch.receive();
        if (b === 'sent') return [h.digest('hex'), n];
        h.update(b as Uint8Array);
        n += (b as Uint8Array).length;
      }
    })();
    for (const p of up) await ch.send(p);
    await ch.send(null);
    const [downHash, downBytes] = await receiving;
    // the same pieces, built here, as the remote built them
    let x = 11;
    const check = createHash('sha256');
    for (let sent = 0; sent < 24 << 20; ) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const size = Math.min((24 << 20) - sent, 1 + (x % 200_000));
      const b = new Uint8Array(size);
      for (let i = 0; i < size; i++) b[i] = (i * 13 + x) & 0xff;
      check.update(b);
      sent += size;
    }
    expect([downHash, downBytes]).toEqual([check.digest('hex'), 24 << 20]);
    expect(await ch.receive()).toEqual([want.digest('hex'), 24 << 20, up.length]);
    await ch.waitClose();
  });
}
