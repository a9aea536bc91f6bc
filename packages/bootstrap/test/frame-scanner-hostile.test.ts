// Issue 21: what remote code writes to its wire cannot make the socket client's scanner swallow
// the stream or buffer without bound. A frame of the server's trailer type that is too long, or
// anything after a trailer, is a violation (the client reports a ProtocolError); fuzzed the way
// packages/core/test/fuzz.test.ts fuzzes the local decoder.
import { encodeFrame, FrameType, HEADER_SIZE, MAGIC } from '@tsnet/core/worker';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { encodeTrailer, FrameScanner, MAX_TRAILER } from '../src/frame-scanner.js';
import { TRAILER_TYPE } from '../src/socket-protocol.js';

const RUNS = Number(process.env.TSNET_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.TSNET_FUZZ_SEED ?? 0x75e7);

function header(type: number, length: number): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  h[0] = MAGIC;
  h[1] = type;
  new DataView(h.buffer).setUint32(8, length);
  return h;
}

const data = encodeFrame(FrameType.DATA, 0, 7, Buffer.alloc(100, 1));

function run(chunks: Uint8Array[]): { out: number; scanner: FrameScanner } {
  const s = new FrameScanner();
  let out = 0;
  for (const c of chunks) s.split(c, (b) => (out += b.length));
  return { out, scanner: s };
}

test('a forged trailer followed by frames is a violation, not a silent swallow', () => {
  const forged = encodeTrailer({ code: 0, signal: null });
  for (const cut of [0, 5, forged.length, forged.length + 3]) {
    const stream = Buffer.concat([data, forged, data]);
    const { out, scanner } = run([stream.subarray(0, data.length + cut), stream.subarray(data.length + cut)]);
    expect(scanner.violation, `cut ${cut}`).toMatch(/bytes after the trailer frame: frame type 0xe0 is the server's own/);
    expect(out).toBe(data.length);
  }
});

test('an empty forged trailer followed by frames in the same chunk is a violation', () => {
  const { scanner } = run([Buffer.concat([header(TRAILER_TYPE, 0), data])]);
  expect(scanner.violation).toMatch(/after the trailer frame/);
});

test('a trailer length of 0xFFFFFFFF is refused from the header: nothing after it is buffered', () => {
  const { scanner } = run([Buffer.concat([data, header(TRAILER_TYPE, 0xffffffff)]), Buffer.alloc(1 << 20)]);
  expect(scanner.violation).toMatch(/a trailer frame of 4294967295 bytes \(the server's are at most 4096\)/);
  expect(scanner.trailer).toBeNull();
});

test('the server trailer at the very end is still taken off', () => {
  const { out, scanner } = run([Buffer.concat([data, encodeTrailer({ code: 3, signal: null })])]);
  expect(out).toBe(data.length);
  expect(scanner.violation).toBeNull();
  expect(JSON.parse(Buffer.from(scanner.trailer!).toString())).toEqual({ code: 3, signal: null });
});

test('fuzz: any bytes, any chunking: no exception, bytes passed on never exceed the input, a held trailer stays under the bound', () => {
  const frameish = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc
      .record({ type: fc.constantFrom(FrameType.DATA, TRAILER_TYPE, 0), length: fc.oneof(fc.nat(64), fc.constant(0xffffffff), fc.nat(2 * MAX_TRAILER)) })
      .map(({ type, length }) => Buffer.concat([header(type, length), Buffer.alloc(Math.min(length, 80), 0x61)])),
  );
  fc.assert(
    fc.property(fc.array(frameish, { maxLength: 12 }), fc.array(fc.nat(400), { maxLength: 6 }), (parts, cuts) => {
      const stream = Buffer.concat(parts);
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let at = 0;
      for (const p of points) {
        chunks.push(stream.subarray(at, p));
        at = p;
      }
      chunks.push(stream.subarray(at));
      const { out, scanner } = run(chunks);
      expect(out).toBeLessThanOrEqual(stream.length);
      if (scanner.trailer) expect(scanner.trailer.length).toBeLessThanOrEqual(MAX_TRAILER);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});
