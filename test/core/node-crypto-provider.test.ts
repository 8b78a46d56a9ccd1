// Why each explicit check in the node:crypto provider exists: raw OpenSSL (via node:crypto) is
// shown to accept or throw on an input, and the provider is shown to answer as @noble does.
import {
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  sign,
  verify,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { createNobleCrypto } from '../../protocol/crypto/noble-provider.js';
import { createNodeCrypto, KERNEL_LIMITS } from '../../src/core/node-crypto-provider.js';

const random = (length: number): Uint8Array => new Uint8Array(length).fill(1);
const node = createNodeCrypto(random);
const noble = createNobleCrypto(random);

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const P = 2n ** 255n - 19n;

function encodeLittleEndian(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

function opensslVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
  return verify(null, message, key, signature);
}

const message = new TextEncoder().encode('any message at all');
/** With A = the identity, [S]B = R + [k]A holds for R = [S]B whatever k is: a universal forgery. */
const forgery = Uint8Array.from([
  ...ed25519.Point.BASE.multiply(7n).toBytes(),
  7,
  ...new Uint8Array(31),
]);

describe('node:crypto provider, Ed25519 public key checks (RFC 8032 §5.1.3, §5.1.7)', () => {
  const identityEncodings = [
    ['canonical identity', encodeLittleEndian(1n)],
    ['identity with y + p', encodeLittleEndian(P + 1n)],
    ['identity with the sign bit set', encodeLittleEndian(1n + 2n ** 255n)],
  ] as const;

  it.each(identityEncodings)('raw OpenSSL accepts a forgery under the %s', (_, key) => {
    expect(opensslVerify(key, message, forgery)).toBe(true);
  });

  it.each(identityEncodings)('the provider rejects it, as noble does (%s)', (_, key) => {
    expect(node.ed25519Verify(key, message, forgery)).toBe(false);
    expect(noble.ed25519Verify(key, message, forgery)).toBe(false);
  });

  it('refuses all eight small-order keys in their canonical encodings', () => {
    for (const torsion of ED25519_TORSION_SUBGROUP) {
      const key = Uint8Array.from(Buffer.from(torsion, 'hex'));
      expect(node.ed25519Verify(key, message, forgery)).toBe(false);
    }
  });

  it('still accepts a signature made by OpenSSL with a key OpenSSL generated', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = Uint8Array.from(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
    const signature = Uint8Array.from(sign(null, message, privateKey));
    expect(node.ed25519Verify(raw, message, signature)).toBe(true);
    expect(noble.ed25519Verify(raw, message, signature)).toBe(true);
  });
});

describe('node:crypto provider, X25519 low-order keys (RFC 7748 §6.1)', () => {
  const secret = new Uint8Array(32).fill(0x42);
  const lowOrder = [0n, 1n, P - 1n, P, P + 1n].map(encodeLittleEndian);

  it('raw OpenSSL throws on the all-zero output; the provider returns undefined', () => {
    const { privateKey } = generateKeyPairSync('x25519');
    for (const u of lowOrder) {
      const peer = createPublicKey({
        key: Buffer.concat([X25519_SPKI_PREFIX, u]),
        format: 'der',
        type: 'spki',
      });
      expect(() => diffieHellman({ privateKey, publicKey: peer })).toThrow();
      expect(node.x25519(secret, u)).toBeUndefined();
    }
  });
});

describe('node:crypto provider, HKDF-SHA256 (RFC 5869)', () => {
  const ikm = new Uint8Array(22).fill(0x0b);
  const salt = Uint8Array.from({ length: 13 }, (_, i) => i);

  it('raw hkdfSync refuses info over 1024 bytes', () => {
    expect(() => hkdfSync('sha256', ikm, salt, new Uint8Array(1025), 32)).toThrow(RangeError);
  });

  it.each([0, 1, 1023, 1024, 1025, 4096])('matches noble with %i bytes of info', (infoLength) => {
    const info = Uint8Array.from({ length: infoLength }, (_, i) => i & 0xff);
    for (const length of [0, 1, 32, 33, 64, 65, 100, 8160]) {
      expect(node.hkdfSha256(ikm, salt, info, length)).toEqual(
        noble.hkdfSha256(ikm, salt, info, length),
      );
    }
  });
});

describe('node:crypto provider, small inputs in the WebAssembly kernels and large ones in OpenSSL', () => {
  // Every total length around each limit, so both routes answer and each is compared with @noble.
  const around = (limit: number): number[] => [limit - 33, limit - 32, limit - 1, limit, limit + 1];
  const bytes = (length: number, seed: number): Uint8Array =>
    Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
  const key = bytes(32, 5);
  const nonce = bytes(12, 9);

  it.each(around(KERNEL_LIMITS.sha256))('hashes %i bytes as noble does', (length) => {
    const data = bytes(length, 1);
    expect(node.sha256(data)).toEqual(noble.sha256(data));
  });

  it.each(around(KERNEL_LIMITS.hmacSha256))(
    'MACs %i bytes of key and data as noble does',
    (total) => {
      const data = bytes(total - 32, 2);
      expect(node.hmacSha256(data, key)).toEqual(noble.hmacSha256(data, key));
      expect(node.hmacSha256(key, data)).toEqual(noble.hmacSha256(key, data));
    },
  );

  it.each(around(KERNEL_LIMITS.hkdfSha256))(
    'expands %i bytes of input and output as noble does',
    (total) => {
      const data = bytes(total - 96, 4);
      for (const [ikm, salt, info] of [
        [data, key, key],
        [key, data, key],
        [key, key, data],
      ] as const) {
        expect(node.hkdfSha256(ikm, salt, info, 32)).toEqual(noble.hkdfSha256(ikm, salt, info, 32));
      }
      expect(node.hkdfSha256(key, key, new Uint8Array(0), total - 64)).toEqual(
        noble.hkdfSha256(key, key, new Uint8Array(0), total - 64),
      );
    },
  );

  it.each(around(KERNEL_LIMITS.chacha20Poly1305))(
    'seals and opens %i bytes of plaintext, tag and aad as noble does',
    (total) => {
      const data = bytes(total - 48, 3);
      for (const [aad, plaintext] of [
        [key, data],
        [data, key],
      ] as const) {
        const sealed = node.aeadSeal(key, nonce, aad, plaintext);
        expect(sealed).toEqual(noble.aeadSeal(key, nonce, aad, plaintext));
        expect(node.aeadOpen(key, nonce, aad, sealed)).toEqual(plaintext);
        sealed[0] = (sealed[0] ?? 0) ^ 1;
        expect(node.aeadOpen(key, nonce, aad, sealed)).toBeUndefined();
      }
    },
  );
});

describe('node:crypto provider, inputs', () => {
  it('never modifies the caller’s keys, nonces or data', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const nonce = Uint8Array.from({ length: 12 }, (_, i) => i + 100);
    const data = Uint8Array.from({ length: 40 }, (_, i) => i * 3);
    const snapshot = [key, nonce, data].map((b) => Buffer.from(b).toString('hex'));
    const sealed = node.aeadSeal(key, nonce, data, data);
    node.aeadOpen(key, nonce, data, sealed);
    node.aeadOpen(key, nonce, data, Uint8Array.from(sealed).fill(0, 0, 1));
    node.x25519PublicKey(key);
    node.x25519(key, node.x25519PublicKey(data.subarray(0, 32)));
    node.ed25519Sign(key, data);
    node.ed25519PublicKey(key);
    node.hkdfSha256(key, nonce, new Uint8Array(2000), 64);
    expect([key, nonce, data].map((b) => Buffer.from(b).toString('hex'))).toEqual(snapshot);
  });

  it('returns undefined, never throws, when a tag does not verify', () => {
    const key = new Uint8Array(32);
    const nonce = new Uint8Array(12);
    const sealed = node.aeadSeal(key, nonce, new Uint8Array(0), new Uint8Array(100));
    sealed[sealed.length - 1] = (sealed[sealed.length - 1] ?? 0) ^ 1;
    expect(node.aeadOpen(key, nonce, new Uint8Array(0), sealed)).toBeUndefined();
  });
});

describe('node provider key import cache', () => {
  const random = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i * 7 + 1);
  const nodeCrypto = createNodeCrypto(random);
  const nobleCrypto = createNobleCrypto(random);

  it('uses the bytes a secret array holds now, also after it was refilled in place', () => {
    const secret = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const peer = nobleCrypto.x25519PublicKey(Uint8Array.from({ length: 32 }, (_, i) => 200 - i));
    expect(nodeCrypto.x25519(secret, peer)).toEqual(nobleCrypto.x25519(secret, peer));
    secret.fill(0x42);
    expect(nodeCrypto.x25519PublicKey(secret)).toEqual(nobleCrypto.x25519PublicKey(secret));
    expect(nodeCrypto.x25519(secret, peer)).toEqual(nobleCrypto.x25519(secret, peer));
    const seed = secret;
    expect(nodeCrypto.ed25519PublicKey(seed)).toEqual(nobleCrypto.ed25519PublicKey(seed));
    seed[0] = 1;
    expect(nodeCrypto.ed25519Sign(seed, secret)).toEqual(nobleCrypto.ed25519Sign(seed, secret));
  });
});
