// The bundled remote side runs on Node 18 and newer: the channel contract and the value table with
// Node 18, 22 and 24 remotes from this (Node 20) local side, over popen. Binaries from the npm
// registry's per-platform `node-<os>-<arch>` packages (scripts/install-runtimes.mjs).
import { describe } from 'vitest';
import { runtimeKind } from './helpers/gateway-kinds.js';
import { runtimePaths } from './helpers/runtimes.js';
import { channelContract } from './suites/channel-contract.js';

const paths = runtimePaths();
describe('Node 18 over popen', () => channelContract(runtimeKind('node', paths.node18, 'popen')));
describe('Node 22 over popen', () => channelContract(runtimeKind('node', paths.node22, 'popen')));
describe('Node 24 over popen', () => channelContract(runtimeKind('node', paths.node24, 'popen')));
