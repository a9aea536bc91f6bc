import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BootstrapError } from '@tsnet/core/worker';
import type { BootConfig } from './boot-config.js';
import { bundleHash, HEADER_MAGIC, SERVER_PART_MARKER } from './first-stage.js';

export type { BootConfig } from './boot-config.js';
export { bundleHash, FIRST_STAGE, SERVER_PART_MARKER } from './first-stage.js';
export { encodeTrailer, FrameScanner } from './frame-scanner.js';
export { LineError, LineReader } from './line-reader.js';
export {
  defaultExe,
  firstStageArgs,
  RUNTIMES,
  type RuntimeKeys,
  type RuntimeLaunch,
  type RuntimeName,
  runtimeLaunch,
} from './runtime-launch.js';
/** The socket server's handshake and stream helpers, shared with @tsnet/transport-socket. */
export * as socketProtocol from './socket-protocol.js';

/** Path of the bundled remote side (also the standalone server file to copy to hosts). */
export const BOOTSTRAP_FILE: string = fileURLToPath(new URL('../dist/standalone/tsnet-bootstrap.js', import.meta.url));

let cached: { code: Buffer; hash: string } | undefined;

/** The worker part of the bundle (what is injected) and its hash (what the first stage checks), read once. */
export function bundle(): { code: Buffer; hash: string } {
  if (!cached) {
    let file: Buffer;
    try {
      file = readFileSync(BOOTSTRAP_FILE);
    } catch (error) {
      throw new BootstrapError(`@tsnet/bootstrap: ${BOOTSTRAP_FILE} is missing; build the package (npm run build) or reinstall it`, { cause: error });
    }
    const end = file.indexOf(SERVER_PART_MARKER, 0, 'latin1');
    if (end < 0) throw new BootstrapError(`@tsnet/bootstrap: ${BOOTSTRAP_FILE} has no worker part; rebuild the package (npm run build) or reinstall it`);
    const code = file.subarray(0, end);
    cached = { code, hash: bundleHash(code) };
  }
  return cached;
}

/** What is written to the remote's stdin before any frame: the header line and the bundle. */
export function preamble(config: BootConfig): Buffer {
  const { code, hash } = bundle();
  const header = `${HEADER_MAGIC} ${code.length} ${hash} ${JSON.stringify(config)}\n`;
  return Buffer.concat([Buffer.from(header, 'latin1'), code]);
}
