/**
 * call(), exec(), spawn(), map(), half-close and the hints over SSH gateways to a real OpenSSH sshd
 * on 127.0.0.1 (the same suites as api.test.ts and half-close.test.ts run over popen).
 */
import { describe } from 'vitest';
import { sshKind } from '../helpers/gateway-kinds.js';
import { callExecContract } from '../suites/call-exec-contract.js';
import { halfCloseContract } from '../suites/half-close-contract.js';
import { mapContract } from '../suites/map-contract.js';

describe('call, exec, spawn and hints over ssh', () => callExecContract(sshKind()));
describe('group.map and mapIter over ssh', () => mapContract(sshKind()));
describe('half-close over ssh', () => halfCloseContract(sshKind()));
