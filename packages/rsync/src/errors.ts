/**
 * The errors of @tsnet/rsync. Both are TsnetErrors with a stable code; when the remote side of a
 * sync throws one, it arrives as a RemoteError whose `remoteCode` is the same code.
 */
import { TsnetError } from '@tsnet/core';

/** A sync could not run or finish: misuse (no targets), an I/O failure, a target that failed. */
export class RSyncError extends TsnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'TSNET_ERR_RSYNC' });
  }
}

/**
 * The other side named a path that would leave the destination (`..`, an absolute path, a name
 * under something that is not a directory of the list) or that is not in the list it was sent.
 * Nothing has been written for the message that carried it.
 */
export class UnsafePathError extends TsnetError {
  readonly path: string;
  constructor(path: string, why: string) {
    super(
      `refusing the path ${JSON.stringify(path)} sent by the other side: ${why}. Nothing was written for it; ` +
        'the other side is not a @tsnet/rsync peer of this version, or it is compromised.',
      { code: 'TSNET_ERR_UNSAFE_PATH' },
    );
    this.path = path;
  }
}
