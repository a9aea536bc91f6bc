import { SpecError } from '../errors.js';
import { GATEWAY_TYPES, OPTION_KEYS } from './transport-registry.js';

/** Runtimes a spec's `runtime=` may name (see runtimeLaunch in @tsnet/bootstrap for how each starts). */
const RUNTIMES: readonly string[] = ['node', 'bun', 'deno'];

/**
 * A gateway specification such as `popen//node=/usr/bin/node//chdir=/tmp//env:FOO=bar//id=w1`.
 * Keys are `//`-separated; a bare key means `true`; `env:NAME=value` keys collect into `env`.
 * Unknown keys are kept and readable (as in execnet), so transports can define their own.
 * A `//` right after a `:` belongs to a URL (`ws=ws://host:8888/path//tls`) and does not separate keys.
 */
export class XSpec {
  readonly type: string;
  readonly env: Record<string, string> = {};
  readonly #text: string;
  readonly #keys = new Map<string, string | true>();
  /** Settable once by Group.allocateId(). */
  id: string | undefined;
  [key: string]: unknown;

  constructor(text: string) {
    if (typeof text !== 'string') throw new SpecError(`a gateway spec must be a string, got ${typeof text}`);
    this.#text = text;
    if (text.trim() === '') throw new SpecError('empty gateway spec: give a type such as "popen" or "ssh=host"');
    let type: string | undefined;
    for (const part of text.split(/(?<!:)\/\//)) {
      if (part === '') throw new SpecError(`gateway spec ${JSON.stringify(text)} has an empty key (two "//" in a row or a trailing "//")`);
      const eq = part.indexOf('=');
      const key = eq === -1 ? part : part.slice(0, eq);
      const value: string | true = eq === -1 ? true : part.slice(eq + 1);
      if (key === '') throw new SpecError(`gateway spec ${JSON.stringify(text)} has a key with no name in ${JSON.stringify(part)}`);
      if (key.startsWith('env:')) {
        const name = key.slice(4);
        if (!name || value === true) {
          throw new SpecError(`gateway spec ${JSON.stringify(text)}: "${part}" must look like env:NAME=value`);
        }
        this.env[name] = value;
        continue;
      }
      if (key.startsWith('_') || key === 'type' || key === 'env' || key === 'constructor' || key === '__proto__') {
        throw new SpecError(`gateway spec ${JSON.stringify(text)}: "${key}" is not allowed as a key`);
      }
      if (this.#keys.has(key)) throw new SpecError(`gateway spec ${JSON.stringify(text)} gives the key "${key}" twice`);
      this.#keys.set(key, value);
      if (type === undefined && GATEWAY_TYPES.includes(key)) type = key;
    }
    type ??= [...this.#keys.keys()].find((k) => !OPTION_KEYS.has(k));
    if (type === undefined) {
      throw new SpecError(
        `gateway spec ${JSON.stringify(text)} names no gateway type: start it with one of ${GATEWAY_TYPES.join(', ')} (e.g. "popen" or "ssh=user@host")`,
      );
    }
    this.type = type;
    for (const [k, v] of this.#keys) if (k !== 'id') this[k] = v;
    const id = this.#keys.get('id');
    if (id === true) throw new SpecError(`gateway spec ${JSON.stringify(text)}: id needs a value (id=NAME)`);
    this.id = id;
    const nice = this.#keys.get('nice');
    if (nice !== undefined && (nice === true || !/^-?\d+$/.test(nice))) {
      throw new SpecError(`gateway spec ${JSON.stringify(text)}: nice must be an integer (nice=5), got ${JSON.stringify(nice)}`);
    }
    for (const k of ['node', 'exe', 'runtime', 'chdir', 'via']) {
      if (this.#keys.get(k) === true) throw new SpecError(`gateway spec ${JSON.stringify(text)}: ${k} needs a value (${k}=...)`);
    }
    const runtime = this.#keys.get('runtime');
    if (runtime !== undefined && !RUNTIMES.includes(runtime as string)) {
      throw new SpecError(`gateway spec ${JSON.stringify(text)}: runtime must be one of ${RUNTIMES.join(', ')}, got ${JSON.stringify(runtime)}`);
    }
    if (this.#keys.has('node') && (this.#keys.has('exe') || (runtime !== undefined && runtime !== 'node'))) {
      throw new SpecError(
        `gateway spec ${JSON.stringify(text)}: node=PATH is shorthand for runtime=node//exe=PATH; give either node= or runtime=/exe=, not both`,
      );
    }
  }

  /** The value of a key: a string, `true` for a bare key, undefined when absent. */
  get(key: string): string | true | undefined {
    if (key === 'id') return this.id;
    return this.#keys.get(key);
  }

  /** A string key's value; throws a SpecError when it is a bare flag. */
  getString(key: string): string | undefined {
    const v = this.get(key);
    if (v === true) throw new SpecError(`gateway spec ${JSON.stringify(this.#text)}: ${key} needs a value (${key}=...)`);
    return v;
  }

  keys(): string[] {
    return [...this.#keys.keys()];
  }

  toString(): string {
    return this.#text;
  }

  toJSON(): string {
    return this.#text;
  }

  equals(other: XSpec | string): boolean {
    return String(other) === this.#text;
  }
}
