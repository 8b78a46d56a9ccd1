/**
 * The permanent doorcode record (ARCHITECTURE.md §3 "Access types": PERMANENT, a 7-digit code
 * that needs a sync). The cloud generates the PIN, unique on its door; the record reaches the
 * lock only inside a sealed sync bundle (`sync-bundle.ts`), which gives it confidentiality and
 * integrity, so the record itself is not signed.
 *
 * The PIN is text of exactly 7 ASCII digits, so leading zeros survive. It is never logged:
 * schema errors name the field and the expected form, never the value.
 */
import { codec, mapSchema, optional, required, text } from '../cbor/schema.js';
import type { Infer } from '../cbor/schema.js';
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import { idType, timeMs } from './common.js';

export const PERMANENT_PIN_DIGITS = 7;
export const MAX_DOORCODE_RECORD_BYTES = 128;

export const doorcodeRecordSchema = mapSchema(
  'doorcode',
  {
    /** The lock id. */
    door: required(0, idType),
    /** The cloud's id of the code, named by revocations. */
    id: required(1, idType),
    pin: required(2, text({ min: PERMANENT_PIN_DIGITS, max: PERMANENT_PIN_DIGITS, digits: true })),
    user: required(3, idType),
    notBefore: optional(4, timeMs),
    expires: optional(5, timeMs),
  },
  (r) =>
    r.notBefore !== undefined && r.expires !== undefined && r.notBefore >= r.expires
      ? 'expires: must be after notBefore'
      : undefined,
);

export type DoorcodeRecord = Infer<typeof doorcodeRecordSchema>;

const recordCodec = codec(doorcodeRecordSchema, MAX_DOORCODE_RECORD_BYTES);

export function encodeDoorcodeRecord(record: DoorcodeRecord): Uint8Array {
  return recordCodec.encode(record);
}

/** Never throws. */
export function decodeDoorcodeRecord(bytes: Uint8Array): Result<DoorcodeRecord> {
  return recordCodec.decode(bytes);
}

/**
 * Valid on `[notBefore, expires)` like a credential; an absent bound is open. `nowMs` is the
 * lock's own clock; a record with either bound fails closed when that clock is invalid, which
 * the firmware checks before calling this.
 */
export function checkDoorcodeValidity(record: DoorcodeRecord, nowMs: number): Result<true> {
  if (record.notBefore !== undefined && nowMs < record.notBefore) {
    return fail(WIRE_ERRORS.NOT_YET_VALID);
  }
  if (record.expires !== undefined && nowMs >= record.expires) return fail(WIRE_ERRORS.EXPIRED);
  return ok(true);
}
