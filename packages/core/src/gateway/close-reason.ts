import type { GatewayCloseInfo } from '../errors.js';
import type { TransportExit } from '../spec/transport-types.js';

/** What the gateway knew when its transport closed. */
export interface CloseState {
  /** exit() timed out and the remote was killed after `exitTimeout` ms. */
  killedOnExit: boolean;
  exitTimeout: number;
  /** gw.kill() was called. */
  killed: boolean;
  /** The local side asked for the end (exit(), kill(), a failed start). */
  exiting: boolean;
  /** The remote runtime's crash report, when it sent one. */
  crash: string | null;
}

/**
 * The sentence a GatewayClosedError gives as its reason, from the most specific cause to the
 * least: our own request, the remote's crash report, the transport's own reason, the signal, the
 * exit code, a lost connection. A pure function of what the gateway and its transport saw.
 */
export function closeReason(exit: TransportExit, state: CloseState): string {
  if (state.killedOnExit) return `killed by ${exit.signal ?? 'SIGKILL'}: the remote side did not exit within ${state.exitTimeout} ms of gw.exit()`;
  if (state.killed) return `killed on request (gw.kill())${exit.signal ? ` by ${exit.signal}` : ''}`;
  if (state.exiting) return 'exited on request (gw.exit())';
  if (state.crash) return state.crash;
  if (exit.reason) return exit.reason;
  if (exit.signal) return `the remote process was killed by ${exit.signal}`;
  if (exit.code !== null && exit.code !== 0) return `the remote process exited with code ${exit.code}`;
  if (exit.code === 0) return 'the remote process exited (code 0)';
  return `the connection was lost${exit.error ? `: ${exit.error.message}` : ''}`;
}

/**
 * The gateway's `closed` info: the exit's code, signal and error, with the reason already set
 * (`prior`: a protocol failure, our own request) or else closeReason()'s.
 */
export function closeInfo(exit: TransportExit, prior: GatewayCloseInfo | null, state: CloseState): GatewayCloseInfo {
  const detail: GatewayCloseInfo = {
    reason: '',
    ...(exit.code !== null ? { exitCode: exit.code } : {}),
    ...(exit.signal ? { signal: exit.signal } : {}),
    ...(exit.error ? { error: exit.error } : {}),
  };
  return prior ? { ...detail, ...prior } : { ...detail, reason: closeReason(exit, state) };
}
