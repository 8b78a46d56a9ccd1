/** The public library API of keyway (`import { ... } from 'keyway'`). */
export type { CryptoProvider, RandomSource } from '../protocol/crypto/provider.js';
export { createNobleCrypto } from '../protocol/crypto/noble-provider.js';
export { createNodeCrypto } from './core/node-crypto-provider.js';
export { DOORCODE_DEFAULTS, formatCode } from '../protocol/doorcode/deriver.js';
export type { DayCodesRequest, DayCodesDeriver } from '../protocol/doorcode/deriver.js';
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
