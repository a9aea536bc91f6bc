// Create channels and send them over an existing channel.
import { makeGateway } from '@tsnet/core';

export async function main(): Promise<[string, string]> {
  await using gw = await makeGateway();
  const channel = gw.remoteExec(`
    const [ch1, ch2] = await channel.receive();
    await ch2.send('world');
    await ch1.send('hello');
  `);
  const c1 = gw.newChannel<string>();
  const c2 = gw.newChannel<string>();
  await channel.send([c1, c2]);
  return [await c1.receive(), await c2.receive()]; // ['hello', 'world']
}
