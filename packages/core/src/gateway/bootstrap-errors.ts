import { BootstrapError } from '../errors.js';
import type { Transport } from '../spec/transport-types.js';

/**
 * The errors of a host gateway whose remote runtime did not come up: no answer to the handshake
 * in time, or the process died before answering. Pure functions of what the gateway knows (its
 * id, the transport, the remote's last stderr lines); each message says what failed and what to
 * check (the executable of `runtime=`/`exe=`, connectTimeout).
 */

/** Which executable was started as which runtime, and what to check; '' when the transport does not say. */
function startedAs(transport: Transport): string {
  const r = transport.runtime;
  return r
    ? `It was started as runtime=${r.name} with the executable ${JSON.stringify(r.exe)}: check that it is a working ${r.name} ` +
        `executable (or point exe= at one).`
    : '';
}

/** The remote runtime did not answer the handshake within `timeout` ms. */
export function handshakeTimeout(id: string, transport: Transport, timeout: number, tail: string, stderr: string): BootstrapError {
  const hint = startedAs(transport);
  return new BootstrapError(
    `gateway ${id} (${transport.label}): the remote runtime did not answer the handshake within ${timeout} ms${tail}\n` +
      (hint ? `${hint} Or raise connectTimeout.` : 'Check that the node binary works on the remote side, or raise connectTimeout.'),
    { stderr },
  );
}

/** The remote process ended before its handshake, for `reason`; `cause` is the gateway's GatewayClosedError. */
export function diedDuringBootstrap(id: string, transport: Transport, reason: string, tail: string, stderr: string, cause: Error): BootstrapError {
  const hint = startedAs(transport);
  return new BootstrapError(`gateway ${id} (${transport.label}) died during bootstrap: ${reason}${tail}${hint ? `\n${hint}` : ''}`, { cause, stderr });
}
