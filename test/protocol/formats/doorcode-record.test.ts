// Permanent doorcode records and revocation lists (protocol/formats/doorcode-record.ts,
// revocation.ts): round trips, limits, validity boundaries, PINs never echoed, hostile bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import {
  checkDoorcodeValidity,
  decodeDoorcodeRecord,
  doorcodeRecordSchema,
  encodeDoorcodeRecord,
  MAX_DOORCODE_RECORD_BYTES,
} from '../../../protocol/formats/doorcode-record.js';
import type { DoorcodeRecord } from '../../../protocol/formats/doorcode-record.js';
import {
  decodeRevocationList,
  encodeRevocationList,
  MAX_REVOCATION_LIST_BYTES,
  MAX_REVOKED_CREDENTIALS,
  MAX_REVOKED_DAYS,
  MAX_REVOKED_DOORCODES,
  MAX_REVOKED_SLOTS_PER_DAY,
  revocationListSchema,
} from '../../../protocol/formats/revocation.js';
import type { RevocationList } from '../../../protocol/formats/revocation.js';
import { propertyRuns } from '../../support/properties.js';
import {
  arbitraryFor,
  DECODER_CODES,
  hostileInputs,
  looseCbor,
  validPool,
} from '../cbor/arbitraries.js';
import { id, LOCK_A, REVOCATION_OVERRIDES, T0 } from './fixtures.js';

const { EXPIRED, NOT_YET_VALID, SCHEMA } = WIRE_ERRORS;

const record: DoorcodeRecord = {
  door: LOCK_A,
  id: id(0xdc, 1),
  pin: '0042917',
  user: id(0xd0, 1),
  notBefore: T0,
  expires: T0 + 1_000,
};

const lists = arbitraryFor(revocationListSchema, REVOCATION_OVERRIDES);

describe('doorcode record', () => {
  it('decode(encode(r)) = r', () => {
    fc.assert(
      fc.property(arbitraryFor(doorcodeRecordSchema), (value) => {
        expect(decodeDoorcodeRecord(encodeDoorcodeRecord(value))).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });

  it('keeps leading zeros of the PIN', () => {
    const decoded = decodeDoorcodeRecord(encodeDoorcodeRecord(record));
    expect(decoded).toMatchObject({ ok: true, value: { pin: '0042917' } });
    expect(encodeDoorcodeRecord(record).length).toBeLessThanOrEqual(MAX_DOORCODE_RECORD_BYTES);
  });

  it.each([
    ['6 digits', '042917'],
    ['8 digits', '00429170'],
    ['a letter', '004291a'],
    ['a space', '004291 '],
    ['full-width digits', '００４２９１７'],
  ])('refuses a PIN of %s without echoing it', (_, pin) => {
    const bytes = encodeCbor(looseCbor(doorcodeRecordSchema, { ...record, pin }));
    const result = decodeDoorcodeRecord(bytes);
    expect(result).toEqual({ ok: false, code: SCHEMA, detail: 'doorcode.pin: expected digits(7)' });
    expect(() => encodeDoorcodeRecord({ ...record, pin })).toThrow(
      /^doorcode\.pin: expected digits\(7\)$/,
    );
  });

  it('refuses expires <= notBefore', () => {
    const bytes = encodeCbor(looseCbor(doorcodeRecordSchema, { ...record, expires: T0 }));
    expect(decodeDoorcodeRecord(bytes)).toMatchObject({
      code: SCHEMA,
      detail: 'doorcode.expires: must be after notBefore',
    });
  });

  it('is valid on [notBefore, expires), to the millisecond; absent bounds are open', () => {
    expect(checkDoorcodeValidity(record, T0 - 1)).toEqual({ ok: false, code: NOT_YET_VALID });
    expect(checkDoorcodeValidity(record, T0)).toEqual({ ok: true, value: true });
    expect(checkDoorcodeValidity(record, T0 + 999)).toEqual({ ok: true, value: true });
    expect(checkDoorcodeValidity(record, T0 + 1_000)).toEqual({ ok: false, code: EXPIRED });
    const open: DoorcodeRecord = {
      door: record.door,
      id: record.id,
      pin: record.pin,
      user: record.user,
    };
    expect(checkDoorcodeValidity(open, 0)).toEqual({ ok: true, value: true });
    expect(checkDoorcodeValidity(open, Number.MAX_SAFE_INTEGER)).toEqual({ ok: true, value: true });
  });

  it('never throws on hostile bytes (SECURITY.md item 26)', () => {
    const valid = validPool(arbitraryFor(doorcodeRecordSchema), encodeDoorcodeRecord);
    fc.assert(
      fc.property(hostileInputs(valid), (bytes) => {
        const result = decodeDoorcodeRecord(bytes);
        if (!result.ok) expect(DECODER_CODES).toContain(result.code);
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});

describe('revocation list', () => {
  it('decode(encode(l)) = l', () => {
    fc.assert(
      fc.property(lists, (value) => {
        expect(decodeRevocationList(encodeRevocationList(value))).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });

  it('holds every array at its maximum within the byte limit', () => {
    const full: RevocationList = {
      version: Number.MAX_SAFE_INTEGER,
      credentials: Array.from({ length: MAX_REVOKED_CREDENTIALS }, (_, i) => id(0xc0, i & 0xff)),
      dailySlots: Array.from({ length: MAX_REVOKED_DAYS }, (_, d) => ({
        day: `202603${(d + 1).toString().padStart(2, '0')}`,
        slots: Array.from({ length: MAX_REVOKED_SLOTS_PER_DAY }, (_, i) => 0xff00 + i),
      })),
      doorcodes: Array.from({ length: MAX_REVOKED_DOORCODES }, (_, i) => id(0xdc, i & 0xff)),
    };
    const bytes = encodeRevocationList(full);
    expect(bytes.length).toBeLessThanOrEqual(MAX_REVOCATION_LIST_BYTES);
    expect(decodeRevocationList(bytes)).toEqual({ ok: true, value: full });
  });

  it.each([
    [
      'a day that is not a date',
      { day: '20260230', slots: [1] },
      'revocations.dailySlots[0].day: expected a calendar date',
    ],
    [
      'a day of 7 digits',
      { day: '2026030', slots: [1] },
      'revocations.dailySlots[0].day: expected digits(8)',
    ],
    [
      'slots out of order',
      { day: '20260301', slots: [5, 3] },
      'revocations.dailySlots[0].slots: expected strictly',
    ],
    [
      'a duplicate slot',
      { day: '20260301', slots: [3, 3] },
      'revocations.dailySlots[0].slots: expected strictly',
    ],
    [
      'a slot over 65535',
      { day: '20260301', slots: [0x10000] },
      'revocations.dailySlots[0].slots[0]: expected uint 0..65535',
    ],
    [
      'a day with no slot',
      { day: '20260301', slots: [] },
      'revocations.dailySlots[0].slots: expected array(1..256)',
    ],
  ])('refuses %s with SCHEMA', (_, day, detail) => {
    const list = { version: 1, credentials: [], dailySlots: [day], doorcodes: [] };
    const result = decodeRevocationList(encodeCbor(looseCbor(revocationListSchema, list)));
    expect(result).toMatchObject({ ok: false, code: SCHEMA });
    if (!result.ok) expect(result.detail).toContain(detail);
  });

  it('never throws on hostile bytes (SECURITY.md item 26)', () => {
    const valid = validPool(lists, encodeRevocationList);
    fc.assert(
      fc.property(hostileInputs(valid), (bytes) => {
        const result = decodeRevocationList(bytes);
        if (!result.ok) expect(DECODER_CODES).toContain(result.code);
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});
