/**
 * A gateway kind (gateway-kinds.ts) for the tests of the enclosing describe: set up before them,
 * with a Group for their gateways; after them the group is terminated (2 s bound), then the kind
 * torn down.
 */
import { type Gateway, Group } from '@tsnet/core';
import { afterAll, beforeAll } from 'vitest';
import type { GatewayKind } from './gateway-kinds.js';

export interface KindGroup {
  /** The tests' group (inside tests and the hooks after useKindGroup()'s). */
  readonly group: Group;
  /** A gateway of the kind in the group, its output ignored; `extra` is appended to its spec. */
  open(extra?: string): Promise<Gateway>;
}

export function useKindGroup(kind: GatewayKind): KindGroup {
  let group: Group | undefined;
  beforeAll(async () => {
    await kind.setup();
    group = new Group();
  });
  afterAll(async () => {
    await group?.terminate({ timeout: 2000 });
    await kind.teardown();
  });
  const handle: KindGroup = {
    get group() {
      if (!group) throw new Error(`useKindGroup(${kind.name}): not set up yet (use it inside a test or a later hook)`);
      return group;
    },
    open: (extra) => handle.group.makeGateway(kind.spec(extra), { output: 'ignore' }),
  };
  return handle;
}
