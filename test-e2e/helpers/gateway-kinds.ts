// The kinds of gateway the shared suites run over. A kind makes specs for makeGateway() in the
// default group; `via` kinds first open the master(s) they go through. ssh and socket kinds join
// this list when their transports land.
import { type Gateway, makeGateway } from '@tsnet/core';

export interface GatewayKind {
  readonly name: string;
  /** Opens what the kind needs (its masters). */
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A spec of this kind, with `extra` keys appended (`'//id=x'`). */
  spec(extra?: string): string;
  /** The remote runtime's expected parent: this process, or the master's runtime. */
  parentPid(): Promise<number>;
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
