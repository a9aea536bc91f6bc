import { SpecError } from '../errors.js';

/**
 * The wire options and their limits (docs/protocol.md, limits): what a gateway accepts from its
 * caller (checkWireOptions: a SpecError out of range) and from its peer's handshake (clampInt on
 * the remote side, isInt on the local side). Pure functions, no state.
 */
export interface WireOptions {
  /** Receive window per channel in bytes: how much a peer may send before we read. Default 4 MiB. */
  window?: number;
  /** Largest frame payload in bytes; larger messages travel in pieces. Default 1 MiB. */
  maxFrame?: number;
  /** Bytes queued for the transport above which send() waits. Default 8 MiB. */
  writeHighWater?: number;
  /** Largest single item in bytes, once serialized, either side may send. Default 1 GiB. */
  maxMessage?: number;
}

export const DEFAULT_WINDOW = 4 << 20;
export const DEFAULT_MAX_FRAME = 1 << 20;
export const DEFAULT_MAX_MESSAGE = 1 << 30;
export const DEFAULT_WRITE_HIGH_WATER = 8 << 20;
/** Limits on the options above: credits are u32, frames must fit a window. */
export const MIN_WINDOW = 4096;
export const MAX_WINDOW = 1 << 30;
export const MIN_FRAME = 1024;
export const MAX_MAX_MESSAGE = 2 ** 32 - 1;

/**
 * The largest frame a window allows: 3/4 of it. A reader grants credit a quarter window at a time
 * (creditThreshold), so a sender blocked for credit always gets enough for a whole frame.
 */
export function maxFrameFor(window: number): number {
  return Math.floor((window * 3) / 4);
}

/** Bytes taken by the reader before it grants them back in one CREDIT frame: a quarter window. */
export function creditThreshold(window: number): number {
  return Math.max(1, Math.floor(window / 4));
}

/** Throws SpecError for wire options out of range. */
export function checkWireOptions(options: WireOptions | undefined): void {
  checkOption('window', options?.window, DEFAULT_WINDOW, MIN_WINDOW, MAX_WINDOW);
  checkOption('maxFrame', options?.maxFrame, DEFAULT_MAX_FRAME, MIN_FRAME, MAX_WINDOW);
  checkOption('maxMessage', options?.maxMessage, DEFAULT_MAX_MESSAGE, 1, MAX_MAX_MESSAGE);
  checkOption('writeHighWater', options?.writeHighWater, DEFAULT_WRITE_HIGH_WATER, 0, Number.MAX_SAFE_INTEGER);
}

/** One option: its value, the default when absent, or a SpecError naming it and its range. */
export function checkOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SpecError(`gateway option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** A peer's number brought into range (the remote side adopts the local side's limits this way). */
export function clampInt(v: unknown, min: number, max: number, fallback: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(v)));
}

export function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
