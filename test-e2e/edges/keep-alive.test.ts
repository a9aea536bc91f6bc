// Issue 21: every transport follows the README's promise that an idle gateway does not keep the
// process alive: a script that opens one, asks remoteInfo() and returns ends by itself (exit 0,
// within the bound), socket= and ws= included, and its remote runtime goes with it.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type GatewayKind, popenKind, socketKind, sshKind } from '../helpers/gateway-kinds.js';
import { survivors } from '../helpers/processes.js';

const FIXTURE = new URL('../fixtures/edges-local.mjs', import.meta.url).pathname;

describe.each([popenKind, sshKind(), socketKind(), socketKind({ websocket: true })] as GatewayKind[])('$name', (kind) => {
  beforeAll(() => kind.setup());
  afterAll(() => kind.teardown());

  test('a script that opens a gateway, asks remoteInfo() and returns ends by itself', { timeout: 30_000 }, async () => {
    const { code, stdout } = await new Promise<{ code: number | string | null; stdout: string }>((resolve) => {
      execFile(process.execPath, [FIXTURE, 'idle', kind.spec()], { timeout: 20_000, killSignal: 'SIGKILL' }, (error, out) =>
        resolve({ code: error ? ((error as { code?: number | string }).code ?? (error as { signal?: string }).signal ?? null) : 0, stdout: out }),
      );
    });
    expect(code).toBe(0);
    const { pid } = JSON.parse(stdout.split('\n')[0]!) as { pid: number };
    expect(await survivors([pid], 5000)).toEqual([]);
  });
});
