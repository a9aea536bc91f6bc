/**
 * Feeding events to node:test's own reporters, as `node --test --test-reporter=R
 * --test-reporter-destination=D` does: `spec`, `tap`, `dot`, `junit` from `node:test/reporters`,
 * `json` (the events as JSON lines, what the remote side sends), or a module specifier whose default
 * export is a reporter (an async generator function or a Transform class), resolved from `cwd`.
 * Destinations are `stdout`, `stderr` or a file path (created, truncated). An unknown reporter
 * name that is not an importable module is a TestRunError before anything runs; `close()` ends every
 * reporter and resolves when all destinations are flushed.
 */
import { createWriteStream } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { PassThrough, pipeline, Readable, type Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { TestRunError } from './errors.js';
import type { TestEvent } from './events.js';

export interface ReporterSpec {
  /** `spec`, `tap`, `dot`, `junit`, `json`, or a module specifier. */
  name: string;
  /** `stdout`, `stderr`, a file path, or a stream. */
  destination: string | NodeJS.WritableStream;
}

type ReporterFn = (source: AsyncIterable<TestEvent>) => AsyncIterable<string | Uint8Array>;
type Stage = NodeJS.ReadWriteStream | ReporterFn;

const BUILTIN = new Set(['spec', 'tap', 'dot', 'junit']);

async function* jsonReporter(source: AsyncIterable<TestEvent>): AsyncIterable<string> {
  for await (const event of source) yield `${JSON.stringify(event, (_k, v) => (v instanceof Error ? errorJson(v) : v))}\n`;
}

function errorJson(error: Error): Record<string, unknown> {
  return { ...error, name: error.name, message: error.message, stack: error.stack, ...(error.cause === undefined ? {} : { cause: error.cause }) };
}

async function loadReporter(name: string, cwd: string): Promise<Stage> {
  let exported: unknown;
  if (name === 'json') return jsonReporter;
  if (BUILTIN.has(name)) {
    const builtin = ((await import('node:test/reporters')) as Record<string, unknown>)[name] as (...a: unknown[]) => unknown;
    // `spec` is a factory of a Transform (callable with or without new); the others are generators.
    return name === 'spec' ? (new (builtin as unknown as new () => NodeJS.ReadWriteStream)() as Stage) : (builtin as ReporterFn);
  } else {
    const specifier = name.startsWith('.') || name.startsWith('/') ? pathToFileURL(resolvePath(cwd, name)).href : name;
    try {
      exported = ((await import(specifier)) as { default?: unknown }).default;
    } catch (error) {
      throw new TestRunError(`reporter "${name}" could not be loaded (${(error as Error).message}); use spec, tap, dot, junit, json, or a module path`, {
        cause: error,
      });
    }
  }
  if (typeof exported !== 'function') throw new TestRunError(`reporter "${name}" has no default export that is a reporter function or class`);
  const proto = (exported as { prototype?: object }).prototype;
  // node:test's rule: a class (spec is one) is instantiated, a generator function is composed.
  if (proto && Object.getOwnPropertyDescriptor(proto, 'constructor') && /^class\b/.test(Function.prototype.toString.call(exported)))
    return new (exported as new () => NodeJS.ReadWriteStream)();
  return exported as ReporterFn;
}

function openDestination(destination: ReporterSpec['destination'], cwd: string): { stream: NodeJS.WritableStream; own: boolean } {
  if (typeof destination !== 'string') return { stream: destination, own: false };
  if (destination === 'stdout') return { stream: process.stdout, own: false };
  if (destination === 'stderr') return { stream: process.stderr, own: false };
  return { stream: createWriteStream(resolvePath(cwd, destination)), own: true };
}

/** Every reporter gets every event, in order. */
export class ReporterFanout {
  readonly #inputs: PassThrough[] = [];
  readonly #done: Promise<void>[] = [];

  static async open(specs: ReporterSpec[], cwd: string): Promise<ReporterFanout> {
    const fanout = new ReporterFanout();
    const stages = await Promise.all(specs.map((s) => loadReporter(s.name, cwd)));
    specs.forEach((spec, i) => {
      const input = new PassThrough({ objectMode: true });
      const { stream, own } = openDestination(spec.destination, cwd);
      const stage = stages[i] as Stage;
      fanout.#inputs.push(input);
      fanout.#done.push(
        new Promise<void>((resolve, reject) => {
          const out = typeof stage === 'function' ? Readable.from(stage(input)) : input.pipe(stage);
          if (own) pipeline(out as Readable, stream as Writable, (error) => (error ? reject(error) : resolve()));
          else {
            (out as Readable).on('data', (chunk: string | Uint8Array) => stream.write(chunk));
            (out as Readable).on('end', () => resolve());
            (out as Readable).on('error', reject);
          }
        }),
      );
    });
    return fanout;
  }

  write(event: TestEvent): void {
    for (const input of this.#inputs) input.write(event);
  }

  async close(): Promise<void> {
    for (const input of this.#inputs) input.end();
    await Promise.all(this.#done);
  }
}
