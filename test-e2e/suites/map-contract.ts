// group.map() and group.mapIter() over every kind of gateway (popen: api.test.ts; ssh:
// ssh/api-ssh.test.ts): order, errors, cancellation, backpressure, and a gateway killed mid-run.
import { DumpError, GatewayClosedError, Group, GroupError, RemoteError, SourceError } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GatewayKind } from '../helpers/gateway-kinds.js';

export function mapContract(kind: GatewayKind): void {
  let group: Group;
  beforeAll(async () => {
    await kind.setup();
    group = await Group.open(
      Array.from({ length: 4 }, (_, i) => kind.spec(`//id=m${i}`)),
      { output: 'ignore' },
    );
  });
  afterAll(async () => {
    await group?.terminate({ timeout: 2000 });
    await kind.teardown();
  });

  describe('map()', () => {
    test('results in input order, spread over every gateway', async () => {
      const items = Array.from({ length: 1000 }, (_, i) => i);
      const out = await group.map(async (n: number, index: number) => {
        // later items finish first: order must come from the index, not from arrival
        await new Promise((r) => setTimeout(r, (1000 - n) % 3));
        return [n * n, index, process.pid] as const;
      }, items);
      expect(out.map(([sq]) => sq)).toEqual(items.map((n) => n * n));
      expect(out.map(([, index]) => index)).toEqual(items);
      const pids = new Set(out.map(([, , pid]) => pid));
      const expected = await Promise.all([...group].map(async (g) => (await g.remoteInfo()).pid));
      expect([...pids].sort()).toEqual(expected.sort());
    });

    test('the first remote error rejects, the source is stopped and no later item is taken', async () => {
      let taken = 0;
      let stopped = false;
      function* items(): Generator<number> {
        try {
          for (let i = 0; i < 100_000; i++) {
            taken++;
            yield i;
          }
        } finally {
          stopped = true;
        }
      }
      const error = await group
        .map(
          (n: number) => {
            if (n === 50) throw new TypeError(`item ${n} is bad`);
            return n;
          },
          items(),
          { concurrency: 2 },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({ remoteName: 'TypeError', remoteMessage: 'item 50 is bad' });
      expect(stopped).toBe(true);
      expect(taken).toBeLessThan(1000);
      // The group is still fine for the next map.
      expect(await group.map((n: number) => n + 1, [1, 2, 3])).toEqual([2, 3, 4]);
    });

    test('small maps one after another always finish, also when their last results arrive together', async () => {
      // Over ssh every gateway of a host shares one connection, so replies of several workers come
      // in one read: the map must still notice it is done (it once waited forever here).
      for (let round = 0; round < 30; round++) {
        await expect(
          group.map(
            (n: number) => (n === 5 ? Promise.reject(new Error('five')) : n),
            Array.from({ length: 20 }, (_, i) => i),
            { concurrency: 1 },
          ),
        ).rejects.toMatchObject({
          remoteMessage: 'five',
        });
        expect(await group.map((n: number) => n + 1, [1, 2, 3])).toEqual([2, 3, 4]);
      }
    });

    test('an impure function, a bad concurrency and an empty group are refused before anything runs', async () => {
      const offset = 1;
      await expect(group.map((n: number) => n + offset, [1])).rejects.toBeInstanceOf(SourceError);
      await expect(group.map((n: number) => n, [1], { concurrency: 0 })).rejects.toThrow(/concurrency must be a positive integer/);
      await expect(new Group().map((n: number) => n, [1])).rejects.toBeInstanceOf(GroupError);
      expect(await group.map((n: number) => n, [])).toEqual([]);
      const bad = await group.map((n: unknown) => n, [1, 2, Symbol('x'), 4]).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(DumpError);
      expect((bad as Error).message).toMatch(/^map\(\): item 2 cannot be sent: /);
      // A result that cannot travel fails that item only, as its RemoteError.
      await expect(group.map((n: number) => (n === 3 ? Symbol('r') : n), [1, 2, 3])).rejects.toMatchObject({ remoteName: 'DumpError' });
    });

    test('an abort signal rejects with its reason', async () => {
      const ac = new AbortController();
      const running = group.map(
        async (n: number) => {
          await new Promise((r) => setTimeout(r, 5));
          return n;
        },
        Array.from({ length: 100_000 }, (_, i) => i),
        { signal: ac.signal },
      );
      setTimeout(() => ac.abort(new Error('stop mapping')), 100);
      await expect(running).rejects.toThrow('stop mapping');
    });
  });

  describe('mapIter()', () => {
    test('an async stream of items: results in input order, items taken only as the consumer reads', async () => {
      let taken = 0;
      async function* items(): AsyncGenerator<number> {
        for (let i = 0; i < 2000; i++) {
          taken++;
          yield i;
        }
      }
      const concurrency = 4;
      const bound = 2 * concurrency * group.size;
      const results: number[] = [];
      for await (const r of group.mapIter((n: number) => n * 3, items(), { concurrency })) {
        results.push(r);
        if (results.length === 10) {
          // A consumer that stops reading for a while: nothing more is taken than the bound.
          await new Promise((r) => setTimeout(r, 300));
          expect(taken - results.length).toBeLessThanOrEqual(bound);
        }
      }
      expect(results).toEqual(Array.from({ length: 2000 }, (_, i) => i * 3));
    });

    test('breaking out of the loop stops the source', async () => {
      let stopped = false;
      function* items(): Generator<number> {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          stopped = true;
        }
      }
      const got: number[] = [];
      for await (const r of group.mapIter((n: number) => -n, items())) {
        got.push(r);
        if (got.length === 100) break;
      }
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => -i));
      expect(stopped).toBe(true);
    });
  });

  describe('a gateway that dies', () => {
    test('10,000 items over 4 gateways, one killed in the middle: every result, in order', async () => {
      const doomed = await Group.open(
        Array.from({ length: 4 }, (_, i) => kind.spec(`//id=k${i}`)),
        { output: 'ignore' },
      );
      try {
        const victim = doomed.get(2)!;
        const victimPid = (await victim.remoteInfo()).pid;
        const items = Array.from({ length: 10_000 }, (_, i) => i);
        const results: Array<readonly [number, number]> = [];
        let closed: Promise<unknown> | undefined;
        for await (const r of doomed.mapIter(async (n: number) => {
          await new Promise((resolve) => setTimeout(resolve, n % 2));
          return [n * 2, process.pid] as const;
        }, items)) {
          results.push(r);
          if (results.length === 3000) closed = victim.kill();
        }
        await closed;
        expect(victim.isDown).toBe(true);
        expect(results.map(([v]) => v)).toEqual(items.map((n) => n * 2));
        const byVictim = results.filter(([, pid]) => pid === victimPid).length;
        expect(byVictim).toBeGreaterThan(0); // it did work before it died
        expect(byVictim).toBeLessThan(5000); // and none after
        // With every gateway gone the map rejects with the gateway's error.
        for (const g of doomed) await g.kill();
        await expect(doomed.map((n: number) => n, [1])).rejects.toBeInstanceOf(GroupError);
      } finally {
        await doomed.terminate({ timeout: 2000 });
      }
    });

    test('when every gateway dies mid-run the map rejects with GatewayClosedError', async () => {
      const doomed = await Group.open([kind.spec('//id=d0'), kind.spec('//id=d1')], { output: 'ignore' });
      try {
        const running = doomed.map(
          async (n: number) => {
            await new Promise((r) => setTimeout(r, 2));
            return n;
          },
          Array.from({ length: 100_000 }, (_, i) => i),
        );
        setTimeout(() => {
          for (const g of doomed) void g.kill();
        }, 200);
        await expect(running).rejects.toBeInstanceOf(GatewayClosedError);
      } finally {
        await doomed.terminate({ timeout: 2000 });
      }
    });
  });
}
