// The CryptoProvider contract (protocol/crypto/provider.ts) for both providers: RFC known answers,
// precise size errors that never carry key material, and the injected random source.
import { describe, expect, it } from 'vitest';
import { createNobleCrypto } from '../../../protocol/crypto/noble-provider.js';
import type { RandomSource } from '../../../protocol/crypto/provider.js';
import { createNodeCrypto } from '../../../src/core/node-crypto-provider.js';
import { PROVIDERS } from './both-providers.js';
import { fromHex, hex } from '../../support/hex.js';

const FACTORIES = [
  { name: 'noble', create: createNobleCrypto },
  { name: 'node', create: createNodeCrypto },
] as const;

describe.each(PROVIDERS)('$name provider', (provider) => {
  it('RFC 7748 §6.1: Alice and Bob', () => {
    const alice = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alicePublic = provider.x25519PublicKey(alice);
    const bobPublic = provider.x25519PublicKey(bob);
    expect(hex(alicePublic)).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    expect(hex(bobPublic)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(hex(provider.x25519(alice, bobPublic) ?? new Uint8Array())).toBe(shared);
    expect(hex(provider.x25519(bob, alicePublic) ?? new Uint8Array())).toBe(shared);
  });

  it.each([
    {
      test: 'TEST 1',
      seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature:
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      test: 'TEST 2',
      seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature:
        '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
  ])('RFC 8032 §7.1 $test: key, signature, verification', (v) => {
    const seed = fromHex(v.seed);
    const message = fromHex(v.message);
    expect(hex(provider.ed25519PublicKey(seed))).toBe(v.publicKey);
    expect(hex(provider.ed25519Sign(seed, message))).toBe(v.signature);
    expect(provider.ed25519Verify(fromHex(v.publicKey), message, fromHex(v.signature))).toBe(true);
  });

  it('FIPS 180-4 / NIST example: SHA-256("abc")', () => {
    expect(hex(provider.sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('returns plain Uint8Arrays that own their bytes', () => {
    const key = new Uint8Array(32).fill(5);
    const nonce = new Uint8Array(12);
    const sealed = provider.aeadSeal(key, nonce, new Uint8Array(0), Uint8Array.of(1, 2, 3));
    const outputs = [
      provider.x25519PublicKey(key),
      provider.x25519(key, provider.x25519PublicKey(new Uint8Array(32).fill(6))),
      provider.ed25519PublicKey(key),
      provider.ed25519Sign(key, nonce),
      sealed,
      provider.aeadOpen(key, nonce, new Uint8Array(0), sealed),
      provider.sha256(key),
      provider.hmacSha256(key, key),
      provider.hkdfSha256(key, key, key, 42),
    ];
    for (const output of outputs) {
      expect(output?.constructor).toBe(Uint8Array);
      expect(output?.byteLength).toBe(output?.buffer.byteLength);
    }
  });

  it('throws precise RangeErrors for wrong sizes, naming the input but never its bytes', () => {
    const secret = new Uint8Array(31).fill(0xab);
    const cases: [() => unknown, string][] = [
      [() => provider.x25519PublicKey(secret), 'X25519 secret key must be 32 bytes, got 31'],
      [
        () => provider.x25519(secret, new Uint8Array(32)),
        'X25519 secret key must be 32 bytes, got 31',
      ],
      [() => provider.ed25519PublicKey(secret), 'Ed25519 seed must be 32 bytes, got 31'],
      [
        () => provider.ed25519Sign(secret, new Uint8Array(1)),
        'Ed25519 seed must be 32 bytes, got 31',
      ],
      [
        () => provider.ed25519Verify(secret, new Uint8Array(1), new Uint8Array(64)),
        'Ed25519 public key must be 32 bytes, got 31',
      ],
      [
        () => provider.aeadSeal(secret, new Uint8Array(12), new Uint8Array(0), new Uint8Array(0)),
        'ChaCha20-Poly1305 key must be 32 bytes, got 31',
      ],
      [
        () => provider.aeadOpen(new Uint8Array(32), secret, new Uint8Array(0), new Uint8Array(16)),
        'ChaCha20-Poly1305 nonce must be 12 bytes, got 31',
      ],
      [
        () => provider.hkdfSha256(secret, secret, secret, 8161),
        'HKDF-SHA256 length must be an integer in [0, 8160], got 8161',
      ],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(new RangeError(message));
      try {
        call();
      } catch (error) {
        // Neither hex, decimal nor base64 renderings of the 0xab key bytes.
        expect(String(error)).not.toMatch(/abab|171|q6ur/i);
      }
    }
  });

  it('throws TypeError for inputs that are not Uint8Arrays', () => {
    const text = 'not bytes' as unknown as Uint8Array;
    expect(() => provider.sha256(text)).toThrow(
      new TypeError('SHA-256 input must be a Uint8Array'),
    );
    expect(() => provider.hmacSha256(text, new Uint8Array(0))).toThrow(TypeError);
    expect(() => provider.ed25519Verify(new Uint8Array(32), text, new Uint8Array(64))).toThrow(
      TypeError,
    );
  });

  it('HKDF-SHA256 gives the empty string for length 0 and 8160 bytes at the RFC 5869 maximum', () => {
    const empty = new Uint8Array(0);
    expect(provider.hkdfSha256(empty, empty, empty, 0)).toHaveLength(0);
    expect(provider.hkdfSha256(empty, empty, empty, 8160)).toHaveLength(8160);
  });
});

describe.each(FACTORIES)('$name randomBytes', ({ create }) => {
  it('returns what the injected source returns', () => {
    const requests: number[] = [];
    const source: RandomSource = (length) => {
      requests.push(length);
      return new Uint8Array(length).fill(7);
    };
    expect(hex(create(source).randomBytes(3))).toBe('070707');
    expect(requests).toEqual([3]);
  });

  it('throws RangeError when the source returns the wrong number of bytes', () => {
    const short = create(() => new Uint8Array(2));
    expect(() => short.randomBytes(3)).toThrow(
      new RangeError('random source returned 2 bytes, expected 3'),
    );
  });

  it('throws RangeError for a negative or fractional length, before asking the source', () => {
    const provider = create(() => {
      throw new Error('source must not be called');
    });
    expect(() => provider.randomBytes(-1)).toThrow(RangeError);
    expect(() => provider.randomBytes(1.5)).toThrow(RangeError);
  });
});
