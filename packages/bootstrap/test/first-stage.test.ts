// The first stage on its own: any bundle, any chunking of its input, and refusals of bad payloads.
import { spawn } from 'node:child_process';
import { bundleHash, FIRST_STAGE } from '@tsnet/bootstrap';
import { expect, test } from 'vitest';

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
