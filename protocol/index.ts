/**
 * The public API of the protocol layer (protocol/SPEC.md): everything both ends of a keyway
 * connection must agree on, as pure functions. `src/index.ts` re-exports it.
 */
export { WIRE_ERRORS, wireErrorName } from './errors.js';
export type { WireErrorCode, WireErrorName } from './errors.js';
export { ok, fail } from './result.js';
export type { Result } from './result.js';

export type { CryptoProvider, RandomSource } from './crypto/provider.js';
export { createNobleCrypto } from './crypto/noble-provider.js';

export {
  ATT_MTU_MAX,
  ATT_MTU_MIN,
  CHARACTERISTICS,
  LOCK_ID_BYTES,
  LOCK_MODELS,
  SERVICE_UUID,
  attPayloadBytes,
  decodeLockInfo,
  encodeLockInfo,
} from './gatt.js';
export type { LockInfo, LockModel } from './gatt.js';
export {
  STATUS_BITS,
  decodeAdvertisement,
  decodeScanResponse,
  encodeAdvertisement,
  encodeScanResponse,
} from './advertisement.js';
export type { AdvertisementData, LockAdvertisement, ScanResponseData } from './advertisement.js';
export { MAX_MESSAGE_BYTES, decodeFragment, fragment } from './frame-codec.js';
export { Reassembler } from './reassembler.js';
export { REFUSAL_CODES, decodeRefusal, encodeRefusal } from './ble-refusal.js';
export type { RefusalCode } from './ble-refusal.js';
export type { ReassemblerOptions } from './reassembler.js';

export { PROTOCOL_VERSION, SUPPORTED_VERSIONS } from './noise/prologue.js';
export { generateKeyPair } from './noise/handshake-xk.js';
export type { KeyPair } from './noise/handshake-xk.js';
export { DEFAULT_SESSION_LIMITS } from './noise/session-limits.js';
export type { SessionLimits } from './noise/session-limits.js';
export { LockSession, PhoneSession } from './noise/session.js';
export type { LockSessionOptions, PhoneHello, PhoneSessionOptions } from './noise/session.js';

export { MESSAGES, decodeMessage, encodeMessage, syncPushChunks } from './messages.js';
export type { Message, MessageBody, MessageType } from './messages.js';
export {
  checkCredentialDoor,
  checkCredentialPhoneKey,
  checkCredentialValidity,
  decodeCredential,
  encodeCredential,
  signCredential,
  verifyCredential,
} from './formats/credential.js';
export type { Credential, Schedule } from './formats/credential.js';
export { signTimeAnchor, verifyTimeAnchor } from './formats/time-anchor.js';
export type { TimeAnchor } from './formats/time-anchor.js';
export { decodeDoorcodeRecord, encodeDoorcodeRecord } from './formats/doorcode-record.js';
export type { DoorcodeRecord } from './formats/doorcode-record.js';
export { decodeRevocationList, encodeRevocationList } from './formats/revocation.js';
export type { RevocationList } from './formats/revocation.js';
export { openSyncBundle, sealSyncBundle } from './formats/sync-bundle.js';
export type { SyncBundle } from './formats/sync-bundle.js';
export { openAuditUpload, sealAuditUpload } from './formats/audit-upload.js';
export type { AuditRecord, AuditUpload } from './formats/audit-upload.js';

export { DOORCODE_DEFAULTS, assertDayCodesRequest, formatCode } from './doorcode/deriver.js';
export type { DayCodesDeriver, DayCodesRequest } from './doorcode/deriver.js';
export { DoorcodeKernel, createDoorcodeKernel } from './doorcode/kernel.js';
export type { HotpRequest } from './doorcode/kernel.js';
export {
  DOORCODE_KEY_BYTES,
  deriveCodeReference,
  deriveDayKey,
  deriveDoorKey,
  referenceDayCodes,
} from './doorcode/reference.js';
export { dynamicTruncate, hotp, totp, totpCounter } from './doorcode/otp.js';
export type { HotpOptions, OtpHash, TotpOptions } from './doorcode/otp.js';
export {
  addDays,
  assertDayLabel,
  assertTimeZone,
  dayBounds,
  dayLabelAt,
} from './doorcode/day-label.js';
export type { DayBounds } from './doorcode/day-label.js';
export {
  DayTable,
  GRACE_BASE_MS,
  GRACE_DRIFT_PPM,
  GRACE_MAX_MS,
  graceMs,
} from './doorcode/day-table.js';
export type {
  DailyCodeKind,
  DayCodeCheck,
  DayTableConfig,
  DoorcodeClock,
  RevokedSlot,
} from './doorcode/day-table.js';
export { DOORCODE_ERRORS } from './doorcode/errors.js';
export type { DoorcodeErrorCode } from './doorcode/errors.js';
