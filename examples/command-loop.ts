// Drive the remotecmd module's serving loop with a local protocol.
import { makeGateway } from '@tsnet/core';
import type { Command } from './remotecmd.js';

export async function main(): Promise<{ simple: unknown; listdir: unknown }> {
  await using gw = await makeGateway();
  const ch = gw.remoteExec<Command | unknown>(new URL('./remotecmd.ts', import.meta.url));
  await ch.send(['simple', 10] satisfies Command); // execute a function call remotely
  const simple = await ch.receive(); // 11
  await ch.send(['listdir', new URL('.', import.meta.url).pathname] satisfies Command);
  const listdir = ((await ch.receive()) as string[]).includes('remotecmd.ts');
  await ch.close();
  return { simple, listdir };
}
