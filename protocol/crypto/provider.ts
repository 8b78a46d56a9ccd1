/**
 * The one crypto interface every layer uses (ARCHITECTURE.md §1). Two implementations exist:
 * `createNobleCrypto` here (pure, @noble/*) and `createNodeCrypto` in src/core (node:crypto).
 * They must agree on every input, including which malformed inputs they reject.
 *
 * Conventions: keys, nonces and digests are `Uint8Array`s of the fixed sizes below; a wrong size
 * is a bug in the caller and throws `RangeError`. An input that is well-formed but fails a check
 * (a bad tag, a bad signature, a low-order public key) is an expected outcome and is reported as
 * a value (`undefined` or `false`), never thrown.
 */

/** Where random bytes come from; injected so that protocol and firmware stay deterministic. */
export type RandomSource = (length: number) => Uint8Array;

export const X25519_KEY_BYTES = 32;
export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;
export const SHA256_BYTES = 32;
/** RFC 5869 §2.3: L <= 255 * HashLen. */
export const HKDF_SHA256_MAX_BYTES = 255 * SHA256_BYTES;

export interface CryptoProvider {
  /** A short name for reports and benchmarks (`noble`, `node`). */
  readonly name: string;

  /** Random bytes from the injected source. */
  randomBytes(length: number): Uint8Array;

  /** RFC 7748 §5: the public key `X25519(secretKey, 9)`. */
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /**
   * RFC 7748 §5 shared secret: bit 255 of the peer key is ignored and u is reduced modulo p.
   * Returns `undefined` when the result would be all zeros, i.e. for exactly the peer keys of order
   * dividing 8 (RFC 7748 §6.1); callers must treat that as a failure.
   */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined;

  /** RFC 8032 §5.1.5: the public key of a 32-byte seed. */
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  /** RFC 8032 §5.1.6. */
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /**
   * RFC 8032 §5.1.7, strict, so both providers accept exactly the same signatures: S >= L, a
   * non-canonical or small-order A, and a non-canonical R are rejected, and the cofactorless
   * equation is checked as "the encoding of [S]B - [k]A equals the received R bytes". A signature
   * of the wrong length returns `false`; a public key of the wrong length throws `RangeError`.
   */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  /** RFC 8439 §2.8 AEAD_CHACHA20_POLY1305: returns ciphertext ‖ 16-byte tag. */
  aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * RFC 8439 §2.8: returns the plaintext, or `undefined` when the tag does not verify or `sealed`
   * is shorter than a tag.
   */
  aeadOpen(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
  ): Uint8Array | undefined;

  /** FIPS 180-4 SHA-256. */
  sha256(data: Uint8Array): Uint8Array;
  /** RFC 2104 HMAC-SHA256 (any key length). */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 5869 HKDF-SHA256 extract-then-expand; `length` is an integer in [0, 8160]. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}
