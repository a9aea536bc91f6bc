/**
 * `runTests()`: a node:test suite spread over gateways. `dist: 'load'` hands files one at a time to
 * whichever gateway is free; `dist: 'each'` runs every file on every gateway and prefixes each
 * top-level result with the gateway's label. Each file's events go to the reporters as one block
 * when it finishes (as `node --test` does with concurrent files), then the run's totals.
 *
 * Failure: a crashed file (or a gateway lost under it) is a failed test named after the file, with
 * its stderr; the gateway is replaced while fewer than `maxWorkerRestart` crashes happened, after
 * that the files not yet run are reported failed as not run. A gateway that does not open rejects
 * the run (the others are killed) before any file runs. An aborted `signal` kills every gateway (and
 * so every test process under it) and resolves with `aborted: true`. With `exitFirst` the first file
 * that fails (or crashes) stops the run: no file starts after it, the other gateways are killed
 * under the files they were running (those files count as not run, their partial events dropped),
 * and the run ends with its totals, `stoppedBy` naming that file. Reporters are always closed.
 */
import { relative } from 'node:path';
import { TestRunError } from './errors.js';
import { fileFailure, labelEvent, Tally, type TestEvent } from './events.js';
import { findTestFiles } from './find-files.js';
import { ReporterFanout, type ReporterSpec } from './reporters.js';
import { type SyncReport, syncProject } from './sync-project.js';
import { type FileRun, WorkerSlot } from './worker-slot.js';

export interface RunTestsOptions {
  /** Gateway specs (`N*SPEC` expanded by the caller); default `['popen']`. */
  tx?: string[];
  dist?: 'load' | 'each';
  /** Files or globs, relative to `cwd`; default: what `node --test` would run there. */
  files?: string[];
  cwd?: string;
  /** Default: `spec` to stdout. */
  reporters?: ReporterSpec[];
  /** Sync this directory to the gateways that do not see it, to the same absolute path. */
  rsyncDir?: string;
  /** Crashes tolerated before the rest of the run is given up; default 4 per gateway. */
  maxWorkerRestart?: number;
  signal?: AbortSignal;
  /** Stop at the first failing file (`-x`, `--exitfirst`). */
  exitFirst?: boolean;
  /** Where progress lines go (syncs, restarts); default nowhere. */
  log?: (line: string) => void;
}

export interface RunTestsResult {
  /** 0 when every test passed, 1 otherwise (also when aborted). */
  exitCode: 0 | 1;
  aborted: boolean;
  files: number;
  tests: number;
  pass: number;
  fail: number;
  skipped: number;
  todo: number;
  cancelled: number;
  /** Crashed files and lost gateways. */
  restarts: number;
  /** Files not run because `exitFirst` stopped the run (those interrupted on other gateways included). */
  notRun: number;
  /** With `exitFirst`: the failing file that stopped the run (relative to `cwd`). */
  stoppedBy?: string;
  sync: SyncReport[];
}

export async function runTests(options: RunTestsOptions = {}): Promise<RunTestsResult> {
  const cwd = options.cwd ?? process.cwd();
  const specs = options.tx && options.tx.length > 0 ? options.tx : ['popen'];
  const dist = options.dist ?? 'load';
  if (dist !== 'load' && dist !== 'each') throw new TestRunError(`--dist must be load or each, not "${String(dist)}"`);
  const maxRestarts = options.maxWorkerRestart ?? 4 * specs.length;
  if (!Number.isInteger(maxRestarts) || maxRestarts < 0) throw new TestRunError(`--max-worker-restart must be a whole number ≥ 0, not ${maxRestarts}`);
  const log = options.log ?? (() => {});
  const files = await findTestFiles(options.files ?? [], cwd);
  if (files.length === 0)
    throw new TestRunError(`no test files found in ${cwd}${options.files?.length ? ` for ${options.files.join(' ')}` : ''}; give files or globs`);
  const slots = specs.map((spec) => new WorkerSlot(spec));
  try {
    await Promise.all(slots.map((s) => s.open()));
  } catch (error) {
    await Promise.all(slots.map((s) => s.kill()));
    throw error;
  }
  setLabels(slots);
  let reporters: ReporterFanout;
  try {
    reporters = await ReporterFanout.open(options.reporters ?? [{ name: 'spec', destination: 'stdout' }], cwd);
  } catch (error) {
    await Promise.all(slots.map((s) => s.kill()));
    throw error;
  }
  const tally = new Tally();
  /** How many file runs the run holds: every file once, or once per gateway with `each`. */
  const runCount = (): number => files.length * (dist === 'each' ? slots.length : 1);
  const emit = (list: TestEvent[], label?: string): void => {
    for (const event of list) {
      const out = label === undefined ? event : labelEvent(event, label);
      tally.add(out);
      reporters.write(out);
    }
  };
  let restarts = 0;
  let aborted = false;
  let stoppedBy: string | undefined;
  let ran = 0;
  /** Slots running a file now; those killed under one by exitFirst, whose report is dropped. */
  const busy = new Set<WorkerSlot>();
  const stopped = new Set<WorkerSlot>();
  const stop = (name: string): void => {
    stoppedBy = name;
    for (const other of busy) {
      stopped.add(other);
      void other.kill();
    }
  };
  const onAbort = (): void => {
    aborted = true;
    for (const slot of slots) void slot.kill();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let sync: SyncReport[] = [];
  try {
    if (options.rsyncDir !== undefined && !aborted) {
      sync = await syncProject(options.rsyncDir, slots, options.signal);
      for (const r of sync) log(`rsync-dir: ${r.gatewayId} ${r.shared ? 'sees this file system' : `synced (${r.files} files, ${r.bytes} bytes)`}`);
    }
    const queues = dist === 'each' ? slots.map(() => [...files]) : [];
    const shared = [...files];
    const label = dist === 'each' ? (slot: WorkerSlot) => slot.label : () => undefined;
    const nameOf = (file: string): string => relative(cwd, file) || file;
    const workLoop = async (slot: WorkerSlot, index: number): Promise<void> => {
      const queue = dist === 'each' ? (queues[index] as string[]) : shared;
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        if (aborted || stoppedBy !== undefined) return;
        if (restarts > maxRestarts) {
          emit(fileFailure(nameOf(file), file, `not run: more than --max-worker-restart ${maxRestarts} crashes`, ''), label(slot));
          continue;
        }
        busy.add(slot);
        const run: FileRun = await slot.run(file, nameOf(file), cwd);
        busy.delete(slot);
        if (aborted || stopped.has(slot)) return;
        ran++;
        emit(run.events, label(slot));
        if (options.exitFirst && stoppedBy === undefined && (run.crashed || run.events.some((e) => e.type === 'test:fail'))) {
          stop(nameOf(file));
          return;
        }
        if (!run.crashed) continue;
        restarts++;
        if (run.gatewayLost) {
          if (restarts > maxRestarts) continue;
          log(`${slot.label}: gateway lost under ${nameOf(file)}; opening a new one (${restarts} of ${maxRestarts} restarts)`);
          try {
            await slot.restart();
          } catch (error) {
            log(`${slot.label}: could not be reopened: ${(error as Error).message}`);
            restarts = maxRestarts + 1;
          }
        }
      }
    };
    await Promise.all(slots.map((slot, i) => workLoop(slot, i)));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await Promise.all(slots.map((s) => (aborted || stopped.has(s) ? s.kill() : s.close())));
    if (stoppedBy !== undefined) log(`stopped after ${stoppedBy} failed (-x): ${runCount() - ran} of ${runCount()} files not run`);
    if (!aborted) emit(tally.summary());
    await reporters.close();
  }
  return {
    exitCode: tally.failed || aborted ? 1 : 0,
    aborted,
    files: files.length,
    tests: tally.tests,
    pass: tally.pass,
    fail: tally.fail,
    skipped: tally.skipped,
    todo: tally.todo,
    cancelled: tally.cancelled,
    restarts,
    notRun: stoppedBy === undefined ? 0 : runCount() - ran,
    ...(stoppedBy !== undefined ? { stoppedBy } : {}),
    sync,
  };
}

/**
 * A slot's label is its spec without the executable's path (`exe=`, `node=`), which says little and
 * takes a line; the runtime and version it reported stand in for it. Labels that are still equal
 * get `#N` (the slot's position).
 */
function setLabels(slots: WorkerSlot[]): void {
  for (const slot of slots) {
    const parts = slot.spec.split('//');
    const kept = parts.filter((p) => !/^(exe|node)=/.test(p));
    slot.label = kept.length === parts.length ? slot.spec : `${kept.join('//')} (${slot.runtime} ${slot.version})`;
  }
  const labels = slots.map((s) => s.label);
  slots.forEach((slot, i) => {
    if (labels.indexOf(slot.label) !== labels.lastIndexOf(slot.label)) slot.label = `${slot.label}#${i + 1}`;
  });
}
