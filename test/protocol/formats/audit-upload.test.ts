// Sealed audit uploads (protocol/formats/audit-upload.ts): the vendor vocabulary, consecutive
// sequences, the K_audit construction checked against node:crypto, tampering, hostile bytes.
import { createDecipheriv, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codec } from '../../../protocol/cbor/schema.js';
import { encodeCbor } from '../../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import {
  AUDIT_KEY_LABEL,
  AUDIT_METHODS,
  AUDIT_RESULTS,
  auditUploadSchema,
  decodeAuditUpload,
  decodeAuditUploadHeader,
  encodeAuditUpload,
  MAX_AUDIT_RECORDS,
  MAX_AUDIT_UPLOAD_BYTES,
  MAX_SEALED_AUDIT_UPLOAD_BYTES,
  openAuditUpload,
  sealAuditUpload,
  sealedAuditUploadSchema,
} from '../../../protocol/formats/audit-upload.js';
import type { AuditUpload } from '../../../protocol/formats/audit-upload.js';
import { propertyRuns } from '../../support/properties.js';
import { node, PROVIDERS } from '../crypto/both-providers.js';
import {
  arbitraryFor,
  DECODER_CODES,
  hostileInputs,
  looseCbor,
  validPool,
} from '../cbor/arbitraries.js';
import { id, LOCK_A, LOCK_B, LOCK_SECRET_A, LOCK_SECRET_B, T0 } from './fixtures.js';

const { AUTH_FAILED, SCHEMA, WRONG_DOOR } = WIRE_ERRORS;
const header = codec(sealedAuditUploadSchema, MAX_SEALED_AUDIT_UPLOAD_BYTES);

const upload: AuditUpload = {
  lockId: LOCK_A,
  firstSeq: 41,
  records: [
    {
      seq: 41,
      time: T0,
      method: 'BLE',
      result: 'SUCCESS',
      credential: id(0xc0, 1),
      user: id(0xd0, 1),
    },
    { seq: 42, time: T0 + 5, method: 'PASSCODE', result: 'INCORRECT', reason: 0x43 },
    { seq: 43, method: 'BLE', result: 'UNKNOWN_TIME_FAILURE', reason: WIRE_ERRORS.CLOCK_INVALID },
  ],
  overflow: 2,
};

/** Uploads whose records run from firstSeq one by one: a filter would find too few. */
const uploads = arbitraryFor(
  auditUploadSchema,
  new Map([
    [
      auditUploadSchema,
      (u: Record<string, unknown>) => {
        const firstSeq = Math.min(
          Number(u['firstSeq']),
          Number.MAX_SAFE_INTEGER - MAX_AUDIT_RECORDS,
        );
        const records = (u['records'] as readonly object[]).map((r, i) => ({
          ...r,
          seq: firstSeq + i,
        }));
        return { ...u, firstSeq, records };
      },
    ],
  ]),
);

describe('audit upload: plaintext', () => {
  it('decode(encode(u)) = u', () => {
    fc.assert(
      fc.property(uploads, (value) => {
        expect(decodeAuditUpload(encodeAuditUpload(value))).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });

  it('uses the vendor access-log vocabulary of ARCHITECTURE.md §3', () => {
    expect(Object.keys(AUDIT_METHODS)).toEqual([
      'BLE',
      'PASSCODE',
      'NFC',
      'MKO',
      'SCHEDULED_LOCK',
      'SCHEDULED_UNLOCK',
      'MECHANICAL_LOCK',
      'TAP_TO_LOCK',
      'BLE_LOCK',
      'UNKNOWN',
    ]);
    expect(Object.keys(AUDIT_RESULTS)).toEqual([
      'SUCCESS',
      'GUEST_SUCCESS',
      'LOCK_SUCCESS',
      'OUTSIDE_QUALIFIED_ACCESS',
      'UNKNOWN_TIME_FAILURE',
      'DEADBOLT_APPLIED',
      'INCORRECT',
      'UNKNOWN',
    ]);
  });

  it('fits the limit with the most records', () => {
    const records = Array.from({ length: MAX_AUDIT_RECORDS }, (_, i) => ({
      seq: Number.MAX_SAFE_INTEGER - MAX_AUDIT_RECORDS + i,
      time: Number.MAX_SAFE_INTEGER,
      method: 'SCHEDULED_UNLOCK' as const,
      result: 'OUTSIDE_QUALIFIED_ACCESS' as const,
      reason: 0xff,
      credential: id(0xc0, i),
      user: id(0xd0, i),
    }));
    const largest = {
      lockId: LOCK_A,
      firstSeq: records[0]?.seq ?? 0,
      records,
      overflow: Number.MAX_SAFE_INTEGER,
    };
    expect(encodeAuditUpload(largest).length).toBeLessThanOrEqual(MAX_AUDIT_UPLOAD_BYTES);
    const sealed = sealAuditUpload(largest, LOCK_SECRET_A, node);
    expect(openAuditUpload(sealed, LOCK_SECRET_A, LOCK_A, node)).toEqual({
      ok: true,
      value: largest,
    });
  });

  it.each<[string, object, string]>([
    [
      'a gap in sequences',
      { records: [upload.records[0], { ...upload.records[1], seq: 43 }] },
      'auditUpload.records: sequences must run from firstSeq, one by one',
    ],
    [
      'an unknown method',
      { records: [{ ...upload.records[0], method: 'WAVE' }] },
      'auditUpload.records[0].method: expected one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9',
    ],
    [
      'reason 0',
      { records: [{ ...upload.records[0], reason: 0 }] },
      'auditUpload.records[0].reason: expected uint 1..255',
    ],
  ])('refuses %s with SCHEMA', (_, change, detail) => {
    const bytes = encodeCbor(looseCbor(auditUploadSchema, { ...upload, ...change }));
    expect(decodeAuditUpload(bytes)).toEqual({ ok: false, code: SCHEMA, detail });
  });
});

describe.each(PROVIDERS)('audit upload: sealed ($name)', (crypto) => {
  const sealed = sealAuditUpload(upload, LOCK_SECRET_A, crypto);

  it('opens for the cloud with the lock secret', () => {
    expect(openAuditUpload(sealed, LOCK_SECRET_A, LOCK_A, crypto)).toEqual({
      ok: true,
      value: upload,
    });
    expect(decodeAuditUploadHeader(sealed)).toEqual({
      ok: true,
      value: { lockId: LOCK_A, firstSeq: 41, count: 3 },
    });
  });

  it('follows the construction: HKDF(secret, salt = lock id, "keyway audit v1"), AAD = id ‖ u64be(first) ‖ u64be(count)', () => {
    const key = new Uint8Array(hkdfSync('sha256', LOCK_SECRET_A, LOCK_A, AUDIT_KEY_LABEL, 32));
    const decoded = header.decode(sealed);
    if (!decoded.ok) throw new Error('fixture');
    const { box } = decoded.value;
    const decipher = createDecipheriv('chacha20-poly1305', key, box.subarray(0, 12), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from([...LOCK_A, 0, 0, 0, 0, 0, 0, 0, 41, 0, 0, 0, 0, 0, 0, 0, 3]), {
      plaintextLength: box.length - 28,
    });
    decipher.setAuthTag(box.subarray(box.length - 16));
    const plaintext = Buffer.concat([
      decipher.update(box.subarray(12, box.length - 16)),
      decipher.final(),
    ]);
    expect(new Uint8Array(plaintext)).toEqual(encodeAuditUpload(upload));
  });

  it('WRONG_DOOR for an upload of another lock; AUTH_FAILED when relabelled or sealed with another secret', () => {
    const other = sealAuditUpload({ ...upload, lockId: LOCK_B }, LOCK_SECRET_B, crypto);
    expect(openAuditUpload(other, LOCK_SECRET_A, LOCK_A, crypto)).toMatchObject({
      code: WRONG_DOOR,
    });
    const decoded = header.decode(other);
    if (!decoded.ok) throw new Error('fixture');
    const relabelled = header.encode({ ...decoded.value, lockId: LOCK_A });
    expect(openAuditUpload(relabelled, LOCK_SECRET_A, LOCK_A, crypto)).toMatchObject({
      code: AUTH_FAILED,
    });
    expect(openAuditUpload(sealed, LOCK_SECRET_B, LOCK_A, crypto)).toMatchObject({
      code: AUTH_FAILED,
    });
  });

  it('AUTH_FAILED for a changed first sequence or count, or a flipped bit', () => {
    const decoded = header.decode(sealed);
    if (!decoded.ok) throw new Error('fixture');
    for (const change of [{ firstSeq: 40 }, { firstSeq: 42 }, { count: 2 }, { count: 4 }]) {
      const bytes = header.encode({ ...decoded.value, ...change });
      expect(openAuditUpload(bytes, LOCK_SECRET_A, LOCK_A, crypto)).toMatchObject({
        code: AUTH_FAILED,
      });
    }
    const box = Uint8Array.from(decoded.value.box);
    box[20] = (box[20] ?? 0) ^ 0x80;
    const bytes = header.encode({ ...decoded.value, box });
    expect(openAuditUpload(bytes, LOCK_SECRET_A, LOCK_A, crypto)).toMatchObject({
      code: AUTH_FAILED,
    });
  });

  it('decode(open(seal(u))) = u for generated uploads', () => {
    fc.assert(
      fc.property(uploads, (value) => {
        const bytes = sealAuditUpload(value, LOCK_SECRET_A, crypto);
        expect(openAuditUpload(bytes, LOCK_SECRET_A, value.lockId, crypto)).toEqual({
          ok: true,
          value,
        });
      }),
      { numRuns: propertyRuns(100, 10_000) },
    );
  });
});

describe('audit upload: hostile bytes (SECURITY.md item 26)', () => {
  const sealed = validPool(
    uploads.map((u) => ({ ...u, lockId: LOCK_A })),
    (u) => sealAuditUpload(u, LOCK_SECRET_A, node),
  );
  const plain = validPool(uploads, encodeAuditUpload);
  const open = (bytes: Uint8Array) => openAuditUpload(bytes, LOCK_SECRET_A, LOCK_A, node);

  it.each([
    ['openAuditUpload', open, sealed, [AUTH_FAILED, WRONG_DOOR]],
    ['decodeAuditUploadHeader', decodeAuditUploadHeader, sealed, []],
    ['decodeAuditUpload', decodeAuditUpload, plain, []],
  ] as const)('%s never throws and returns a typed error', (_, decode, valid, extra) => {
    fc.assert(
      fc.property(hostileInputs(valid), (bytes) => {
        const result = decode(bytes);
        if (!result.ok) expect([...DECODER_CODES, ...extra]).toContain(result.code);
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});
