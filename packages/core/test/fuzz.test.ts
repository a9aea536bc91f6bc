// Property-based fuzzing of everything that reads bytes from the peer: the frame decoder, the
// deserializer, and whole gateways (both roles) fed hostile frame streams. Every case must end
// in a value, a ProtocolError or a LoadError: never another exception, a crash or a hang.
//
// CI runs a short pass with a fixed seed. `npm run fuzz` runs TSNET_FUZZ_RUNS=200000 (decoder
// and serializer properties; gateway properties get a tenth of that) with a fresh seed, printed;
// TSNET_FUZZ_SEED replays one.

import { dumps, Gateway, GatewayClosedError, isTsnetError, LoadError, loads, ProtocolError, XSpec } from '@tsnet/core';
import {
  type Channel,
  type ExecRequest,
  encodeFrame,
  FrameDecoder,
  FrameType,
  HEADER_SIZE,
  PROTOCOL_VERSION,
  type Transport,
  type TransportExit,
  WorkerGateway,
} from '@tsnet/core/worker';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { writeHeader } from '../src/wire/frame.js';
import { MAX_DEPTH } from '../src/wire/serializer.js';

const RUNS = Number(process.env.TSNET_FUZZ_RUNS ?? 300);
const LONG = RUNS > 1000;
// CI replays one fixed seed; a long run explores a fresh one (printed, so a failure can be replayed).
const SEED = Number(process.env.TSNET_FUZZ_SEED ?? (LONG ? Date.now() % 0x7fffffff : 0x75e7));
if (LONG) process.stdout.write(`fuzz: ${RUNS} runs per property, seed ${SEED} (replay with TSNET_FUZZ_SEED=${SEED})\n`);
const params = (share = 1) => ({ seed: SEED, numRuns: Math.max(25, Math.round(RUNS * share)) });
// A long run must not hit vitest's default timeout.
const testTimeout = LONG ? 3_600_000 : 60_000;

const MAX_PAYLOAD = 4096;

// ------------------------------------------------------------------ arbitraries

interface FrameSpec {
  type: number;
  flags: number;
  reserved: number;
  channel: number;
  payload: Uint8Array;
  /** Declared length; equal to payload.length unless the frame lies. */
  length: number;
}

function encode(f: FrameSpec): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + f.payload.length);
  writeHeader(out, 0, f.type, f.flags, f.channel, f.length);
  out[3] = f.reserved;
  out.set(f.payload, HEADER_SIZE);
  return out;
}

const validFrame = fc.record({
  type: fc.integer({ min: FrameType.HELLO, max: FrameType.END }),
  flags: fc.integer({ min: 0, max: 255 }),
  reserved: fc.constant(0),
  channel: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.nat()),
  payload: fc.uint8Array({ maxLength: 300 }),
});

/** Mostly well-formed frames with every field sometimes wrong, lengths that sometimes lie. */
const roughFrame: fc.Arbitrary<FrameSpec> = fc
  .record({
    type: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: FrameType.END }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    flags: fc.integer({ min: 0, max: 255 }),
    reserved: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) }),
    channel: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(0xffffffff), fc.nat()),
    payload: fc.uint8Array({ maxLength: 300 }),
    lie: fc.oneof(
      { weight: 8, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -300, max: 300 }) },
      { weight: 1, arbitrary: fc.integer({ min: MAX_PAYLOAD, max: 0xffffffff }) },
    ),
  })
  .map(({ lie, ...f }) => ({ ...f, length: Math.max(0, Math.min(0xffffffff, f.payload.length + lie)) }));

/** A byte stream: rough frames, sometimes with garbage between them, sometimes truncated. */
const roughStream = fc
  .record({
    frames: fc.array(roughFrame, { maxLength: 12 }),
    garbage: fc.option(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) })),
    cut: fc.option(fc.nat()),
  })
  .map(({ frames, garbage, cut }) => {
    let bytes = Buffer.concat(frames.map(encode));
    if (garbage) {
      const at = garbage.at % (bytes.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, at), garbage.bytes, bytes.subarray(at)]);
    }
    if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
    return new Uint8Array(bytes);
  });

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 600 }), roughStream);

/** Split points: the same bytes pushed in arbitrary pieces. */
const cuts = fc.array(fc.nat(), { maxLength: 10 });

function pieces(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

type Decoded = [type: number, flags: number, channel: number, payload: string];

function decode(chunks: Uint8Array[]): { frames: Decoded[]; error: unknown; decoder: FrameDecoder } {
  const frames: Decoded[] = [];
  const decoder = new FrameDecoder(
    { onFrame: (t, f, c, b, s, e) => frames.push([t, f, c, Buffer.from(b.subarray(s, e)).toString('hex')]) },
    { maxPayload: MAX_PAYLOAD },
  );
  let error: unknown = null;
  try {
    for (const c of chunks) decoder.push(c);
  } catch (e) {
    error = e;
  }
  return { frames, error, decoder };
}

// ------------------------------------------------------------------ frame decoder

describe('frame decoder', () => {
  test(
    'well-formed frames decode the same however the stream is split',
    () => {
      fc.assert(
        fc.property(fc.array(validFrame, { maxLength: 10 }), cuts, (specs, at) => {
          const frames = specs.map((f) => ({ ...f, length: f.payload.length }));
          const bytes = new Uint8Array(Buffer.concat(frames.map(encode)));
          const { frames: got, error, decoder } = decode(pieces(bytes, at));
          expect(error).toBeNull();
          expect(got).toEqual(frames.map((f) => [f.type, f.flags, f.channel, Buffer.from(f.payload).toString('hex')]));
          expect(decoder.idle).toBe(true);
          expect(decoder.offset).toBe(bytes.length);
        }),
        params(),
      );
    },
    testTimeout,
  );

  test(
    'any bytes: frames or one ProtocolError with an offset inside the stream, and nothing after it',
    () => {
      fc.assert(
        fc.property(anyBytes, cuts, (bytes, at) => {
          const { frames, error, decoder } = decode(pieces(bytes, at));
          if (error === null) {
            // Whatever was accepted is consistent: every payload within the limit.
            for (const [, , , hex] of frames) expect(hex.length / 2).toBeLessThanOrEqual(MAX_PAYLOAD);
            return;
          }
          expect(error).toBeInstanceOf(ProtocolError);
          const pe = error as ProtocolError;
          expect(pe.code).toBe('TSNET_ERR_PROTOCOL');
          expect(pe.offset).toBeGreaterThanOrEqual(0);
          expect(pe.offset).toBeLessThan(bytes.length);
          expect(pe.message).toMatch(new RegExp(`^bad frame at byte ${pe.offset}: `));
          // A broken stream stays broken: no frame is ever read past the bad one.
          expect(() => decoder.push(encodeFrame(FrameType.CLOSE, 0, 1))).toThrow(pe);
        }),
        params(),
      );
    },
    testTimeout,
  );

  test(
    'the first bad header is reported at its exact offset, whatever is wrong with it',
    () => {
      const bad = fc.oneof(
        fc.constant({ field: 'magic' as const }),
        fc.integer({ min: FrameType.END + 1, max: 255 }).map((type) => ({ field: 'type' as const, type })),
        fc.integer({ min: 1, max: 255 }).map((reserved) => ({ field: 'reserved' as const, reserved })),
        fc.integer({ min: MAX_PAYLOAD + 1, max: 0xffffffff }).map((length) => ({ field: 'length' as const, length })),
      );
      fc.assert(
        fc.property(fc.array(validFrame, { maxLength: 6 }), validFrame, bad, cuts, (before, victim, what, at) => {
          const good = before.map((f) => encode({ ...f, length: f.payload.length }));
          const start = good.reduce((n, b) => n + b.length, 0);
          const v = encode({
            ...victim,
            length: what.field === 'length' ? what.length : victim.payload.length,
            type: what.field === 'type' ? what.type : victim.type,
            reserved: what.field === 'reserved' ? what.reserved : 0,
          });
          if (what.field === 'magic') v[0] = 0x7b; // '{': as if text was written to the wire
          const { frames, error } = decode(pieces(new Uint8Array(Buffer.concat([...good, v])), at));
          expect(frames).toHaveLength(before.length);
          expect(error).toBeInstanceOf(ProtocolError);
          expect((error as ProtocolError).offset).toBe(start);
          const expected = {
            magic: /expected magic 0xf7.*stdout/,
            type: /unknown frame type/,
            reserved: /reserved header byte/,
            length: /above the maximum of 4096/,
          };
          expect((error as ProtocolError).message).toMatch(expected[what.field]);
        }),
        params(),
      );
    },
    testTimeout,
  );

  test(
    'a truncated stream delivers whole frames only and waits for the rest',
    () => {
      fc.assert(
        fc.property(fc.array(validFrame, { minLength: 1, maxLength: 8 }), fc.nat(), (specs, n) => {
          const frames = specs.map((f) => encode({ ...f, length: f.payload.length }));
          const bytes = Buffer.concat(frames);
          const cut = n % bytes.length;
          const { frames: got, error, decoder } = decode([new Uint8Array(bytes.subarray(0, cut))]);
          expect(error).toBeNull();
          let whole = 0;
          let end = 0;
          for (const f of frames) {
            if (end + f.length > cut) break;
            end += f.length;
            whole++;
          }
          expect(got).toHaveLength(whole);
          expect(decoder.idle).toBe(end === cut);
        }),
        params(),
      );
    },
    testTimeout,
  );

  test('a huge declared size is refused from the header alone, before any payload is buffered', () => {
    for (const length of [MAX_PAYLOAD + 1, 1 << 30, 0xffffffff]) {
      const header = new Uint8Array(HEADER_SIZE);
      writeHeader(header, 0, FrameType.DATA, 0, 1, length);
      const { error } = decode([header]);
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as Error).message).toBe(`bad frame at byte 0: DATA frame declares ${length} payload bytes, above the maximum of ${MAX_PAYLOAD}`);
    }
  });

  test('text on the wire is refused at its first byte', () => {
    const stream = Buffer.concat([encodeFrame(FrameType.DATA, 0, 1, new Uint8Array([4])), Buffer.from('Debugger listening\n')]);
    for (let split = 0; split <= stream.length; split++) {
      const { frames, error } = decode([stream.subarray(0, split), stream.subarray(split)]);
      expect(frames).toHaveLength(1);
      expect((error as ProtocolError).offset).toBe(13);
      expect((error as Error).message).toMatch(/got 44 .*\("D/);
    }
  });
});

// ------------------------------------------------------------------ deserializer

describe('deserializer', () => {
  const expectLoadOrValue = (bytes: Uint8Array): void => {
    try {
      loads(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(LoadError);
      expect((error as Error).message.length).toBeGreaterThan(0);
    }
  };

  test(
    'random bytes load as a value or fail with LoadError',
    () => {
      const tagged = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 400 })).map(([tag, rest]) => {
        const b = new Uint8Array(rest.length + 1);
        b[0] = tag;
        b.set(rest, 1);
        return b;
      });
      fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), tagged), expectLoadOrValue), params());
    },
    testTimeout,
  );

  test(
    'damaged serialized values load as a value or fail with LoadError',
    () => {
      const value = fc.oneof(
        fc.jsonValue(),
        fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: false, withNullPrototype: false }),
        fc.uint8Array({ maxLength: 64 }),
        fc.tuple(fc.string(), fc.uint8Array({ maxLength: 32 }), fc.bigInt()),
      );
      const damage = fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
        fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), n: fc.nat() }),
      );
      fc.assert(
        fc.property(value, fc.array(damage, { minLength: 1, maxLength: 3 }), (v, damages) => {
          let bytes: Uint8Array;
          try {
            bytes = new Uint8Array(dumps(v));
          } catch {
            return; // not every generated value can be sent (e.g. keys named __proto__): not this test
          }
          for (const d of damages) {
            if (d.kind === 'flip' && bytes.length > 0) bytes[d.at % bytes.length]! ^= d.xor;
            else if (d.kind === 'truncate') bytes = bytes.subarray(0, d.at % (bytes.length + 1));
            else if (d.kind === 'extend') bytes = new Uint8Array(Buffer.concat([bytes, d.bytes]));
            else if (d.kind === 'u32' && bytes.length >= 4) new DataView(bytes.buffer, bytes.byteOffset).setUint32(d.at % (bytes.length - 3), d.n);
          }
          expectLoadOrValue(bytes);
        }),
        params(),
      );
    },
    testTimeout,
  );

  test('nesting deeper than the limit is refused before anything recurses', () => {
    for (const depth of [MAX_DEPTH + 10, 100_000, 5_000_000]) {
      const json = '['.repeat(depth) + ']'.repeat(depth);
      const bytes = new Uint8Array(Buffer.concat([Buffer.from([1]), Buffer.from(json)]));
      expect(() => loads(bytes)).toThrow(/nested deeper than 1000 levels/);
    }
    const objects = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    expect(() => loads(new Uint8Array(Buffer.concat([Buffer.from([1]), Buffer.from(objects)])))).toThrow(LoadError);
    // and at the limit it still loads
    const ok = '['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH);
    expect(() => loads(new Uint8Array(Buffer.concat([Buffer.from([1]), Buffer.from(ok)])))).not.toThrow();
  });

  test('superjson payloads that declare more binary parts than they carry are refused', () => {
    const b = new Uint8Array(9);
    b[0] = 2;
    new DataView(b.buffer).setUint32(1, 0xffffffff);
    expect(() => loads(b)).toThrow(/declares 4294967295 binary parts/);
  });
});

// ------------------------------------------------------------------ whole gateways

/** The far end as a script: bytes fed by the test, writes recorded, end and kill settle `closed`. */
class ScriptedTransport implements Transport {
  readonly label = 'fuzz';
  readonly closed: Promise<TransportExit>;
  #resolve!: (e: TransportExit) => void;
  #onData: ((chunk: Uint8Array) => void) | null = null;
  written = 0;
  killed = false;
  constructor() {
    this.closed = new Promise((r) => {
      this.#resolve = r;
    });
  }
  onData(h: (chunk: Uint8Array) => void): void {
    this.#onData = h;
  }
  onDrain(): void {}
  write(chunk: Uint8Array): boolean {
    this.written += chunk.length;
    return true;
  }
  end(): void {}
  feed(chunk: Uint8Array): void {
    this.#onData?.(chunk);
  }
  finish(exit: TransportExit): void {
    this.#resolve(exit);
  }
  async kill(): Promise<TransportExit> {
    this.killed = true;
    this.#resolve({ code: null, signal: 'SIGKILL' });
    return this.closed;
  }
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};

/** Frames a hostile peer might send: right types on plausible channels with payloads that are sometimes valid. */
const hostileFrame: fc.Arbitrary<Uint8Array> = fc
  .record({
    type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(3, 3, 3, 4, 5, 6, 10) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: FrameType.END }) }),
    flags: fc.constantFrom(0, 0, 1, 2, 3),
    channel: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 11, max: 1 << 20 })),
    payload: fc.oneof(
      fc.jsonValue().map((v) => new Uint8Array(Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(v) ?? 'null')]))),
      fc.anything({ withBigInt: true, withMap: true, withSet: true }).map((v) => {
        try {
          return new Uint8Array(dumps(v));
        } catch {
          return new Uint8Array([4]);
        }
      }),
      fc.uint8Array({ maxLength: 64 }),
      fc.nat().map(u32),
      fc.constant(json({ name: 'Error', message: 'boom', stack: 'Error: boom' })).map((j) => new Uint8Array(Buffer.concat([Buffer.from([1]), j]))),
    ),
  })
  .map(({ type, flags, channel, payload }) => encodeFrame(type, flags, channel, payload));

const hostileStream = fc
  .tuple(fc.array(hostileFrame, { maxLength: 16 }), fc.option(fc.uint8Array({ minLength: 1, maxLength: 24 })), fc.nat())
  .map(([frames, garbage, at]) => {
    const parts = [...frames];
    if (garbage) parts.splice(at % (parts.length + 1), 0, garbage);
    return new Uint8Array(Buffer.concat(parts));
  });

const OPTIONS = { window: 64 * 1024, maxMessage: 1 << 20 };

/** Checks how a gateway fed `bytes` ended: cleanly, or with a ProtocolError saying where. */
function checkEnding(info: { reason: string; error?: Error }, bytesFed: number): void {
  if (info.error instanceof ProtocolError) {
    expect(info.reason).toMatch(/^protocol error: /);
    expect(info.error.offset).toBeGreaterThanOrEqual(0);
    expect(info.error.offset).toBeLessThanOrEqual(bytesFed + 200); // the handshake frame precedes the fuzz bytes
    expect(info.error.message).toMatch(/byte \d+/);
  } else {
    expect(info.error).toBeUndefined();
  }
}

describe('gateways fed hostile frames', () => {
  test(
    'the local Gateway: every stream ends in a ProtocolError that closes it, or is read without harm',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileStream, cuts, async (bytes, at) => {
          const t = new ScriptedTransport();
          const gw = new Gateway('fz', new XSpec('popen//id=fz'), t, { output: 'ignore', ...OPTIONS });
          const started = gw._start({ connectTimeout: 5000 });
          const hello = json({ version: PROTOCOL_VERSION, window: OPTIONS.window, maxFrame: 48 * 1024, maxMessage: OPTIONS.maxMessage, globals: [], info: {} });
          t.feed(encodeFrame(FrameType.HELLO, 0, 0, hello));
          await started;
          // Channels the peer's frames may land on, with readers waiting.
          const channels = [gw.newChannel(), gw.newChannel(), gw.newChannel()];
          const outcomes = channels.map((c: Channel) =>
            c.receive().then(
              () => 'item',
              (e: unknown) => e,
            ),
          );
          for (const piece of pieces(bytes, at)) t.feed(piece);
          if (!t.killed) t.finish({ code: 0, signal: null });
          const info = await gw.closed;
          checkEnding(info, bytes.length);
          // Each waiting receive got an item, or a typed error: the peer's CLOSE (ChannelClosedError,
          // RemoteError) if one arrived first, else the gateway's end.
          for (const o of await Promise.all(outcomes)) {
            if (o !== 'item') expect(isTsnetError(o)).toBe(true);
            if (o instanceof GatewayClosedError) expect(o.reason).toBe(info.reason);
          }
          if (info.error instanceof ProtocolError) expect(t.killed).toBe(true); // a broken wire kills the remote side
        }),
        { ...params(LONG ? 0.1 : 1 / 3), plugins: [fc.timeout(5000)] },
      );
    },
    testTimeout,
  );

  test(
    'the remote WorkerGateway: a hostile local side ends it with a ProtocolError, or is read without harm',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileStream, cuts, async (bytes, at) => {
          const t = new ScriptedTransport();
          let failure: ProtocolError | null = null;
          let exitCode: number | null = null;
          const executed: ExecRequest[] = [];
          // The real worker logs the failure to stderr and exits; here both are recorded.
          class QuietWorker extends WorkerGateway {
            protected override _protocolFailure(error: ProtocolError): void {
              failure ??= error;
              exitCode = 75;
            }
          }
          const worker = new QuietWorker(t, {
            // Requests are recorded, never run: this test is about reading the wire.
            execute: async (_ch: Channel, request: ExecRequest) => {
              executed.push(request);
            },
            info: () => ({}),
            memory: () => ({}),
            uptime: () => 0,
            globals: () => [],
            exit: (code) => {
              exitCode ??= code;
            },
          });
          t.feed(encodeFrame(FrameType.HELLO, 0, 0, json({ version: PROTOCOL_VERSION, id: 'fz', ...OPTIONS, maxFrame: 48 * 1024 })));
          for (const piece of pieces(bytes, at)) t.feed(piece);
          t.finish({ code: null, signal: null });
          await t.closed;
          await new Promise((r) => setImmediate(r));
          if (failure !== null) {
            const f: ProtocolError = failure;
            expect(f).toBeInstanceOf(ProtocolError);
            expect(f.offset).toBeGreaterThanOrEqual(0);
            expect(f.message).toMatch(/byte \d+/);
          }
          expect(worker.isDown || exitCode !== null).toBe(true);
        }),
        { ...params(LONG ? 0.1 : 1 / 3), plugins: [fc.timeout(5000)] },
      );
    },
    testTimeout,
  );
});
