// A module that serves synchronous calls into its functions: a small command loop.
import type { Channel } from '@tsnet/core';

export const commands = {
  simple: (arg: number) => arg + 1,
  listdir: async (dir: string) => (await import('node:fs/promises')).readdir(dir),
};
export type Command = { [K in keyof typeof commands]: [K, ...Parameters<(typeof commands)[K]>] }[keyof typeof commands];

export default async function serve(channel: Channel<unknown>): Promise<void> {
  // Ends when the local side closes the channel.
  for await (const item of channel) {
    const [name, ...args] = item as Command;
    const fn = commands[name] as (...a: unknown[]) => unknown;
    await channel.send(await fn(...args));
  }
}
