/** The public library API of keyway (`import { ... } from 'keyway'`). */
export * from '../protocol/index.js';
export { createNodeCrypto } from './core/node-crypto-provider.js';
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
