// Retrieve file contents through the servefiles module (over ssh in the seed; popen here).
import { makeGateway } from '@tsnet/core';

export async function main(files = ['/etc/hostname', new URL('../package.json', import.meta.url).pathname]): Promise<Record<string, number>> {
  await using gw = await makeGateway();
  const channel = gw.remoteExec<string | Uint8Array>(new URL('./servefiles.ts', import.meta.url));
  const sizes: Record<string, number> = {};
  for (const fn of files) {
    await channel.send(fn);
    const content = (await channel.receive()) as Uint8Array;
    sizes[fn] = content.length;
  }
  await channel.close();
  return sizes;
}
