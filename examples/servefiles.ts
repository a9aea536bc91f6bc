// Serves the contents of files named on the channel, until the channel closes.
import type { Channel } from '@tsnet/core';

export default async function servefiles(channel: Channel<string | Uint8Array>): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  for await (const path of channel) {
    await channel.send(await readFile(path as string));
  }
}
