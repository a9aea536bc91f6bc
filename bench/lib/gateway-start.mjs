// How long a gateway takes to start, as cmd-start.mjs and socket-open.mjs measure it.
import { makeGateway } from '@tsnet/core';

/**
 * One gateway started, used once and closed: `open` is makeGateway(spec) until it resolves, `full`
 * that plus a one-message remote round trip and exit() (ms).
 */
export async function timeGatewayStart(spec) {
  const t0 = performance.now();
  const gw = await makeGateway(spec, { output: 'ignore' });
  const t1 = performance.now();
  await gw.remoteExec('channel.send(1)').receive();
  await gw.exit();
  return { open: t1 - t0, full: performance.now() - t0 };
}

/** The median, 90th percentile and minimum of `xs`. */
export function spread(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), min: s[0] };
}

/** `median / p90 / min` of a spread(), one decimal each, padded to a table column. */
export const formatSpread = (s) => `${s.median.toFixed(1)} / ${s.p90.toFixed(1)} / ${s.min.toFixed(1)}`.padEnd(22);
