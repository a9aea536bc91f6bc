// The bundled remote side runs on Node 18 and newer: the channel contract and the value table with
// Node 18, 22 and 24 remotes from this (Node 20) local side, over popen and over ssh to a real sshd
// on 127.0.0.1 (one per version). Binaries from the npm registry's per-platform `node-<os>-<arch>`
// packages (scripts/install-runtimes.mjs).
import { describe } from 'vitest';
import { runtimeKind } from './helpers/gateway-kinds.js';
import { nodeRemotes } from './helpers/runtimes.js';
import { channelContract } from './suites/channel-contract.js';

for (const transport of ['popen', 'ssh'] as const) {
  describe.each(nodeRemotes())(`Node %s over ${transport}`, (_major, exe) => channelContract(runtimeKind('node', exe, transport)));
}
