// A local subprocess gateway has the same working directory as the instantiator.
import { makeGateway } from '@tsnet/core';

export async function main(): Promise<{ remote: string; local: string; same: boolean }> {
  await using gw = await makeGateway();
  const ch = gw.remoteExec<string>("const { cwd } = await import('node:process'); await channel.send(cwd())");
  const remote = await ch.receive();
  return { remote, local: process.cwd(), same: remote === process.cwd() };
}
