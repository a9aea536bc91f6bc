/**
 * A gateway's start through a spawner (see spawners.ts and @tsnet/bootstrap's spawner.ts): two
 * `direct-streamlocal` channels to its socket, the request lines, the start script's marker, then
 * the bootstrap. Rejects with SpawnUnavailable when the runtime never got as far as its marker (a
 * refused channel or request, a learned path that is gone: the caller starts over exec); with what
 * `failure` makes of it when the start was stopped (signal, start timeout); the channels are closed
 * and the connection released in every failure.
 */
import { randomBytes } from 'node:crypto';
import { preamble, type runtimeLaunch } from '@tsnet/bootstrap';
import { abortError, ConnectError, deadline, formatStderrTail } from '@tsnet/core/transport';
import type ssh2 from 'ssh2';
import { type SpawnerEndpoint, SpawnUnavailable } from './spawners.js';
import type { SshConnection } from './ssh-connection.js';
import type { SshOptions } from './ssh-provider.js';
import { SshTransport } from './ssh-transport.js';

export interface SpawnedStart {
  /** A connection of the pool for the host (released when the gateway closes or the start fails). */
  acquire(): Promise<SshConnection>;
  options: Pick<SshOptions, 'receiveWindow' | 'startTimeout' | 'debug'>;
  signal?: AbortSignal | undefined;
  /** The start script (remote-command.ts, `spawned: true`). */
  script: string;
  marker: string;
  host: string;
  launch: ReturnType<typeof runtimeLaunch>;
  endpoint: SpawnerEndpoint;
  /** The error a stopped start rejects with (the provider's, naming the host and runtime). */
  failure(error: Error, transport: SshTransport, conn: SshConnection): Error;
}

export async function startSpawned(s: SpawnedStart): Promise<SshTransport> {
  const { options: o, marker, host, launch, endpoint } = s;
  const t0 = performance.now();
  const conn = await s.acquire();
  const startDone = conn.startBegins();
  let transport: SshTransport;
  try {
    transport = await openSpawned(conn, endpoint, s.script, marker, `ssh:${host}`, o.receiveWindow, {
      name: launch.runtime,
      exe: launch.exe ?? launch.runtime,
    });
  } catch (error) {
    startDone();
    conn.release();
    throw error;
  }
  void transport.closed.then(() => conn.release());
  const t1 = performance.now();
  const timeout = o.startTimeout ?? 30_000;
  let stopped = false; // by the signal or the timeout, not by the spawned side ending
  try {
    await deadline(transport.ready, {
      signal: s.signal,
      toError: (s) => {
        stopped = true;
        return abortError(s, `ssh ${conn.label}: the bootstrap (starting node)`);
      },
      timeout,
      onTimeout: () => {
        stopped = true;
        throw new ConnectError(
          `ssh ${conn.label}: the spawner did not start node within ${timeout} ms (bootstrap)${formatStderrTail(transport.bufferedStderr, 20)}`,
        );
      },
    });
  } catch (error) {
    startDone();
    if (!transport.exitInfo) await transport.kill();
    else await transport.closed;
    // Ended before its marker (a refused request, a learned path gone): exec may still work.
    if (!stopped) throw new SpawnUnavailable(`the spawner at ${endpoint.dir} did not start ${launch.runtime}${formatStderrTail(transport.bufferedStderr, 20)}`);
    throw s.failure(error as Error, transport, conn);
  }
  // After the marker: the spawner read its request line and nothing more; the runtime reads the rest.
  // Its parent is the spawner's runtime: its watchdog watches the connection's sshd process instead.
  const watchPid = Number(transport.readyExtra);
  const watch = Number.isInteger(watchPid) && watchPid > 1;
  transport.write(
    preamble({
      wireFd: 3,
      output: 'frames',
      stdoutFd: 4,
      killGroup: true,
      watchPpid: watch,
      ...(watch ? { watchPid } : {}),
      runtime: launch.runtime,
    }),
  );
  void transport.talking.then(startDone); // the HELLO goes out right after the bootstrap's tail
  if (o.debug) o.debug(`${host}: spawner channels ${(t1 - t0).toFixed(1)} ms, to the start marker ${(performance.now() - t1).toFixed(1)} ms`);
  return transport;
}

/**
 * Opens the two channels of a spawned start (stderr and the wire) and sends the request; resolves
 * with the transport, before its ready marker (the caller waits for it, then sends the bootstrap).
 */
export async function openSpawned(...args: Parameters<typeof openBoth>): Promise<SshTransport> {
  const conn = args[0];
  // The process stays alive while the channels open (an idle gateway on this connection does not hold it).
  conn.holdRef();
  try {
    return await openBoth(...args);
  } finally {
    conn.dropRef();
  }
}

async function openBoth(
  conn: SshConnection,
  endpoint: SpawnerEndpoint,
  script: string,
  marker: string,
  label: string,
  receiveWindow: number | undefined,
  runtime: { name: string; exe: string },
): Promise<SshTransport> {
  const path = `${endpoint.dir}/s`;
  // The runtime listens before it answers its handshake: a refusal here is final for this spawner.
  const opened = await Promise.allSettled([conn.streamLocal(path, false), conn.streamLocal(path)]);
  const channels = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (channels.length < 2) {
    for (const c of channels) c.destroy();
    const error = (opened.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as Error;
    throw Object.assign(new SpawnUnavailable(`the spawner at ${path} cannot be reached: ${error.message}`), { unreachable: true });
  }
  const [err, wire] = channels as [ssh2.ClientChannel, ssh2.ClientChannel];
  const id = randomBytes(8).toString('hex');
  const exit = `${marker}-EXIT`;
  err.write(`TSNET-SPAWN-ERR ${endpoint.token} ${id}\n`);
  wire.write(`TSNET-SPAWN ${endpoint.token} ${id} ${JSON.stringify({ script, exit })}\n`);
  return new SshTransport(wire, conn, label, marker, receiveWindow, runtime, { stderr: err, exit });
}
