import { BootstrapError, ProtocolError } from '../errors.js';
import { PROTOCOL_VERSION } from '../wire/frame.js';
import { isInt, MAX_MAX_MESSAGE, MAX_WINDOW, MIN_FRAME, MIN_WINDOW } from '../wire/limits.js';

/**
 * The HELLO frames of both roles (docs/protocol.md, handshake), as pure functions: what each side
 * sends, and what it makes of the other's. The local side sends first; the remote side adopts its
 * limits and answers with its own facts, or with an error when the versions differ.
 */

export interface RemoteInfo {
  pid: number;
  ppid: number;
  cwd: string;
  platform: string;
  arch: string;
  hostname: string;
  executable: string;
  runtime: 'node' | 'bun' | 'deno';
  versions: Record<string, string>;
}

/** What the local side says in its handshake. */
export interface MasterHello {
  version: number;
  id: string;
  window: number;
  maxFrame: number;
  maxMessage?: number;
  trace?: string;
}

/** What the remote side says about itself in its handshake. */
export interface WorkerHello {
  version: number;
  window: number;
  maxFrame: number;
  maxMessage?: number;
  globals: string[];
  info: RemoteInfo;
  error?: string;
  /** With `error`: its TsnetError code (TSNET_ERR_VERSION for a version mismatch). */
  code?: string;
}

/** What the local side makes of the remote's HELLO. */
export type HelloVerdict =
  /** A usable handshake. */
  | { hello: WorkerHello }
  /** The remote refused (it exits by itself), or speaks another version (`fatal`: the wire is dropped). */
  | { refused: ProtocolError | BootstrapError; fatal: boolean };

/**
 * Checks the remote's HELLO payload. Throws a ProtocolError for a malformed one, a second one
 * (`expecting` false), and limits we cannot work with: a remote that announces them is refused
 * here, not trusted later. `who` names the gateway in messages, e.g. "gateway gw0 (popen:4242)".
 */
export function checkWorkerHello(payload: Uint8Array, who: string, expecting: boolean): HelloVerdict {
  let hello: WorkerHello;
  try {
    hello = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as WorkerHello;
  } catch {
    throw new ProtocolError('the remote handshake is not valid JSON');
  }
  if (typeof hello !== 'object' || hello === null) throw new ProtocolError('the remote handshake is not a JSON object');
  // Whatever it carries (an error, another version): there is only one handshake.
  if (!expecting) throw new ProtocolError('unexpected second handshake from the remote side');
  if (hello.version !== PROTOCOL_VERSION) {
    const error = new ProtocolError(
      `protocol version mismatch on ${who}: this side speaks tsnet protocol ${PROTOCOL_VERSION}, ` +
        `the remote side speaks ${String(hello.version)}. Use the same @tsnet version on both sides (re-copy tsnet-bootstrap.js to the server).`,
      { code: 'TSNET_ERR_VERSION' },
    );
    return { refused: error, fatal: true };
  }
  if (hello.error) {
    const message = `${who}: the remote side refused the handshake: ${String(hello.error)}`;
    return {
      refused: hello.code === 'TSNET_ERR_VERSION' ? new ProtocolError(message, { code: 'TSNET_ERR_VERSION' }) : new BootstrapError(message),
      fatal: false,
    };
  }
  if (!isInt(hello.window, MIN_WINDOW, MAX_WINDOW)) throw new ProtocolError(`the remote handshake gives a bad window: ${String(hello.window)}`);
  if (!isInt(hello.maxFrame, MIN_FRAME, MAX_WINDOW)) throw new ProtocolError(`the remote handshake gives a bad maxFrame: ${String(hello.maxFrame)}`);
  if (hello.maxMessage !== undefined && !isInt(hello.maxMessage, 1, MAX_MAX_MESSAGE)) {
    throw new ProtocolError(`the remote handshake gives a bad maxMessage: ${String(hello.maxMessage)}`);
  }
  return { hello };
}

/** Reads the local side's HELLO payload on the remote side. Throws a ProtocolError for a malformed one. */
export function parseMasterHello(payload: Uint8Array): MasterHello {
  let hello: MasterHello;
  try {
    hello = JSON.parse(new TextDecoder().decode(payload)) as MasterHello;
  } catch {
    throw new ProtocolError('the local handshake is not valid JSON');
  }
  if (typeof hello !== 'object' || hello === null) throw new ProtocolError('the local handshake is not a JSON object');
  return hello;
}

/** The remote side's answer to a local side of another protocol version (it then exits with ExitCode.VERSION). */
export function versionMismatchHello(localVersion: unknown): Pick<WorkerHello, 'version' | 'code' | 'error'> {
  return {
    version: PROTOCOL_VERSION,
    code: 'TSNET_ERR_VERSION',
    error:
      `protocol version mismatch: the local side speaks tsnet protocol ${String(localVersion)}, this remote side speaks ${PROTOCOL_VERSION}. ` +
      'Use the same @tsnet version on both sides (re-copy tsnet-bootstrap.js to the server).',
  };
}
