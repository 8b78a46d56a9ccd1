/** The public library API of keyway (`import { ... } from 'keyway'`). */
export type { CryptoProvider, RandomSource } from '../protocol/crypto/provider.js';
export { createNobleCrypto } from '../protocol/crypto/noble-provider.js';
export { createNodeCrypto } from './core/node-crypto-provider.js';
export { DOORCODE_DEFAULTS, formatCode } from '../protocol/doorcode/deriver.js';
export type { DayCodesRequest, DayCodesDeriver } from '../protocol/doorcode/deriver.js';
