/**
 * The exit codes of a remote runtime (docs/protocol.md): what the local side sees when the remote
 * ends by itself. The first stage writes CORRUPT_PAYLOAD into its program text.
 */
export const ExitCode = {
  /** Normal end (TERMINATE, or end of input with nothing running). */
  OK: 0,
  /** An uncaught exception or unhandled rejection in remote code; the crash was reported first. */
  CRASH: 70,
  /** The local side sent something that is not valid tsnet protocol. */
  PROTOCOL: 75,
  /** The local side speaks another protocol version. */
  VERSION: 76,
  /** The remote is another runtime than the spec's `runtime=` (it refused the handshake, naming itself). */
  WRONG_RUNTIME: 78,
  /** The bootstrap payload arrived cut short or corrupted (first stage). */
  CORRUPT_PAYLOAD: 97,
  /** Killed: what a SIGKILL'd process reports (128 + 9), used where the runtime ends itself that way. */
  KILLED: 137,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
