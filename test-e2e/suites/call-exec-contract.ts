// gw.call(), gw.exec(), gw.spawn() and the hints for common mistakes, run over every kind of
// gateway (popen: api.test.ts; ssh: ssh/api-ssh.test.ts).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DumpError, type Gateway, makeGateway, RemoteError, SourceError, TimeoutError } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GatewayKind } from '../helpers/gateway-kinds.js';

const lib = new URL('../fixtures/call-lib.ts', import.meta.url);
const noDefault = new URL('../fixtures/no-default.ts', import.meta.url);
/** Only named by a function under test, which must be refused for it; never evaluated here. */
declare const kwargs: number;

export function callExecContract(kind: GatewayKind): void {
  let gw: Gateway;
  let tmp: string;
  beforeAll(async () => {
    await kind.setup();
    gw = await makeGateway(kind.spec('//id=api'), { output: 'ignore' });
    tmp = mkdtempSync(join(tmpdir(), 'tsnet-api-'));
  });
  afterAll(async () => {
    await gw?.exit();
    await kind.teardown();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('call()', () => {
    test('a pure function runs remotely with the arguments and resolves with its result', async () => {
      expect(await gw.call((a: number, b: number) => a + b, 2, 3)).toBe(5);
      const pid = await gw.call(() => process.pid);
      expect(pid).toBe((await gw.remoteInfo()).pid);
    });
    test('async functions are awaited; values of the whole value model come back', async () => {
      const digest = await gw.call(async (text: string) => {
        const { createHash } = await import('node:crypto');
        return createHash('sha256').update(text).digest('hex');
      }, 'abc');
      expect(digest).toBe(createHash('sha256').update('abc').digest('hex'));
      const back = await gw.call((n: number) => ({ map: new Map([[n, new Uint8Array([n])]]), big: BigInt(n) ** 20n, none: undefined }), 7);
      expect(back).toEqual({ map: new Map([[7, new Uint8Array([7])]]), big: 7n ** 20n, none: undefined });
    });
    test('a remote throw rejects with its RemoteError', async () => {
      const error = await gw
        .call((n: number) => {
          if (n > 1) throw new RangeError(`too big: ${n}`);
          return n;
        }, 5)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({ remoteName: 'RangeError', remoteMessage: 'too big: 5', gatewayId: 'api' });
    });
    test('a closure is refused before anything is sent, naming what it uses', async () => {
      const factor = 3;
      const before = gw._numChannels; // no channel is opened for a refused call
      const error = await gw.call((n: number) => n * factor, 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SourceError);
      expect((error as SourceError).message).toMatch(/^call\(\): function .* uses a name from its enclosing scope: factor\..*call\(fn, \.\.\.args\)/);
      expect((error as SourceError).freeVariables).toEqual(['factor']);
      // `channel` and `kwargs` belong to the wrapper: a function using them is not pure either.
      await expect(gw.call(() => (globalThis as unknown as { x: number }).x + (kwargs as number))).rejects.toMatchObject({ freeVariables: ['kwargs'] });
      expect(gw._numChannels).toBe(before);
    });
    test('an argument that cannot be serialized is a DumpError; a result that cannot, a RemoteError', async () => {
      await expect(
        gw.call(
          (f: unknown) => typeof f,
          () => 1,
        ),
      ).rejects.toBeInstanceOf(DumpError);
      await expect(gw.call(() => () => 1)).rejects.toMatchObject({ remoteName: 'DumpError' });
    });
    test("call(url, 'name', ...args) calls a module's export; a missing one is named with those that exist", async () => {
      expect(await gw.call(lib, 'double', 21)).toBe(42);
      expect(await gw.call<string>(lib, 'greet', 'tsnet')).toBe('hello, tsnet');
      expect(await gw.call(lib, 'default', 2)).toBe(8);
      const error = (await gw.call(lib, 'tripple', 1).catch((e: unknown) => e)) as RemoteError;
      expect(error.remoteName).toBe('TypeError');
      expect(error.remoteMessage).toMatch(/has no function export named "tripple"; its function exports are: default, double, greet/);
    });
  });

  describe('exec()', () => {
    test('an argv array runs without a shell; the result comes whatever the exit code', async () => {
      expect(await gw.exec(['printf', '%s|', 'a b', '$HOME', '*'])).toEqual({ stdout: 'a b|$HOME|*|', stderr: '', code: 0, signal: null });
      expect(await gw.exec(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3, signal: null });
    });
    test("a string runs with the remote's /bin/sh -c", async () => {
      const r = await gw.exec('echo $((6 * 7)) | tr 4 x; kill -TERM $$');
      expect(r).toEqual({ stdout: 'x2\n', stderr: '', code: null, signal: 'SIGTERM' });
    });
    test('cwd, env and input', async () => {
      const r = await gw.exec('pwd; echo "$TSNET_A-${HOME:+home}-${TSNET_GONE:-gone}"; cat', {
        cwd: tmp,
        env: { TSNET_A: 'a', TSNET_GONE: undefined },
        input: 'from stdin',
      });
      expect(r.stdout).toBe(`${tmp}\na-home-gone\nfrom stdin`);
      // Without input, stdin is at its end: cat ends at once.
      expect((await gw.exec(['cat'])).stdout).toBe('');
    });
    test("binary stdout, byte for byte, with encoding: 'buffer'", async () => {
      const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(3 << 20)]);
      const file = join(tmp, 'bytes.bin');
      writeFileSync(file, bytes);
      const r = await gw.exec(['cat', file], { encoding: 'buffer', input: new Uint8Array([0xff, 0]) });
      expect(Buffer.isBuffer(r.stdout)).toBe(true);
      expect(r.stdout.equals(bytes)).toBe(true);
      const both = await gw.exec(['sh', '-c', 'cat; cat "$0" >&2', file], { encoding: 'buffer', input: new Uint8Array([0xff, 0, 0x80]) });
      expect([...both.stdout]).toEqual([0xff, 0, 0x80]);
      expect(both.stderr.equals(bytes)).toBe(true);
    });
    test('a timeout kills the command and rejects with TimeoutError carrying what it had said', async () => {
      const started = Date.now();
      const error = await gw.exec(['sh', '-c', 'echo started; exec sleep 30'], { timeout: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({ timeout: 300, result: { stdout: 'started\n', code: null, signal: 'SIGTERM' } });
      expect((error as Error).message).toMatch(/timed out after 300 ms/);
      expect(Date.now() - started).toBeLessThan(20_000);
    });
    test("an abort signal kills the command and rejects with the signal's reason", async () => {
      const ac = new AbortController();
      const running = gw.exec(['sleep', '30'], { signal: ac.signal });
      const reason = new Error('enough');
      setTimeout(() => ac.abort(reason), 200);
      expect(await running.catch((e: unknown) => e)).toBe(reason);
      await expect(gw.exec(['cat'], { signal: ac.signal })).rejects.toBe(reason); // aborted already
    });
    test('a command that cannot start rejects naming it and the cause', async () => {
      const error = (await gw.exec(['tsnet-no-such-command', '-x']).catch((e: unknown) => e)) as RemoteError;
      expect(error).toBeInstanceOf(RemoteError);
      expect(error.remoteCode).toBe('ENOENT');
      expect(error.remoteMessage).toMatch(/cannot run \["tsnet-no-such-command","-x"\] on .*ENOENT \(no tsnet-no-such-command on the remote PATH\)/);
      await expect(gw.exec([])).rejects.toThrow(/argv array of strings/);
    });
  });

  describe('spawn()', () => {
    test('stdin, stdout and stderr are streams with backpressure; exited resolves at the end', async () => {
      const p = gw.spawn(['sh', '-c', 'cat; echo done >&2']);
      const input = randomBytes(2 << 20);
      const chunks: Buffer[] = [];
      let err = '';
      p.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      await Promise.all([
        pipeline(Readable.from([input.subarray(0, 1 << 20), input.subarray(1 << 20)]), p.stdin),
        (async () => {
          for await (const c of p.stdout) chunks.push(c as Buffer);
        })(),
      ]);
      expect(Buffer.concat(chunks).equals(input)).toBe(true);
      expect(await p.exited).toEqual({ code: 0, signal: null, timedOut: false });
      expect(err).toBe('done\n');
      expect(typeof (await p.pid)).toBe('number');
    });
    test('kill() signals the remote command', async () => {
      const p = gw.spawn(['sleep', '30']);
      await p.pid;
      expect(p.kill('SIGINT')).toBe(true);
      expect(await p.exited).toEqual({ code: null, signal: 'SIGINT', timedOut: false });
    });
  });

  describe('hints', () => {
    test("remoteExec('./job.ts') says to pass new URL('./job.ts', import.meta.url)", async () => {
      for (const [source, name] of [
        ['./job.ts', 'SyntaxError'],
        ['../jobs/job.mjs', 'SyntaxError'],
        ['job.ts', 'ReferenceError'],
      ] as const) {
        const error = (await gw
          .remoteExec(source)
          .receive()
          .catch((e: unknown) => e)) as RemoteError;
        expect(error.remoteName).toBe(name);
        const relative = source.startsWith('.') ? source : `./${source}`;
        expect(error.remoteMessage).toContain(`did you mean remoteExec(new URL('${relative}', import.meta.url))?`);
      }
      expect(() => gw.remoteExec('file:///srv/job.ts')).toThrow(/pass a URL object to run the module: remoteExec\(new URL\("file:\/\/\/srv\/job.ts"\)\)/);
    });
    test('a syntax error in a string source names its line and column in that string', async () => {
      const error = (await gw
        .remoteExec('const a = 1;\nconst b = (a + ;\nawait channel.send(b);')
        .receive()
        .catch((e: unknown) => e)) as RemoteError;
      expect(error.remoteName).toBe('SyntaxError');
      expect(error.remoteMessage).toMatch(/^Unexpected token ';' \(line 2, column 16 of the source string\)\n {2}2 \| const b = \(a \+ ;\n {4}\| {16}\^$/);
    });
    test('a module without a default export is an error naming its exports', async () => {
      const error = (await gw
        .remoteExec(noDefault)
        .receive()
        .catch((e: unknown) => e)) as RemoteError;
      expect(error.remoteName).toBe('TypeError');
      expect(error.remoteMessage).toMatch(
        /no-default\.ts has no default export to call as fn\(channel, kwargs\); it exports: sha, version\. .*gw\.call\(url, 'sha', \.\.\.args\)/,
      );
    });
  });
}
