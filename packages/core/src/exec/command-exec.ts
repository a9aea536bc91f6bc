/**
 * gw.exec(): run a command on the remote host and collect its output.
 *
 * - Resolves with `{ stdout, stderr, code, signal }` whatever the exit code (check `code`).
 *   Strings (UTF-8, final newline kept) by default; `encoding: 'buffer'` gives Buffers, byte for byte.
 * - `input` (string or bytes) is written to the command's stdin, which is then closed; without
 *   `input` stdin is closed at once (the command reads end of file, as with `< /dev/null`).
 * - Rejects with TimeoutError (code TSNET_ERR_TIMEOUT), carrying what was collected so far as
 *   `result`, when `timeout` expired and the command was killed; with the signal's reason (as
 *   fetch() does) when `signal` aborted (the command is killed). Output above `maxBuffer` bytes per stream
 *   (default 100 MiB) kills the command and rejects with a TsnetError (with `result`) rather than
 *   growing without bound. A command that cannot start rejects with a RemoteError naming it
 *   and the cause; a gateway that goes down, with GatewayClosedError.
 */
import type { Channel } from '../channel/channel.js';
import { TimeoutError, TsnetError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import { type ProcessExit, type SpawnOptions, startProcess } from './remote-process.js';

export interface ExecOptions extends SpawnOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string | Uint8Array;
  /** 'utf8' (default): stdout and stderr are strings; 'buffer': Buffers. */
  encoding?: 'utf8' | 'buffer';
  /** Bytes per stream above which the command is killed and exec() rejects. Default 100 MiB. */
  maxBuffer?: number;
}

export interface ExecResult<O extends string | Buffer = string> {
  stdout: O;
  stderr: O;
  /** The exit code, or null when a signal ended the command. */
  code: number | null;
  /** The signal that ended the command, or null. */
  signal: string | null;
}

/** An exec() that did not finish normally (timeout, too much output): what it had collected. */
export type ExecFailure = TsnetError & { result: ExecResult<string | Buffer> };

export async function execCommand(gateway: Gateway, command: string | readonly string[], options?: ExecOptions): Promise<ExecResult<string | Buffer>> {
  const encoding = options?.encoding ?? 'utf8';
  if (encoding !== 'utf8' && encoding !== 'buffer') throw new TsnetError(`exec(): encoding must be 'utf8' or 'buffer', got ${JSON.stringify(encoding)}`);
  const maxBuffer = options?.maxBuffer ?? 100 << 20;
  const p = startProcess(gateway, command, options, 'exec()');
  const input = options?.input;
  if (input !== undefined) {
    p.stdin.send(input).then(
      () => p.stdin.close(),
      () => {}, // the command exited without reading it all: like EPIPE, not an error of exec()
    );
  } else void p.stdin.close();

  let tooMuch: string | null = null;
  const collect = async (ch: Channel<unknown>, name: string): Promise<Buffer[]> => {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of ch) {
        const b =
          typeof chunk === 'string'
            ? Buffer.from(chunk)
            : Buffer.from((chunk as Uint8Array).buffer, (chunk as Uint8Array).byteOffset, (chunk as Uint8Array).byteLength);
        size += b.length;
        if (size > maxBuffer) {
          tooMuch ??= `${name} exceeded maxBuffer (${maxBuffer} bytes)`;
          void p.control.send(['kill', 'SIGKILL']).catch(() => {});
          break;
        }
        chunks.push(b);
      }
    } catch {
      // the gateway went down: `exit` rejects with the reason
    }
    return chunks;
  };
  const out = collect(p.stdout, 'stdout');
  const err = collect(p.stderr, 'stderr');
  let exit: ProcessExit | undefined;
  let failure: unknown;
  try {
    exit = await p.exit;
  } catch (error) {
    failure = error;
  }
  const [o, e] = await Promise.all([out, err]);
  const decode = (chunks: Buffer[]): string | Buffer => (encoding === 'buffer' ? Buffer.concat(chunks) : Buffer.concat(chunks).toString('utf8'));
  const result: ExecResult<string | Buffer> = { stdout: decode(o), stderr: decode(e), code: exit?.code ?? null, signal: exit?.signal ?? null };
  if (failure !== undefined) throw failure;
  const signal = options?.signal;
  if (exit?.timedOut) {
    throw withResult(
      new TimeoutError(
        `exec(): ${p.display} on gateway ${gateway.id} timed out after ${options?.timeout} ms and was killed with ${result.signal ?? 'a signal'}`,
        options?.timeout ?? 0,
      ),
      result,
    );
  }
  // As fetch() does (and every other tsnet call with a signal): the signal's own reason. The
  // command was killed; spawn() keeps its output for whoever needs what it wrote before.
  if (signal?.aborted) throw signal.reason;
  if (tooMuch) {
    throw withResult(
      new TsnetError(
        `exec(): ${p.display} on gateway ${gateway.id}: ${tooMuch}; the command was killed. Raise maxBuffer or use gw.spawn() and read its streams`,
      ),
      result,
    );
  }
  return result;
}

function withResult(error: TsnetError, result: ExecResult<string | Buffer>): ExecFailure {
  return Object.assign(error, { result });
}
