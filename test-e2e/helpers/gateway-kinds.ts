// The kinds of gateway the shared suites run over. A kind makes specs for makeGateway() in the
// default group; `via` kinds first open the master(s) they go through; runtime kinds start Bun,
// Deno or another Node (popen or over a real sshd, see runtimeKind).
import { execFileSync } from 'node:child_process';
import { type Gateway, makeGateway, type RemoteInfo } from '@tsnet/core';
import { processName, type Sshd, startSshd } from './sshd.js';

export interface GatewayKind {
  readonly name: string;
  /** Opens what the kind needs (its masters). */
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A spec of this kind, with `extra` keys appended (`'//id=x'`). */
  spec(extra?: string): string;
  /** The remote runtime's expected parent: this process, or the master's runtime (`info`: the remote's). */
  parentPid(info: RemoteInfo): Promise<number>;
  /** The runtime the remote must be; default: this process's Node. */
  readonly runtime?: RuntimeExpectation;
  /** fd 1 is the wire (ssh): remote code must not write to it natively (wire.test.ts covers that). */
  readonly fd1IsWire?: boolean;
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
export function localNode(): RuntimeExpectation {
  return {
    name: 'node',
    executable: process.execPath,
    versionKey: 'node',
    version: process.versions.node,
    keys: `//node=${process.execPath}`,
    missing: { keys: '//node=/nonexistent/node', error: /cannot start the remote runtime.*node=/ },
  };
}

/** The version `exe --version` prints: `v18.20.8`, `1.4.5`, `deno 2.9.6 (…)`. */
function versionOf(exe: string): string {
  const out = execFileSync(exe, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return /(\d+\.\d+\.\d+)/.exec(out)![1]!;
}

/**
 * A kind whose remote is `runtime` at `exe`, over popen or over ssh to a real sshd on 127.0.0.1
 * (started in setup, one per kind; its gateways start in this process's working directory).
 */
export function runtimeKind(runtime: 'node' | 'bun' | 'deno', exe: string, transport: 'popen' | 'ssh'): GatewayKind {
  let sshd: Sshd | undefined;
  let starting: Promise<Sshd> | undefined;
  let users = 0;
  const version = versionOf(exe);
  const keys = runtime === 'node' ? `//node=${exe}` : `//runtime=${runtime}//exe=${exe}`;
  const missingKeys = runtime === 'node' ? '//node=/nonexistent/node' : `//runtime=${runtime}//exe=/nonexistent/${runtime}`;
  const expectation: RuntimeExpectation = {
    name: runtime,
    executable: exe,
    versionKey: runtime,
    version,
    keys,
    missing: {
      keys: missingKeys,
      error:
        transport === 'popen'
          ? new RegExp(`cannot start the remote runtime.*${runtime === 'node' ? 'node=' : 'exe='}`)
          : new RegExp(`${runtime} not found on .*${runtime === 'node' ? 'node=' : 'exe='}`),
    },
  };
  // A spec without runtime keys of its own gets this kind's; without chdir=, ssh starts in our cwd.
  const withKeys = (extra: string) => (/\/\/(node|runtime|exe)=/.test(extra) ? extra : `${keys}${extra}`);
  return {
    name: `${runtime} ${version} over ${transport}`,
    runtime: expectation,
    fd1IsWire: transport === 'ssh',
    // suites in one describe share the sshd: the last teardown stops it
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
    // over ssh, the session's sshd process starts the runtime (every step of the start script execs)
    parentPid: async (info) => (transport === 'popen' ? process.pid : processName(info.ppid)?.startsWith('sshd') ? info.ppid : -1),
  };
}

export const popenKind: GatewayKind = {
  name: 'popen',
  async setup() {},
  async teardown() {},
  spec: (extra = '') => `popen${extra}`,
  parentPid: async () => process.pid,
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
    parentPid: async () => (await masters.at(-1)!.remoteInfo()).pid,
  };
}
