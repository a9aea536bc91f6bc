// Use a callback instead of receive() and wait for completion.
import { makeGateway } from '@tsnet/core';

export async function main(): Promise<Array<number | null>> {
  await using gw = await makeGateway();
  const channel = gw.remoteExec<number>('for (let i = 0; i < 10; i++) await channel.send(i)');
  const items: Array<number | null> = [];
  channel.setCallback((item) => items.push(item), { endmarker: null });
  await channel.waitClose(); // waits for the remote code to finish and the last callback
  return items; // [0, 1, …, 9, null]
}
