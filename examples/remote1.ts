// A module meant to run remotely: importing it locally has no side effects; remoteExec(URL)
// bundles it and calls its default export as fn(channel, kwargs).
import type { Channel } from '@tsnet/core';

export default async function (channel: Channel<string>): Promise<void> {
  await channel.send('initialization complete');
}
