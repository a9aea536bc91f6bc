// Every example of the seed document that needs no ssh or socket, run over real subprocesses.
// Importing the examples here also checks that functions compiled by vitest can be shipped.
import { describe, expect, test } from 'vitest';
import { main as call } from '../examples/call.js';
import { main as callback } from '../examples/callback.js';
import { main as channelsOverChannels } from '../examples/channels-over-channels.js';
import { main as commandLoop } from '../examples/command-loop.js';
import { main as cwd } from '../examples/cwd.js';
import { main as execExample } from '../examples/exec.js';
import { main as funcmultiplier } from '../examples/funcmultiplier.js';
import { main as halfClose } from '../examples/half-close.js';
import { main as increment } from '../examples/increment.js';
import { main as mapExample } from '../examples/map.js';
import { main as moduleExample } from '../examples/module.js';
import { main as receiveFiles } from '../examples/receive-files.js';

describe('the seed examples on popen', () => {
  test('increment: execute source, communicate through a channel', async () => {
    expect(await increment()).toBe(2);
  });
  test('remoteExec a function (multiplier)', async () => {
    expect(await funcmultiplier()).toEqual([0, 10, 20, 30, 40]);
  });
  test('remoteExec a module', async () => {
    expect(await moduleExample()).toBe('initialization complete');
  });
  test('the working directories are equal', async () => {
    const r = await cwd();
    expect(r.remote).toBe(r.local);
  });
  test('callback with endmarker, then waitClose', async () => {
    expect(await callback()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, null]);
  });
  test('channels sent over channels', async () => {
    expect(await channelsOverChannels()).toEqual(['hello', 'world']);
  });
  test('the command loop pattern', async () => {
    expect(await commandLoop()).toEqual({ simple: 11, listdir: true });
  });
  test('reading files through a served module', async () => {
    const pkg = new URL('../package.json', import.meta.url).pathname;
    const sizes = await receiveFiles([pkg]);
    const { statSync } = await import('node:fs');
    expect(sizes[pkg]).toBe(statSync(pkg).size);
  });
});

describe('the helpers users reach for first, on popen', () => {
  test('call: a function with arguments, an async one, a module export', async () => {
    const { hostname } = await import('node:os');
    expect(await call()).toEqual({ sum: 5, host: hostname(), doubled: 42 });
  });
  test('map: hashes of the example files, in input order', async () => {
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const dir = new URL('../examples/', import.meta.url).pathname;
    const got = await mapExample(dir);
    expect(got.length).toBeGreaterThan(5);
    for (const [name, hash] of got)
      expect(hash).toBe(
        createHash('sha256')
          .update(readFileSync(`${dir}${name}`))
          .digest('hex')
          .slice(0, 12),
      );
    expect(got.map(([name]) => name)).toEqual([...got.map(([name]) => name)].sort());
  });
  test('exec: argv, exit code, a shell pipeline with input, binary output', async () => {
    expect(await execExample()).toEqual({ files: 'has /tmp', code: 3, piped: 'TENST', bytes: 1024 });
  });
  test('half-close: the replies after end(), a pipeline that finishes on both sides', async () => {
    expect(await halfClose()).toEqual({ replies: [0, 2, 4, 'done'], upload: { bytes: 11 } });
  });
});
