import type { Channel } from '../channel/channel.js';
import { AbortError } from '../errors.js';
import type { ModuleSourceMap } from '../exec/source-map.js';
import { trace, tracing } from '../util/trace.js';
import { dc } from './diagnostics.js';
import type { RemoteExecOptions } from './gateway-options.js';

/** One remoteExec in flight: for exec:end, the abort listener and the module's source map. */
export interface ExecRecord {
  started: number;
  kind: string;
  sourceMap?: ModuleSourceMap;
  stopListening?: () => void;
}

/**
 * The remoteExec()s of one host gateway that are in flight, by channel id: start() records one,
 * traces and publishes exec:start and wires its AbortSignal to the channel (an already aborted
 * signal aborts the channel at once: the caller then sends nothing); finish() runs when the
 * channel is closed and forgotten (normally, with an error, by an abort, or by gateway death),
 * removes the abort listener and traces and publishes exec:end with the outcome. A channel that
 * was no exec is ignored by finish(). Nothing here throws.
 */
export class ExecRecords {
  readonly #gatewayId: string;
  readonly #records = new Map<number, ExecRecord>();

  constructor(gatewayId: string) {
    this.#gatewayId = gatewayId;
  }

  start(ch: Channel, kind: string, filename: string, options: RemoteExecOptions | undefined): ExecRecord {
    const id = this.#gatewayId;
    const record: ExecRecord = { started: performance.now(), kind };
    this.#records.set(ch.id, record);
    if (tracing.exec) trace('exec', id, `start ${ch.id} ${kind} ${filename}${options?.worker ? ' worker' : ''}`);
    if (dc.execStart.hasSubscribers) dc.execStart.publish({ gatewayId: id, channelId: ch.id, kind, filename, worker: options?.worker === true });
    const signal = options?.signal;
    if (signal) {
      const onAbort = (): void => {
        const reason: unknown = signal.reason;
        const message = reason instanceof Error ? reason.message : String(reason);
        ch._abort(new AbortError(`remoteExec on gateway ${id} (channel ${ch.id}) was aborted: ${message}`, { cause: reason }), new AbortError(message));
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        record.stopListening = () => signal.removeEventListener('abort', onAbort);
      }
    }
    return record;
  }

  /** The source map of the module running on channel `channelId`, if it is one. */
  sourceMap(channelId: number): ModuleSourceMap | undefined {
    return this.#records.get(channelId)?.sourceMap;
  }

  finish(ch: Channel): void {
    const record = this.#records.get(ch.id);
    if (!record) return;
    this.#records.delete(ch.id);
    record.stopListening?.();
    const error = ch._outcome?.error ?? null;
    const outcome = error === null ? 'ok' : error instanceof AbortError ? 'aborted' : error.name === 'RemoteError' ? 'error' : 'failed';
    const durationMs = performance.now() - record.started;
    const id = this.#gatewayId;
    if (tracing.exec) trace('exec', id, `end ${ch.id} ${outcome} ${durationMs.toFixed(1)}ms${error ? ` ${error.message.split('\n')[0]}` : ''}`);
    if (dc.execEnd.hasSubscribers) dc.execEnd.publish({ gatewayId: id, channelId: ch.id, kind: record.kind, durationMs, outcome, error });
  }
}
