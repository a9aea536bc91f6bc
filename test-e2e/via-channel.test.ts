// The same channel contract over a gateway reached via another (popen//via=…), and over a chain
// of three hops: frames go through the masters' processes, the channels behave the same.
import { describe } from 'vitest';
import { viaKind } from './helpers/gateway-kinds.js';
import { channelContract } from './suites/channel-contract.js';

describe('popen via popen', () => channelContract(viaKind(1)));
describe('popen via a chain of three hops', () => channelContract(viaKind(2)));
