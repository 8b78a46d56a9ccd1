/**
 * Pieces the keyway formats share (ARCHITECTURE.md §4): identifier sizes, the weekly window of
 * credential schedules and door schedules, and the byte helpers of the signing and sealing
 * constructions. Times on the wire are unsigned integers of milliseconds since the Unix epoch,
 * UTC (the unit of `Clock.now()`, §2), at most 2^53 − 1.
 */
import { bytes, mapSchema, required, uint } from '../cbor/schema.js';
import type { Infer } from '../cbor/schema.js';

/** Lock (door), credential, user and doorcode ids are 16 random bytes chosen by the cloud. */
export const ID_BYTES = 16;
/** A lock's secret, installed at commissioning; the sync and audit keys derive from it. */
export const LOCK_SECRET_BYTES = 32;
/** The nonce a lock reports in its status, for time anchors bound to it. */
export const LOCK_NONCE_BYTES = 16;

export const idType = bytes(ID_BYTES);
/** An instant: ms since the Unix epoch, UTC. */
export const timeMs = uint();

/** Days-of-week bits of a weekly window: bit 0 is Monday … bit 6 is Sunday (ISO 8601 order). */
export const WEEKDAY_BITS = 0x7f;
export const MINUTES_PER_DAY = 1440;

/**
 * A weekly window in local wall-clock time of a time zone named next to it: on each day whose
 * bit is set, from minute `start` (inclusive) to minute `end` (exclusive) after local midnight.
 * A window that crosses midnight is written as two windows.
 */
export const weeklyWindowSchema = mapSchema(
  'window',
  {
    days: required(0, uint({ min: 1, max: WEEKDAY_BITS })),
    start: required(1, uint({ max: MINUTES_PER_DAY - 1 })),
    end: required(2, uint({ min: 1, max: MINUTES_PER_DAY })),
  },
  (w) => (w.start < w.end ? undefined : 'end: must be after start'),
);

export type WeeklyWindow = Infer<typeof weeklyWindowSchema>;

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A safe integer as 8 bytes, big-endian. */
export function u64be(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('u64be: expected a safe uint');
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(n / 0x1_0000_0000));
  view.setUint32(4, n % 0x1_0000_0000);
  return out;
}

/**
 * Equality of two byte strings whose lengths are public, in time independent of where they
 * differ (nonces and keys compared on the lock).
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function assertLength(value: Uint8Array, length: number, name: string): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array`);
  if (value.length !== length) throw new RangeError(`${name}: expected ${length} bytes`);
}
