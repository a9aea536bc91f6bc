/**
 * The frame layout and message types: the whole wire vocabulary in one place (docs/protocol.md).
 *
 *   offset  size  field
 *   0       1     magic 0xF7 (never valid in UTF-8, so stray text on the wire is caught at once)
 *   1       1     type (FrameType)
 *   2       1     flags (FrameFlag)
 *   3       1     reserved, must be 0
 *   4       4     channel id, big-endian u32 (0 = the gateway itself)
 *   8       4     payload length, big-endian u32 (at most the negotiated maximum frame size)
 */

export const MAGIC = 0xf7;
export const HEADER_SIZE = 12;
/** Bumped on any incompatible change to frames, message payloads or the handshake. */
export const PROTOCOL_VERSION = 2;

export const FrameType = {
  /** ch 0, worker → master once at start: JSON handshake (version, limits, remote facts). */
  HELLO: 1,
  /** new channel id, master → worker: serialized ExecRequest. */
  EXEC: 2,
  /** channel data; flag MORE means the message continues in the next DATA frame of this channel. */
  DATA: 3,
  /** the sender will send nothing more on this channel and the channel is closed for both sides. */
  CLOSE: 4,
  /** like CLOSE, payload is a serialized error description. */
  CLOSE_ERROR: 5,
  /** payload u32: the receiver freed this many bytes of the channel's window. */
  CREDIT: 6,
  /** new channel id, master → worker: answer with one DATA (status object) and a CLOSE. Needs no exec slot. */
  STATUS: 7,
  /** ch 0, master → worker: finish up and exit. */
  TERMINATE: 8,
  /** ch 0, worker → master: remote stdout (flag STDERR: stderr) bytes, for transports without a side stream. */
  OUTPUT: 9,
  /** half-close (version 2): the sender will send no more DATA on this channel; it still reads. */
  END: 10,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Flags of DATA (MORE) and OUTPUT (STDERR) frames. */
export const FrameFlag = {
  MORE: 1,
  STDERR: 2,
} as const;

/** Flags of a STATUS frame: INFO asks for remoteInfo() facts instead of remoteStatus() counters. */
export const StatusFlag = {
  INFO: 1,
} as const;

export const frameTypeNames: Record<number, string> = Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k]));

export function isFrameType(t: number): t is FrameType {
  return t >= FrameType.HELLO && t <= FrameType.END;
}

/** Writes a frame header into `target` at `offset`. */
export function writeHeader(target: Uint8Array, offset: number, type: number, flags: number, channelId: number, length: number): void {
  target[offset] = MAGIC;
  target[offset + 1] = type;
  target[offset + 2] = flags;
  target[offset + 3] = 0;
  writeU32(target, offset + 4, channelId);
  writeU32(target, offset + 8, length);
}

/** One whole frame as bytes (tests and rare control frames; the gateway writes into batches). */
export function encodeFrame(type: number, flags: number, channelId: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  writeHeader(out, 0, type, flags, channelId, payload.length);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** Big-endian u32 at `offset` (the header fields, CREDIT, the announced length of a large message). */
export function writeU32(target: Uint8Array, offset: number, n: number): void {
  target[offset] = n >>> 24;
  target[offset + 1] = (n >>> 16) & 0xff;
  target[offset + 2] = (n >>> 8) & 0xff;
  target[offset + 3] = n & 0xff;
}

/** A big-endian u32 as 4 bytes of its own. */
export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  writeU32(b, 0, n);
  return b;
}

export function readU32(b: Uint8Array, offset = 0): number {
  return ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
}
