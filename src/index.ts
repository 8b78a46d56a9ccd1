/** The public library API of keyway (`import { ... } from 'keyway'`). */
export type { CryptoProvider, RandomSource } from '../protocol/crypto/provider.js';
export { createNobleCrypto } from '../protocol/crypto/noble-provider.js';
export { createNodeCrypto } from './core/node-crypto-provider.js';
export { DOORCODE_DEFAULTS, formatCode } from '../protocol/doorcode/deriver.js';
export type { DayCodesRequest, DayCodesDeriver } from '../protocol/doorcode/deriver.js';
export { DoorcodeKernel, createDoorcodeKernel } from '../protocol/doorcode/kernel.js';
export {
  DOORCODE_KEY_BYTES,
  deriveCodeReference,
  deriveDayKey,
  deriveDoorKey,
  referenceDayCodes,
} from '../protocol/doorcode/reference.js';
export { dynamicTruncate, hotp, totp, totpCounter } from '../protocol/doorcode/otp.js';
export type { HotpOptions, OtpHash, TotpOptions } from '../protocol/doorcode/otp.js';
export {
  addDays,
  assertDayLabel,
  assertTimeZone,
  dayBounds,
  dayLabelAt,
} from '../protocol/doorcode/day-label.js';
export type { DayBounds } from '../protocol/doorcode/day-label.js';
export {
  DayTable,
  GRACE_BASE_MS,
  GRACE_DRIFT_PPM,
  GRACE_MAX_MS,
  graceMs,
} from '../protocol/doorcode/day-table.js';
export type {
  DailyCodeKind,
  DayCodeCheck,
  DayTableConfig,
  DoorcodeClock,
  RevokedSlot,
} from '../protocol/doorcode/day-table.js';
export { DOORCODE_ERRORS } from '../protocol/doorcode/errors.js';
export type { DoorcodeErrorCode } from '../protocol/doorcode/errors.js';
export { KeywayError, InputError } from './core/errors.js';
export {
  bulkCodes,
  deriveCodes,
  CODES_FORMATS,
  MAX_DAYS,
  MAX_SYNC_CODES,
} from './core/bulk-codes.js';
export type {
  BulkCodes,
  BulkCodesOptions,
  CodeRecord,
  CodesField,
  CodesFormat,
  CodesOptions,
  DoorSelector,
} from './core/bulk-codes.js';
