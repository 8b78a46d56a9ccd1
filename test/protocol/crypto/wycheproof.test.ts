// Every Wycheproof case of the five primitives, against both providers (SECURITY.md, Crypto).
// `valid` must pass, `invalid` must be rejected, `acceptable` may go either way but both providers
// must give the same outcome. Each file's case count is asserted so that an empty or truncated
// vector file fails instead of passing vacuously.
import { describe, expect, it } from 'vitest';
import { otherThan, outcome, PROVIDERS } from './both-providers.js';
import { fromHex, hex } from '../../support/hex.js';
import { loadWycheproof, type WycheproofGroups } from '../../support/wycheproof.js';

const x25519File = loadWycheproof<WycheproofGroups['x25519']>('x25519_test.json');
const ed25519File = loadWycheproof<WycheproofGroups['ed25519']>('ed25519_test.json');
const aeadFile = loadWycheproof<WycheproofGroups['aead']>('chacha20_poly1305_test.json');
const hkdfFile = loadWycheproof<WycheproofGroups['hkdf']>('hkdf_sha256_test.json');
const hmacFile = loadWycheproof<WycheproofGroups['hmac']>('hmac_sha256_test.json');

const x25519Cases = x25519File.testGroups.flatMap((g) => g.tests);
const ed25519Cases = ed25519File.testGroups.flatMap((g) =>
  g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })),
);
const aeadCases = aeadFile.testGroups.flatMap((g) => g.tests);
const hkdfCases = hkdfFile.testGroups.flatMap((g) => g.tests);
const hmacCases = hmacFile.testGroups.flatMap((g) =>
  g.tests.map((t) => ({ ...t, tagBytes: g.tagSize / 8 })),
);

/** The number of cases in each file as copied (test/vectors/README.md). */
const EXPECTED = {
  'x25519_test.json': 518,
  'ed25519_test.json': 151,
  'chacha20_poly1305_test.json': 325,
  'hkdf_sha256_test.json': 86,
  'hmac_sha256_test.json': 174,
} as const;

describe('Wycheproof vector files', () => {
  it.each([
    ['x25519_test.json', x25519File, x25519Cases.length],
    ['ed25519_test.json', ed25519File, ed25519Cases.length],
    ['chacha20_poly1305_test.json', aeadFile, aeadCases.length],
    ['hkdf_sha256_test.json', hkdfFile, hkdfCases.length],
    ['hmac_sha256_test.json', hmacFile, hmacCases.length],
  ] as const)('%s holds the expected number of cases', (name, file, loaded) => {
    expect(loaded).toBe(EXPECTED[name]);
    expect(file.numberOfTests).toBe(EXPECTED[name]);
  });
});

const isAllZero = (text: string): boolean => /^(00)+$/.test(text);

describe.each(PROVIDERS)('$name provider', (provider) => {
  const other = otherThan(provider);

  describe('x25519_test.json (RFC 7748 §5)', () => {
    let ran = 0;
    it.each(x25519Cases)('tcId $tcId $result $comment', (tc) => {
      ran++;
      const secretKey = fromHex(tc.private);
      const publicKey = fromHex(tc.public);
      const shared = provider.x25519(secretKey, publicKey);
      switch (tc.result) {
        case 'valid':
          expect(shared && hex(shared)).toBe(tc.shared);
          break;
        case 'invalid':
          expect(shared).toBeUndefined();
          break;
        case 'acceptable':
          // Our rule: an all-zero result (low-order peer key) is refused, anything else is
          // computed as RFC 7748 §5 says, bit 255 ignored and u reduced modulo p.
          expect(outcome(() => provider.x25519(secretKey, publicKey))).toBe(
            outcome(() => other.x25519(secretKey, publicKey)),
          );
          expect(shared && hex(shared)).toBe(isAllZero(tc.shared) ? undefined : tc.shared);
          break;
      }
    });
    it('ran every case', () => {
      expect(ran).toBe(EXPECTED['x25519_test.json']);
    });
  });

  describe('ed25519_test.json (RFC 8032 §5.1.7)', () => {
    let ran = 0;
    it.each(ed25519Cases)('tcId $tcId $result $comment', (tc) => {
      ran++;
      const verify = (p: typeof provider): boolean =>
        p.ed25519Verify(fromHex(tc.pk), fromHex(tc.msg), fromHex(tc.sig));
      switch (tc.result) {
        case 'valid':
          expect(verify(provider)).toBe(true);
          break;
        case 'invalid':
          expect(verify(provider)).toBe(false);
          break;
        case 'acceptable':
          expect(verify(provider)).toBe(verify(other));
          break;
      }
    });
    it('ran every case', () => {
      expect(ran).toBe(EXPECTED['ed25519_test.json']);
    });
  });

  describe('chacha20_poly1305_test.json (RFC 8439 §2.8)', () => {
    let ran = 0;
    it.each(aeadCases)('tcId $tcId $result $comment', (tc) => {
      ran++;
      const [key, nonce, aad, msg] = [
        fromHex(tc.key),
        fromHex(tc.iv),
        fromHex(tc.aad),
        fromHex(tc.msg),
      ];
      const sealed = fromHex(tc.ct + tc.tag);
      const open = (p: typeof provider): string =>
        outcome(() => p.aeadOpen(key, nonce, aad, sealed));
      switch (tc.result) {
        case 'valid':
          expect(hex(provider.aeadSeal(key, nonce, aad, msg))).toBe(tc.ct + tc.tag);
          expect(open(provider)).toBe(tc.msg);
          break;
        case 'invalid':
          if (nonce.length === 12) {
            expect(provider.aeadOpen(key, nonce, aad, sealed)).toBeUndefined();
          } else {
            // A nonce of the wrong size is a caller bug, refused before any work is done.
            expect(() => provider.aeadSeal(key, nonce, aad, msg)).toThrow(RangeError);
            expect(() => provider.aeadOpen(key, nonce, aad, sealed)).toThrow(RangeError);
          }
          break;
        case 'acceptable':
          expect(open(provider)).toBe(open(other));
          break;
      }
    });
    it('ran every case', () => {
      expect(ran).toBe(EXPECTED['chacha20_poly1305_test.json']);
    });
  });

  describe('hkdf_sha256_test.json (RFC 5869)', () => {
    let ran = 0;
    it.each(hkdfCases)('tcId $tcId $result $comment', (tc) => {
      ran++;
      const derive = (p: typeof provider): Uint8Array =>
        p.hkdfSha256(fromHex(tc.ikm), fromHex(tc.salt), fromHex(tc.info), tc.size);
      switch (tc.result) {
        case 'valid':
          expect(hex(derive(provider))).toBe(tc.okm);
          break;
        case 'invalid':
          expect(() => derive(provider)).toThrow(RangeError);
          break;
        case 'acceptable':
          expect(outcome(() => derive(provider))).toBe(outcome(() => derive(other)));
          break;
      }
    });
    it('ran every case', () => {
      expect(ran).toBe(EXPECTED['hkdf_sha256_test.json']);
    });
  });

  describe('hmac_sha256_test.json (RFC 2104)', () => {
    let ran = 0;
    it.each(hmacCases)('tcId $tcId $result $comment', (tc) => {
      ran++;
      // Wycheproof's truncated MACs are the leftmost tagSize bits of the full HMAC (RFC 2104 §5).
      const tag = (p: typeof provider): string =>
        hex(p.hmacSha256(fromHex(tc.key), fromHex(tc.msg)).subarray(0, tc.tagBytes));
      expect(tc.tag.length).toBe(2 * tc.tagBytes);
      switch (tc.result) {
        case 'valid':
          expect(tag(provider)).toBe(tc.tag);
          break;
        case 'invalid':
          expect(tag(provider)).not.toBe(tc.tag);
          break;
        case 'acceptable':
          expect(tag(provider)).toBe(tag(other));
          break;
      }
    });
    it('ran every case', () => {
      expect(ran).toBe(EXPECTED['hmac_sha256_test.json']);
    });
  });
});
