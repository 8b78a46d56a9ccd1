/**
 * The node:crypto `CryptoProvider` (ARCHITECTURE.md §1): OpenSSL underneath, fast, and bit for bit
 * the same answers as the @noble reference in protocol/crypto. Where OpenSSL is more lenient than
 * the interface's strict rules, explicit checks run first (SECURITY.md, Crypto, items 9 and 11).
 *
 * Small symmetric inputs go to keyway's WebAssembly kernels instead (protocol/crypto/wasm): a
 * Noise handshake makes 16 hashes, 8 HKDFs and 8 AEAD calls on a few dozen bytes each, and node's
 * per-call cost there (about 1 µs for `hash`, 3 µs for an HMAC, 5 µs for a ChaCha20-Poly1305
 * seal, bench/protocol) is several times the work itself. OpenSSL keeps the public-key operations
 * and every input above `KERNEL_LIMITS`, where its assembly wins.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash,
  hkdfSync,
  sign,
  verify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AEAD_TAG_BYTES, SHA256_BYTES } from '../../protocol/crypto/provider.js';
import type { CryptoProvider, RandomSource } from '../../protocol/crypto/provider.js';
import { checkedProvider } from '../../protocol/crypto/input-checks.js';
import { ChaCha20Poly1305Kernel } from '../../protocol/crypto/wasm/chacha20-poly1305-kernel.js';
import { Sha256Kernel } from '../../protocol/crypto/wasm/sha256-kernel.js';

/**
 * The largest inputs (bytes) each primitive sends to the WebAssembly kernels. Each is about where
 * OpenSSL's per-byte speed pays for its per-call cost, measured on x86-64 with SHA extensions
 * (without them OpenSSL's hashing is slower and the kernels would win further): one scalar SHA-256
 * block takes the kernel about 0.22 µs, so `hash` wins from about 160 bytes, an HMAC from about
 * 600, and the cipher from about 2.5 KiB. HKDF's output counts too: each 32 bytes is one more HMAC.
 * Each is within what its kernel accepts (test/core/node-crypto-provider.test.ts calls both sides).
 */
export const KERNEL_LIMITS = {
  sha256: 128,
  hmacSha256: 512,
  hkdfSha256: 512,
  chacha20Poly1305: 2048,
} as const satisfies Record<string, number>;

/**
 * One instance of each kernel for the whole thread, made on first use: every provider (a demo
 * building makes one per phone) shares them, and a call runs to completion before the next.
 */
let kernels: { readonly sha256: Sha256Kernel; readonly aead: ChaCha20Poly1305Kernel } | undefined;
function symmetricKernels(): NonNullable<typeof kernels> {
  kernels ??= { sha256: new Sha256Kernel(), aead: new ChaCha20Poly1305Kernel() };
  return kernels;
}

/** Node's `hkdfSync` refuses `info` longer than this; RFC 5869 sets no such limit. */
const NODE_HKDF_MAX_INFO_BYTES = 1024;

/** RFC 7748 §4.1 / RFC 8032 §5.1: p = 2^255 - 19. */
const P = 2n ** 255n - 19n;

/**
 * RFC 7748 §6.1: the u-coordinates of the points of order dividing 8 on curve25519 and its twist,
 * including the non-canonical encodings p and p + 1 of 0 and 1. X25519 with a clamped scalar maps
 * exactly these (bit 255 being ignored, §5) to the all-zero output. Refusing them before OpenSSL
 * runs mirrors @noble, and avoids OpenSSL's derivation error.
 */
const X25519_LOW_ORDER = new Set(
  [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ].flatMap((hex) => [
    hex,
    hex.slice(0, 62) + (Number.parseInt(hex.slice(62), 16) | 0x80).toString(16),
  ]),
);

/**
 * RFC 8032 §5.1: the canonical encodings of the eight points of the small-order (torsion)
 * subgroup. A public key among them lets one signature verify for many messages, so the strict
 * verifier refuses them, as @noble does with `zip215: false`.
 */
const ED25519_SMALL_ORDER = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
]);

/** A plain `Uint8Array` over a Buffer that node:crypto allocated for this call (no copy). */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** The hex of public bytes, without copying them. */
function publicHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

type Curve = 'X25519' | 'Ed25519';

/** An imported private key and a copy of the raw bytes it was imported from. */
interface ImportedPrivateKey {
  readonly curve: Curve;
  readonly raw: Uint8Array;
  readonly key: KeyObject;
}

/**
 * Private keys already imported, by the caller's array. A handshake uses each static and
 * ephemeral key more than once, and an import costs about as much as an X25519 operation (OpenSSL
 * derives the public key). An entry is reused only while the array still holds the same bytes (a
 * caller may wipe or refill it), and it lives no longer than the caller's array.
 */
const importedPrivateKeys = new WeakMap<Uint8Array, ImportedPrivateKey>();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/**
 * Imports a raw private key as an RFC 8037 JWK: node hands `d` to OpenSSL as the raw key, about
 * ten times faster than decoding PKCS #8 (OpenSSL 3's decoder dominated a whole handshake). Node
 * requires `x` to be a string but reads only `d` for a private key, so `x` is left empty rather
 * than computed here; the public key comes from OpenSSL (`rawPublicKey`), and the tests compare
 * every key with @noble's. Unlike a DER buffer, the base64url text of the secret cannot be wiped:
 * it is garbage at once, while the cache keeps the key and a copy of its bytes as long as the
 * caller's array lives in any case.
 */
function importPrivateKey(curve: Curve, raw: Uint8Array): KeyObject {
  const cached = importedPrivateKeys.get(raw);
  if (cached !== undefined && cached.curve === curve && sameBytes(cached.raw, raw)) {
    return cached.key;
  }
  const d = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  const key = createPrivateKey({ key: { kty: 'OKP', crv: curve, d, x: '' }, format: 'jwk' });
  importedPrivateKeys.set(raw, { curve, raw: raw.slice(), key });
  return key;
}

/**
 * Imports a raw public key as an RFC 8037 JWK: OpenSSL takes the raw bytes directly, about ten
 * times faster than decoding a SubjectPublicKeyInfo.
 */
function importPublicKey(curve: Curve, raw: Uint8Array): KeyObject {
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: curve, x }, format: 'jwk' });
}

/** The raw 32-byte public key of a private key, read from its RFC 8037 JWK export. */
function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return Uint8Array.from(Buffer.from(jwk.x ?? '', 'base64url'));
}

/**
 * RFC 8032 §5.1.3 strictness that OpenSSL skips when decoding A: it reduces y modulo p and accepts
 * x = 0 with the sign bit set. Only y = 1 and y = p - 1 have x = 0.
 */
function isCanonicalEd25519Point(encoding: Uint8Array): boolean {
  const last = encoding[31] ?? 0;
  let y = BigInt(last & 0x7f);
  for (let i = 30; i >= 0; i--) y = (y << 8n) | BigInt(encoding[i] ?? 0);
  if (y >= P) return false;
  return !(last >> 7 === 1 && (y === 1n || y === P - 1n));
}

/**
 * RFC 5869 §2.2-2.3 with HMAC-SHA256, for the `info` lengths `hkdfSync`
 * refuses; `length` is already checked against 255 * HashLen.
 */
function hkdfWithHmac(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const okm = new Uint8Array(length);
  let block: Uint8Array = new Uint8Array(0);
  for (let offset = 0, counter = 1; offset < length; offset += SHA256_BYTES, counter++) {
    block = createHmac('sha256', prk)
      .update(block)
      .update(info)
      .update(Uint8Array.of(counter))
      .digest();
    okm.set(block.subarray(0, length - offset), offset);
  }
  prk.fill(0);
  block.fill(0);
  return okm;
}

/** Creates the node:crypto-backed provider; all randomness comes from `random`. */
export function createNodeCrypto(random: RandomSource): CryptoProvider {
  return checkedProvider('node', random, {
    x25519PublicKey(secretKey) {
      return rawPublicKey(importPrivateKey('X25519', secretKey));
    },

    x25519(secretKey, publicKey) {
      if (X25519_LOW_ORDER.has(publicHex(publicKey))) return undefined;
      const shared = diffieHellman({
        privateKey: importPrivateKey('X25519', secretKey),
        publicKey: importPublicKey('X25519', publicKey),
      });
      return plain(shared);
    },

    ed25519PublicKey(seed) {
      return rawPublicKey(importPrivateKey('Ed25519', seed));
    },

    ed25519Sign(seed, message) {
      return plain(sign(null, message, importPrivateKey('Ed25519', seed)));
    },

    ed25519Verify(publicKey, message, signature) {
      if (!isCanonicalEd25519Point(publicKey)) return false;
      if (ED25519_SMALL_ORDER.has(publicHex(publicKey))) return false;
      // OpenSSL enforces S < L and checks the cofactorless equation by comparing the encoding of
      // [S]B - [k]A with the received R bytes, which also refuses any non-canonical R.
      return verify(null, message, importPublicKey('Ed25519', publicKey), signature);
    },

    aeadSeal(key, nonce, aad, plaintext) {
      if (plaintext.length + aad.length <= KERNEL_LIMITS.chacha20Poly1305) {
        return symmetricKernels().aead.seal(key, nonce, aad, plaintext);
      }
      const cipher = createCipheriv('chacha20-poly1305', key, nonce, {
        authTagLength: AEAD_TAG_BYTES,
      });
      cipher.setAAD(aad, { plaintextLength: plaintext.length });
      const sealed = new Uint8Array(plaintext.length + AEAD_TAG_BYTES);
      const body = cipher.update(plaintext);
      sealed.set(body);
      sealed.set(cipher.final(), body.length);
      sealed.set(cipher.getAuthTag(), plaintext.length);
      return sealed;
    },

    aeadOpen(key, nonce, aad, sealed) {
      if (sealed.length + aad.length <= KERNEL_LIMITS.chacha20Poly1305) {
        return symmetricKernels().aead.open(key, nonce, aad, sealed);
      }
      const bodyLength = sealed.length - AEAD_TAG_BYTES;
      const decipher = createDecipheriv('chacha20-poly1305', key, nonce, {
        authTagLength: AEAD_TAG_BYTES,
      });
      decipher.setAuthTag(sealed.subarray(bodyLength));
      decipher.setAAD(aad, { plaintextLength: bodyLength });
      const plaintext = decipher.update(sealed.subarray(0, bodyLength));
      try {
        decipher.final();
      } catch {
        // checkedProvider checked the sizes, so the only failure left is RFC 8439 §2.8 tag mismatch; the
        // unauthenticated plaintext is wiped, never returned.
        plaintext.fill(0);
        return undefined;
      }
      return plain(plaintext);
    },

    sha256(data) {
      if (data.length <= KERNEL_LIMITS.sha256) return symmetricKernels().sha256.sha256(data);
      return plain(hash('sha256', data, 'buffer'));
    },

    hmacSha256(key, data) {
      if (key.length + data.length <= KERNEL_LIMITS.hmacSha256) {
        return symmetricKernels().sha256.hmacSha256(key, data);
      }
      return plain(createHmac('sha256', key).update(data).digest());
    },

    hkdfSha256(ikm, salt, info, length) {
      if (ikm.length + salt.length + info.length + length <= KERNEL_LIMITS.hkdfSha256) {
        return symmetricKernels().sha256.hkdfSha256(ikm, salt, info, length);
      }
      if (info.length > NODE_HKDF_MAX_INFO_BYTES) {
        return hkdfWithHmac(ikm, salt, info, length);
      }
      return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
    },
  });
}
