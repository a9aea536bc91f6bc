/**
 * The one log line per connection of the socket server (`#12 [::1]:50312 ws: served 4.2 s, pid
 * 8812, remote exited with code 0`): how the session ended, and for a failure or a non-zero exit
 * the child's last stderr line, printable ASCII only and at most 200 characters; a session whose
 * stream ended without the exit trailer says so (its client asks the server, exit-records.ts).
 */
export interface SessionEnd {
  id: number;
  peer: string;
  kind: string;
  started: number;
  pid: number | undefined;
  /** Whether a child was ever started. */
  child: boolean;
  exit: { code: number | null; signal: string | null } | null;
  failure: string | null;
  killedBecause: string | null;
  stderrTail: string;
  /** Whether the exit trailer went to a client still connected (undefined: the client was gone). */
  trailer: boolean | undefined;
}

export function sessionLine(end: SessionEnd): string {
  const seconds = ((Date.now() - end.started) / 1000).toFixed(1);
  const exit = end.exit;
  let outcome: string;
  if (end.failure) outcome = `failed: ${end.failure}`;
  else if (!end.child) outcome = 'the client went away before its child was started';
  else if (end.killedBecause) outcome = `${end.killedBecause}; remote killed`;
  else if (exit?.signal) outcome = `remote killed by ${exit.signal}`;
  else outcome = `remote exited with code ${exit?.code ?? '?'}`;
  // The client then asks how the child ended (its stream ended without the trailer).
  if (end.trailer === false && !end.failure && !end.killedBecause) outcome += '; no exit trailer (the wire may end inside a frame)';
  const stderr = end.stderrTail
    .trim()
    .split('\n')
    .pop()
    ?.replace(/[^\x20-\x7e]/g, '?');
  const detail = stderr && (end.failure || (exit?.code ?? 0) !== 0) ? ` (stderr: ${stderr.slice(0, 200)})` : '';
  return `#${end.id} ${end.peer} ${end.kind}: served ${seconds} s, pid ${end.pid ?? '-'}, ${outcome}${detail}`;
}
