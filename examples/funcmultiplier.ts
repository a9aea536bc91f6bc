// remoteExec a self-contained function: it runs remotely as multiplier(channel, kwargs).
import { type Channel, makeGateway } from '@tsnet/core';

async function multiplier(channel: Channel<number>, kwargs: { factor: number }): Promise<void> {
  for await (const param of channel) {
    await channel.send(param * kwargs.factor);
  }
}

export async function main(): Promise<number[]> {
  await using gw = await makeGateway();
  const channel = gw.remoteExec(multiplier, { factor: 10 });
  const results: number[] = [];
  for (let i = 0; i < 5; i++) {
    await channel.send(i);
    results.push(await channel.receive()); // i * 10
  }
  return results;
}
