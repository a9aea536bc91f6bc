import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { preamble, type RuntimeName, runtimeLaunch } from '@tsnet/bootstrap';
import {
  abortError,
  BootstrapError,
  ConnectError,
  type ConnectOptions,
  deadline,
  formatStderrTail,
  type Gateway,
  keepErrorNames,
  SpecError,
  type Transport,
  type TransportProvider,
  timeoutSignal,
  type XSpec,
} from '@tsnet/core/transport';
import type ssh2 from 'ssh2';
import type { AuthOptions } from './auth.js';
import { HostConfigCache } from './config-cache.js';
import { ConnectionPool } from './connection-pool.js';
import { expandHome, type HostConfig } from './host-config.js';
import type { HostKeyPolicy } from './host-key-verifier.js';
import { HostSetups, parseLearned } from './host-setup.js';
import { EXIT_CHDIR_FAILED, EXIT_NODE_NOT_FOUND, needsLoginShell, remoteCommand, remoteScript, SCRIPT_TAG } from './remote-command.js';
import { startSpawned } from './spawned-start.js';
import { type SpawnerEndpoint, Spawners, SpawnUnavailable } from './spawners.js';
import type { ConnectionSettings, SshConnection } from './ssh-connection.js';
import { SshTransport } from './ssh-transport.js';

/** The oldest Node the first stage and the bundle run on. */
export const MIN_NODE = 18;

/** Options given in code; spec keys win over them, and they win over ~/.ssh/config. */
export interface SshOptions extends AuthOptions {
  /** ssh config file to read instead of ~/.ssh/config + /etc/ssh/ssh_config (`ssh -F`). Also: spec `ssh-config=`, env TSNET_SSH_CONFIG. */
  configFile?: string;
  /** How ssh config is evaluated: 'auto' (default: `ssh -G` when OpenSSH is installed, else the ssh-config parser), 'ssh' or 'parser'. */
  configResolver?: 'auto' | 'ssh' | 'parser';
  /** Host key policy for every gateway of this provider (spec `hostkey=` wins). */
  hostKeyPolicy?: HostKeyPolicy;
  /** Keepalive interval in seconds; 0 disables (spec `keepalive=` wins). */
  keepalive?: number;
  /** SSH handshake and login timeout in ms (default 20000; ConnectTimeout in ssh config wins). */
  readyTimeout?: number;
  /** How long the remote shell may take to start node, in ms (default 30000). */
  startTimeout?: number;
  /** zlib compression (spec `compress` wins; default: Compression in ssh config). */
  compression?: boolean;
  /**
   * Receive window of each gateway's SSH channel in bytes (default 8 MiB; ssh2 and OpenSSH use 2
   * MiB, which limits one channel to ~2 MiB per round trip on long links).
   */
  receiveWindow?: number;
  /**
   * Start later gateways to a host through a spawner in the runtime of an earlier one (default
   * true): a `direct-streamlocal` channel to a Unix socket in a private directory under /tmp, so no
   * sshd session and none of the user's shell rc files (see README, "SSH"). Hosts whose sshd
   * refuses streamlocal forwarding are started over exec, as with false.
   */
  spawner?: boolean;
  /** Receives ssh2's debug lines and ours. */
  debug?: (line: string) => void;
}

/** The remote host has no usable Node runtime (or Bun, Deno: the spec's `runtime=`). */
export class NodeNotFoundError extends BootstrapError {
  readonly host: string;
  /** The executable looked for. */
  readonly node: string;
  readonly runtime: RuntimeName;
  constructor(host: string, node: string, stderr: string, runtime: RuntimeName = 'node') {
    const how =
      runtime === 'node'
        ? `install Node ≥ ${MIN_NODE} there, or pass node=/path/to/node in the spec`
        : `install ${runtime === 'bun' ? 'Bun' : 'Deno'} there, or pass exe=/path/to/${runtime} in the spec`;
    super(
      `${runtime} not found on ${host}: ${how} ` +
        `(looked for "${node}"${node.includes('/') ? '' : ' on the PATH of a login shell'}).${formatStderrTail(stderr)}`,
      { stderr },
    );
    this.host = host;
    this.node = node;
    this.runtime = runtime;
  }
}
keepErrorNames({ NodeNotFoundError });

/** A jump host hop target parsed from `[user@]host[:port]`. */
export interface Target {
  user: string | undefined;
  host: string;
  port: number | undefined;
}

/** `[user@]host[:port]`, with IPv6 as `[::1]:22` (or bare, without a port). */
export function parseTarget(text: string, specText: string): Target {
  const bad = (why: string) => new SpecError(`gateway spec ${JSON.stringify(specText)}: ssh=${text}: ${why} (expected ssh=[user@]host[:port])`);
  let rest = text.trim();
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!user) throw bad('empty user name');
  }
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else if ((rest.match(/:/g) ?? []).length > 1) {
    host = rest; // a bare IPv6 address
  } else {
    const colon = rest.indexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? undefined : rest.slice(colon + 1);
  }
  if (!host) throw bad('no host');
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw bad(`bad port ${JSON.stringify(portText)}`);
  }
  return { user, host, port };
}

interface ProviderState {
  options: SshOptions;
  pool: ConnectionPool;
  setups: HostSetups;
  configs: HostConfigCache;
  spawners: Spawners;
}

/** Config of each hop before the target: ProxyJump `a,b` reaches b through a, a as its own config says. */
async function resolveChain(cfg: HostConfig, resolve: (t: Target) => Promise<HostConfig>, depth = 0): Promise<HostConfig[]> {
  if (cfg.proxyJump.length === 0) return [cfg];
  if (depth >= 8) throw new ConnectError(`ssh: the ProxyJump chain to ${cfg.host} is longer than 8 hops (a loop in the ssh config?)`);
  const hops = cfg.proxyJump;
  const lastText = hops[hops.length - 1]!;
  let last = await resolve(parseTarget(lastText.replace(/^ssh:\/\//, ''), `ProxyJump ${hops.join(',')}`));
  // Earlier hops of the list replace the last hop's own ProxyJump (as `ssh -J a b` does).
  if (hops.length > 1) last = { ...last, proxyJump: hops.slice(0, -1) };
  return [...(await resolveChain(last, resolve, depth + 1)), cfg];
}

function specFlag(spec: XSpec, key: string): boolean | undefined {
  const v = spec.get(key);
  if (v === undefined) return undefined;
  if (v === true) return true;
  if (/^(yes|true|on|1)$/i.test(v)) return true;
  if (/^(no|false|off|0)$/i.test(v)) return false;
  throw new SpecError(`gateway spec ${JSON.stringify(String(spec))}: ${key} must be yes or no, got ${JSON.stringify(v)}`);
}

function isSessionLimit(error: unknown): boolean {
  const e = error as { reason?: unknown; message?: string };
  // sshd answers "open failed" (administratively prohibited) past MaxSessions.
  return e?.reason === 1 || /open failed|administratively prohibited/i.test(e?.message ?? '');
}

async function connect(state: ProviderState, options: ConnectOptions): Promise<Transport> {
  // connectTimeout bounds every phase: TCP connect, SSH handshake, authentication, bootstrap.
  const bounded = options.timeout === undefined ? undefined : timeoutSignal(options.timeout, options.signal);
  try {
    return await connectWithin(state, options, bounded?.signal ?? options.signal);
  } finally {
    bounded?.dispose();
  }
}

async function connectWithin(state: ProviderState, options: ConnectOptions, signal: AbortSignal | undefined): Promise<Transport> {
  const { spec } = options;
  const specText = String(spec);
  const targetText = spec.getString('ssh');
  if (!targetText) throw new SpecError(`gateway spec ${JSON.stringify(specText)}: ssh needs a host (ssh=[user@]host[:port])`);
  const target = parseTarget(targetText, specText);
  const o = state.options;

  const hostkey = spec.getString('hostkey');
  if (hostkey !== undefined && hostkey !== 'strict' && hostkey !== 'accept-new') {
    throw new SpecError(`gateway spec ${JSON.stringify(specText)}: hostkey must be strict or accept-new, got ${JSON.stringify(hostkey)}`);
  }
  const keepaliveText = spec.getString('keepalive');
  let keepalive = o.keepalive;
  if (keepaliveText !== undefined) {
    keepalive = Number(keepaliveText);
    if (!Number.isFinite(keepalive) || keepalive < 0) {
      throw new SpecError(`gateway spec ${JSON.stringify(specText)}: keepalive must be a number of seconds (0 disables), got ${JSON.stringify(keepaliveText)}`);
    }
  }
  const identity = spec.getString('identity');
  if (identity !== undefined && !existsSync(expandHome(identity))) {
    // ssh would warn and go on without it; a key asked for by name that is not there is a mistake.
    throw new SpecError(
      `gateway spec ${JSON.stringify(specText)}: the identity file ${expandHome(identity)} does not exist (identity=${identity}); give the path of a private key`,
    );
  }
  const configFile = spec.getString('ssh-config') ?? o.configFile ?? (process.env.TSNET_SSH_CONFIG || undefined);
  const resolveOptions = (t: Target) => ({
    configFile: configFile ? expandHome(configFile) : undefined,
    user: t.user,
    port: t.port,
    resolver: o.configResolver ?? 'auto',
  });
  const resolve = (t: Target) => state.configs.resolve(t.host, resolveOptions(t));
  const cfg = await resolve(target);
  const chain = await resolveChain(cfg, resolve);
  const settings: ConnectionSettings = {
    hostKeyPolicy: (hostkey as HostKeyPolicy | undefined) ?? o.hostKeyPolicy,
    keepalive,
    identity: identity ? expandHome(identity) : undefined,
    auth: o,
    readyTimeout: o.readyTimeout ?? 20_000,
    compression: specFlag(spec, 'compress') ?? o.compression,
    viaGateway: options.via as Gateway | undefined,
    debug: o.debug,
    signal,
  };
  options.signal?.throwIfAborted();

  const launch = runtimeLaunch(spec);
  const node = launch.exe === undefined ? undefined : [launch.exe, ...launch.flags].join(' ');
  const script = { node, runtime: launch.runtime, chdir: spec.getString('chdir'), env: spec.env, nice: spec.getString('nice'), spec: specText };
  const runtimeKey = hostSetupKey(chain, settings, `${launch.runtime} ${node ?? ''}`);
  const setupKey = needsLoginShell(node, launch.runtime) ? runtimeKey : undefined;
  // Node runtimes host spawners for the gateways after them (spawner.ts in @tsnet/bootstrap).
  const spawnKey = launch.runtime === 'node' && o.spawner !== false ? runtimeKey : undefined;
  // Its children inherit the hosting runtime's environment and priority: not those a spec changed.
  const canHost = Object.keys(spec.env ?? {}).length === 0 && spec.getString('nice') === undefined;
  for (let attempt = 0; ; attempt++) {
    // The first gateway to a host runs the login shell and learns; later ones start without it.
    const taken = setupKey !== undefined ? await state.setups.take(setupKey, options.signal) : undefined;
    const marker = `TSNET-READY-${randomBytes(8).toString('hex')}`;
    const endpoint = spawnKey !== undefined && (setupKey === undefined || taken?.setup) ? await state.spawners.take(spawnKey, options.signal) : undefined;
    if (endpoint) {
      try {
        o.debug?.(`${target.host}: starting ${taken?.setup?.node ?? node} through the spawner of an earlier gateway (no sshd session, no shell rc files)`);
        const transport = await startSpawned({
          acquire: () => state.pool.acquire(chain, settings),
          options: o,
          signal: settings.signal,
          script: remoteScript({ ...script, marker, known: taken?.setup, spawned: true }),
          marker,
          host: target.host,
          launch,
          endpoint,
          failure: (error, t, conn) => startFailure(error, t, conn, target.host, launch.exe ?? launch.runtime, launch.runtime),
        });
        state.spawners.reached(spawnKey!);
        return transport;
      } catch (error) {
        if (!(error instanceof SpawnUnavailable)) throw error;
        state.spawners.forget(spawnKey!, endpoint, (error as { unreachable?: boolean }).unreachable === true);
        o.debug?.(`${target.host}: ${error.message}; starting over exec`);
      }
    }
    const hosted = spawnKey !== undefined && canHost ? state.spawners.offer(spawnKey) : undefined;
    const command = remoteCommand({ ...script, marker, learn: taken?.learn !== undefined, known: taken?.setup });
    if (taken?.setup)
      o.debug?.(`${target.host}: starting ${taken.setup.node} without a login shell (runtime path and environment learned by an earlier gateway)`);
    else if (taken?.learn) o.debug?.(`${target.host}: starting ${launch.runtime} through a login shell, learning its path and environment`);
    try {
      const transport = await start(state, options, chain, settings, command, marker, target.host, launch, hosted);
      if (hosted) state.spawners.settle(spawnKey!, hosted, transport);
      taken?.learn?.(parseLearned(transport.readyExtra));
      return transport;
    } catch (error) {
      if (hosted) state.spawners.settle(spawnKey!, hosted, undefined);
      taken?.learn?.(undefined);
      if (taken?.setup && attempt === 0 && (error as { beforeNode?: boolean }).beforeNode === true) {
        // What was learned no longer holds (the runtime moved, a profile changed): learn it again.
        state.setups.forget(setupKey!, taken.setup);
        continue;
      }
      throw error;
    }
  }
}

/** Gateways to one host with one runtime and executable word share what the first of them learned. */
function hostSetupKey(chain: HostConfig[], settings: ConnectionSettings, runtime: string): string {
  const hops = chain.map((c) => `${c.user}@${c.hostname}:${c.port}`).join(' -> ');
  return `${hops}${settings.viaGateway ? ` via ${settings.viaGateway.id}` : ''} runtime ${runtime}`;
}

/** One exec channel running `command` on a connection of the pool, up to the start script's ready marker. */
async function start(
  state: ProviderState,
  _options: ConnectOptions, // its signal and connectTimeout are in settings.signal
  chain: HostConfig[],
  settings: ConnectionSettings,
  command: string,
  marker: string,
  host: string,
  launch: ReturnType<typeof runtimeLaunch>,
  spawner?: SpawnerEndpoint,
): Promise<SshTransport> {
  const o = state.options;
  const t0 = performance.now();
  let conn: SshConnection = await state.pool.acquire(chain, settings);
  const t1 = performance.now();
  let channel: ssh2.ClientChannel;
  for (let attempt = 0; ; attempt++) {
    try {
      channel = await conn.exec(command);
      break;
    } catch (error) {
      conn.release();
      if (isSessionLimit(error) && attempt < 3) {
        // sshd's MaxSessions is reached on this connection: open another one to the same host.
        conn.full = true;
        conn = await state.pool.acquire(chain, settings);
        continue;
      }
      throw new ConnectError(`ssh ${conn.label}: cannot start the remote command: ${(error as Error).message}`, { cause: error });
    }
  }
  const t2 = performance.now();
  const startDone = conn.startBegins();
  const label = `ssh:${host}`;
  const transport = new SshTransport(channel, conn, label, marker, o.receiveWindow, { name: launch.runtime, exe: launch.exe ?? launch.runtime });
  const owned = conn;
  void transport.closed.then(() => owned.release());
  // The bootstrap goes out at once; the shell reads none of it, node's first stage all of it.
  // Frames go out on fd 3 (the channel's stdout, see remote-command.ts); remote stdout and stderr
  // text travel as OUTPUT frames, so each keeps its name and none of it can break the wire.
  channel.write(
    preamble({ wireFd: 3, output: 'frames', stdoutFd: 4, killGroup: true, watchPpid: true, runtime: launch.runtime, ...(spawner ? { spawner } : {}) }),
  );

  const timeout = o.startTimeout ?? 30_000;
  try {
    await deadline(transport.ready, {
      // connectTimeout is in this signal (see connect()): it stops the bootstrap too
      signal: settings.signal,
      toError: (s) => abortError(s, `ssh ${conn.label}: the bootstrap (starting node)`),
      timeout,
      onTimeout: () => {
        throw new ConnectError(`ssh ${conn.label}: the remote shell did not start node within ${timeout} ms (bootstrap)${stderrTail(transport)}`);
      },
    });
  } catch (error) {
    const exit = transport.exitInfo;
    if (!exit) await transport.kill();
    else await transport.closed;
    const failure = startFailure(error as Error, transport, conn, host, launch.exe ?? launch.runtime, launch.runtime);
    // The start script ended before the runtime ran: a learned setup may be what failed.
    if (exit) Object.defineProperty(failure, 'beforeNode', { value: true, enumerable: false });
    startDone();
    throw failure;
  }
  // Until the runtime answers: the HELLO goes out right after the bootstrap's tail.
  void transport.talking.then(startDone);
  if (o.debug) {
    const ms = (a: number, b: number) => `${(b - a).toFixed(1)} ms`;
    o.debug(`${host}: connection ${ms(t0, t1)}, exec channel ${ms(t1, t2)}, remote shell to the start marker ${ms(t2, performance.now())}`);
  }
  return transport;
}

function stderrTail(t: SshTransport): string {
  return formatStderrTail(t.bufferedStderr, 20);
}

function startFailure(error: Error, t: SshTransport, conn: SshConnection, host: string, node: string, runtime: RuntimeName): Error {
  const exit = t.exitInfo;
  const stderr = t.bufferedStderr;
  if (exit?.code === EXIT_NODE_NOT_FOUND && (stderr.includes(`${SCRIPT_TAG} ${runtime} not found`) || /not found/.test(stderr))) {
    return new NodeNotFoundError(host, node, stderr, runtime);
  }
  if (exit?.code === EXIT_CHDIR_FAILED && stderr.includes(SCRIPT_TAG)) {
    return new ConnectError(`ssh ${conn.label}: ${stderr.trim().split('\n').pop()!.replace(`${SCRIPT_TAG} `, '')}`);
  }
  if (exit) {
    const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
    return new ConnectError(`ssh ${conn.label}: the remote command ${how} before node started${stderrTail(t)}`);
  }
  if (error instanceof ConnectError || (error as { name?: string }).name === 'AbortError') return error;
  const lost = conn.lostReason;
  return new ConnectError(`ssh ${conn.label}: ${lost ? lost.reason : error.message}${stderrTail(t)}`, { cause: error });
}

export interface SshProvider extends TransportProvider {
  readonly type: 'ssh';
  /** Open connections of this provider: who, and how many gateways (exec channels) each carries. */
  connections(): Array<{ label: string; channels: number }>;
  /** Closes every connection of this provider (their gateways go down with them). */
  closeAll(): void;
}

/**
 * An ssh transport provider with options given in code (keys, passphrases, a config file…). Register
 * it with `registerTransport(createSsh({...}))` so that `makeGateway('ssh=…')` uses it, or pass it
 * to makeGateway directly.
 */
export function createSsh(options: SshOptions = {}): SshProvider {
  const state: ProviderState = {
    options,
    pool: new ConnectionPool(),
    setups: new HostSetups(),
    configs: new HostConfigCache(),
    spawners: new Spawners(),
  };
  return {
    type: 'ssh',
    connect: (connectOptions) => connect(state, connectOptions),
    connections: () => state.pool.connections().map((c) => ({ label: c.label, channels: c.channels })),
    closeAll: () => {
      for (const c of state.pool.connections()) c.close();
    },
  };
}

/** The default provider: ~/.ssh/config, ssh-agent, ~/.ssh/known_hosts. */
export const ssh: SshProvider = createSsh();
