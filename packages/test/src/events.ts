/**
 * node:test events as they come back from a gateway, turned into what node:test's reporters read:
 * JSON lines decoded, serialized errors revived into Error objects (so `spec` prints them as
 * `node --test` does), each file's own root plan and summary diagnostics dropped (the run emits one
 * for all files, see Tally), and top-level names prefixed with a gateway label in `--dist each`.
 * A line that is not JSON is kept as a `test:stdout` event, never dropped.
 */

export interface TestEvent {
  type: string;
  data: Record<string, unknown> & { nesting?: number; name?: string; file?: string };
}

/** Splits a JSON-lines stream into events; feed chunks with `push`, the rest with `end`. */
export class EventLineDecoder {
  #partial = '';
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  push(text: string): TestEvent[] {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.filter((l) => l !== '').map((l) => this.#decode(l));
  }

  end(): TestEvent[] {
    const rest = this.#partial;
    this.#partial = '';
    return rest === '' ? [] : [this.#decode(rest)];
  }

  #decode(line: string): TestEvent {
    try {
      const event = JSON.parse(line) as TestEvent;
      return { type: event.type, data: revive(event.data) as TestEvent['data'] };
    } catch {
      return { type: 'test:stdout', data: { file: this.#file, message: `${line}\n` } };
    }
  }
}

/** Serialized errors (`{ __error: true, … }`) back into Error objects, recursively. */
export function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (record.__error === true) {
    const { __error, name, message, stack, cause, ...rest } = record;
    const error = new Error(String(message ?? ''), cause === undefined ? undefined : { cause: revive(cause) });
    Object.defineProperty(error, 'name', { value: String(name ?? 'Error'), configurable: true, writable: true });
    if (typeof stack === 'string') Object.defineProperty(error, 'stack', { value: stack, configurable: true, writable: true });
    for (const [k, v] of Object.entries(rest)) (error as unknown as Record<string, unknown>)[k] = revive(v);
    return error;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k] = revive(v);
  return out;
}

/** A file's own end-of-run plan and summary (they carry no `file`): the run emits its own. */
export function isFileSummary(event: TestEvent): boolean {
  if (event.type === 'test:summary') return true; // Node 22+: per file; the reporters here read the diagnostics
  return (event.type === 'test:plan' || event.type === 'test:diagnostic') && event.data.file === undefined;
}

/** `[label] name` on every top-level test, so a matrix run tells its gateways apart. */
export function labelEvent(event: TestEvent, label: string): TestEvent {
  if (event.data.nesting !== 0 || typeof event.data.name !== 'string') return event;
  return { type: event.type, data: { ...event.data, name: `[${label}] ${event.data.name}` } };
}

/** The failure `node --test` reports for a file that did not run to its end. */
export function fileFailure(name: string, file: string, reason: string, stderr: string, extra: Record<string, unknown> = {}): TestEvent[] {
  const cause = new Error(stderr.trim() === '' ? reason : `${reason}\n--- stderr ---\n${stderr.trimEnd()}`);
  // The local stack says nothing about the remote file: show the reason and stderr only.
  Object.defineProperty(cause, 'stack', { value: `Error: ${cause.message}`, configurable: true, writable: true });
  const error = Object.assign(new Error('test failed', { cause }), { code: 'ERR_TEST_FAILURE', failureType: 'testCodeFailure', ...extra });
  const base = { nesting: 0, name, file, line: 1, column: 1 };
  return [
    { type: 'test:start', data: { ...base } },
    { type: 'test:fail', data: { ...base, testNumber: 1, details: { duration_ms: 0, error, type: 'test' } } },
  ];
}

/** Counts what every file reported, to print the totals `node --test` prints at its end. */
export class Tally {
  tests = 0;
  suites = 0;
  pass = 0;
  fail = 0;
  cancelled = 0;
  skipped = 0;
  todo = 0;
  topLevel = 0;
  readonly #start = performance.now();
  #sawFailure = false;

  add(event: TestEvent): void {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') return;
    const data = event.data as { nesting?: number; skip?: unknown; todo?: unknown; details?: { type?: string; error?: { failureType?: string } } };
    if (data.nesting === 0) this.topLevel++;
    if (event.type === 'test:fail') this.#sawFailure = true;
    if (data.details?.type === 'suite') {
      this.suites++;
      return;
    }
    this.tests++;
    if (data.skip !== undefined) this.skipped++;
    else if (data.todo !== undefined) this.todo++;
    else if (event.type === 'test:pass') this.pass++;
    else if (['cancelledByParent', 'testTimeoutFailure'].includes(data.details?.error?.failureType ?? '')) this.cancelled++;
    else this.fail++;
  }

  /** Any test or suite failed (a suite whose hook threw fails without a failing test). */
  get failed(): boolean {
    return this.#sawFailure;
  }

  /** The run's closing plan and diagnostics, shaped as node:test emits them. */
  summary(): TestEvent[] {
    const lines = [
      `tests ${this.tests}`,
      `suites ${this.suites}`,
      `pass ${this.pass}`,
      `fail ${this.fail}`,
      `cancelled ${this.cancelled}`,
      `skipped ${this.skipped}`,
      `todo ${this.todo}`,
      `duration_ms ${performance.now() - this.#start}`,
    ];
    return [
      { type: 'test:plan', data: { nesting: 0, count: this.topLevel } },
      ...lines.map((message) => ({ type: 'test:diagnostic', data: { nesting: 0, message } })),
    ];
  }
}
