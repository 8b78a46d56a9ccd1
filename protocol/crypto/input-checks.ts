/**
 * The argument checks of the crypto interface, applied once around both providers so that they
 * reject exactly the same calls with exactly the same errors (provider.ts: a wrong size is a
 * caller bug and throws; a malformed signature or a box shorter than its tag is an expected
 * failure and returns a value). Messages name the argument and report lengths only.
 */
import {
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  AEAD_TAG_BYTES,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  HKDF_SHA256_MAX_BYTES,
  X25519_KEY_BYTES,
} from './provider.js';
import type { CryptoProvider, RandomSource } from './provider.js';

/** Throws `TypeError` unless `value` is a `Uint8Array`; `what` names it, never its content. */
export function assertBytes(value: Uint8Array, what: string): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/** Throws unless `value` is a `Uint8Array` of exactly `size` bytes; reports lengths only. */
export function assertSize(value: Uint8Array, size: number, what: string): void {
  assertBytes(value, what);
  if (value.length !== size) {
    throw new RangeError(`${what} must be ${size} bytes, got ${value.length}`);
  }
}

/** Throws `RangeError` unless `length` is an integer in `[0, max]`. */
export function assertLength(length: number, max: number, what: string): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > max) {
    throw new RangeError(`${what} must be an integer in [0, ${max}], got ${length}`);
  }
}

/**
 * What a provider implements itself: the operations of `CryptoProvider` on arguments already
 * checked. `ed25519Verify` receives 64-byte signatures only, `aeadOpen` boxes of at least a tag.
 */
export type CryptoPrimitives = Omit<CryptoProvider, 'name' | 'randomBytes'>;

/** A `CryptoProvider` named `name` over `primitives`, with every argument checked first. */
export function checkedProvider(
  name: string,
  random: RandomSource,
  primitives: CryptoPrimitives,
): CryptoProvider {
  return {
    name,

    randomBytes(length) {
      assertLength(length, Number.MAX_SAFE_INTEGER, 'random length');
      const bytes = random(length);
      if (bytes.length !== length) {
        throw new RangeError(`random source returned ${bytes.length} bytes, expected ${length}`);
      }
      return bytes;
    },

    x25519PublicKey(secretKey) {
      assertSize(secretKey, X25519_KEY_BYTES, 'X25519 secret key');
      return primitives.x25519PublicKey(secretKey);
    },

    x25519(secretKey, publicKey) {
      assertSize(secretKey, X25519_KEY_BYTES, 'X25519 secret key');
      assertSize(publicKey, X25519_KEY_BYTES, 'X25519 public key');
      return primitives.x25519(secretKey, publicKey);
    },

    ed25519PublicKey(seed) {
      assertSize(seed, ED25519_SEED_BYTES, 'Ed25519 seed');
      return primitives.ed25519PublicKey(seed);
    },

    ed25519Sign(seed, message) {
      assertSize(seed, ED25519_SEED_BYTES, 'Ed25519 seed');
      assertBytes(message, 'Ed25519 message');
      return primitives.ed25519Sign(seed, message);
    },

    ed25519Verify(publicKey, message, signature) {
      assertSize(publicKey, ED25519_PUBLIC_KEY_BYTES, 'Ed25519 public key');
      assertBytes(message, 'Ed25519 message');
      assertBytes(signature, 'Ed25519 signature');
      if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
      return primitives.ed25519Verify(publicKey, message, signature);
    },

    aeadSeal(key, nonce, aad, plaintext) {
      assertSize(key, AEAD_KEY_BYTES, 'ChaCha20-Poly1305 key');
      assertSize(nonce, AEAD_NONCE_BYTES, 'ChaCha20-Poly1305 nonce');
      assertBytes(aad, 'ChaCha20-Poly1305 aad');
      assertBytes(plaintext, 'ChaCha20-Poly1305 plaintext');
      return primitives.aeadSeal(key, nonce, aad, plaintext);
    },

    aeadOpen(key, nonce, aad, sealed) {
      assertSize(key, AEAD_KEY_BYTES, 'ChaCha20-Poly1305 key');
      assertSize(nonce, AEAD_NONCE_BYTES, 'ChaCha20-Poly1305 nonce');
      assertBytes(aad, 'ChaCha20-Poly1305 aad');
      assertBytes(sealed, 'ChaCha20-Poly1305 sealed box');
      if (sealed.length < AEAD_TAG_BYTES) return undefined;
      return primitives.aeadOpen(key, nonce, aad, sealed);
    },

    sha256(data) {
      assertBytes(data, 'SHA-256 input');
      return primitives.sha256(data);
    },

    hmacSha256(key, data) {
      assertBytes(key, 'HMAC-SHA256 key');
      assertBytes(data, 'HMAC-SHA256 input');
      return primitives.hmacSha256(key, data);
    },

    hkdfSha256(ikm, salt, info, length) {
      assertBytes(ikm, 'HKDF-SHA256 ikm');
      assertBytes(salt, 'HKDF-SHA256 salt');
      assertBytes(info, 'HKDF-SHA256 info');
      assertLength(length, HKDF_SHA256_MAX_BYTES, 'HKDF-SHA256 length');
      return primitives.hkdfSha256(ikm, salt, info, length);
    },
  };
}
