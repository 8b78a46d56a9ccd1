/**
 * The AEAD construction of sync bundles and audit uploads (ARCHITECTURE.md §4 "Sync bundle",
 * §3 "Audit log"): a key derived from the lock's secret, a random nonce, associated data that
 * binds the cleartext header.
 *
 *     K   = HKDF-SHA256(ikm = lock secret, salt = lock id, info = utf8(label), L = 32)  (RFC 5869)
 *     box = nonce(12, from the injected random source) ‖ ChaCha20-Poly1305(K, nonce, aad, pt)
 *                                                                          (RFC 8439 §2.8)
 *
 * Labels: `keyway sync v1`, `keyway audit v1`. Random 96-bit nonces are safe here: a lock sees
 * at most a few bundles and seals at most a few uploads a day, far below the 2^32 messages per
 * key where a collision becomes plausible.
 */
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from '../crypto/provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import { fail } from '../result.js';
import type { Result } from '../result.js';
import { assertLength, bytesEqual, concatBytes, ID_BYTES, LOCK_SECRET_BYTES } from './common.js';

/** What a box adds to its plaintext: the nonce and the tag. */
export const BOX_OVERHEAD_BYTES = AEAD_NONCE_BYTES + AEAD_TAG_BYTES;

const encoder = new TextEncoder();

/** RFC 5869 key of one purpose (`label`) of one lock. */
export function deriveLockKey(
  lockSecret: Uint8Array,
  lockId: Uint8Array,
  label: string,
  crypto: CryptoProvider,
): Uint8Array {
  assertLength(lockSecret, LOCK_SECRET_BYTES, 'lockSecret');
  assertLength(lockId, ID_BYTES, 'lockId');
  return crypto.hkdfSha256(lockSecret, lockId, encoder.encode(label), AEAD_KEY_BYTES);
}

export function sealBox(
  key: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  crypto: CryptoProvider,
): Uint8Array {
  const nonce = crypto.randomBytes(AEAD_NONCE_BYTES);
  return concatBytes(nonce, crypto.aeadSeal(key, nonce, aad, plaintext));
}

/** The plaintext, or `undefined` when the box is too short or does not authenticate. */
export function openBox(
  key: Uint8Array,
  aad: Uint8Array,
  box: Uint8Array,
  crypto: CryptoProvider,
): Uint8Array | undefined {
  if (box.length < BOX_OVERHEAD_BYTES) return undefined;
  const nonce = box.subarray(0, AEAD_NONCE_BYTES);
  return crypto.aeadOpen(key, nonce, aad, box.subarray(AEAD_NONCE_BYTES));
}

/** The cleartext part of a sealed format: whose it is, and the box. */
export interface SealedHeader {
  readonly lockId: Uint8Array;
  readonly box: Uint8Array;
}

/**
 * Opens a decoded sealed header for lock `lockId`: `WRONG_DOOR` when the header names another
 * lock, `AUTH_FAILED` when the box does not authenticate under `keyAndAad(header)` (which binds
 * the header's fields), else the plaintext decoded by `decode`, with the header.
 */
export function openSealed<H extends SealedHeader, T>(
  header: H,
  lockId: Uint8Array,
  name: string,
  keyAndAad: (header: H) => readonly [Uint8Array, Uint8Array],
  decode: (plaintext: Uint8Array) => Result<T>,
  crypto: CryptoProvider,
): Result<T> {
  assertLength(lockId, ID_BYTES, 'lockId');
  if (!bytesEqual(header.lockId, lockId))
    return fail(WIRE_ERRORS.WRONG_DOOR, `${name}: for another lock`);
  const [key, aad] = keyAndAad(header);
  const plaintext = openBox(key, aad, header.box, crypto);
  if (plaintext === undefined) return fail(WIRE_ERRORS.AUTH_FAILED, `${name}: box`);
  return decode(plaintext);
}
