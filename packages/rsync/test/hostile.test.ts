/**
 * Confinement: the other side is hostile. A test-only remote speaks the same protocol as the
 * agent but sends names with `..`, absolute paths, names under a link, data nobody asked for,
 * block copies outside the old file; and, for a push, asks for paths outside the list. The local
 * side must refuse with a typed error naming the path, and write nothing outside its directory.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Gateway, isTsnetError, makeGateway } from '@tsnet/core';
import '@tsnet/transport-popen';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { UnsafePathError } from '../src/index.js';
import { pullOver } from '../src/pull.js';
import { scan } from '../src/scan.js';
import { sendTree } from '../src/sender.js';
import { allNames, tempDir, write } from './helpers.js';

let gw: Gateway;
beforeAll(async () => {
  gw = await makeGateway('popen//id=hostile');
});
afterAll(() => gw?.exit());

/** A sender that sends `entries`, reads the receiver's needs, then sends `then` and `done`. */
const HOSTILE_SENDER = `
  await channel.send({ t: 'list', entries: kwargs.entries, done: true });
  const need = await channel.receive();
  for (const m of kwargs.then) await channel.send(m);
  await channel.send({ t: 'done' });
  await channel.receive();
`;

const now = Date.now();
const file = (path: string, size = 5): unknown[] => [path, 'f', 0o644, size, now, null];
const dir = (path: string): unknown[] => [path, 'd', 0o755, 0, now, null];

async function hostilePull(localDir: string, entries: unknown[], then: unknown[] = []): Promise<unknown> {
  const ch = gw.remoteExec(HOSTILE_SENDER, { entries, then });
  return pullOver(ch, gw.id, localDir).then(
    () => null,
    (e: unknown) => e,
  );
}

function setup(root: string): { local: string; outside: string } {
  const local = join(root, 'local');
  const outside = join(root, 'outside');
  mkdirSync(local);
  mkdirSync(outside);
  writeFileSync(join(outside, 'precious'), 'keep me');
  return { local, outside };
}

function expectUntouched(root: string, outside: string): void {
  expect(readdirSync(root).sort()).toEqual(['local', 'outside']);
  expect(readdirSync(outside)).toEqual(['precious']);
  expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('keep me');
}

test.each([
  ['a .. component', [file('../evil')], '../evil'],
  ['.. deeper down', [dir('a'), file('a/../../evil')], 'a/../../evil'],
  ['an absolute path', [file('/tmp/tsnet-rsync-evil')], '/tmp/tsnet-rsync-evil'],
  ['an empty name', [file('')], ''],
  ['an empty component', [dir('a'), file('a//b')], 'a//b'],
  ['a name under a link', [['lnk', 'l', 0o777, 0, now, '../outside'], file('lnk/evil')], 'lnk/evil'],
  ['a name under a file', [file('f'), file('f/evil')], 'f/evil'],
  ['a name whose directory was not listed', [file('nodir/evil')], 'nodir/evil'],
  ['a name listed twice', [file('x'), dir('x')], 'x'],
  ['a NUL in a name', [file('a\0b')], 'a\0b'],
])('pull: %s is refused with UnsafePathError naming it; nothing is written', async (_what, entries, path) => {
  using t = tempDir();
  const { local, outside } = setup(t.path);
  const error = await hostilePull(local, entries);
  expect(error).toBeInstanceOf(UnsafePathError);
  expect(isTsnetError(error, 'TSNET_ERR_UNSAFE_PATH')).toBe(true);
  expect((error as UnsafePathError).path).toBe(path);
  expect((error as Error).message).toContain(JSON.stringify(path));
  expectUntouched(t.path, outside);
  expect(readdirSync(local)).toEqual([]);
});

test('pull: data for an entry nobody asked for, or for a directory, is a ProtocolError; nothing is written for it', async () => {
  using t = tempDir();
  const { local, outside } = setup(t.path);
  const error = await hostilePull(local, [dir('d'), file('x')], [{ t: 'files', items: [[0, new Uint8Array([1, 2, 3])]] }]);
  expect(isTsnetError(error, 'TSNET_ERR_PROTOCOL')).toBe(true);
  expect((error as Error).message).toMatch(/not asked for/);
  expectUntouched(t.path, outside);
  expect(allNames(local)).toEqual(['d']);
});

test('pull: a block copy outside the old file is refused and its temporary file removed', async () => {
  using t = tempDir();
  const { local, outside } = setup(t.path);
  write(local, 'big', Buffer.alloc(300_000, 1), now - 100_000);
  const error = await hostilePull(local, [file('big', 300_000)], [{ t: 'begin', i: 0, delta: true }, [999_999, 1]]);
  expect(isTsnetError(error, 'TSNET_ERR_PROTOCOL')).toBe(true);
  expect((error as Error).message).toMatch(/outside the old file/);
  expect(allNames(local)).toEqual(['big']);
  expect(readFileSync(join(local, 'big')).equals(Buffer.alloc(300_000, 1))).toBe(true);
  expectUntouched(t.path, outside);
});

test('pull: a local link where the list has a directory is replaced by the directory, never followed', async () => {
  using t = tempDir();
  const { local, outside } = setup(t.path);
  symlinkSync(outside, join(local, 'a')); // e.g. a link from an earlier run, now a directory on the other side
  symlinkSync(join(outside, 'precious'), join(local, 'b')); // a destination holding a link to elsewhere
  const error = await hostilePull(
    local,
    [dir('a'), file('a/precious', 4), file('b', 4)],
    [
      {
        t: 'files',
        items: [
          [1, new TextEncoder().encode('evil')],
          [2, new TextEncoder().encode('evil')],
        ],
      },
    ],
  );
  expect(error).toBeNull();
  expectUntouched(t.path, outside);
  expect(readFileSync(join(local, 'a/precious'), 'utf8')).toBe('evil');
  expect(readFileSync(join(local, 'b'), 'utf8')).toBe('evil');
  expect(allNames(local)).toEqual(['a', 'a/precious', 'b']);
});

/** A receiver that reads the list and asks for `ask`; logs every byte it gets to kwargs.log. */
const HOSTILE_RECEIVER = `
  const fs = require('node:fs');
  for (;;) { const m = await channel.receive(); if (m.done) break; }
  await channel.send({ t: 'need', files: kwargs.ask });
  try {
    for (;;) {
      const m = await channel.receive();
      fs.appendFileSync(kwargs.log, m instanceof Uint8Array ? m : JSON.stringify(m, (k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString() : v)));
    }
  } catch {}
`;

test.each([
  ['a path outside the tree', ['../secret'], UnsafePathError, '../secret'],
  ['a path inside the tree, by name', ['dir/a'], UnsafePathError, 'dir/a'],
  ['a directory', [[0, null]], UnsafePathError, 'dir'],
  ['an entry past the end of the list', [[99, null]], null, null],
  ['a negative entry', [[-1, null]], null, null],
])('push: a receiver asking for %s is refused, and gets no content', async (_what, ask, type, path) => {
  using t = tempDir();
  const source = join(t.path, 'source');
  write(source, 'dir/a', 'inside-content');
  writeFileSync(join(t.path, 'secret'), 'SECRET-CONTENT');
  const log = join(t.path, 'log');
  writeFileSync(log, '');
  const ch = gw.remoteExec(HOSTILE_RECEIVER, { ask, log });
  const [result] = await sendTree(source, await scan(source), [{ link: ch }]);
  await ch.close();
  expect(result!.status).toBe('rejected');
  const error = (result as PromiseRejectedResult).reason;
  if (type) {
    expect(error).toBeInstanceOf(type);
    expect((error as UnsafePathError).path).toBe(path);
  } else expect(isTsnetError(error, 'TSNET_ERR_PROTOCOL')).toBe(true);
  await ch.waitClose().catch(() => {});
  const got = readFileSync(log, 'utf8');
  expect(got).not.toContain('SECRET');
  expect(got).not.toContain('inside-content');
  expect(existsSync(join(source, '..', 'secret'))).toBe(true);
});

/**
 * A sender that plays `rounds`: each round's messages, then done; a report ends it, a need starts
 * the next round. With `touch`, that file is written to after the first need (someone writes to
 * the old file while its signature is in flight).
 */
const ROUNDS_SENDER = `
  await channel.send({ t: 'list', entries: kwargs.entries, done: true });
  const needs = [await channel.receive()];
  if (kwargs.touch) require('node:fs').appendFileSync(kwargs.touch, 'x');
  for (const round of kwargs.rounds) {
    for (const m of round) await channel.send(m);
    await channel.send({ t: 'done' });
    const answer = await channel.receive();
    needs.push(answer);
    if (answer.t === 'report') break;
  }
  await channel.send(needs.map((n) => n.t === 'need' ? n.files.map(([i, sig]) => [i, sig !== null]) : 'report'));
`;

test('a delta whose result does not match the sender hash is asked for again whole, and the old file stays until then', async () => {
  using t = tempDir();
  const { local } = setup(t.path);
  const old = Buffer.alloc(300_000, 1);
  write(local, 'big', old, now - 100_000);
  const fresh = Buffer.alloc(300_000, 2);
  const { createHasher, hashHex } = await import('../src/hash.js');
  const right = hashHex(await createHasher(), fresh);
  const ch = gw.remoteExec(ROUNDS_SENDER, {
    entries: [file('big', 300_000)],
    rounds: [
      // a "delta" that copies the old blocks: its content hash is the old file's, not `right`
      [{ t: 'begin', i: 0, delta: true }, [0, 1], { t: 'end', i: 0, hash: right }],
      [{ t: 'begin', i: 0, delta: false }, fresh, { t: 'end', i: 0, hash: right }],
    ],
  });
  const report = await pullOver(ch, gw.id, local);
  expect(report.updated).toEqual(['big']);
  expect(readFileSync(join(local, 'big')).equals(fresh)).toBe(true);
  expect(await ch.receive()).toEqual([[[0, true]], [[0, false]], 'report']);
  expect(allNames(local)).toEqual(['big']);
});

test('an old file that changes between its signature and the delta is not trusted: asked for again whole', async () => {
  using t = tempDir();
  const { local } = setup(t.path);
  const old = Buffer.alloc(300_000, 1);
  write(local, 'big', old, now - 100_000);
  // the recipe hash of "copy every block": the digests of the old blocks, in order
  const { signatureOf } = await import('../src/delta.js');
  const { createHasher } = await import('../src/hash.js');
  const h = await createHasher();
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(join(local, 'big'), 'r');
  const { sig, full } = signatureOf(fd, old.length, h);
  closeSync(fd);
  const blocks = sig.weak.length / 4;
  const recipe = h.init().update(full).digest('hex');
  const fresh = Buffer.alloc(300_000, 2);
  const rounds = [
    [{ t: 'begin', i: 0, delta: true }, [0, blocks], { t: 'end', i: 0, hash: recipe }],
    [{ t: 'begin', i: 0, delta: false }, fresh, { t: 'end', i: 0, hash: null }],
  ];
  // untouched: the delta is taken as it is (the recipe format agrees on both sides)
  let ch = gw.remoteExec(ROUNDS_SENDER, { entries: [file('big', 300_000)], rounds });
  await pullOver(ch, gw.id, local);
  expect(await ch.receive()).toEqual([[[0, true]], 'report']);
  expect(readFileSync(join(local, 'big')).equals(old)).toBe(true);
  // touched after the signature: refused, then taken whole
  write(local, 'big', old, now - 100_000);
  ch = gw.remoteExec(ROUNDS_SENDER, { entries: [file('big', 300_000)], rounds, touch: join(local, 'big') });
  await pullOver(ch, gw.id, local);
  expect(await ch.receive()).toEqual([[[0, true]], [[0, false]], 'report']);
  expect(readFileSync(join(local, 'big')).equals(fresh)).toBe(true);
  expect(allNames(local)).toEqual(['big']);
});
