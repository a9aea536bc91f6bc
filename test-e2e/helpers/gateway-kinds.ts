// The kinds of gateway the shared suites run over. A kind makes specs for makeGateway() in the
// default group; `via` kinds first open the master(s) they go through, the ssh kind a loopback
// sshd (helpers/sshd.ts), the socket kind a real standalone server (transport-socket's helper).
// Where a transport differs on purpose, the kind says so (and why) instead of the suite branching
// on its name. Runtime kinds start Bun, Deno or another Node, over popen or ssh (runtimeKind).
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { type Gateway, makeGateway } from '@tsnet/core';
import { type RunningServer, startServer, tempDir, writeToken } from '../../packages/transport-socket/test/helpers/server.js';
import { descendants, processName } from './processes.js';
import { type Sshd, startSshd } from './sshd.js';

export interface GatewayKind {
  readonly name: string;
  /** Opens what the kind needs (its masters, its server). */
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A spec of this kind, with `extra` keys appended (`'//id=x'`). */
  spec(extra?: string): string;
  /** The pids the remote runtime's parent may have: this process, the master's runtime, the sshd session, the server. */
  parentPids(): Promise<number[]>;
  /** Where the remote runtime starts when the spec names no chdir=. */
  readonly cwd: string;
  /**
   * Set when the transport refuses the process keys (chdir=, env:, nice=, node=) with a SpecError
   * instead of honouring them; says why.
   */
  readonly refusesProcessKeys?: string;
  /** What opening a gateway with node=/nonexistent/node is rejected with. */
  readonly badNode: RegExp;
  /**
   * Set when a gateway that kills its remote (exit({ timeout }) running out) resolves before the
   * remote process is gone, because another process does the killing; says why.
   */
  readonly killedAfterClose?: string;
  /** The runtime the remote must be; default: this process's Node. */
  readonly runtime?: RuntimeExpectation;
}

/** What a kind's remote runtime reports, and the spec keys that choose it. */
export interface RuntimeExpectation {
  name: 'node' | 'bun' | 'deno';
  executable: string;
  /** The key of process.versions that names the runtime's version, and that version. */
  versionKey: string;
  version: string;
  /** Spec keys that choose this runtime (`//runtime=bun//exe=…`). */
  keys: string;
  /** Spec keys naming a missing executable of it, and what the error says. */
  missing: { keys: string; error: RegExp };
}

/** This process's Node, as the default kinds start it. */
export function localNode(kind: GatewayKind): RuntimeExpectation {
  return {
    name: 'node',
    executable: process.execPath,
    versionKey: 'node',
    version: process.versions.node,
    keys: `//node=${process.execPath}`,
    missing: { keys: '//node=/nonexistent/node', error: kind.badNode },
  };
}

/** The version `exe --version` prints: `v18.20.8`, `1.4.5`, `deno 2.9.6 (…)`. */
function versionOf(exe: string): string {
  const out = execFileSync(exe, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return /(\d+\.\d+\.\d+)/.exec(out)![1]!;
}

/**
 * A kind whose remote is `runtime` at `exe`, over popen or over ssh to a real sshd on 127.0.0.1
 * (started by the first setup of the describe block, stopped by its last teardown, so that suites
 * in one block share it). Over ssh its gateways start in this process's working directory (chdir=),
 * so that they find this checkout's packages as popen's do.
 */
export function runtimeKind(runtime: 'node' | 'bun' | 'deno', exe: string, transport: 'popen' | 'ssh'): GatewayKind {
  let sshd: Sshd | undefined;
  let starting: Promise<Sshd> | undefined;
  let users = 0;
  const version = versionOf(exe);
  const keys = runtime === 'node' ? `//node=${exe}` : `//runtime=${runtime}//exe=${exe}`;
  const missingKeys = runtime === 'node' ? '//node=/nonexistent/node' : `//runtime=${runtime}//exe=/nonexistent/${runtime}`;
  const which = runtime === 'node' ? 'node=' : 'exe=';
  const missingError =
    transport === 'popen' ? new RegExp(`cannot start the remote runtime.*${which}`) : new RegExp(`^${runtime} not found on tsnet-test: .*${which}`);
  // A spec without runtime keys of its own gets this kind's.
  const withKeys = (extra: string) => (/\/\/(node|runtime|exe)=/.test(extra) ? extra : `${keys}${extra}`);
  return {
    name: `${runtime} ${version} over ${transport}`,
    runtime: { name: runtime, executable: exe, versionKey: runtime, version, keys, missing: { keys: missingKeys, error: missingError } },
    async setup() {
      users++;
      if (transport === 'ssh') sshd ??= await (starting ??= startSshd());
    },
    async teardown() {
      if (--users > 0) return;
      await sshd?.stop();
      sshd = undefined;
      starting = undefined;
    },
    spec: (extra = '') =>
      transport === 'popen'
        ? `popen${withKeys(extra)}`
        : `ssh=${sshd!.alias}//ssh-config=${sshd!.sshConfig}${/\/\/chdir=/.test(extra) ? '' : `//chdir=${process.cwd()}`}${withKeys(extra)}`,
    // over ssh the runtime is exec'd by the session's shell: its parent is the session's sshd process
    parentPids: async () => (transport === 'popen' ? [process.pid] : descendants(sshd!.pid).filter((pid) => processName(pid) === 'sshd')),
    cwd: process.cwd(),
    badNode: missingError,
  };
}

const LOCAL_BAD_NODE = /cannot start the remote runtime.*node=/;

export const popenKind: GatewayKind = {
  name: 'popen',
  async setup() {},
  async teardown() {},
  spec: (extra = '') => `popen${extra}`,
  parentPids: async () => [process.pid],
  cwd: process.cwd(),
  badNode: LOCAL_BAD_NODE,
};

/** `popen//via=…` through a chain of `hops` popen masters (1: one master). */
export function viaKind(hops = 1): GatewayKind {
  const masters: Gateway[] = [];
  const ids = Array.from({ length: hops }, (_, i) => `via-master-${i}`);
  return {
    name: hops === 1 ? 'popen via popen' : `popen via ${hops} hops`,
    async setup() {
      for (const [i, id] of ids.entries()) {
        masters.push(await makeGateway(`popen//id=${id}${i > 0 ? `//via=${ids[i - 1]}` : ''}`, { output: 'ignore' }));
      }
    },
    async teardown() {
      for (const m of masters.reverse()) await m.exit();
    },
    spec: (extra = '') => `popen//via=${ids.at(-1)}${extra}`,
    parentPids: async () => [(await masters.at(-1)!.remoteInfo()).pid],
    cwd: process.cwd(),
    badNode: LOCAL_BAD_NODE,
  };
}

/**
 * `ssh=` to a private sshd on 127.0.0.1 (throwaway keys and config; ~/.ssh is never read). The
 * runtime is this machine's node, named by node= unless the case names its own (no login shell).
 */
export function sshKind(): GatewayKind {
  let sshd: Sshd | undefined;
  return {
    name: 'ssh',
    async setup() {
      sshd = await startSshd();
    },
    async teardown() {
      await sshd?.stop();
    },
    spec(extra = '') {
      const node = extra.includes('//node=') ? '' : `//node=${process.execPath}`;
      return `ssh=${sshd!.alias}//ssh-config=${sshd!.sshConfig}${node}${extra}`;
    },
    // node is exec'd by the session's shell, so its parent is that session's sshd process.
    parentPids: async () => descendants(sshd!.pid).filter((pid) => processName(pid) === 'sshd'),
    // An SSH session starts in the user's home directory, as `ssh host cmd` does.
    cwd: userInfo().homedir,
    badNode: /^node not found on tsnet-test: install Node ≥ 18 there, or pass node=/,
  };
}

/**
 * `socket=` (or, with `websocket`, `ws=ws://…`) to a real standalone server (`node
 * tsnet-bootstrap.js serve`) on 127.0.0.1, with a token.
 */
export function socketKind(options: { websocket?: boolean } = {}): GatewayKind {
  const type = options.websocket ? 'ws' : 'socket';
  let server: RunningServer | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  let tokenFile = '';
  return {
    name: type,
    async setup() {
      dir = tempDir();
      tokenFile = writeToken(dir.path);
      server = await startServer(['--listen', '127.0.0.1:0', '--token-file', tokenFile]);
    },
    async teardown() {
      await server?.stop();
      dir?.remove();
    },
    spec: (extra = '') => `${type === 'ws' ? 'ws=ws://' : 'socket='}${server!.address}//token-file=${tokenFile}${extra}`,
    // Each gateway is a fresh child of the server.
    parentPids: async () => [server!.pid],
    cwd: process.cwd(), // the server's, which runs here
    refusesProcessKeys: 'the remote runs where and as the server decides',
    badNode: new RegExp(`node= is not supported on ${type} gateways`),
    killedAfterClose: 'the client closes the connection, and the server kills the remote when it sees that',
  };
}
