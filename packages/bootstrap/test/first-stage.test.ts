// The first stage on its own: any bundle, any chunking of its input, and refusals of bad payloads.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleHash, FIRST_STAGE } from '@tsnet/bootstrap';
import { afterAll, describe, expect, test } from 'vitest';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// A stand-in bundle: says what config it got, then echoes what followed it: first the bytes the
// first stage read past it (`rest`), then what it reads from fd 0 itself.
const ECHO = Buffer.from(
  "const o=__tsnetBoot;process.stdout.write(JSON.stringify({wireFd:o.wireFd})+'\\n');if(o.rest.length)process.stdout.write(o.rest);" +
    "new (require('net').Socket)({fd:0,readable:true,writable:false}).on('data',(d)=>process.stdout.write(d));",
);

function header(code: Buffer, hash = bundleHash(code), length = code.length): Buffer {
  return Buffer.from(`TSNET1 ${length} ${hash} {"wireFd":3,"output":"fd"}\n`, 'latin1');
}

async function run(chunks: Buffer[], { end = true, env = {} } = {}): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['-e', FIRST_STAGE], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TSNET_CODE_CACHE: '0', ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d) => {
    err += d;
  });
  for (const c of chunks) {
    child.stdin.write(c);
    await new Promise((r) => setTimeout(r, 2));
  }
  if (end) child.stdin.end();
  else setTimeout(() => child.stdin.end(), 300);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out, err };
}

/** Splits b into pieces of the given sizes (cycled). */
function split(b: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, k = 0; at < b.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

test('runs the bundle with its config and hands on the bytes after it, however the input is cut', async () => {
  const payload = Buffer.concat([header(ECHO), ECHO, Buffer.from('after the bundle')]);
  for (const sizes of [[payload.length], [1], [7, 3], [header(ECHO).length - 2, 5, 1000]]) {
    const { code, out } = await run(split(payload, sizes), { end: false });
    expect(code).toBe(0);
    expect(out).toBe('{"wireFd":3}\nafter the bundle');
  }
});

test('the hash covers every byte, for lengths that are not a multiple of the word size', async () => {
  for (const pad of ['', ' ', '  ', '   ', '    ']) {
    const code = Buffer.concat([ECHO, Buffer.from(pad)]);
    expect((await run([header(code), code])).out).toBe('{"wireFd":3}\n');
    const bad = Buffer.from(code);
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 1, bad.length - 1);
    const r = await run([header(code), bad]);
    expect(r.code).toBe(97);
    expect(r.err).toContain('tsnet: the bootstrap payload arrived corrupted (length or hash mismatch)');
  }
});

test('a wrong magic, a truncated payload and a wrong length are refused with exit code 97', async () => {
  const wrongMagic = Buffer.from(header(ECHO).toString('latin1').replace('TSNET1', 'TSNET9'), 'latin1');
  expect((await run([wrongMagic, ECHO])).code).toBe(97);
  expect((await run([header(ECHO), ECHO.subarray(0, 20)])).code).toBe(97);
  expect((await run([header(ECHO).subarray(0, 5)])).code).toBe(97);
  expect((await run([header(ECHO, bundleHash(ECHO), ECHO.length - 1), ECHO])).code).toBe(97);
});

test('no input at all is a quiet end', async () => {
  expect(await run([])).toMatchObject({ code: 0, out: '', err: '' });
});

describe('with the code cache', () => {
  function cacheHome(): string {
    const d = mkdtempSync(join(tmpdir(), 'tsnet-first-stage-'));
    dirs.push(d);
    return d;
  }

  test('the cache file starts with the bundle it was made from; a later start finds it', async () => {
    const home = cacheHome();
    const env = { TSNET_CODE_CACHE: '1', XDG_CACHE_HOME: home };
    expect((await run([header(ECHO), ECHO], { env })).out).toBe('{"wireFd":3}\n');
    const [file] = readdirSync(join(home, 'tsnet'));
    expect(file).toBe(`${bundleHash(ECHO)}-${process.version}-${process.arch}.v8`);
    const data = readFileSync(join(home, 'tsnet', file!));
    expect(data.readUInt32LE(0)).toBe(ECHO.length);
    expect(data.subarray(4, 4 + ECHO.length).equals(ECHO)).toBe(true);
    expect(data.length).toBeGreaterThan(4 + ECHO.length); // V8's data follows
    expect((await run([header(ECHO), ECHO], { env })).out).toBe('{"wireFd":3}\n');
    expect(readdirSync(join(home, 'tsnet'))).toEqual([file]);
  });

  test('bytes corrupted on the way are refused even when the cache holds the right bundle (the hash is checked then)', async () => {
    const home = cacheHome();
    const env = { TSNET_CODE_CACHE: '1', XDG_CACHE_HOME: home };
    await run([header(ECHO), ECHO], { env });
    const bad = Buffer.from(ECHO);
    bad[10]! ^= 1;
    const r = await run([header(ECHO), bad], { env });
    expect(r.code).toBe(97);
    expect(r.err).toContain('arrived corrupted');
  });

  test('a cache file whose bundle bytes differ is not trusted: the bundle is hashed, runs, and the file is rewritten', async () => {
    const home = cacheHome();
    const env = { TSNET_CODE_CACHE: '1', XDG_CACHE_HOME: home };
    await run([header(ECHO), ECHO], { env });
    const path = join(home, 'tsnet', readdirSync(join(home, 'tsnet'))[0]!);
    const planted = readFileSync(path);
    planted[4 + 10]! ^= 1; // same length, one bundle byte off
    writeFileSync(path, planted);
    expect((await run([header(ECHO), ECHO], { env })).out).toBe('{"wireFd":3}\n');
    expect(
      readFileSync(path)
        .subarray(4, 4 + ECHO.length)
        .equals(ECHO),
    ).toBe(true);
  });

  test('writing a cache file keeps the 8 newest', async () => {
    const home = cacheHome();
    const env = { TSNET_CODE_CACHE: '1', XDG_CACHE_HOME: home };
    await run([header(ECHO), ECHO], { env });
    const dir = join(home, 'tsnet');
    const old = new Date(Date.now() - 3600_000);
    for (let i = 0; i < 10; i++) {
      writeFileSync(join(dir, `old${i}-${process.version}-${process.arch}.v8`), 'x', { mode: 0o600 });
      utimesSync(join(dir, `old${i}-${process.version}-${process.arch}.v8`), old, new Date(old.getTime() + i * 1000));
    }
    const other = Buffer.concat([ECHO, Buffer.from(' ')]);
    await run([header(other), other], { env });
    const left = readdirSync(dir).sort();
    expect(left).toHaveLength(8);
    expect(left).toContain(`${bundleHash(other)}-${process.version}-${process.arch}.v8`);
    expect(left).toContain(`${bundleHash(ECHO)}-${process.version}-${process.arch}.v8`);
    expect(left).not.toContain(`old0-${process.version}-${process.arch}.v8`);
  });
});
