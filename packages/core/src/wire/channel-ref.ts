/**
 * How a channel inside a value is recognised and carried: the brand a Channel carries, and the
 * codec a gateway supplies to turn channels into wire ids and back. Types and one symbol, no state.
 */

/** Marks an object that travels as a channel reference. Channel implements it. */
export const channelBrand: unique symbol = Symbol.for('tsnet.channel');

export interface ChannelLike {
  readonly [channelBrand]: true;
  readonly id: number;
}

/** How channels inside values are turned into wire ids and back; supplied by a gateway. */
export interface ChannelCodec {
  toWire(channel: ChannelLike, path: string): number;
  fromWire(id: number): unknown;
}
