// The channel contract over socket= and ws= gateways to a real standalone server.
import { describe } from 'vitest';
import { socketKind } from './helpers/gateway-kinds.js';
import { channelContract } from './suites/channel-contract.js';

describe('socket', () => channelContract(socketKind()));
describe('ws', () => channelContract(socketKind({ websocket: true })));
