/**
 * The serializer's fast path for the commonest small values, a short string or a small plain tree
 * (objects and arrays of strings, finite numbers, booleans and null): its payload written in one
 * walk that also checks that plain JSON carries the value exactly. The bytes are TAG_STRING and
 * the string's UTF-8, or TAG_JSON and the text JSON.stringify writes (same key order, escapes and
 * number forms). send() and sendMany() write them straight into the writer's slab
 * (FrameWriter.writeQuick); dumpParts() takes a copy (quickBytes).
 *
 * Contract: writeQuickItem() returns where its bytes end, or -1 when the value is none of those
 * (a lone surrogate in a bare string, a repeated object, a class instance, a hole, undefined, -0,
 * NaN, more than QUICK_NODES objects, text over MAX_QUICK_TEXT units), reading it threw (a getter,
 * a Proxy trap), its bytes would pass `limit`, or it was called again from a getter during a walk;
 * then the bytes from `at` on are garbage and the caller takes the full path, which names what it
 * refuses. It never throws. Worker-safe (no Node-only API).
 */

import { channelBrand } from './channel-ref.js';

/** Longer strings (as a value or a leaf) take the full path: the fast path is for small items. */
export const MAX_QUICK_TEXT = 65536;
const TAG_JSON = 1;
const TAG_STRING = 6;
/** Objects and arrays the walk looks at before it leaves a value to the full path. */
const QUICK_NODES = 32;

// The walk's state: one walk at a time (a getter that serializes meanwhile gets -1).
let busy = false;
let out: Uint8Array = new Uint8Array(0); // the last buffer written into (one at most stays referenced)
let pos = 0;
let end = 0;
let seen: object[] = [];
let scratch: Uint8Array | undefined;

/** The payload of `value` as a buffer of its own, or undefined (see writeQuickItem). */
export function quickBytes(value: unknown): Uint8Array | undefined {
  // room for any string the fast path takes; a larger tree takes the full path
  scratch ??= new Uint8Array(1 + 3 * MAX_QUICK_TEXT);
  const n = writeQuickItem(scratch, 0, scratch.length, value);
  return n < 0 ? undefined : scratch.slice(0, n);
}

/** Writes the payload of `value` at `b[at]`, not past `limit` (see the module contract). */
export function writeQuickItem(b: Uint8Array, at: number, limit: number, value: unknown): number {
  if (busy) return -1;
  busy = true;
  out = b;
  pos = at + 1;
  end = limit;
  try {
    if (typeof value === 'string') {
      b[at] = TAG_STRING;
      return value.length <= MAX_QUICK_TEXT && text(value, false) ? pos : -1; // text() and node() check `end`
    }
    b[at] = TAG_JSON;
    return typeof value === 'object' && value !== null && node(value) ? pos : -1;
  } catch {
    return -1;
  } finally {
    busy = false;
    seen = [];
  }
}

function node(v: object): boolean {
  if (seen.length >= QUICK_NODES || seen.includes(v)) return false;
  seen.push(v);
  const b = out;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false;
    b[pos++] = 0x5b; // [
    for (let i = 0; i < v.length; i++) {
      if (i > 0) b[pos++] = 0x2c; // ,
      if (!(i in v) || !leaf(v[i])) return false;
    }
    b[pos++] = 0x5d; // ]
    return pos <= end;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype || (v as { [channelBrand]?: unknown })[channelBrand] !== undefined) return false;
  b[pos++] = 0x7b; // {
  let first = true;
  for (const key in v) {
    if (!Object.hasOwn(v, key) || key === '__proto__' || key === 'constructor' || key === 'prototype') return false;
    if (!first) b[pos++] = 0x2c;
    first = false;
    if (!text(key, true)) return false;
    b[pos++] = 0x3a; // :
    if (!leaf((v as Record<string, unknown>)[key])) return false;
  }
  b[pos++] = 0x7d; // }
  return pos <= end;
}

function leaf(x: unknown): boolean {
  switch (typeof x) {
    case 'string':
      return x.length <= MAX_QUICK_TEXT && text(x, true);
    case 'boolean':
      return ascii(x ? 'true' : 'false');
    case 'number':
      if (!Number.isFinite(x) || Object.is(x, -0)) return false;
      return ascii(String(x)); // JSON's number form is ToString's
    case 'object':
      return x === null ? ascii('null') : node(x);
    default:
      return false;
  }
}

function ascii(s: string): boolean {
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos <= end;
}

/**
 * The UTF-8 of `s`, as a JSON string (quoted, escaped as JSON.stringify does) when `json`. A lone
 * surrogate is escaped in JSON, and refused in a bare string (UTF-8 cannot carry it).
 */
function text(s: string, json: boolean): boolean {
  // every unit takes at least a byte: refuse early what cannot fit
  if (pos + s.length > end) return false;
  const b = out;
  if (json) b[pos++] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (json && (c < 0x20 || c === 0x22 || c === 0x5c)) writeEscape(c);
      else b[pos++] = c;
    } else if (c < 0x800) {
      b[pos++] = 0xc0 | (c >> 6);
      b[pos++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        const u = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        b[pos++] = 0xf0 | (u >> 18);
        b[pos++] = 0x80 | ((u >> 12) & 0x3f);
        b[pos++] = 0x80 | ((u >> 6) & 0x3f);
        b[pos++] = 0x80 | (u & 0x3f);
        i++;
      } else if (json) writeEscape(c);
      else return false;
    } else {
      b[pos++] = 0xe0 | (c >> 12);
      b[pos++] = 0x80 | ((c >> 6) & 0x3f);
      b[pos++] = 0x80 | (c & 0x3f);
    }
  }
  if (json) b[pos++] = 0x22;
  return pos <= end;
}

/** The escape JSON.stringify writes for the character `c` (rare: done the simple way). */
function writeEscape(c: number): void {
  const e = JSON.stringify(String.fromCharCode(c));
  ascii(e.slice(1, e.length - 1));
}
