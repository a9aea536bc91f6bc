import diagnostics from 'node:diagnostics_channel';

/**
 * The diagnostics_channel channels of the host side (for APM tools): each message carries
 * `gatewayId` (and `channelId`). Publishing is guarded by `hasSubscribers` at each call site, so
 * nothing is built when no one listens; a subscriber that throws is Node's business (it reports
 * the error on the next tick), never the gateway's. Host-only (gateway.ts and exec-records.ts).
 */
export const dc = {
  gatewayOpen: diagnostics.channel('tsnet:gateway:open'),
  gatewayClose: diagnostics.channel('tsnet:gateway:close'),
  channelOpen: diagnostics.channel('tsnet:channel:open'),
  channelClose: diagnostics.channel('tsnet:channel:close'),
  execStart: diagnostics.channel('tsnet:exec:start'),
  execEnd: diagnostics.channel('tsnet:exec:end'),
};
