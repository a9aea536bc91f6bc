// The channel contract and the value table with a Bun remote and a Deno remote over ssh to a real
// sshd on 127.0.0.1 (one sshd per runtime; binaries from the npm registry). Node 18, 22 and 24 over
// ssh: node-versions.test.ts.
import { describe } from 'vitest';
import { runtimeKind } from './helpers/gateway-kinds.js';
import { runtimePaths } from './helpers/runtimes.js';
import { binaryWire } from './suites/binary-wire.js';
import { channelContract } from './suites/channel-contract.js';

const paths = runtimePaths();
describe('Bun over ssh', () => {
  const kind = runtimeKind('bun', paths.bun, 'ssh');
  channelContract(kind);
  binaryWire(kind);
});
describe('Deno over ssh', () => {
  const kind = runtimeKind('deno', paths.deno, 'ssh');
  channelContract(kind);
  binaryWire(kind);
});
