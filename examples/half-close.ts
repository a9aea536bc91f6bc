// Half-close: end() says "no more from me" while the replies still arrive; a pipeline into
// makeFile('w') ends the channel that way, so it finishes on both sides.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeGateway } from '@tsnet/core';

export async function main(): Promise<{ replies: unknown[]; upload: unknown }> {
  const gw = await makeGateway();
  try {
    const ch = gw.remoteExec<number | string>('for await (const n of channel) await channel.send(n * 2); await channel.send("done")');
    for (let i = 0; i < 3; i++) await ch.send(i);
    await ch.end(); // the remote loop ends after the last item
    const replies: unknown[] = [];
    for await (const reply of ch) replies.push(reply); // [0, 2, 4, 'done']

    const upload = gw.remoteExec(`
      let bytes = 0;
      for await (const chunk of channel) bytes += chunk.length;
      await channel.send({ bytes });
    `);
    await pipeline(Readable.from(['hello ', 'world']), upload.makeFile('w'));
    return { replies, upload: await upload.receive() }; // { bytes: 11 }
  } finally {
    await gw.exit();
  }
}
