import { DumpError } from '../errors.js';
import { type ChannelCodec, type ChannelLike, channelBrand } from './channel-ref.js';

/**
 * The serializer's full walk over a value before it is sent: it refuses what cannot travel or
 * would arrive changed (a DumpError naming the path, e.g. `value.a[3]`, and what to do) and says
 * whether plain JSON carries the value exactly. Pure functions; a getter or Proxy trap that throws
 * is reported as a DumpError at the path where the walk was.
 */

/** Deepest nesting a value may have, on either side (the receiver checks it before parsing). */
export const MAX_DEPTH = 1000;

export function checkPrimitive(v: unknown, path: string): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'undefined':
    case 'bigint':
      return false;
    case 'symbol':
      throw new DumpError(`cannot serialize a symbol at ${path}: symbols do not cross processes; send a string instead`, path);
    case 'function':
      throw new DumpError(`cannot serialize a function at ${path}: send its source with remoteExec() or data describing it`, path);
    default:
      return v === null;
  }
}

/**
 * One walk that refuses what cannot travel (with its path) and tells whether plain JSON carries
 * the value exactly (no annotations, no repeated references).
 */
export function checkTree(root: object, channels: ChannelCodec | undefined): boolean {
  const seen = new Set<object>();
  let plain = true;
  // The path to the current value, built into a string only when something is refused: formatting
  // it for every key cost more than the rest of the walk.
  const kinds: number[] = []; // 0: array index, 1: object key, 2: literal suffix
  const steps: Array<string | number> = [];
  const pathOf = (): string => {
    let path = 'value';
    for (let i = 0; i < kinds.length; i++) {
      const step = steps[i]!;
      if (kinds[i] === 0) path += `[${step}]`;
      else if (kinds[i] === 1) path = propPath(path, step as string);
      else path += step as string;
    }
    return path;
  };
  const child = (kind: number, step: string | number, v: unknown, depth: number): void => {
    kinds.push(kind);
    steps.push(step);
    walk(v, depth);
    kinds.pop();
    steps.pop();
  };
  const walk = (v: unknown, depth: number): void => {
    if (typeof v !== 'object' || v === null) {
      if (typeof v === 'symbol' || typeof v === 'function') checkPrimitive(v, pathOf());
      else if (plain && !checkPrimitive(v, '')) plain = false;
      return;
    }
    if (depth > MAX_DEPTH) {
      const path = pathOf();
      throw new DumpError(`value nested deeper than ${MAX_DEPTH} levels at ${path}`, path);
    }
    if (seen.has(v)) {
      plain = false;
      return;
    }
    seen.add(v);
    if ((v as ChannelLike)[channelBrand] === true) {
      plain = false;
      const path = pathOf();
      if (!channels) throw new DumpError(`cannot serialize a channel at ${path} outside a gateway: send it with channel.send()`, path);
      channels.toWire(v as ChannelLike, path);
      return;
    }
    if (Array.isArray(v)) {
      if (Object.getPrototypeOf(v) !== Array.prototype) throw classError(v, pathOf());
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) {
          throw refuse('an array hole', `${pathOf()}[${i}]`, 'it would arrive as undefined; fill it first');
        }
        child(0, i, v[i], depth + 1);
      }
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      if (proto === null) plain = false;
      for (const key of Object.keys(v)) {
        if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
          const path = pathOf();
          throw new DumpError(`cannot serialize the key "${key}" at ${path}: it is refused to keep prototypes safe on the other side`, path);
        }
        // Read with the key on the path: a getter that throws is reported where it sits.
        kinds.push(1);
        steps.push(key);
        walk((v as Record<string, unknown>)[key], depth + 1);
        kinds.pop();
        steps.pop();
      }
      return;
    }
    plain = false;
    if (v instanceof Map) {
      let i = 0;
      for (const [k, val] of v) {
        child(2, `[Map key #${i}]`, k, depth + 1);
        child(2, `.get(${describeKey(k)})`, val, depth + 1);
        i++;
      }
      return;
    }
    if (v instanceof Set) {
      let i = 0;
      for (const x of v) child(2, `[Set item #${i++}]`, x, depth + 1);
      return;
    }
    if (v instanceof Error) {
      const e = v as Error & { cause?: unknown; code?: unknown };
      if (typeof e.cause === 'object' && e.cause !== null && seen.has(e.cause)) {
        // superjson keeps no references through an Error's cause: it would arrive as null.
        throw refuse('a cause already in the value', `${pathOf()}.cause`, 'an Error cannot be its own cause');
      }
      if (e.cause !== undefined) child(2, '.cause', e.cause, depth + 1);
      if (e.code !== undefined) child(2, '.code', e.code, depth + 1);
      return;
    }
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) {
        throw refuse('an invalid Date', pathOf(), 'send null or a valid Date');
      }
      return;
    }
    if (v instanceof DataView) {
      throw refuse('a DataView', pathOf(), 'send a Uint8Array of its bytes');
    }
    if (v instanceof RegExp || ArrayBuffer.isView(v) || v instanceof URL) return;
    throw classError(v, pathOf());
  };
  try {
    walk(root, 0);
  } catch (error) {
    if (error instanceof DumpError) throw error;
    // A throwing getter, a Proxy whose traps throw: the path still names where the walk was.
    const path = pathOf();
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new DumpError(`cannot serialize the value at ${path}: reading it threw ${why}`, path);
  }
  return plain;
}

/** What would arrive changed is refused (issue 21): `what` at `path`, and what to do. */
function refuse(what: string, path: string, fix: string): DumpError {
  return new DumpError(`cannot serialize ${what} at ${path}: ${fix}`, path);
}

function classError(v: object, path: string): DumpError {
  const name = (v as { constructor?: { name?: string } }).constructor?.name || 'an object with a custom prototype';
  return new DumpError(
    `cannot serialize ${name} instance at ${path}: class instances do not cross processes; send a plain object (e.g. { ...obj }) and rebuild it on the other side`,
    path,
  );
}

const identRe = /^[A-Za-z_$][\w$]*$/;
function propPath(path: string, key: string): string {
  return identRe.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
function describeKey(k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k);
  if (typeof k === 'number' || typeof k === 'boolean' || k === null || k === undefined) return String(k);
  if (typeof k === 'bigint') return `${k}n`;
  return typeof k;
}
