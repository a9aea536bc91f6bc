// Hash files in parallel over a group of gateways: results in input order.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Group } from '@tsnet/core';

export async function main(dir = new URL('.', import.meta.url).pathname): Promise<Array<[string, string]>> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => join(dir, f));
  const group = await Group.open(['popen', 'popen', 'popen', 'popen']);
  try {
    const hashes = await group.map(
      async (file: string) => {
        const { createHash } = await import('node:crypto');
        const { readFile } = await import('node:fs/promises');
        return createHash('sha256')
          .update(await readFile(file))
          .digest('hex');
      },
      files,
      { concurrency: 16 },
    );
    return files.map((f, i) => [f.slice(dir.length).replace(/^\//, ''), hashes[i]!.slice(0, 12)]);
  } finally {
    await group.terminate();
  }
}
