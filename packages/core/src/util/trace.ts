/**
 * TSNET_DEBUG tracing: `TSNET_DEBUG=gateway,channel,frame,exec` (or `*`) writes one line per
 * event, `tsnet:<area> <gateway id> <what>`, to stderr. The local side reads the variable when
 * core loads; the remote side gets the list in the HELLO (so its lines reach the local stderr
 * with the remote's output). Worker-safe. When off, each call site costs one property read:
 * callers test `tracing.<area>` before building a line.
 */
export const tracing = { gateway: false, channel: false, frame: false, exec: false };
export type TraceArea = keyof typeof tracing;

let sink: (line: string) => void = () => {};

/** Turns the areas named in `list` on (and all others off); lines go to `write`. */
export function setTrace(list: string | undefined, write: (line: string) => void): void {
  const want = (list ?? '').split(',').map((s) => s.trim());
  for (const area of Object.keys(tracing) as TraceArea[]) tracing[area] = want.includes('*') || want.includes(area);
  sink = write;
}

export function trace(area: TraceArea, gatewayId: string, text: string): void {
  try {
    sink(`tsnet:${area} ${gatewayId} ${text}\n`);
  } catch {
    // stderr gone: tracing never fails the traced code
  }
}
