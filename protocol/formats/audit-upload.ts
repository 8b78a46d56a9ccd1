/**
 * Audit uploads (ARCHITECTURE.md §3 "Audit log", "Passive sync"): a chunk of the lock's audit
 * ring, sealed for the cloud; the phone carries it opaque, the cloud dedupes by sequence and
 * acknowledges through a later sync bundle (`auditAck`), after which the lock may trim.
 *
 *     sealed  = { 0: lockId bytes(16), 1: firstSeq uint, 2: count uint, 3: box bytes }
 *     K_audit = HKDF-SHA256(ikm = lock secret, salt = lock id, info = "keyway audit v1", 32)
 *     aad     = lock id ‖ u64be(firstSeq) ‖ u64be(count)
 *     box     = nonce(12) ‖ ChaCha20-Poly1305(K_audit, nonce, aad, canonical CBOR of the upload)
 *
 * Records carry the vendor's access-log vocabulary (method, result), keyway's precise reason
 * code beside it (a wire error code, absent on success), and the credential / user if known.
 * `overflow` counts the records the ring ever dropped, so a gap is never silent.
 */
import {
  arrayOf,
  bytes,
  codec,
  enumeration,
  mapSchema,
  nested,
  optional,
  required,
  uint,
} from '../cbor/schema.js';
import type { Infer } from '../cbor/schema.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import { bytesEqual, concatBytes, idType, timeMs, u64be } from './common.js';
import { BOX_OVERHEAD_BYTES, deriveLockKey, openSealed, sealBox } from './sealed.js';

export const AUDIT_KEY_LABEL = 'keyway audit v1';
/** Records per upload: a sealed upload fits one session message (`messages.ts`). */
export const MAX_AUDIT_RECORDS = 32;
export const MAX_AUDIT_UPLOAD_BYTES = 3 * 1024;
export const MAX_SEALED_AUDIT_UPLOAD_BYTES = MAX_AUDIT_UPLOAD_BYTES + BOX_OVERHEAD_BYTES + 48;

/** The vendor's access-log methods (§3), with keyway's wire numbers. */
export const AUDIT_METHODS = {
  BLE: 0,
  PASSCODE: 1,
  NFC: 2,
  MKO: 3,
  SCHEDULED_LOCK: 4,
  SCHEDULED_UNLOCK: 5,
  MECHANICAL_LOCK: 6,
  TAP_TO_LOCK: 7,
  BLE_LOCK: 8,
  UNKNOWN: 9,
} as const;

/** The vendor's access-log results (§3); `UNKNOWN_TIME_FAILURE` means the clock was invalid. */
export const AUDIT_RESULTS = {
  SUCCESS: 0,
  GUEST_SUCCESS: 1,
  LOCK_SUCCESS: 2,
  OUTSIDE_QUALIFIED_ACCESS: 3,
  UNKNOWN_TIME_FAILURE: 4,
  DEADBOLT_APPLIED: 5,
  INCORRECT: 6,
  UNKNOWN: 7,
} as const;

export const auditRecordSchema = mapSchema('auditRecord', {
  seq: required(0, uint()),
  /** The lock's clock (ms UTC); absent when the clock was invalid. */
  time: optional(1, timeMs),
  method: required(2, enumeration(AUDIT_METHODS)),
  result: required(3, enumeration(AUDIT_RESULTS)),
  /** keyway's precise reason: a wire error code (`errors.ts`, `doorcode/errors.ts`). */
  reason: optional(4, uint({ min: 1, max: 0xff })),
  credential: optional(5, idType),
  user: optional(6, idType),
});

export const auditUploadSchema = mapSchema(
  'auditUpload',
  {
    lockId: required(0, idType),
    firstSeq: required(1, uint()),
    records: required(2, arrayOf(nested(auditRecordSchema), { max: MAX_AUDIT_RECORDS })),
    overflow: required(3, uint()),
  },
  (u) =>
    u.records.every((r, i) => r.seq === u.firstSeq + i)
      ? undefined
      : 'records: sequences must run from firstSeq, one by one',
);

export const sealedAuditUploadSchema = mapSchema('sealedAuditUpload', {
  lockId: required(0, idType),
  firstSeq: required(1, uint()),
  count: required(2, uint({ max: MAX_AUDIT_RECORDS })),
  box: required(
    3,
    bytes({ min: BOX_OVERHEAD_BYTES, max: MAX_AUDIT_UPLOAD_BYTES + BOX_OVERHEAD_BYTES }),
  ),
});

export type AuditRecord = Infer<typeof auditRecordSchema>;
export type AuditUpload = Infer<typeof auditUploadSchema>;
export type AuditMethod = AuditRecord['method'];
export type AuditResult = AuditRecord['result'];
export type AuditUploadHeader = Omit<Infer<typeof sealedAuditUploadSchema>, 'box'>;

const uploadCodec = codec(auditUploadSchema, MAX_AUDIT_UPLOAD_BYTES);
const sealedCodec = codec(sealedAuditUploadSchema, MAX_SEALED_AUDIT_UPLOAD_BYTES);

export function encodeAuditUpload(upload: AuditUpload): Uint8Array {
  return uploadCodec.encode(upload);
}

/** Decodes a plaintext upload. Never throws. */
export function decodeAuditUpload(bytes: Uint8Array): Result<AuditUpload> {
  return uploadCodec.decode(bytes);
}

function auditKeyAndAad(
  lockSecret: Uint8Array,
  lockId: Uint8Array,
  firstSeq: number,
  count: number,
  crypto: CryptoProvider,
): [Uint8Array, Uint8Array] {
  return [
    deriveLockKey(lockSecret, lockId, AUDIT_KEY_LABEL, crypto),
    concatBytes(lockId, u64be(firstSeq), u64be(count)),
  ];
}

/** The lock's side: seals a chunk of its ring with a fresh random nonce. */
export function sealAuditUpload(
  upload: AuditUpload,
  lockSecret: Uint8Array,
  crypto: CryptoProvider,
): Uint8Array {
  const { lockId, firstSeq, records } = upload;
  const [key, aad] = auditKeyAndAad(lockSecret, lockId, firstSeq, records.length, crypto);
  const box = sealBox(key, aad, encodeAuditUpload(upload), crypto);
  return sealedCodec.encode({ lockId, firstSeq, count: records.length, box });
}

/** The cloud's side: the cleartext header, to find the lock's secret and dedupe. */
export function decodeAuditUploadHeader(bytes: Uint8Array): Result<AuditUploadHeader> {
  const sealed = sealedCodec.decode(bytes);
  if (!sealed.ok) return sealed;
  const { lockId, firstSeq, count } = sealed.value;
  return ok({ lockId, firstSeq, count });
}

/**
 * The cloud's side: the upload, if sealed by `lockId` under `lockSecret`. `TOO_LARGE` /
 * `DECODE` / `SCHEMA` for a malformed header, `WRONG_DOOR` for a header naming another lock,
 * `AUTH_FAILED` when the box does not open, `SCHEMA` when the body disagrees with the header.
 * Never throws on any `bytes`.
 */
export function openAuditUpload(
  bytes: Uint8Array,
  lockSecret: Uint8Array,
  lockId: Uint8Array,
  crypto: CryptoProvider,
): Result<AuditUpload> {
  const sealed = sealedCodec.decode(bytes);
  if (!sealed.ok) return sealed;
  const header = sealed.value;
  const upload = openSealed(
    header,
    lockId,
    'sealedAuditUpload',
    (h) => auditKeyAndAad(lockSecret, lockId, h.firstSeq, h.count, crypto),
    decodeAuditUpload,
    crypto,
  );
  if (!upload.ok) return upload;
  const { value } = upload;
  if (
    !bytesEqual(value.lockId, lockId) ||
    value.firstSeq !== header.firstSeq ||
    value.records.length !== header.count
  ) {
    return fail(
      WIRE_ERRORS.SCHEMA,
      'auditUpload: lock id, firstSeq or count differs from the header',
    );
  }
  return upload;
}
