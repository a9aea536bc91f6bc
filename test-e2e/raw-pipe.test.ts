// openRawPipe drives the remote side's wire without node:net and node:stream. Here it runs on real
// pipes of a child process: reads in order (in place and in chunks) to EOF, writes in order under
// backpressure, a broken pipe reported once, and the cases where it must refuse.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawPipeOf } from '@tsnet/core/worker';
import { describe, expect, test } from 'vitest';

const CHILD = new URL('./fixtures/raw-pipe-child.mjs', import.meta.url).pathname;
const CWD = new URL('.', import.meta.url).pathname;

function child(mode: string, opts: { stdin?: 'pipe' | number; execArgv?: string[] } = {}) {
  const c = spawn(process.execPath, [...(opts.execArgv ?? []), CHILD, mode], { cwd: CWD, stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'] });
  let err = '';
  c.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; report: Record<string, unknown> | undefined; stderr: string }>((resolve) => {
    c.on('close', (code) => {
      const line = err.split('\n').find((l) => l.startsWith('{'));
      resolve({ code, report: line ? (JSON.parse(line) as Record<string, unknown>) : undefined, stderr: err });
    });
  });
  const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
  void exited.then(() => clearTimeout(timer));
  return { c, exited };
}

describe('openRawPipe', () => {
  test('reads every byte in order, in place and in chunks, then reports EOF', async () => {
    const data = randomBytes(3 << 20);
    const { c, exited } = child('read');
    // uneven writes, so reads split anywhere
    let at = 0;
    for (let i = 0; at < data.length; i++) {
      const n = Math.min(data.length - at, 1 + ((i * 7919) % 200_000));
      if (!c.stdin!.write(data.subarray(at, at + n))) await new Promise((r) => c.stdin!.once('drain', r));
      at += n;
    }
    c.stdin!.end();
    const { code, report, stderr } = await exited;
    expect(code, stderr).toBe(0);
    expect(report).toMatchObject({ filled: 1 << 20, chunked: (3 << 20) - (1 << 20), error: null, sha: createHash('sha256').update(data).digest('hex') });
    expect(report!.inPlaceReads).toBeGreaterThan(0);
  });

  test('writes keep their order under backpressure; drain and flushed come when the reader catches up; idle() says when a write is under way', async () => {
    const { c, exited } = child('write');
    c.stdout!.pause();
    await new Promise((r) => setTimeout(r, 300)); // 16 MiB cannot fit in the socket buffer
    const hash = createHash('sha256');
    let bytes = 0;
    c.stdout!.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    c.stdout!.resume();
    const { code, report, stderr } = await exited;
    expect(code, stderr).toBe(0);
    expect(bytes).toBe(64 * 4 * 64 * 1024);
    expect(report!.sha).toBe(hash.digest('hex'));
    expect(report!.falses).toBeGreaterThan(0);
    expect(report!.drains).toBe(report!.falses);
    // idle() (the socket server's exit report): false while bytes wait in libuv (the first blocked
    // write, into a reader that has not started; later ones may have left at once, their callback
    // still to come), true at each drain and at the end
    expect((report!.idleBlocked as boolean[])[0]).toBe(false);
    expect(report!.idleDrained).toEqual(Array(report!.falses).fill(true));
    expect(report!.idleEnd).toBe(true);
  });

  test('a write into a pipe whose reader is gone reports EPIPE once; later writes are dropped and flushed still calls back', async () => {
    const { c, exited } = child('broken');
    c.stdout!.destroy();
    const { code, report, stderr } = await exited;
    expect(code, stderr).toBe(0);
    expect(report).toEqual({ errors: ['EPIPE'], after: true });
  });

  test('refuses a file (not a pipe or socket) and stays away from process.binding under --pending-deprecation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnet-raw-'));
    try {
      writeFileSync(join(dir, 'in'), 'x');
      const fd = openSync(join(dir, 'in'), 'r');
      const file = child('refuse', { stdin: fd });
      closeSync(fd);
      expect((await file.exited).report).toEqual({ raw: false });
      const pipe = child('refuse');
      expect((await pipe.exited).report).toEqual({ raw: true });
      const pending = child('refuse', { execArgv: ['--pending-deprecation'] });
      const r = await pending.exited;
      expect(r.report).toEqual({ raw: false });
      expect(r.stderr).not.toMatch(/DeprecationWarning/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("rawPipeOf writes through a child's stdin pipe; stdin.end() still comes after every write", async () => {
    const c = spawn(
      process.execPath,
      [
        '-e',
        "const h=require('crypto').createHash('sha256');let n=0;process.stdin.on('data',d=>{n+=d.length;h.update(d)}).on('end',()=>process.stdout.write(JSON.stringify({n,sha:h.digest('hex')})))",
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let out = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const raw = rawPipeOf(c.stdin);
    expect(raw).toBeDefined();
    const hash = createHash('sha256');
    let falses = 0;
    for (let i = 0; i < 64; i++) {
      const chunks = [randomBytes(100_000), randomBytes(7)];
      for (const x of chunks) hash.update(x);
      if (!raw!.write(chunks)) {
        falses += 1;
        if (i % 8 === 0) await new Promise<void>((r) => raw!.onDrain(r));
      }
    }
    c.stdin!.end(); // with writes still queued in libuv
    await new Promise((r) => c.once('close', r));
    expect(JSON.parse(out)).toEqual({ n: 64 * 100_007, sha: hash.digest('hex') });
    expect(falses).toBeGreaterThan(0);
  });
});
