// call(), exec(), spawn(), map(), half-close and the hints over socket gateways to a real
// standalone server on 127.0.0.1 (the suites api.test.ts runs over popen).
import { describe } from 'vitest';
import { socketKind } from './helpers/gateway-kinds.js';
import { callExecContract } from './suites/call-exec-contract.js';
import { halfCloseContract } from './suites/half-close-contract.js';
import { mapContract } from './suites/map-contract.js';

describe('call, exec, spawn and hints over socket', () => callExecContract(socketKind()));
describe('group.map and mapIter over socket', () => mapContract(socketKind()));
describe('half-close over socket', () => halfCloseContract(socketKind()));
