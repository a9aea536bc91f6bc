// A runtime that is missing, or an executable that is not the runtime the spec names: a
// BootstrapError naming the path and the runtime, within a bound; bad runtime keys: a SpecError.
import { BootstrapError, makeGateway, SpecError } from '@tsnet/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runtimeKind } from './helpers/gateway-kinds.js';
import { runtimePaths } from './helpers/runtimes.js';

const paths = runtimePaths();
const quiet = { output: 'ignore' as const, connectTimeout: 10_000 };

/** The error makeGateway(spec) rejects with, and how long it took. */
async function failure(spec: string): Promise<{ error: BootstrapError; ms: number }> {
  const t0 = Date.now();
  const error = (await makeGateway(spec, quiet).then(
    async (gw) => {
      await gw.exit();
      throw new Error(`${spec} opened a gateway`);
    },
    (e: unknown) => e,
  )) as BootstrapError;
  return { error, ms: Date.now() - t0 };
}

describe('popen', () => {
  test.each([
    ['an executable that is no runtime at all', 'bun', '/usr/bin/true', /died during bootstrap.*\n.*runtime=bun with the executable "\/usr\/bin\/true"/s],
    ['Node where Bun is asked for', 'bun', process.execPath, /runtime=bun was asked for, but ".*" is node \d+\.\d+\.\d+: point exe= at a bun executable/],
    ['Bun where Deno is asked for', 'deno', paths.bun, /died during bootstrap.*Script not found "eval".*runtime=deno with the executable ".*bun"/s],
    ['Deno where Bun is asked for', 'bun', paths.deno, /died during bootstrap.*runtime=bun with the executable ".*deno"/s],
    ['a missing executable', 'bun', '/nonexistent/bun', /cannot start the remote runtime "\/nonexistent\/bun".*ENOENT.*runtime=bun\/\/exe=/],
  ])('%s', async (_what, runtime, exe, message) => {
    const { error, ms } = await failure(`popen//runtime=${runtime}//exe=${exe}`);
    expect(error).toBeInstanceOf(BootstrapError);
    expect(error.code).toBe('TSNET_ERR_BOOTSTRAP');
    expect(error.message).toMatch(message);
    expect(ms).toBeLessThan(10_000);
  });

  test('node= pointing at Bun is refused: node= means runtime=node', async () => {
    const { error } = await failure(`popen//node=${paths.bun}`);
    expect(error).toBeInstanceOf(BootstrapError);
    expect(error.message).toMatch(/runtime=node was asked for, but ".*bun" is bun \d+\.\d+\.\d+/);
  });

  test.each([
    ['popen//runtime=perl', /runtime must be one of node, bun, deno, got "perl"/],
    ['popen//runtime=bun//node=/usr/bin/node', /node=PATH is shorthand for runtime=node\/\/exe=PATH; give either/],
    ['popen//node=/usr/bin/node//exe=/usr/bin/node', /give either node= or runtime=\/exe=/],
    ['popen//exe', /exe needs a value/],
  ])('%s is a SpecError', async (spec, message) => {
    await expect(makeGateway(spec)).rejects.toSatisfy((e) => e instanceof SpecError && message.test((e as Error).message));
  });
});

describe('ssh', () => {
  const kind = runtimeKind('bun', paths.bun, 'ssh');
  beforeAll(() => kind.setup());
  afterAll(() => kind.teardown());

  test('Node where Bun is asked for is refused, naming the remote path', async () => {
    const { error, ms } = await failure(kind.spec(`//runtime=bun//exe=${process.execPath}`));
    expect(error).toBeInstanceOf(BootstrapError);
    expect(error.message).toMatch(/runtime=bun was asked for, but ".*" is node/);
    expect(ms).toBeLessThan(10_000);
  });

  test('a missing Deno names the runtime and what to do', async () => {
    const { error } = await failure(kind.spec('//runtime=deno//exe=/nonexistent/deno'));
    expect(error).toBeInstanceOf(BootstrapError);
    expect(error.message).toMatch(/deno not found on .*install Deno there, or pass exe=\/path\/to\/deno.*looked for "\/nonexistent\/deno"/s);
  });
});
