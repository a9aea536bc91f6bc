/**
 * rsync's weak sum of whole blocks, for the receiver's signature, in WebAssembly with 128-bit SIMD:
 * 16 bytes per step instead of one (about 8× faster than the JavaScript loop here, the largest CPU
 * item of a delta's remote side). The module is assembled below from its instructions (no binary
 * blob to trust, nothing to install); a runtime without WebAssembly SIMD gets the JavaScript loop.
 *
 * Use: read the data into `memory` (WEAK_MEMORY bytes), then `weak(offset, length)` of each block.
 * The result is `a | b << 16` as delta.ts's weakSum gives it. Synchronous, no state between calls.
 */

export const WEAK_MEMORY = 1024 * 1024;

export interface WeakSummer {
  /** Whether this is the WebAssembly one (false: the runtime has no WebAssembly SIMD). */
  wasm: boolean;
  /** WEAK_MEMORY bytes: put the data here. */
  memory: Uint8Array;
  /** The weak sum of memory[offset, offset + length), as an unsigned 32-bit number. */
  weak(offset: number, length: number): number;
}

function jsWeak(data: Uint8Array, from: number, to: number): number {
  let a = 0;
  let b = 0;
  for (let i = from; i < to; i++) {
    a = (a + data[i]!) | 0;
    b = (b + a) | 0;
  }
  return ((a & 0xffff) | (b << 16)) >>> 0;
}

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};
const simd = (op: number) => [0xfd, ...leb(op)];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

/**
 * (func weak (param ptr len) (result i32)). Per 16 bytes x: b += 16·a + Σ (16 - k)·x_k and
 * a += Σ x_k, lane-wise in i32x4 accumulators (the weights by i32x4.dot_i16x8_s on the bytes
 * widened to i16), summed across lanes at the end; the last len % 16 bytes one at a time. Every
 * sum wraps mod 2^32, which keeps the low 16 bits exact.
 */
function moduleBytes(): Uint8Array {
  const I32 = 0x7f;
  const V128 = 0x7b;
  // locals: 0 ptr, 1 len, 2 end16, 3 end, 4 a, 5 b, 6 va, 7 vb, 8 x, 9 w1, 10 w2
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const weights = (w: number[]) => [...simd(0x0c), ...w.flatMap((x) => [x, 0])];
  const add = simd(0xae); // i32x4.add
  const lanes = (v: number, dst: number) => [
    ...get(v),
    ...simd(0x1b),
    0,
    ...get(v),
    ...simd(0x1b),
    1,
    0x6a,
    ...get(v),
    ...simd(0x1b),
    2,
    0x6a,
    ...get(v),
    ...simd(0x1b),
    3,
    0x6a,
    ...set(dst),
  ];
  const body = [
    ...weights([16, 15, 14, 13, 12, 11, 10, 9]),
    ...set(9),
    ...weights([8, 7, 6, 5, 4, 3, 2, 1]),
    ...set(10),
    ...get(0),
    ...get(1),
    0x6a,
    ...set(3), // end = ptr + len
    ...get(0),
    ...get(1),
    0x41,
    0x70, // i32.const -16
    0x71,
    0x6a,
    ...set(2), // end16 = ptr + (len & ~15)
    0x02,
    0x40,
    0x03,
    0x40,
    ...get(0),
    ...get(2),
    0x4f,
    0x0d,
    1, // br_if out (ptr >= end16)
    ...get(0),
    ...simd(0x00),
    0,
    0,
    ...set(8), // x = v128.load ptr
    ...get(7),
    ...get(6),
    0x41,
    4,
    ...simd(0xab), // va << 4
    ...add,
    ...get(8),
    ...simd(0x89), // i16x8.extend_low_i8x16_u
    ...get(9),
    ...simd(0xba), // i32x4.dot_i16x8_s
    ...add,
    ...get(8),
    ...simd(0x8a), // i16x8.extend_high_i8x16_u
    ...get(10),
    ...simd(0xba),
    ...add,
    ...set(7),
    ...get(6),
    ...get(8),
    ...simd(0x7d), // i16x8.extadd_pairwise_i8x16_u
    ...simd(0x7f), // i32x4.extadd_pairwise_i16x8_u
    ...add,
    ...set(6),
    ...get(0),
    0x41,
    16,
    0x6a,
    ...set(0),
    0x0c,
    0,
    0x0b,
    0x0b,
    ...lanes(6, 4),
    ...lanes(7, 5),
    0x02,
    0x40,
    0x03,
    0x40,
    ...get(0),
    ...get(3),
    0x4f,
    0x0d,
    1,
    ...get(4),
    ...get(0),
    0x2d,
    0,
    0,
    0x6a,
    0x22,
    4, // a += mem[ptr] (tee)
    ...get(5),
    0x6a,
    ...set(5), // b += a
    ...get(0),
    0x41,
    1,
    0x6a,
    ...set(0),
    0x0c,
    0,
    0x0b,
    0x0b,
    ...get(4),
    0x41,
    0xff,
    0xff,
    0x03, // i32.const 0xffff
    0x71,
    ...get(5),
    0x41,
    16,
    0x74,
    0x72,
    0x0b,
  ];
  const locals = [2, 4, I32, 5, V128];
  const code = [...leb(locals.length + body.length), ...locals, ...body];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, vec([[0x60, 2, I32, I32, 1, I32]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, WEAK_MEMORY / 65536]])),
    ...section(
      7,
      vec([
        [...name('mem'), 2, 0],
        [...name('weak'), 0, 0],
      ]),
    ),
    ...section(10, vec([code])),
  ]);
}

/** What this needs of the WebAssembly global (not in the TypeScript libs this package builds with). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

let summer: WeakSummer | null = null;

/** The one summer of this process (the WebAssembly one where the runtime has SIMD). */
export function weakSummer(): WeakSummer {
  if (summer) return summer;
  const bytes = moduleBytes();
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm?.validate(bytes)) {
    const { exports } = new wasm.Instance(new wasm.Module(bytes));
    const memory = new Uint8Array((exports.mem as { buffer: ArrayBuffer }).buffer, 0, WEAK_MEMORY);
    const weak = exports.weak as (offset: number, length: number) => number;
    summer = { wasm: true, memory, weak: (offset, length) => weak(offset, length) >>> 0 };
  } else {
    const memory = new Uint8Array(WEAK_MEMORY);
    summer = { wasm: false, memory, weak: (offset, length) => jsWeak(memory, offset, offset + length) };
  }
  return summer;
}

/** The JavaScript loop, for the tests to compare against. */
export const weakSumJs = jsWeak;
