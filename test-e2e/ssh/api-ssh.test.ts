/**
 * call(), exec(), spawn(), map(), half-close and the hints over SSH gateways to a real OpenSSH sshd on
 * 127.0.0.1 (the same suites as api.test.ts runs over popen).
 */
import { describe } from 'vitest';
import type { GatewayKind } from '../helpers/gateway-kinds.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { callExecContract } from '../suites/call-exec-contract.js';
import { halfCloseContract } from '../suites/half-close-contract.js';
import { mapContract } from '../suites/map-contract.js';

function sshKind(): GatewayKind {
  let sshd: Sshd | undefined;
  return {
    name: 'ssh',
    async setup() {
      sshd = await startSshd();
    },
    async teardown() {
      await sshd?.stop();
    },
    // node= skips the login shell's PATH lookup: faster, and the default is tested in ssh.test.ts
    spec: (extra = '') => `ssh=${sshd!.alias}//ssh-config=${sshd!.sshConfig}//node=${process.execPath}${extra}`,
    parentPid: async () => 0,
  };
}

describe('call, exec, spawn and hints over ssh', () => callExecContract(sshKind()));
describe('group.map and mapIter over ssh', () => mapContract(sshKind()));
describe('half-close over ssh', () => halfCloseContract(sshKind()));
