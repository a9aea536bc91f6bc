// Execute source in a subprocess and talk to it over a channel.
import { makeGateway } from '@tsnet/core';

export async function main(): Promise<number> {
  await using gw = await makeGateway();
  const channel = gw.remoteExec<number>('channel.send((await channel.receive()) + 1)');
  await channel.send(1);
  return await channel.receive(); // 2 (await before the gateway is disposed)
}
