// call(), exec(), spawn(), map() and the hints over popen gateways (the suites: suites/call-exec-contract.ts, suites/map-contract.ts).
import { describe } from 'vitest';
import { popenKind } from './helpers/gateway-kinds.js';
import { callExecContract } from './suites/call-exec-contract.js';
import { mapContract } from './suites/map-contract.js';

describe('call, exec, spawn and hints over popen', () => callExecContract(popenKind));
describe('group.map and mapIter over popen', () => mapContract(popenKind));
