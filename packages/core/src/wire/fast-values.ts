/**
 * Fast paths of the serializer for the commonest small values: a string travels as its UTF-8
 * bytes behind one tag byte (no JSON quoting or escaping) when UTF-8 carries it exactly, and a
 * small plain tree (objects and arrays of strings, finite numbers, booleans and null) is
 * recognised by a walk without path bookkeeping or a Set and goes as JSON text.
 *
 * Contract: each function either handles the value exactly or says it does not (undefined /
 * false); it never throws for a value the full path would carry, and anything odd (a lone
 * surrogate, a repeated object, a class instance, a hole, undefined, -0, NaN, more than
 * QUICK_NODES objects, a getter that throws) is left to the full path in serializer.ts, which
 * names the path of what it refuses. Worker-safe (no Node-only API).
 */

/** Objects and arrays the quick walk looks at before it leaves a value to the full walk. */
const QUICK_NODES = 32;
/** Longer strings (as a value or a leaf) take the full path: the fast paths are for small items. */
export const MAX_QUICK_TEXT = 65536;
const CHANNEL = Symbol.for('tsnet.channel');

interface NodeBufferLike {
  byteLength(s: string, e: 'utf8'): number;
  allocUnsafe(n: number): Uint8Array & { utf8Write(s: string, at: number, length: number): number };
}
const NodeBuffer = (globalThis as unknown as { Buffer?: NodeBufferLike }).Buffer;
const hasUtf8Write = typeof NodeBuffer?.allocUnsafe === 'function' && typeof (NodeBuffer.allocUnsafe(1) as { utf8Write?: unknown }).utf8Write === 'function';
const enc = new TextEncoder();

/** `tag` then the UTF-8 of `text`, in one buffer (exactly sized: no view of a larger one). */
export function tagged(tag: number, text: string): Uint8Array {
  if (hasUtf8Write) {
    const n = NodeBuffer!.byteLength(text, 'utf8');
    const b = NodeBuffer!.allocUnsafe(n + 1);
    b[0] = tag;
    b.utf8Write(text, 1, n);
    return b;
  }
  const bytes = enc.encode(text);
  const b = new Uint8Array(bytes.length + 1);
  b[0] = tag;
  b.set(bytes, 1);
  return b;
}

// In a /u regex a surrogate pair is one code point: this matches lone surrogates only.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** False when UTF-8 would change the string (it has a lone surrogate). */
export const wellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/**
 * True when `root` is a small tree that JSON carries exactly: arrays without holes and objects
 * with Object.prototype, no key JSON or the loader treats specially, each object once, leaves that
 * are strings, finite numbers other than -0, booleans or null. False means "ask the full walk".
 */
export function quickPlain(root: object): boolean {
  const seen: object[] = [];
  try {
    return plainNode(root, seen);
  } catch {
    return false; // a getter or a Proxy trap threw: the full walk reports it with its path
  }
}

function plainNode(v: object, seen: object[]): boolean {
  if (seen.length >= QUICK_NODES || seen.includes(v)) return false;
  seen.push(v);
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false;
    for (let i = 0; i < v.length; i++) {
      if (!(i in v) || !plainLeafOrNode(v[i], seen)) return false;
    }
    return true;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype || (v as { [CHANNEL]?: unknown })[CHANNEL] !== undefined) return false;
  for (const key in v) {
    if (!Object.hasOwn(v, key) || key === '__proto__' || key === 'constructor' || key === 'prototype') return false;
    if (!plainLeafOrNode((v as Record<string, unknown>)[key], seen)) return false;
  }
  return true;
}

function plainLeafOrNode(x: unknown, seen: object[]): boolean {
  switch (typeof x) {
    case 'string':
      return x.length <= MAX_QUICK_TEXT;
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(x) && !Object.is(x, -0);
    case 'object':
      return x === null || plainNode(x, seen);
    default:
      return false;
  }
}
