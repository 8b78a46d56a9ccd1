// SECURITY.md #9 (low-order X25519 keys), #11 (non-canonical Ed25519 signatures) and #12 (a
// flipped bit in an AEAD box): each hostile input is built here, shown to fool a lenient
// implementation where one exists, and then refused alike by both providers.
import { describe, expect, it } from 'vitest';
import { ED25519_TORSION_SUBGROUP, ed25519, x25519 } from '@noble/curves/ed25519.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { PROVIDERS } from './both-providers.js';
import { fromHex, hex } from '../../support/hex.js';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const P = 2n ** 255n - 19n;

function encodeLittleEndian(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

function decodeLittleEndian(data: Uint8Array): bigint {
  return data.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

/** RFC 8032 §5.1.7: k = SHA-512(R ‖ A ‖ M) mod L, over the exact encoded bytes. */
function challenge(r: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return Point.Fn.create(
    decodeLittleEndian(sha512(Uint8Array.from([...r, ...publicKey, ...message]))),
  );
}

function signature(r: Uint8Array, s: bigint): Uint8Array {
  return Uint8Array.from([...r, ...encodeLittleEndian(s)]);
}

const message = new TextEncoder().encode('unlock door 4');
const seed = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
const { scalar: secret, pointBytes: publicKey } = ed25519.utils.getExtendedPublicKey(seed);
const honest = ed25519.sign(message, seed);
const order8 = Point.fromHex(ED25519_TORSION_SUBGROUP[1] ?? '');

/** A signature (R = [r]B + extra, S = r + k·a) made with the real secret scalar. */
function signWithR(r: bigint, extra: EdwardsPoint, key: Uint8Array): Uint8Array {
  const rBytes = Point.BASE.multiply(r).add(extra).toBytes();
  return signature(rBytes, Point.Fn.create(r + challenge(rBytes, key, message) * secret));
}

/**
 * A forgery for a small-order public key T: with R = [s]B - [j]T, the cofactorless equation holds
 * whenever [k]T = [j]T, which a search over s finds quickly. No secret is needed.
 */
function forgeForSmallOrderKey(keyBytes: Uint8Array, torsion: EdwardsPoint): Uint8Array {
  for (let s = 1n; ; s++) {
    for (let j = 0n; j < 8n; j++) {
      const r = Point.BASE.multiply(s).subtract(torsion.multiplyUnsafe(j)).toBytes();
      const k = challenge(r, keyBytes, message);
      if (torsion.multiplyUnsafe(k).equals(torsion.multiplyUnsafe(j))) return signature(r, s);
    }
  }
}

/** The non-canonical encodings of y = 1 (the identity) and y = p - 1, x = 0 in both cases. */
const NON_CANONICAL_IDENTITY = [
  encodeLittleEndian(P + 1n),
  fromHex('0100000000000000000000000000000000000000000000000000000000000080'),
  fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'),
];

/** RFC 7748 §6.1: u-coordinates of order dividing 8, with their non-canonical forms p and p + 1. */
const LOW_ORDER_U = [
  0n,
  1n,
  P - 1n,
  P,
  P + 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
].flatMap((u) => [encodeLittleEndian(u), encodeLittleEndian(u + 2n ** 255n)]);

describe('the hostile inputs are meaningful', () => {
  it('non-canonical R and A encodings fool a ZIP-215 verifier', () => {
    for (const r of NON_CANONICAL_IDENTITY.slice(0, 2)) {
      const sig = signature(r, Point.Fn.create(challenge(r, publicKey, message) * secret));
      expect(ed25519.verify(sig, message, publicKey, { zip215: true })).toBe(true);
    }
    for (const key of NON_CANONICAL_IDENTITY) {
      const sig = signature(Point.BASE.multiply(7n).toBytes(), 7n);
      expect(ed25519.verify(sig, message, key, { zip215: true })).toBe(true);
    }
  });

  it('an R with a small-order component fools a cofactored verifier (noble, zip215: false)', () => {
    const sig = signWithR(1234n, order8, publicKey);
    expect(ed25519.verify(sig, message, publicKey, { zip215: false })).toBe(true);
  });

  it('a forged signature under a small-order key satisfies [S]B = R + [k]A', () => {
    for (const torsionHex of ED25519_TORSION_SUBGROUP) {
      const key = fromHex(torsionHex);
      const sig = forgeForSmallOrderKey(key, Point.fromHex(torsionHex));
      const s = decodeLittleEndian(sig.subarray(32));
      const k = challenge(sig.subarray(0, 32), key, message);
      const recomputed = Point.BASE.multiply(s).subtract(
        Point.fromHex(torsionHex).multiplyUnsafe(k),
      );
      expect(hex(recomputed.toBytes())).toBe(hex(sig.subarray(0, 32)));
    }
  });

  it('every listed X25519 u makes the ladder output zero (noble refuses them)', () => {
    for (const u of LOW_ORDER_U) {
      expect(() => x25519.getSharedSecret(new Uint8Array(32).fill(3), u)).toThrow();
    }
  });
});

describe.each(PROVIDERS)('$name provider', (provider) => {
  const verify = (key: Uint8Array, sig: Uint8Array, msg = message): boolean =>
    provider.ed25519Verify(key, msg, sig);

  describe('SECURITY.md #11: non-canonical Ed25519 signatures (RFC 8032 §5.1.7)', () => {
    it('accepts the honest signature', () => {
      expect(verify(publicKey, honest)).toBe(true);
    });

    it('rejects S + L, S + 2L, ... (the same scalar mod L)', () => {
      const s = decodeLittleEndian(honest.subarray(32));
      for (let m = 1n; s + m * L < 2n ** 256n; m++) {
        expect(verify(publicKey, signature(honest.subarray(0, 32), s + m * L))).toBe(false);
      }
    });

    it('rejects a non-canonical encoding of R', () => {
      for (const r of NON_CANONICAL_IDENTITY.slice(0, 2)) {
        const sig = signature(r, Point.Fn.create(challenge(r, publicKey, message) * secret));
        expect(verify(publicKey, sig)).toBe(false);
      }
    });

    it('accepts R = the identity in its canonical encoding, signed with the secret', () => {
      const r = Point.ZERO.toBytes();
      const sig = signature(r, Point.Fn.create(challenge(r, publicKey, message) * secret));
      expect(verify(publicKey, sig)).toBe(true);
    });

    it('rejects a non-canonical encoding of the public key A', () => {
      for (const key of NON_CANONICAL_IDENTITY) {
        expect(verify(key, signature(Point.BASE.multiply(7n).toBytes(), 7n))).toBe(false);
      }
    });

    it('rejects every small-order public key, even with a signature that satisfies the equation', () => {
      for (const torsionHex of ED25519_TORSION_SUBGROUP) {
        const key = fromHex(torsionHex);
        expect(verify(key, forgeForSmallOrderKey(key, Point.fromHex(torsionHex)))).toBe(false);
      }
    });

    it('checks the cofactorless equation: an R with a small-order component is rejected', () => {
      expect(verify(publicKey, signWithR(1234n, order8, publicKey))).toBe(false);
    });

    it('on a mixed-order public key, accepts exactly when [S]B - [k]A encodes to R', () => {
      const mixed = Point.BASE.multiply(secret).add(order8).toBytes();
      const outcomes = new Set<string>();
      for (let r = 1n; outcomes.size < 2; r++) {
        const rBytes = Point.BASE.multiply(r).toBytes();
        const k = challenge(rBytes, mixed, message);
        const sig = signature(rBytes, Point.Fn.create(r + k * secret));
        const cofactorless = k % 8n === 0n;
        expect(verify(mixed, sig)).toBe(cofactorless);
        outcomes.add(String(cofactorless));
      }
    });

    it('returns false, never throws, for signatures of the wrong length', () => {
      for (const length of [0, 32, 63, 65, 128]) {
        expect(verify(publicKey, new Uint8Array(length))).toBe(false);
      }
    });
  });

  describe('SECURITY.md #9: invalid X25519 public keys (RFC 7748 §6.1)', () => {
    const secrets = [new Uint8Array(32), new Uint8Array(32).fill(0xff), seed];

    it('gives undefined for every low-order point, canonical or not, bit 255 set or not', () => {
      for (const secretKey of secrets) {
        for (const u of LOW_ORDER_U) expect(provider.x25519(secretKey, u)).toBeUndefined();
      }
    });

    it('still computes for the neighbours of those points', () => {
      for (const u of [2n, P - 2n, P + 2n, 2n ** 255n - 1n]) {
        expect(provider.x25519(seed, encodeLittleEndian(u))).toBeInstanceOf(Uint8Array);
      }
    });

    it('throws RangeError for a public key of the wrong length', () => {
      for (const length of [0, 31, 33, 64]) {
        expect(() => provider.x25519(seed, new Uint8Array(length))).toThrow(
          new RangeError(`X25519 public key must be 32 bytes, got ${length}`),
        );
      }
    });
  });

  describe('SECURITY.md #12: a flipped bit in an AEAD box (RFC 8439 §2.8)', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const nonce = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
    const aad = Uint8Array.of(1, 2, 3, 4);
    const plaintext = new TextEncoder().encode('unlock!!');
    const sealed = provider.aeadSeal(key, nonce, aad, plaintext);

    const flipped = (data: Uint8Array, bit: number): Uint8Array => {
      const copy = Uint8Array.from(data);
      copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      return copy;
    };

    it('opens the untouched box', () => {
      expect(sealed).toHaveLength(plaintext.length + 16);
      expect(hex(provider.aeadOpen(key, nonce, aad, sealed) ?? new Uint8Array())).toBe(
        hex(plaintext),
      );
    });

    it('refuses the box after any single bit flip in ciphertext or tag', () => {
      for (let bit = 0; bit < 8 * sealed.length; bit++) {
        expect(provider.aeadOpen(key, nonce, aad, flipped(sealed, bit))).toBeUndefined();
      }
    });

    it('refuses the box after any single bit flip in the aad, nonce or key', () => {
      for (let bit = 0; bit < 8 * aad.length; bit++) {
        expect(provider.aeadOpen(key, nonce, flipped(aad, bit), sealed)).toBeUndefined();
      }
      for (let bit = 0; bit < 8 * nonce.length; bit++) {
        expect(provider.aeadOpen(key, flipped(nonce, bit), aad, sealed)).toBeUndefined();
      }
      for (let bit = 0; bit < 8 * key.length; bit++) {
        expect(provider.aeadOpen(flipped(key, bit), nonce, aad, sealed)).toBeUndefined();
      }
    });

    it('refuses a truncated box, down to nothing', () => {
      for (let length = 0; length < sealed.length; length++) {
        expect(provider.aeadOpen(key, nonce, aad, sealed.subarray(0, length))).toBeUndefined();
      }
    });
  });
});
