/**
 * An ssh gateway to a real sshd on 127.0.0.1 (test-e2e's helper), as the `via=` master of command
 * gateways: `podman=web//via=<id>` then runs podman on the sshd's host through that gateway.
 */
import type { Gateway, Group } from '@tsnet/core';
import { type Sshd, startSshd } from '../../../../test-e2e/helpers/sshd.js';

export interface SshMaster {
  sshd: Sshd;
  gateway: Gateway;
  id: string;
  stop(): Promise<void>;
}

export async function sshMaster(group: Group, id = 'ssh0'): Promise<SshMaster> {
  const sshd = await startSshd();
  try {
    const gateway = await group.makeGateway(`ssh=${sshd.alias}//ssh-config=${sshd.sshConfig}//node=${process.execPath}//id=${id}`);
    return {
      sshd,
      gateway,
      id,
      stop: async () => {
        await gateway.exit().catch(() => {});
        await sshd.stop();
      },
    };
  } catch (error) {
    await sshd.stop();
    throw error;
  }
}
