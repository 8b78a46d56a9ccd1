/**
 * The readable reference of the daily doorcodes, ARCHITECTURE.md §5, byte for byte over
 * @noble/hashes. The fast kernel (`kernel.ts`) must match it bit for bit; the reference favours
 * clarity over speed and allocates per code, which the kernel must not.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { assertDayLabel } from './day-label.js';
import type { DayCodesDeriver } from './deriver.js';
import {
  DOORCODE_DEFAULTS,
  assertDayCodesRequest,
  assertInteger,
  MAX_DIGITS,
  MAX_KEY_VERSION,
  MAX_SLOTS,
  MIN_DIGITS,
} from './deriver.js';
import { dynamicTruncate } from './otp.js';

/** `K_door` and `K_day` are 32 bytes (§5). */
export const DOORCODE_KEY_BYTES = 32;

const DOOR_KEY_INFO = utf8ToBytes('keyway dc v1');
const DAY_KEY_LABEL = utf8ToBytes('day');
const CODE_LABEL = utf8ToBytes('code');
const EMPTY_SALT = new Uint8Array(0);
/** Lone surrogates have no UTF-8 encoding; TextEncoder would map them all to U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function assertKey(key: Uint8Array, name: string): void {
  if (!(key instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array`);
  if (key.length === 0) throw new RangeError(`${name}: expected a non-empty key`);
}

/** `u16be(value)`, the encoding §5 uses for key versions and slots. */
function u16be(value: number): Uint8Array {
  return Uint8Array.of(value >>> 8, value & 0xff);
}

/**
 * §5 `K_door = HKDF-SHA256(ikm = K_property, salt = empty, info = "keyway dc v1" ‖ utf8(doorId))`,
 * 32 bytes (RFC 5869). Run by the cloud at commissioning; the lock only ever holds `K_door`.
 */
export function deriveDoorKey(propertyKey: Uint8Array, doorId: string): Uint8Array {
  assertKey(propertyKey, 'propertyKey');
  if (typeof doorId !== 'string') throw new TypeError('doorId: expected a string');
  if (doorId.length === 0) throw new RangeError('doorId: expected a non-empty id');
  if (LONE_SURROGATE.test(doorId))
    throw new RangeError('doorId: expected well-formed UTF-16 (no lone surrogates)');
  return hkdf(
    sha256,
    propertyKey,
    EMPTY_SALT,
    concatBytes(DOOR_KEY_INFO, utf8ToBytes(doorId)),
    DOORCODE_KEY_BYTES,
  );
}

/** §5 `K_day = HMAC-SHA256(K_door, "day" ‖ D ‖ u16be(keyVersion))`, `D` the 8 ASCII digits. */
export function deriveDayKey(
  doorKey: Uint8Array,
  day: string,
  keyVersion: number = DOORCODE_DEFAULTS.keyVersion,
): Uint8Array {
  assertKey(doorKey, 'doorKey');
  assertDayLabel(day);
  assertInteger(keyVersion, 0, MAX_KEY_VERSION, 'keyVersion');
  return hmac(sha256, doorKey, concatBytes(DAY_KEY_LABEL, utf8ToBytes(day), u16be(keyVersion)));
}

/**
 * §5 `code(s) = DT(HMAC-SHA256(K_day, "code" ‖ u16be(s))) mod 10^L`, with `DT` the RFC 4226
 * §5.3 dynamic truncation. Returned as an integer; `formatCode` adds the zero padding.
 */
export function deriveCodeReference(
  dayKey: Uint8Array,
  slot: number,
  digits: number = DOORCODE_DEFAULTS.digits,
): number {
  assertKey(dayKey, 'dayKey');
  assertInteger(slot, 0, MAX_SLOTS - 1, 'slot');
  assertInteger(digits, MIN_DIGITS, MAX_DIGITS, 'digits');
  return dynamicTruncate(hmac(sha256, dayKey, concatBytes(CODE_LABEL, u16be(slot)))) % 10 ** digits;
}

/** The reference `DayCodesDeriver`: one `K_day`, then one HMAC per slot. */
export const referenceDayCodes: DayCodesDeriver = (request, out, outOffset = 0) => {
  assertDayCodesRequest(request, out, outOffset);
  const dayKey = deriveDayKey(request.doorKey, request.day, request.keyVersion);
  for (let i = 0; i < request.count; i++) {
    out[outOffset + i] = deriveCodeReference(dayKey, request.firstSlot + i, request.digits);
  }
};
