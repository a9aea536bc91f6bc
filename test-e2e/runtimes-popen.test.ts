// The channel contract and the value table with a Bun remote and a Deno remote over popen (binaries
// from the npm registry, see scripts/install-runtimes.mjs).
import { describe } from 'vitest';
import { runtimeKind } from './helpers/gateway-kinds.js';
import { runtimePaths } from './helpers/runtimes.js';
import { channelContract } from './suites/channel-contract.js';

const paths = runtimePaths();
describe('Bun over popen', () => channelContract(runtimeKind('bun', paths.bun, 'popen')));
describe('Deno over popen', () => channelContract(runtimeKind('deno', paths.deno, 'popen')));
