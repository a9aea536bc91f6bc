import { SuperJSON } from 'superjson';
import { DumpError, LoadError } from '../errors.js';
import { type ChannelCodec, type ChannelLike, channelBrand } from './channel-ref.js';
import { quickBytes } from './quick-item.js';
import { checkPrimitive, checkTree, MAX_DEPTH } from './value-check.js';

export { type ChannelCodec, type ChannelLike, channelBrand, MAX_DEPTH };

/**
 * The one place that says what may cross the wire.
 *
 * superjson carries the value model (undefined, bigint, Map, Set, Date, RegExp, Error, -0, NaN,
 * repeated and cyclic references); binary travels out of band beside its JSON, never as numbers
 * or base64. Values that need no annotation take a plain-JSON fast path, and a top-level
 * Uint8Array is sent as raw bytes without a copy. Payload layout (docs/protocol.md):
 *
 *   0x01 JSON          utf8 JSON text
 *   0x02 SUPERJSON     u32 n, n × u32 blob length, u32 json length, superjson JSON, blobs
 *   0x03 BYTES         u8 kind (0 Uint8Array, 1 Buffer), raw bytes
 *   0x04 UNDEFINED     nothing
 *   0x05 INT32         4 bytes, little-endian two's complement (the commonest small value, no JSON)
 *   0x06 STRING        utf8 text of a string (well-formed: no lone surrogates, which JSON carries)
 *
 * The walk that refuses what cannot travel is value-check.ts; the fast path is quick-item.ts.
 */

const TAG_JSON = 1;
const TAG_SUPERJSON = 2;
const TAG_BYTES = 3;
const TAG_UNDEFINED = 4;
const TAG_INT32 = 5;
const TAG_STRING = 6;
const TAG_JSON_PART = new Uint8Array([TAG_JSON]);
const UNDEFINED_PARTS: readonly Uint8Array[] = [new Uint8Array([TAG_UNDEFINED])];

interface Ctx {
  blobs: Uint8Array[];
  channels: ChannelCodec | undefined;
  loading: boolean;
}
let ctx: Ctx | null = null;

const NodeBuffer = (globalThis as { Buffer?: { from(a: ArrayBufferLike, o: number, l: number): Uint8Array; isBuffer(v: unknown): boolean } }).Buffer;
const isBuffer = (v: unknown): boolean => NodeBuffer?.isBuffer(v) === true;
function toBuffer(view: Uint8Array): Uint8Array {
  return NodeBuffer ? NodeBuffer.from(view.buffer, view.byteOffset, view.byteLength) : view;
}

const sj = new SuperJSON();
sj.allowErrorProps('stack', 'cause', 'code');
sj.registerCustom<Uint8Array, [number, number]>(
  {
    isApplicable: (v): v is Uint8Array => v instanceof Uint8Array,
    serialize: (v) => {
      const c = ctx as Ctx;
      c.blobs.push(v);
      return [c.blobs.length - 1, isBuffer(v) ? 1 : 0];
    },
    deserialize: (v) => {
      const c = ctx as Ctx;
      const [index, kind] = Array.isArray(v) ? v : [-1, 0];
      const blob = typeof index === 'number' ? c.blobs[index] : undefined;
      if (blob === undefined) throw new LoadError(`binary reference ${String(index)} points to no blob (${c.blobs.length} present)`);
      return kind === 1 ? toBuffer(blob) : blob;
    },
  },
  'b',
);
sj.registerCustom<unknown, number>(
  {
    isApplicable: (v): v is ChannelLike => typeof v === 'object' && v !== null && (v as ChannelLike)[channelBrand] === true,
    serialize: (v) => (ctx as Ctx).channels!.toWire(v as ChannelLike, 'value'),
    deserialize: (id) => {
      const c = ctx as Ctx;
      if (!c.channels) throw new LoadError(`a channel reference (id ${id}) can only be loaded by a gateway`);
      if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0 || id > 0xffffffff) throw new LoadError(`bad channel id ${String(id)}`);
      return c.channels.fromWire(id);
    },
  },
  'ch',
);

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const NodeBufferFull = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array; byteLength(s: string, e: string): number } }).Buffer;
/**
 * The most UTF-8 bytes a receiver can decode into one string (V8's string length limit, which its
 * decoder applies to the input bytes). Larger JSON would be sent and then kill the gateway on the
 * other side, so the sender refuses it.
 */
export const MAX_UTF8_DECODE = 0x1fffffe8;

/** The UTF-8 of `s`, refusing text the receiver could not decode (see MAX_UTF8_DECODE). */
function utf8Text(s: string): Uint8Array {
  // 3 bytes per UTF-16 unit at most: only long texts need counting.
  if (s.length * 3 > MAX_UTF8_DECODE) {
    const n = NodeBufferFull ? NodeBufferFull.byteLength(s, 'utf8') : enc.encode(s).length;
    if (n > MAX_UTF8_DECODE) {
      throw new DumpError(
        `cannot serialize value: ${n} bytes of JSON text, over the ${MAX_UTF8_DECODE} bytes (512 MiB) a receiver can decode; send big text as bytes`,
      );
    }
  }
  // Buffer.from beats TextEncoder by far for short strings on Node; both give the same bytes.
  return NodeBufferFull ? NodeBufferFull.from(s, 'utf8') : enc.encode(s);
}

/** True when loadsAt() gives a value that is a view of its input (binary), not a copy: such input must not be reused memory. */
export function viewsInput(tag: number): boolean {
  return tag === TAG_SUPERJSON || tag === TAG_BYTES;
}

/** A value the int32 form carries: TAG_INT32 and 4 bytes, little-endian (see dumpParts). */
export function isInt32(value: unknown): value is number {
  return typeof value === 'number' && (value | 0) === value && !Object.is(value, -0);
}

/** Writes the 5-byte int32 form of `value` at `b[at]`; returns where it ends. */
export function writeInt32Item(b: Uint8Array, at: number, value: number): number {
  b[at] = TAG_INT32;
  b[at + 1] = value & 0xff;
  b[at + 2] = (value >>> 8) & 0xff;
  b[at + 3] = (value >>> 16) & 0xff;
  b[at + 4] = (value >>> 24) & 0xff;
  return at + 5;
}

/**
 * Serializes a value as a list of byte parts (large binaries stay uncopied). Throws DumpError naming
 * the path to the first value that cannot be carried.
 */
export function dumpParts(value: unknown, channels?: ChannelCodec): Uint8Array[] {
  if (value === undefined) return UNDEFINED_PARTS as Uint8Array[];
  if (isInt32(value)) {
    const b = new Uint8Array(5);
    writeInt32Item(b, 0, value);
    return [b];
  }
  if (value instanceof Uint8Array && (value.constructor === Uint8Array || isBuffer(value))) {
    return [new Uint8Array([TAG_BYTES, isBuffer(value) ? 1 : 0]), value];
  }
  // Long texts take the full path (and its limits).
  const quick = quickBytes(value);
  if (quick !== undefined) return [quick];
  const plain = typeof value !== 'object' || value === null ? checkPrimitive(value, 'value') : checkTree(value, channels);
  if (plain) return [TAG_JSON_PART, utf8Text(JSON.stringify(value))];
  const prev = ctx;
  const c: Ctx = { blobs: [], channels, loading: false };
  ctx = c;
  let text: string;
  try {
    text = JSON.stringify(sj.serialize(value as never));
  } catch (error) {
    if (error instanceof DumpError) throw error;
    throw new DumpError(`cannot serialize value: ${(error as Error).message}`);
  } finally {
    ctx = prev;
  }
  const json = utf8Text(text);
  const head = new Uint8Array(1 + 4 + 4 * c.blobs.length + 4 + json.length);
  const dv = new DataView(head.buffer);
  head[0] = TAG_SUPERJSON;
  dv.setUint32(1, c.blobs.length);
  let at = 5;
  for (const b of c.blobs) {
    dv.setUint32(at, b.length);
    at += 4;
  }
  dv.setUint32(at, json.length);
  head.set(json, at + 4);
  return [head, ...c.blobs];
}

export function dumps(value: unknown): Uint8Array {
  return concat(dumpParts(value));
}

export function loads(bytes: Uint8Array, channels?: ChannelCodec): unknown {
  if (!(bytes instanceof Uint8Array)) throw new LoadError('loads() takes a Uint8Array');
  return loadsAt(bytes, 0, bytes.length, channels);
}

/**
 * loads() of the payload `buf[start, end)`, without making a view of it for the common small
 * values. Binary values returned are views of `buf`. Error offsets count from `start`.
 */
export function loadsAt(buf: Uint8Array, start: number, end: number, channels?: ChannelCodec): unknown {
  const length = end - start;
  if (length <= 0) throw new LoadError('empty payload: expected a serializer tag byte', 0);
  const tag = buf[start];
  switch (tag) {
    case TAG_INT32:
      if (length !== 5) throw new LoadError(`int32 payload has ${length - 1} bytes, expected 4`, 1);
      return buf[start + 1]! | (buf[start + 2]! << 8) | (buf[start + 3]! << 16) | (buf[start + 4]! << 24);
    case TAG_JSON:
      return parseJson(buf, start + 1, end, start);
    case TAG_STRING:
      return utf8At(buf, start + 1, end, start);
    case TAG_UNDEFINED:
      if (length !== 1) throw new LoadError(`undefined carries no data, got ${length - 1} extra bytes`, 1);
      return undefined;
    case TAG_BYTES: {
      if (length < 2) throw new LoadError('truncated binary payload', length);
      const kind = buf[start + 1];
      const view = buf.subarray(start + 2, end);
      if (kind === 1) return toBuffer(view);
      if (kind === 0) return view;
      throw new LoadError(`unknown binary kind ${kind}`, 1);
    }
    case TAG_SUPERJSON: {
      const bytes = buf.subarray(start, end);
      if (bytes.length < 9) throw new LoadError('truncated superjson payload header', bytes.length);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const n = dv.getUint32(1);
      if (5 + 4 * n + 4 > bytes.length) throw new LoadError(`payload declares ${n} binary parts but has only ${bytes.length} bytes`, 1);
      let at = 5;
      let total = 0;
      const lengths: number[] = [];
      for (let i = 0; i < n; i++) {
        const l = dv.getUint32(at);
        lengths.push(l);
        total += l;
        at += 4;
      }
      const jsonLen = dv.getUint32(at);
      at += 4;
      if (at + jsonLen + total !== bytes.length) {
        throw new LoadError(`payload lengths disagree: header declares ${at + jsonLen + total} bytes, got ${bytes.length}`, at - 4);
      }
      const tree = parseJson(bytes, at, at + jsonLen, 0) as { json?: unknown; meta?: unknown };
      if (typeof tree !== 'object' || tree === null || !('json' in tree)) throw new LoadError('superjson payload lacks its "json" member', at);
      let b = at + jsonLen;
      const blobs = lengths.map((l) => {
        const blob = bytes.subarray(b, b + l);
        b += l;
        return blob;
      });
      const prev = ctx;
      ctx = { blobs, channels, loading: true };
      try {
        return sj.deserialize(tree as never, { inPlace: true });
      } catch (error) {
        if (error instanceof LoadError) throw error;
        throw new LoadError(`cannot deserialize value: ${(error as Error).message}`);
      } finally {
        ctx = prev;
      }
    }
    default:
      throw new LoadError(`unknown serializer tag 0x${(tag ?? 0).toString(16)}: not a tsnet payload, or written by an incompatible version`, 0);
  }
}

/** Node's native UTF-8 slice: far cheaper than TextDecoder for the short payloads of small messages. */
const utf8Slice = (NodeBuffer as unknown as { prototype?: { utf8Slice?: (this: Uint8Array, s: number, e: number) => string } } | undefined)?.prototype
  ?.utf8Slice;

/** The text of `bytes[start, end)`; `base`: where the payload starts, for error offsets. */
function utf8At(bytes: Uint8Array, start: number, end: number, base: number): string {
  try {
    // Invalid UTF-8 must be refused, not replaced. Node's utf8Slice replaces it with U+FFFD, so
    // only a text with U+FFFD in it (rare: replaced, or sent as such) is decoded again to tell.
    if (utf8Slice && end - start <= 65536) {
      const text = utf8Slice.call(bytes, start, end);
      if (!text.includes('\uFFFD')) return text;
    }
    return dec.decode(bytes.subarray(start, end));
  } catch {
    throw new LoadError('payload is not valid UTF-8', start - base);
  }
}

/** `base`: where the payload starts in `bytes`, for error offsets relative to it. */
function parseJson(bytes: Uint8Array, start: number, end: number, base: number): unknown {
  // A payload shorter than the limit cannot nest deeper than it.
  if (end - start > MAX_DEPTH) checkDepth(bytes, start, end, base);
  const text = utf8At(bytes, start, end, base);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LoadError(`payload is not valid JSON: ${(error as Error).message}`, start - base);
  }
}

/** Refuses nesting beyond MAX_DEPTH before anything recursive looks at the tree. */
function checkDepth(b: Uint8Array, start: number, end: number, base: number): void {
  let depth = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH + 4) throw new LoadError(`value nested deeper than ${MAX_DEPTH} levels`, i - base);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
