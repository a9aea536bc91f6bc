/**
 * `@tsnet/core/worker`: what the bootstrap bundles into the remote runtime. Everything reachable
 * from this file runs on every supported remote runtime (Node 18 and up, bun, deno) and never
 * imports a host-only module (acorn, eslint-scope, esbuild, the host Gateway, groups);
 * `scripts/check-bootstrap.mjs` walks the import graph from here to check that.
 * Not a stable public API.
 */
export { Channel } from './channel/channel.js';
export { BootstrapError } from './errors.js';
export type { ExecRequest } from './exec/executor.js';
export { execute } from './exec/executor.js';
export { WorkerGateway } from './gateway/worker-gateway.js';
export { builtin } from './io/builtin.js';
export { type DirectReadHooks, directRead, nextReadBuffer, READ_SIZE } from './io/direct-read.js';
export { openRawPipe, type RawPipe, rawPipeOf } from './io/raw-pipe.js';
export type { Transport, TransportExit } from './spec/transport-types.js';
export { withTimeout } from './util/deadline.js';
export { killGroup, STDIO_GRACE_MS } from './util/process-group.js';
export { ExitCode } from './wire/exit-code.js';
export { encodeFrame, FrameType, HEADER_SIZE, MAGIC, PROTOCOL_VERSION, readU32 } from './wire/frame.js';
export { FrameDecoder } from './wire/frame-decoder.js';
