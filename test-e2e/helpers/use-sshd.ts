/**
 * One private sshd (sshd.ts) for a test file: started before the file's tests, stopped after them.
 * With `registerSsh`, the ssh transport is registered with that sshd's client config (no agent)
 * for the file's duration, so `ssh=<alias>` needs no ssh-config=; the default provider is put back
 * afterwards. A failed start fails the file's tests (sshd is required, never skipped).
 */
import { registerTransport } from '@tsnet/core';
import { createSsh, ssh } from '@tsnet/transport-ssh';
import { afterAll, beforeAll } from 'vitest';
import { type Sshd, type SshdOptions, startSshd } from './sshd.js';

export interface TestSshd {
  /** The running sshd (inside tests and the hooks after useSshd()'s). */
  readonly sshd: Sshd;
  /** `ssh=<alias>//ssh-config=<its client config>//node=<this node>`, then `extra`. */
  spec(extra?: string): string;
}

export function useSshd(options: SshdOptions & { registerSsh?: boolean } = {}): TestSshd {
  const { registerSsh, ...sshdOptions } = options;
  let running: Sshd | undefined;
  beforeAll(async () => {
    running = await startSshd(sshdOptions);
    if (registerSsh) registerTransport(createSsh({ configFile: running.sshConfig, agent: false }));
  });
  afterAll(async () => {
    if (registerSsh) registerTransport(ssh);
    await running?.stop();
  });
  const handle: TestSshd = {
    get sshd() {
      if (!running) throw new Error('useSshd(): the sshd is not running yet (use it inside a test or a later hook)');
      return running;
    },
    spec: (extra = '') => `ssh=${handle.sshd.alias}//ssh-config=${handle.sshd.sshConfig}//node=${process.execPath}${extra}`,
  };
  return handle;
}
