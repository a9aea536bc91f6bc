import { ProtocolError } from '@tsnet/core';
import { encodeFrame, FrameDecoder, FrameType, HEADER_SIZE } from '@tsnet/core/worker';
import { describe, expect, test } from 'vitest';

type Frame = [type: number, flags: number, channel: number, payload: string];

function decodeAll(chunks: Uint8Array[], maxPayload?: number): Frame[] {
  const frames: Frame[] = [];
  const d = new FrameDecoder(
    { onFrame: (t, f, c, b, s, e) => frames.push([t, f, c, Buffer.from(b.subarray(s, e)).toString('hex')]) },
    maxPayload === undefined ? undefined : { maxPayload },
  );
  for (const c of chunks) d.push(c);
  return frames;
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('frame codec', () => {
  test('golden frame: DATA on channel 3 with payload "hi"', () => {
    const f = encodeFrame(FrameType.DATA, 1, 3, new TextEncoder().encode('hi'));
    expect(Buffer.from(f).toString('hex')).toBe('f7030100' + '00000003' + '00000002' + '6869');
    expect(decodeAll([f])).toEqual([[3, 1, 3, '6869']]);
  });

  test('golden frame: END (half-close, protocol 2) on channel 5', () => {
    const f = encodeFrame(FrameType.END, 0, 5);
    expect(Buffer.from(f).toString('hex')).toBe('f70a0000' + '00000005' + '00000000');
    expect(decodeAll([f])).toEqual([[10, 0, 5, '']]);
    expect(() => decodeAll([hex('f7 0b 00 00 00000005 00000000')])).toThrow(/type/);
  });

  test('empty payload and the largest channel id', () => {
    const f = hex('f7 04 00 00 ffffffff 00000000');
    expect(decodeAll([f])).toEqual([[FrameType.CLOSE, 0, 0xffffffff, '']]);
  });

  const stream = Buffer.concat([
    encodeFrame(FrameType.HELLO, 0, 0, new TextEncoder().encode('{"version":1}')),
    encodeFrame(FrameType.EXEC, 0, 1),
    encodeFrame(
      FrameType.DATA,
      0,
      1,
      Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
    ),
    encodeFrame(FrameType.CREDIT, 0, 2, hex('00010000')),
    encodeFrame(FrameType.CLOSE, 0, 1),
  ]);
  const whole = decodeAll([stream]);

  test('a stream of frames decodes whole', () => {
    expect(whole.map((f) => f[0])).toEqual([FrameType.HELLO, FrameType.EXEC, FrameType.DATA, FrameType.CREDIT, FrameType.CLOSE]);
  });

  test('the same stream split at every byte offset decodes the same', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(decodeAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(whole);
    }
  });

  test('the same stream fed one byte at a time decodes the same', () => {
    expect(decodeAll([...stream].map((b) => Uint8Array.of(b)))).toEqual(whole);
  });

  test('bad magic names the offset and the likely cause', () => {
    const good = encodeFrame(FrameType.CLOSE, 0, 1);
    const bad = new TextEncoder().encode('hello world!');
    let error: unknown;
    try {
      decodeAll([good, bad]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).offset).toBe(HEADER_SIZE);
    expect((error as Error).message).toMatch(/byte 12.*magic.*hello world.*stdout/s);
  });

  test('unknown type, reserved byte and oversized length are refused', () => {
    expect(() => decodeAll([hex('f7 63 00 00 00000001 00000000')])).toThrow(/unknown frame type 99/);
    expect(() => decodeAll([hex('f7 03 00 01 00000001 00000000')])).toThrow(/reserved header byte/);
    expect(() => decodeAll([hex('f7 03 00 00 00000001 7fffffff')], 1024)).toThrow(/declares 2147483647 payload bytes, above the maximum of 1024/);
  });

  test('after an error the decoder refuses more input', () => {
    const d = new FrameDecoder({ onFrame: () => {} });
    expect(() => d.push(hex('00'.repeat(12)))).toThrow(ProtocolError);
    expect(() => d.push(encodeFrame(FrameType.CLOSE, 0, 1))).toThrow(ProtocolError);
  });

  test('idle tells whether the stream ended on a frame boundary', () => {
    const d = new FrameDecoder({ onFrame: () => {} });
    d.push(stream.subarray(0, 5));
    expect(d.idle).toBe(false);
    d.push(stream.subarray(5));
    expect(d.idle).toBe(true);
    expect(d.offset).toBe(stream.length);
  });
});
