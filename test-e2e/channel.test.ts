// The channel contract over a direct popen gateway (the suite: suites/channel-contract.ts).
import { popenKind } from './helpers/gateway-kinds.js';
import { channelContract } from './suites/channel-contract.js';

channelContract(popenKind);
