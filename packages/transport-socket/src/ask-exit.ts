import { raceSignal, type TransportExit } from '@tsnet/core/transport';
import { clientHandshake } from './client-handshake.js';
import { type OpenStream, openStream } from './open-stream.js';
import type { SocketTarget } from './socket-spec.js';

/** How long asking the server may take before the gateway closes with what it knows. */
export const ASK_EXIT_TIMEOUT_MS = 3000;

/**
 * Asks the server, on a second authenticated connection, how the session `session` ended (the
 * EXIT question of socket-protocol.ts in @tsnet/bootstrap): for a stream that ended without the
 * trailer frame. Resolves with the exit status, or with a sentence saying why the server could not
 * tell; never rejects, and settles within ASK_EXIT_TIMEOUT_MS.
 */
export async function askExit(target: SocketTarget, token: Buffer | undefined, session: string): Promise<Pick<TransportExit, 'code' | 'signal'> | string> {
  const signal = AbortSignal.timeout(ASK_EXIT_TIMEOUT_MS);
  let opened: OpenStream | undefined;
  try {
    opened = await openStream(target, signal);
    const { answer = '' } = await raceSignal(clientHandshake(opened.stream, target, token, session), signal);
    if (answer.startsWith('EXIT ')) {
      const status = JSON.parse(answer.slice(5)) as { code?: unknown; signal?: unknown };
      return { code: typeof status.code === 'number' ? status.code : null, signal: typeof status.signal === 'string' ? status.signal : null };
    }
    return answer.startsWith('UNKNOWN ') ? answer.slice(8) : `unexpected answer ${JSON.stringify(answer.slice(0, 80))}`;
  } catch (error) {
    return signal.aborted ? `no answer within ${ASK_EXIT_TIMEOUT_MS} ms` : (error as Error).message;
  } finally {
    opened?.destroy();
    opened?.stream.destroy();
  }
}
