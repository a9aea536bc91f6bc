// remoteExec a whole module.
import { makeGateway } from '@tsnet/core';

export async function main(): Promise<string> {
  await using gw = await makeGateway();
  const ch = gw.remoteExec<string>(new URL('./remote1.ts', import.meta.url));
  return await ch.receive(); // initialization complete
}
