/**
 * The contract between the doorcode consumers (lock-side day table, bulk derivation, the cloud)
 * and the two implementations of ARCHITECTURE.md §5: the readable reference
 * (`reference.ts`) and the fast kernel (`kernel.ts`). Both must give identical codes.
 */
import { assertDayLabel } from './day-label.js';

/** Parameters fixed by ARCHITECTURE.md §5. */
export const DOORCODE_DEFAULTS = {
  /** Digits per code (`L`). */
  digits: 7,
  /** Slots per door and day (`S`). */
  slots: 256,
  /** Slots `[0, dailySlots)` are DAILY, the rest DAILY_SINGLE_USE (`S_d`). */
  dailySlots: 192,
  keyVersion: 1,
} as const;

/** `10^L` must stay below 2^31 for RFC 4226 dynamic truncation to cover it. */
export const MIN_DIGITS = 1;
export const MAX_DIGITS = 9;
export const MAX_SLOTS = 0x10000;
export const MAX_KEY_VERSION = 0xffff;

/** A request for the codes of one door on one day. */
export interface DayCodesRequest {
  /** `K_door`, 32 bytes (any length is accepted by HMAC, but §5 fixes 32). */
  readonly doorKey: Uint8Array;
  /** The local calendar date as 8 ASCII digits `YYYYMMDD`. */
  readonly day: string;
  /** u16, default 1. */
  readonly keyVersion: number;
  /** First slot to derive. */
  readonly firstSlot: number;
  /** Number of consecutive slots; `firstSlot + count <= 65536`. */
  readonly count: number;
  /** Code length `L`, 1..9. */
  readonly digits: number;
}

/**
 * Derives `count` consecutive slot codes into `out[outOffset ..]` as integers
 * (`code < 10^digits`; render with `formatCode`). Fast implementations must not allocate per
 * code; the readable reference is exempt, clarity being its purpose.
 */
export type DayCodesDeriver = (
  request: DayCodesRequest,
  out: Uint32Array,
  outOffset?: number,
) => void;

/** Left-pads a code to `digits` ASCII digits, as §5 prescribes. */
export function formatCode(code: number, digits: number): string {
  return code.toString().padStart(digits, '0');
}

/** Throws a TypeError or RangeError naming `name` unless `value` is an integer in `min..max`. */
export function assertInteger(value: number, min: number, max: number, name: string): void {
  if (typeof value !== 'number') throw new TypeError(`${name}: expected a number`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected an integer in ${min}..${max}`);
  }
}

/**
 * Throws a TypeError or RangeError naming the first bad field of a request (never echoing key
 * bytes). Every `DayCodesDeriver` validates with this, so the implementations reject exactly the
 * same requests.
 */
export function assertDayCodesRequest(
  request: DayCodesRequest,
  out: Uint32Array,
  outOffset: number,
): void {
  if (typeof request !== 'object' || request === null) {
    throw new TypeError('request: expected an object');
  }
  if (!(request.doorKey instanceof Uint8Array)) {
    throw new TypeError('request.doorKey: expected a Uint8Array');
  }
  if (request.doorKey.length === 0)
    throw new RangeError('request.doorKey: expected a non-empty key');
  assertDayLabel(request.day, 'request.day');
  assertInteger(request.keyVersion, 0, MAX_KEY_VERSION, 'request.keyVersion');
  assertInteger(request.firstSlot, 0, MAX_SLOTS - 1, 'request.firstSlot');
  assertInteger(request.count, 0, MAX_SLOTS - request.firstSlot, 'request.count');
  assertInteger(request.digits, MIN_DIGITS, MAX_DIGITS, 'request.digits');
  if (!(out instanceof Uint32Array)) throw new TypeError('out: expected a Uint32Array');
  assertInteger(outOffset, 0, out.length, 'outOffset');
  if (outOffset + request.count > out.length) {
    throw new RangeError('out: too short for request.count codes at outOffset');
  }
}
