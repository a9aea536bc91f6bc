/**
 * The remote side, bundled by build.mjs into dist/agent.js (with hash-wasm and ignore inside) and
 * run by remoteExec: `kwargs.role` says whether it receives into `kwargs.destDir` (a push) or scans
 * and sends `kwargs.root` (a pull). It ends when its part is done; an error closes the channel with
 * it (the local side gets a RemoteError carrying the error's code).
 */
import { createHasher } from './hash.js';
import type { Link } from './protocol.js';
import { type ReceiveOptions, receive } from './receiver.js';
import { scan } from './scan.js';
import { sendTree } from './sender.js';

export interface AgentArgs extends ReceiveOptions {
  role: 'receive' | 'send';
  destDir?: string;
  root?: string;
}

export async function main(channel: Link, kwargs: AgentArgs): Promise<void> {
  if (kwargs.role === 'receive') {
    await receive(channel, kwargs.destDir!, kwargs); // it sends its report
    return;
  }
  const tree = await scan(kwargs.root!, {
    exclude: kwargs.exclude,
    ignoreFiles: kwargs.ignoreFiles,
    hasher: kwargs.checksum ? await createHasher() : undefined,
  });
  const [result] = await sendTree(kwargs.root!, tree, [{ link: channel }]);
  if (result?.status === 'rejected') throw result.reason;
}
