import { encodeFrame, FrameType, HEADER_SIZE, MAGIC } from '@tsnet/core/worker';
import { expect, test } from 'vitest';
import { encodeTrailer, FrameScanner } from '../src/frame-scanner.js';
import * as sp from '../src/socket-protocol.js';

const frames = Buffer.concat([
  encodeFrame(FrameType.HELLO, 0, 0, Buffer.from('{"version":1}')),
  encodeFrame(FrameType.DATA, 0, 7, Buffer.alloc(300, 1)),
  encodeFrame(FrameType.CLOSE, 0, 7),
]);
const trailer = encodeTrailer({ code: 3, signal: null });

test('the frame constants match @tsnet/core', () => {
  expect([sp.MAGIC, sp.HEADER_SIZE]).toEqual([MAGIC, HEADER_SIZE]);
});

test('push() knows when the stream is between two frames', () => {
  const s = new FrameScanner();
  expect(s.atBoundary).toBe(true);
  for (let i = 0; i < frames.length; i++) {
    s.push(frames.subarray(i, i + 1));
    const ends = [25, 25 + 312, frames.length];
    expect(s.atBoundary, `after byte ${i + 1}`).toBe(ends.includes(i + 1));
  }
});

test('split() passes every frame byte on and takes the trailer off, whatever the chunking', () => {
  const stream = Buffer.concat([frames, trailer]);
  for (let a = 0; a <= stream.length; a++) {
    for (const b of [a, Math.min(stream.length, a + 5), Math.min(stream.length, a + 13)]) {
      const s = new FrameScanner();
      const out: Uint8Array[] = [];
      for (const chunk of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) s.split(chunk, (x) => out.push(Buffer.from(x)));
      expect(Buffer.concat(out).equals(frames), `cut at ${a}/${b}`).toBe(true);
      expect(JSON.parse(Buffer.from(s.trailer!).toString())).toEqual({ code: 3, signal: null });
    }
  }
});

test('split() passes a stream that is not frames on unchanged', () => {
  const s = new FrameScanner();
  const out: Uint8Array[] = [];
  const junk = Buffer.from('this is not a frame stream, the gateway reports it');
  s.split(junk, (x) => out.push(Buffer.from(x)));
  expect(Buffer.concat(out).equals(junk)).toBe(true);
  expect(s.trailer).toBeNull();
});

test('proofs: both sides agree, each role and nonce gives another proof, comparison is strict', () => {
  const token = Buffer.from('a-token-of-enough-length');
  const [sn, cn] = [sp.makeNonce(), sp.makeNonce()];
  const proof = sp.clientProof(token, sn, cn);
  expect(sp.proofMatches(proof, proof)).toBe(true);
  expect(sp.proofMatches(proof, sp.clientProof(token, sp.makeNonce(), cn))).toBe(false);
  expect(sp.proofMatches(proof, sp.serverProof(token, sn, cn))).toBe(false);
  expect(sp.proofMatches(proof, sp.clientProof(Buffer.from('another-token-of-length'), sn, cn))).toBe(false);
  expect(sp.proofMatches(proof, proof.slice(0, 10))).toBe(false);
  expect(sp.proofMatches(proof, `${proof}00`)).toBe(false);
  expect(sp.proofMatches(proof, 'not hex at all')).toBe(false);
  expect(sp.parseMagicLine(sp.clientHello(cn).trimEnd(), sp.CLIENT_MAGIC)).toEqual({ version: sp.SOCKET_PROTOCOL, rest: cn });
});
