// The channel contract, run over every kind of gateway (test-e2e/helpers/gateway-kinds.ts): a
// gateway reached via another behaves exactly as a direct one.
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type Channel,
  ChannelClosedError,
  DumpError,
  type Gateway,
  GatewayClosedError,
  isTsnetError,
  makeGateway,
  RemoteError,
  SourceError,
  TimeoutError,
} from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type GatewayKind, localNode } from '../helpers/gateway-kinds.js';
import { survivors } from '../helpers/processes.js';
import { deliveryContract } from './delivery-contract.js';

export function channelContract(kind: GatewayKind): void {
  const runtime = kind.runtime ?? localNode(kind);
  let gw: Gateway;
  beforeAll(async () => {
    await kind.setup();
    gw = await makeGateway(kind.spec('//id=channels'), { output: 'ignore' });
  });
  afterAll(async () => {
    await gw.exit();
    await kind.teardown();
  });

  describe('remote errors', () => {
    test('an exception arrives as RemoteError with the remote stack, and is sticky', async () => {
      const ch = gw.remoteExec(`
        function distinctivelyNamedThrower() { throw new TypeError('bad thing happened') }
        await channel.send(1);
        distinctivelyNamedThrower();
      `);
      expect(await ch.receive()).toBe(1);
      const err = await ch.receive().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      const re = err as RemoteError;
      expect(re.remoteName).toBe('TypeError');
      expect(re.remoteMessage).toBe('bad thing happened');
      expect(re.remoteStack).toMatch(/distinctivelyNamedThrower/);
      expect(re.message).toMatch(/TypeError: bad thing happened/);
      expect(re.gatewayId).toBe('channels');
      expect(re.channelId).toBe(ch.id);
      expect(re.code).toBe('TSNET_ERR_REMOTE');
      // sticky
      await expect(ch.receive()).rejects.toBe(err);
      await expect(ch.waitClose()).rejects.toBe(err);
    });

    test('a syntax error arrives as a RemoteError named SyntaxError', async () => {
      const ch = gw.remoteExec('this is not javascript(');
      const err = (await ch.waitClose().catch((e: unknown) => e)) as RemoteError;
      expect(err).toBeInstanceOf(RemoteError);
      expect(err.remoteName).toBe('SyntaxError');
    });

    test('a module that throws carries its stack', async () => {
      const ch = gw.remoteExec(new URL('../fixtures/throws-in-module.ts', import.meta.url));
      expect(await ch.receive()).toBe('about to throw');
      const err = (await ch.receive().catch((e: unknown) => e)) as RemoteError;
      expect(err.remoteName).toBe('RangeError');
      expect(err.remoteStack).toMatch(/distinctivelyNamedThrower/);
    });

    test('a module that cannot be bundled fails its channel locally with SourceError', async () => {
      const ch = gw.remoteExec(new URL('../fixtures/broken-module.ts', import.meta.url));
      const err = await ch.receive().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as Error).message).toMatch(/does-not-exist/);
      await expect(ch.waitClose()).rejects.toBe(err);
    });

    test('a function using outer names is refused before anything is sent', () => {
      const secret = 42;
      expect(() => gw.remoteExec((channel: Channel) => channel.send(secret))).toThrow(SourceError);
      expect(() => gw.remoteExec((channel: Channel) => channel.send(secret))).toThrow(/secret/);
    });
  });

  describe('receive and close', () => {
    test('a receive timeout consumes nothing and leaves the channel usable', async () => {
      const ch = gw.remoteExec('const x = await channel.receive(); await channel.send(x * 2)');
      const err = await ch.receive({ timeout: 50 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(isTsnetError(err, 'TSNET_ERR_TIMEOUT')).toBe(true);
      await ch.send(21);
      expect(await ch.receive()).toBe(42);
    });

    test('receive can be aborted with a signal', async () => {
      const ch = gw.remoteExec('await channel.receive()');
      const ac = new AbortController();
      const p = ch.receive({ signal: ac.signal });
      ac.abort(new Error('stop waiting'));
      await expect(p).rejects.toThrow('stop waiting');
      await ch.close();
    });

    test('after the remote closes, queued items come first, then ChannelClosedError', async () => {
      const ch = gw.remoteExec('channel.send(1); channel.send(2)');
      await ch.waitClose();
      expect(await ch.receive()).toBe(1);
      expect(await ch.receive()).toBe(2);
      await expect(ch.receive()).rejects.toBeInstanceOf(ChannelClosedError);
      await expect(ch.send(3)).rejects.toBeInstanceOf(ChannelClosedError);
      expect(ch.isClosed()).toBe(true);
    });

    test('close with an error, local to remote', async () => {
      const ch = gw.remoteExec(`
        try { await channel.receive() } catch (e) { globalThis.lastError = [e.name, e.remoteName, e.remoteMessage] }
      `);
      await ch.close(new Error('local says stop'));
      await ch.close(); // closing twice is a no-op
      const check = gw.remoteExec('await new Promise(r => setTimeout(r, 50)); await channel.send(globalThis.lastError)');
      expect(await check.receive()).toEqual(['RemoteError', 'Error', 'local says stop']);
    });

    test('close with an error, remote to local', async () => {
      const ch = gw.remoteExec("await channel.close(new Error('remote says stop'))");
      const err = (await ch.receive().catch((e: unknown) => e)) as RemoteError;
      expect(err).toBeInstanceOf(RemoteError);
      expect(err.remoteMessage).toBe('remote says stop');
    });

    test('iteration ends when the channel closes', async () => {
      const ch = gw.remoteExec<number>('for (let i = 0; i < 5; i++) await channel.send(i)');
      const got: number[] = [];
      for await (const x of ch) got.push(x);
      expect(got).toEqual([0, 1, 2, 3, 4]);
    });

    test('an unserializable item is refused with its path and the channel stays usable', async () => {
      const ch = gw.remoteExec('await channel.send(await channel.receive())');
      const err = await ch.send({ a: [1, () => 2] } as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DumpError);
      expect((err as DumpError).path).toBe('value.a[1]');
      await ch.send({ ok: true });
      expect(await ch.receive()).toEqual({ ok: true });
    });

    test('kwargs reach string sources and functions', async () => {
      const ch = gw.remoteExec('await channel.send(kwargs.a + kwargs.b)', { a: 1, b: 2 });
      expect(await ch.receive()).toBe(3);
      const fn = gw.remoteExec(async (channel: Channel, kw: { n: bigint }) => channel.send(kw.n * 2n), { n: 21n });
      expect(await fn.receive()).toBe(42n);
    });
  });

  describe('delivery', () => deliveryContract(() => gw));

  describe('callbacks', () => {
    test('queued items first, then new ones, then the endmarker; waitClose waits for the last call', async () => {
      const ch = gw.remoteExec<number>('await channel.send(1); await channel.receive(); await channel.send(2)');
      await new Promise((r) => setTimeout(r, 50)); // let item 1 queue up
      const got: Array<number | string> = [];
      ch.setCallback(
        async (x) => {
          await new Promise((r) => setTimeout(r, 5));
          got.push(x);
        },
        { endmarker: 'END' },
      );
      await ch.send('go' as never);
      await ch.waitClose();
      expect(got).toEqual([1, 2, 'END']);
    });

    test('receive() on a channel with a callback is refused', async () => {
      const ch = gw.remoteExec('await channel.receive()');
      ch.setCallback(() => {});
      const err = await ch.receive().catch((e: unknown) => e);
      expect(isTsnetError(err, 'TSNET_ERR_CALLBACK_SET')).toBe(true);
      await ch.close();
    });

    test('a callback that throws closes only its channel; the peer sees the error', async () => {
      const bad = gw.remoteExec(`
        await channel.send(1);
        try { await channel.receive() } catch (e) { globalThis.cbError = e.remoteMessage }
      `);
      const good = gw.remoteExec('await channel.send(await channel.receive())');
      bad.setCallback(() => {
        throw new Error('callback blew up');
      });
      await expect(bad.waitClose()).rejects.toThrow('callback blew up');
      await good.send('still fine');
      expect(await good.receive()).toBe('still fine');
      const check = gw.remoteExec('await new Promise(r => setTimeout(r, 20)); await channel.send(globalThis.cbError)');
      expect(await check.receive()).toBe('callback blew up');
    });
  });

  describe('channels inside messages', () => {
    test('channels travel inside Maps and objects both ways, and come back as the same object', async () => {
      const ch = gw.remoteExec(`
        const m = await channel.receive();
        const c = m.get('c');
        const mine = channel.gateway.newChannel();
        await channel.send({ back: c, mine });
        await mine.send('from a remote-made channel');
        await c.send('via c');
      `);
      const c = gw.newChannel<string>();
      await ch.send(new Map([['c', c]]));
      const reply = (await ch.receive()) as { back: Channel; mine: Channel<string> };
      expect(reply.back).toBe(c);
      expect(await reply.mine.receive()).toBe('from a remote-made channel');
      expect(await c.receive()).toBe('via c');
    });

    test('100 concurrent remoteExecs on one gateway', async () => {
      const chans = Array.from({ length: 100 }, (_, i) =>
        gw.remoteExec<number>('await new Promise(r => setTimeout(r, 10)); await channel.send(kwargs * 2)', i),
      );
      const results = await Promise.all(chans.map((c) => c.receive()));
      expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
      await Promise.all(chans.map((c) => c.waitClose()));
    });
  });

  describe('the value table', () => {
    // The serializer's round trips (packages/core/test/serializer.test.ts), through the remote runtime.
    const table = (): Array<[string, unknown]> => {
      const shared = { x: 1 };
      return [
        ['undefined', undefined],
        ['null', null],
        ['booleans', [true, false]],
        ['int', 42],
        ['int32 edges', [2 ** 31 - 1, -(2 ** 31), 2 ** 31, 255, 256]],
        ['negative big int', -(2 ** 40)],
        ['float', 3.25],
        ['strings', ['hello', '', 'ünïcødé 🚀 \u0000 \u2028', 'a\uD800b\uDFFFc']],
        ['array', [1, 'a', null, [2]]],
        ['object', { a: 1, b: { c: [true] }, u: undefined }],
        ['bigint', [12345678901234567890123n, -5n]],
        [
          'Map, Set, Date',
          [
            new Map<unknown, unknown>([
              [1, 'a'],
              ['k', { x: 1 }],
            ]),
            new Set([1, 2]),
            new Date(1700000000000),
          ],
        ],
        ['bytes', [new Uint8Array(100_000).map((_, i) => i & 0xff), new Uint8Array(0)]],
        ['shared references', { a: shared, b: shared }],
        // the serializer's fast paths (packages/core/test/codec-paths.test.ts) across runtimes
        ['plain object (quick walk)', { id: 12345, name: 'item', ok: true, tags: ['a', 'b'] }],
        ['strings (STRING tag)', ['short string #12345', 'a\uFFFDb', 'x'.repeat(70_000)]],
        ['40 objects (full walk)', Array.from({ length: 40 }, (_, i) => ({ i, s: `n${i}` }))],
      ];
    };

    test('every value goes to the remote and comes back equal', async () => {
      const ch = gw.remoteExec('for await (const v of channel) await channel.send(v)');
      for (const [name, v] of table()) {
        await ch.send(v);
        expect(await ch.receive(), name).toEqual(v);
      }
      await ch.send([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]);
      const [nan, inf, ninf, nzero] = (await ch.receive()) as number[];
      expect([Number.isNaN(nan), inf, ninf, Object.is(nzero, -0)]).toEqual([true, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, true]);
      await ch.send({ a: shared0, b: shared0 });
      const back = (await ch.receive()) as { a: object; b: object };
      expect(back.a).toBe(back.b);
      await ch.close();
    });
    const shared0 = { y: 2 };

    test('the same values through sendMany() both ways (its quick path for small items)', async () => {
      const ch = gw.remoteExec('const got = []; for (let v; (v = await channel.receive()) !== "end"; ) got.push(v); await channel.sendMany(got);');
      const values = table().map(([, v]) => v);
      await ch.sendMany([...values, 'end']);
      for (const [i, [name]] of table().entries()) expect(await ch.receive(), name).toEqual(values[i]);
      await ch.waitClose();
    });

    test('values the remote runtime builds arrive as built', async () => {
      const ch = gw.remoteExec(`
        const e = Object.assign(new TypeError('bad', { cause: new Error('root') }), { code: 'E_BAD' });
        const cyc = { name: 'c' }; cyc.self = cyc;
        await channel.send([new Map([[1, 'a']]), new Set([3]), new Date(1700000000000), /ab+c/gi, 2n ** 70n, -0,
          new Uint8Array([1, 2, 3]), Buffer.from('xyz'), e, cyc, { u: undefined }, 'a\\uD800b']);
      `);
      const [m, set, d, re, big, nz, bytes, buf, e, cyc, u, lone] = (await ch.receive()) as [
        Map<number, string>,
        Set<number>,
        Date,
        RegExp,
        bigint,
        number,
        Uint8Array,
        Buffer,
        TypeError & { code: string },
        { self: unknown },
        object,
        string,
      ];
      expect([m.get(1), [...set], d.getTime(), re.source, re.flags, big, Object.is(nz, -0)]).toEqual(['a', [3], 1700000000000, 'ab+c', 'gi', 2n ** 70n, true]);
      expect([...bytes]).toEqual([1, 2, 3]);
      expect(Buffer.isBuffer(buf) && buf.toString()).toBe('xyz');
      expect([e.name, e.message, e.code, (e.cause as Error).message]).toEqual(['TypeError', 'bad', 'E_BAD', 'root']);
      expect(cyc.self).toBe(cyc);
      expect(Object.keys(u)).toEqual(['u']);
      expect(lone).toBe('a\uD800b');
    });
  });

  describe('streams', () => {
    test("makeFile('w') uploads and makeFile('r') downloads a file, with backpressure", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tsnet-files-'));
      const src = join(dir, 'src.bin');
      const remoteCopy = join(dir, 'remote-copy.bin');
      const back = join(dir, 'back.bin');
      writeFileSync(
        src,
        Buffer.alloc(5_000_000).map((_, i) => (i * 7) & 0xff),
      );
      const upload = gw.remoteExec(
        `const fs = require('node:fs'); const fd = fs.openSync(kwargs, 'w');
         for await (const chunk of channel) fs.writeSync(fd, chunk);
         fs.closeSync(fd);`,
        remoteCopy,
      );
      await pipeline(createReadStream(src), upload.makeFile('w', { proxyClose: true }));
      const size = readFileSync(src).length;
      const wait = gw.remoteExec(
        `const fs = require('node:fs');
         for (let i = 0; i < 200 && !(fs.existsSync(kwargs.f) && fs.statSync(kwargs.f).size === kwargs.size); i++) await new Promise(r => setTimeout(r, 10));`,
        { f: remoteCopy, size },
      );
      await wait.waitClose();
      const download = gw.remoteExec(
        `const { pipeline } = require('node:stream/promises');
         await pipeline(require('node:fs').createReadStream(kwargs), channel.makeFile('w'));`,
        remoteCopy,
      );
      await pipeline(download.makeFile('r'), createWriteStream(back));
      expect(readFileSync(back).equals(readFileSync(src))).toBe(true);
    });
  });

  describe('remote environment', () => {
    test('require and import() resolve on the remote side, packages from its working directory', async () => {
      const ch = gw.remoteExec(`
        const os = await import('node:os');
        const path = require('node:path');
        let pkg;
        try {
          // acorn is CommonJS: Node 18 cannot require() an ES module such as superjson
          pkg = typeof require('acorn').parse;
        } catch (error) {
          pkg = error.message.split('\\n')[0];
        }
        await channel.send([typeof os.cpus, path.sep, pkg]);
      `);
      // acorn is installed in this checkout, which is not where an ssh session starts.
      const pkg = kind.cwd === process.cwd() ? 'function' : "Cannot find module 'acorn'";
      expect(await ch.receive()).toEqual(['function', '/', pkg]);
    });

    test('remoteInfo and remoteStatus', async () => {
      const info = await gw.remoteInfo();
      expect(info.pid).toBeGreaterThan(0);
      expect(await kind.parentPids()).toContain(info.ppid);
      expect(info.cwd).toBe(kind.cwd);
      expect(info.runtime).toBe(runtime.name);
      expect(info.executable).toBe(runtime.executable);
      expect(info.versions[runtime.versionKey]).toBe(runtime.version);
      expect(await gw.remoteInfo()).toBe(info); // cached
      expect((await gw.remoteInfo({ refresh: true })).pid).toBe(info.pid);
      const busy = gw.remoteExec('await channel.receive()');
      const status = await gw.remoteStatus();
      expect(status.numExecuting).toBeGreaterThanOrEqual(1);
      expect(status.numChannels).toBeGreaterThanOrEqual(1);
      expect(status.memory.rss).toBeGreaterThan(0);
      await busy.close();
    });

    test('remote console output never reaches the wire and is forwarded with the gateway id', async () => {
      const ids = new Set<string>();
      const seen = { stdout: '', stderr: '' };
      const off = gw.onOutput((stream, text, id) => {
        ids.add(id);
        seen[stream] += text;
      });
      const ch = gw.remoteExec(`
        console.log('printed with console.log');
        process.stdout.write('written to stdout\\n');
        require('node:fs').writeSync(1, 'native write to fd 1\\n');
        console.error('to stderr');
        await channel.send('wire intact');
      `);
      expect(await ch.receive()).toBe('wire intact');
      const want: Array<['stdout' | 'stderr', string]> = [
        ['stdout', 'printed with console.log\n'],
        ['stdout', 'written to stdout\n'],
        ['stderr', 'to stderr\n'],
      ];
      // output travels beside the frames or in frames of its own; chunks may join lines: wait for
      // all of it, bounded. A native write to fd 1 is output too, of either stream (over ssh fd 1
      // is the remote's stderr).
      const done = () => want.every(([stream, w]) => seen[stream].includes(w)) && (seen.stdout + seen.stderr).includes('native write to fd 1');
      for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
      off();
      for (const [stream, w] of want) expect(seen[stream]).toContain(w);
      expect(seen.stdout + seen.stderr).toContain('native write to fd 1\n');
      expect([...ids]).toEqual(['channels']);
    });
  });

  describe('gateway lifecycle', () => {
    const refusal = kind.refusesProcessKeys;
    if (refusal === undefined) {
      test('spec keys: chdir (created), env, nice and the runtime (node=, or runtime= and exe=)', async () => {
        const dir = join(mkdtempSync(join(tmpdir(), 'tsnet-chdir-')), 'new', 'sub');
        const g = await makeGateway(kind.spec(`//chdir=${dir}//env:TSNET_TEST_VAR=hello world//nice=3${runtime.keys}`));
        const ch = g.remoteExec("await channel.send([process.cwd(), process.env.TSNET_TEST_VAR, require('node:os').getPriority()])");
        const [cwd, env, prio] = (await ch.receive()) as [string, string, number];
        expect(cwd).toBe(dir);
        expect(env).toBe('hello world');
        expect(prio).toBe(Math.min(19, (await import('node:os')).getPriority() + 3));
        await g.exit();
      });
    } else {
      test(`spec keys chdir, env, nice and node are refused (${refusal})`, async () => {
        for (const key of ['//chdir=/tmp', '//env:TSNET_TEST_VAR=x', '//nice=3', `//node=${process.execPath}`]) {
          await expect(makeGateway(kind.spec(key)), key).rejects.toMatchObject({ code: 'TSNET_ERR_SPEC', message: expect.stringContaining('not supported') });
        }
      });
    }

    test('a bad node= (or exe=) path is a clear error', async () => {
      await expect(makeGateway(kind.spec(runtime.missing.keys))).rejects.toThrow(runtime.missing.error);
    });

    test('an unknown gateway type names the known ones and the package that would provide it', async () => {
      // (docker is @tsnet/transport-cmd's; lxc is nobody's)
      const err = (await makeGateway('lxc=box').catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('TSNET_ERR_SPEC');
      expect(err.message).toMatch(/no transport provides the type "lxc".*popen, ssh, socket, ws.*@tsnet\/transport-lxc/s);
      await expect(makeGateway('id=x//chdir=/tmp')).rejects.toThrow(/names no gateway type/);
    });

    test('a killed gateway rejects pending receives within a second, with the reason', async () => {
      const g = await makeGateway(kind.spec(), { output: 'ignore' });
      const pid = (await g.remoteInfo()).pid;
      const pending = Array.from({ length: 10 }, () => g.remoteExec('await channel.receive()').receive());
      const cb = g.remoteExec('await channel.receive()');
      const got: unknown[] = [];
      cb.setCallback((x) => got.push(x), { endmarker: 'END' });
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      process.kill(pid, 'SIGKILL');
      const errors = await Promise.all(pending.map((p) => p.catch((e: unknown) => e)));
      expect(Date.now() - t0).toBeLessThan(1000);
      for (const e of errors) expect(e).toBeInstanceOf(GatewayClosedError);
      expect((errors[0] as GatewayClosedError).signal).toBe('SIGKILL');
      expect((errors[0] as Error).message).toMatch(/killed by SIGKILL/);
      const info = await g.closed;
      expect(info.signal).toBe('SIGKILL');
      await cb.waitClose().catch(() => {});
      expect(got).toEqual(['END']);
      expect(() => g.remoteExec('1')).toThrow(GatewayClosedError);
    });

    test('remote process.exit(n) closes the gateway naming the code', async () => {
      const g = await makeGateway(kind.spec(), { output: 'ignore' });
      const other = g.remoteExec('await channel.receive()');
      g.remoteExec('process.exit(3)');
      const err = (await other.receive().catch((e: unknown) => e)) as GatewayClosedError;
      expect(err).toBeInstanceOf(GatewayClosedError);
      expect(err.exitCode).toBe(3);
      expect(err.message).toMatch(/exited with code 3/);
    });

    test('exit twice is fine; afterwards calls throw GatewayClosedError', async () => {
      const g = await makeGateway(kind.spec());
      const pending = g
        .remoteExec('await channel.receive()')
        .receive()
        .catch((e: unknown) => e);
      await Promise.all([g.exit(), g.exit()]);
      await g.exit();
      expect(await pending).toBeInstanceOf(GatewayClosedError);
      expect(() => g.newChannel()).toThrow(GatewayClosedError);
      expect((await g.closed).reason).toMatch(/exit/);
    });

    test('exit({ timeout }) kills remote code that never returns', async () => {
      const g = await makeGateway(kind.spec(), { output: 'ignore' });
      const ch = g.remoteExec('while (true) {}');
      const pid = (await g.remoteInfo()).pid;
      await g.exit({ timeout: 300 });
      await expect(ch.receive()).rejects.toBeInstanceOf(GatewayClosedError);
      if (kind.killedAfterClose === undefined) expect(() => process.kill(pid, 0)).toThrow();
      else expect(await survivors([pid], 5000), kind.killedAfterClose).toEqual([]);
    });
  });
}
