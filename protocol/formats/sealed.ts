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
import { assertLength, concatBytes, ID_BYTES, LOCK_SECRET_BYTES } from './common.js';

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
