// What makes a popen start cheap must not cost safety: the lifeline process instead of a watchdog
// thread, and the V8 code cache kept on the remote host.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGateway } from '@tsnet/core';
import { afterAll, describe, expect, test } from 'vitest';
import { isAlive } from './helpers/processes.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsnet-cache-test-'));
  dirs.push(d);
  return d;
}

/** Lifeline shells (`sh -c … tsnet-lifeline`, or with `tag` its witness) whose parent is `ppid`. */
function lifelinesOf(ppid: number, tag = 'tsnet-lifeline'): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 2 && Number(f[1]) === ppid && f.includes(tag))
    .map((f) => Number(f[0]));
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe('lifeline', () => {
  test('one lifeline (and its witness) serves every popen gateway of a process, and takes the remaining runtimes with it when the process is killed', async () => {
    const script = `
      import { makeGateway } from '@tsnet/core';
      const a = await makeGateway('popen', { output: 'ignore' });
      const b = await makeGateway('popen', { output: 'ignore' });
      const c = await makeGateway('popen', { output: 'ignore' });
      const pids = [];
      for (const gw of [a, b, c]) pids.push((await gw.remoteInfo()).pid);
      await a.exit();
      // b blocks its thread for good: only something outside it can end it
      b.remoteExec('await channel.send(0); for (;;) {}');
      await new Promise((r) => setTimeout(r, 200));
      process.stdout.write(JSON.stringify(pids) + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: new URL('.', import.meta.url).pathname,
    });
    const line = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out);
      });
    });
    const pids = JSON.parse(line) as number[];
    const shells = [...lifelinesOf(child.pid!), ...lifelinesOf(child.pid!, 'tsnet-witness')];
    // one lifeline and one witness (which names a signal of the process group in the lifeline's line)
    expect(shells).toHaveLength(2);
    expect(isAlive(pids[0]!)).toBe(false);
    child.kill('SIGKILL');
    expect(await until(() => [...pids, ...shells].every((p) => !isAlive(p)), 2000)).toBe(true);
  });
});

test('remote code that reads process.stdin gets an empty stream, not the wire', async () => {
  const gw = await makeGateway('popen', { output: 'ignore' });
  const ch = gw.remoteExec(`
    let n = 0;
    process.stdin.on('data', (d) => { n += d.length; });
    await new Promise((r) => process.stdin.once('end', r));
    await channel.send(n);
    await channel.send(await channel.receive());`);
  expect(await ch.receive()).toBe(0);
  await ch.send('the wire still works');
  expect(await ch.receive()).toBe('the wire still works');
  await gw.exit();
});

describe('code cache', () => {
  test('the first start writes a private cache file, later starts use it, and remote code sees no difference', async () => {
    const home = tmp();
    const spec = `popen//env:XDG_CACHE_HOME=${home}`;
    const a = await makeGateway(spec, { output: 'ignore' });
    expect(await a.remoteExec('await channel.send(6 * 7)').receive()).toBe(42);
    await a.exit();
    const dir = join(home, 'tsnet');
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]+-v\d+\.\d+\.\d+-\w+\.v8$/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    const written = statSync(join(dir, files[0]!)).mtimeMs;

    const b = await makeGateway(spec, { output: 'ignore' });
    expect(await b.remoteExec('await channel.send(6 * 7)').receive()).toBe(42);
    await b.exit();
    // accepted, so not written again
    expect(readdirSync(dir)).toEqual(files);
    expect(statSync(join(dir, files[0]!)).mtimeMs).toBe(written);
  });

  test('import() works in remote code compiled from a cached bundle, in sources and functions', async () => {
    const home = tmp();
    const dir = tmp();
    writeFileSync(join(dir, 'answer.mjs'), 'export default 42;\n');
    const spec = `popen//chdir=${dir}//env:XDG_CACHE_HOME=${home}`;
    for (let i = 0; i < 2; i++) {
      const gw = await makeGateway(spec, { output: 'ignore' });
      const ch = gw.remoteExec("const m = await import('./answer.mjs'); const p = await import('node:path'); await channel.send([m.default, p.sep]);");
      expect(await ch.receive()).toEqual([42, '/']);
      const fn = gw.remoteExec(async (channel: { send(v: unknown): Promise<void> }) => {
        const os = await import('node:os');
        await channel.send(typeof os.cpus);
      });
      expect(await fn.receive()).toBe('function');
      await gw.exit();
    }
    expect(readdirSync(join(home, 'tsnet'))).toHaveLength(1);
  });

  test('TSNET_CODE_CACHE=0 writes nothing', async () => {
    const home = tmp();
    const gw = await makeGateway(`popen//env:XDG_CACHE_HOME=${home}//env:TSNET_CODE_CACHE=0`, { output: 'ignore' });
    expect(await gw.remoteExec('await channel.send(1)').receive()).toBe(1);
    await gw.exit();
    expect(readdirSync(home)).toEqual([]);
  });

  test('a cache directory others can write to is not used', async () => {
    const home = tmp();
    mkdirSync(join(home, 'tsnet'));
    chmodSync(join(home, 'tsnet'), 0o777);
    const gw = await makeGateway(`popen//env:XDG_CACHE_HOME=${home}`, { output: 'ignore' });
    expect(await gw.remoteExec('await channel.send(1)').receive()).toBe(1);
    await gw.exit();
    expect(readdirSync(join(home, 'tsnet'))).toEqual([]);
  });

  test('a corrupt cache file is rejected by V8 and replaced', async () => {
    const home = tmp();
    const spec = `popen//env:XDG_CACHE_HOME=${home}`;
    const a = await makeGateway(spec, { output: 'ignore' });
    await a.remoteExec('await channel.send(1)').receive();
    await a.exit();
    const dir = join(home, 'tsnet');
    const [file] = readdirSync(dir);
    const path = join(dir, file!);
    execFileSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1024', 'count=8', 'conv=notrunc'], { stdio: 'ignore' });
    const b = await makeGateway(spec, { output: 'ignore' });
    expect(await b.remoteExec('await channel.send(2)').receive()).toBe(2);
    await b.exit();
    expect(readdirSync(dir)).toEqual([file]);
  });
});

describe('what a start loads', () => {
  test('a popen remote serves its wire without loading node:net or node:stream; remote code that needs them still gets them', async () => {
    const gw = await makeGateway('popen', { output: 'ignore' });
    try {
      const loaded = (await gw.remoteExec('await channel.send(process.moduleLoadList)').receive()) as string[];
      expect(loaded).not.toContain('NativeModule net');
      expect(loaded).toContain('Internal Binding pipe_wrap');
      // process.stdin is an empty stream, built (and node:stream loaded) when first touched
      const ch = gw.remoteExec(`
        const chunks = [];
        for await (const c of process.stdin) chunks.push(c);
        const net = require('node:net');
        await channel.send([chunks.length, typeof net.connect, process.moduleLoadList.includes('NativeModule stream')]);
      `);
      expect(await ch.receive()).toEqual([0, 'function', true]);
    } finally {
      await gw.exit();
    }
  });
});
