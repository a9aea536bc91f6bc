/**
 * The ChannelClosedErrors of half-close and of a close() that drops what the peer still sends
 * (docs/protocol.md, END and CLOSE): one place for their wording, which says what happened and
 * what to do.
 */
import { ChannelClosedError } from '../errors.js';

/** send() after this side's end(). */
export function endedHere(channelId: number, gatewayId: string): ChannelClosedError {
  return new ChannelClosedError(channelId, gatewayId, 'local', 'channel', {
    detail: ' with end(); what the peer sends still arrives',
  });
}

/** receive() once the peer's end() arrived and the queued items were taken. */
export function endedByPeer(channelId: number, gatewayId: string): ChannelClosedError {
  return new ChannelClosedError(channelId, gatewayId, 'remote', 'channel', {
    detail: ' with end(); this side can still send',
  });
}

/** send() after the peer closed (not ended) the channel while this side could still send. */
export function closedByPeer(channelId: number, gatewayId: string): ChannelClosedError {
  return new ChannelClosedError(channelId, gatewayId, 'remote', 'channel', {
    detail: ' while this side could still send: what this side sends is dropped',
  });
}

/** waitClose() after a local close(): `dropped` items the peer sent arrived after it. */
export function droppedAfterClose(channelId: number, gatewayId: string, dropped: number): ChannelClosedError {
  return new ChannelClosedError(channelId, gatewayId, 'local', 'channel', {
    dropped,
    detail: `; ${dropped} item(s) the remote side sent arrived after close() and were dropped: end() stops sending and keeps receiving`,
  });
}
