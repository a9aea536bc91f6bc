// Half-close and close() with the peer still sending, over popen (the suite: suites/half-close-contract.ts).
import { describe } from 'vitest';
import { popenKind } from './helpers/gateway-kinds.js';
import { halfCloseContract } from './suites/half-close-contract.js';

describe('half-close over popen', () => halfCloseContract(popenKind));
