/**
 * The pure `CryptoProvider` (ARCHITECTURE.md §1) on @noble/curves, @noble/ciphers and
 * @noble/hashes. It is the reference the node:crypto provider in src/core must match bit for bit,
 * including which malformed inputs are rejected (SECURITY.md, Crypto).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, equalBytes } from '@noble/curves/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type { CryptoProvider, RandomSource } from './provider.js';
import { checkedProvider } from './input-checks.js';

const Point = ed25519.Point;
/** RFC 8032 §5.1: the order L of the prime-order subgroup. */
const L = Point.Fn.ORDER;

/**
 * RFC 8032 §5.1.3 strict decoding: `y < p`, and `x = 0` with the sign bit set is refused.
 * Returns `undefined` for any encoding that is not a canonical curve point.
 */
function decodePoint(bytes: Uint8Array): EdwardsPoint | undefined {
  try {
    return Point.fromBytes(bytes, false);
  } catch {
    return undefined;
  }
}

/**
 * RFC 8032 §5.1.7 with the cofactorless equation `[S]B = R + [k]A'`, checked as "the encoding of
 * `[S]B - [k]A'` equals the received R bytes". The RFC allows this form; it is the one OpenSSL
 * uses, so both providers accept exactly the same signatures (noble's own `verify` is cofactored
 * and would also accept an R carrying a small-order component). A non-canonical or small-order
 * public key and `S >= L` are refused before any arithmetic.
 */
function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const r = signature.subarray(0, 32);
  const s = bytesToNumberLE(signature.subarray(32));
  if (s >= L) return false;
  const a = decodePoint(publicKey);
  if (a === undefined || a.isSmallOrder()) return false;
  const digest = sha512.create().update(r).update(publicKey).update(message).digest();
  const k = Point.Fn.create(bytesToNumberLE(digest));
  const expectedR = Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k));
  return equalBytes(expectedR.toBytes(), r);
}

/** Creates the @noble-backed provider; all randomness comes from `random`. */
export function createNobleCrypto(random: RandomSource): CryptoProvider {
  return checkedProvider('noble', random, {
    x25519PublicKey(secretKey) {
      return x25519.getPublicKey(secretKey);
    },

    x25519(secretKey, publicKey) {
      try {
        return x25519.getSharedSecret(secretKey, publicKey);
      } catch {
        // With both sizes checked, noble throws only for the RFC 7748 §6.1 low-order points,
        // which it refuses before running the ladder: exactly the inputs whose output is zero.
        return undefined;
      }
    },

    ed25519PublicKey(seed) {
      return ed25519.getPublicKey(seed);
    },

    ed25519Sign(seed, message) {
      return ed25519.sign(message, seed);
    },

    ed25519Verify: verifyEd25519,

    aeadSeal(key, nonce, aad, plaintext) {
      return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
    },

    aeadOpen(key, nonce, aad, sealed) {
      try {
        return chacha20poly1305(key, nonce, aad).decrypt(sealed);
      } catch {
        // checkedProvider checked the sizes, so the only failure left is RFC 8439 §2.8 tag mismatch.
        return undefined;
      }
    },

    sha256(data) {
      return sha256(data);
    },

    hmacSha256(key, data) {
      return hmac(sha256, key, data);
    },

    hkdfSha256(ikm, salt, info, length) {
      return hkdf(sha256, ikm, salt, info, length);
    },
  });
}
