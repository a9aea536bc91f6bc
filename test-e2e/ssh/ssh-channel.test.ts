// The channel contract over ssh= gateways to a loopback sshd.
import { describe } from 'vitest';
import { sshKind } from '../helpers/gateway-kinds.js';
import { channelContract } from '../suites/channel-contract.js';

describe('ssh', () => channelContract(sshKind()));
