// The WebAssembly SHA-256 kernel: published vectors (FIPS 180-4 examples, RFC 5869 Appendix A,
// Wycheproof HMAC and HKDF), differential properties against @noble/hashes on inputs of every
// size up to the kernel's maximum, and the argument checks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  SHA256_KERNEL_MAX_INPUT_BYTES as MAX,
  Sha256Kernel,
} from '../../../protocol/crypto/wasm/sha256-kernel.js';
import { propertyRuns } from '../../support/properties.js';
import { fromHex, hex } from '../../support/hex.js';
import { loadWycheproof, type WycheproofGroups } from '../../support/wycheproof.js';

const RUNS = { numRuns: propertyRuns(150, 20_000) };

/** One instance for the whole file, so every call runs on memory that earlier calls used. */
const kernel = new Sha256Kernel();

/** The instance's memory, to check that a call leaves nothing of its inputs behind. */
function kernelMemory(k: Sha256Kernel): Uint8Array {
  return Reflect.get(k, 'bytes') as Uint8Array;
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const counting = (from: number, to: number): Uint8Array =>
  Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SHA-256 (FIPS 180-4 examples)', () => {
  it.each([
    ['the empty message', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['"abc"', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'the 448-bit message',
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    [
      'the 896-bit message',
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
  ])('%s', (_, message, digest) => {
    expect(hex(kernel.sha256(ascii(message)))).toBe(digest);
  });
});

describe('HKDF-SHA256 (RFC 5869 Appendix A)', () => {
  it.each([
    [
      'A.1 basic',
      new Uint8Array(22).fill(0x0b),
      counting(0x00, 0x0c),
      counting(0xf0, 0xf9),
      42,
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    ],
    [
      'A.2 longer inputs and outputs',
      counting(0x00, 0x4f),
      counting(0x60, 0xaf),
      counting(0xb0, 0xff),
      82,
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' +
        '59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71' +
        'cc30c58179ec3e87c14c01d5c1f3434f1d87',
    ],
    [
      'A.3 empty salt and info',
      new Uint8Array(22).fill(0x0b),
      new Uint8Array(0),
      new Uint8Array(0),
      42,
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    ],
  ])('%s', (_, ikm, salt, info, length, okm) => {
    expect(hex(kernel.hkdfSha256(ikm, salt, info, length))).toBe(okm);
  });
});

const hmacFile = loadWycheproof<WycheproofGroups['hmac']>('hmac_sha256_test.json');
const hmacCases = hmacFile.testGroups.flatMap((g) =>
  g.tests.map((t) => ({ ...t, tagBytes: g.tagSize / 8 })),
);
const hkdfFile = loadWycheproof<WycheproofGroups['hkdf']>('hkdf_sha256_test.json');
const hkdfCases = hkdfFile.testGroups.flatMap((g) => g.tests);

describe('Wycheproof hmac_sha256_test.json (RFC 2104)', () => {
  it('holds every case and all fit the kernel', () => {
    expect(hmacCases.length).toBe(hmacFile.numberOfTests);
    expect(hmacCases.length).toBe(174);
    for (const tc of hmacCases) {
      expect(Math.max(tc.key.length, tc.msg.length) / 2).toBeLessThanOrEqual(MAX);
    }
  });

  it.each(hmacCases)('tcId $tcId $result', (tc) => {
    // Truncated MACs are the leftmost tagSize bits of the full HMAC (RFC 2104 §5).
    const tag = hex(kernel.hmacSha256(fromHex(tc.key), fromHex(tc.msg)).subarray(0, tc.tagBytes));
    expect(tc.result).not.toBe('acceptable');
    if (tc.result === 'valid') expect(tag).toBe(tc.tag);
    else expect(tag).not.toBe(tc.tag);
  });
});

describe('Wycheproof hkdf_sha256_test.json (RFC 5869)', () => {
  it('holds every case', () => {
    expect(hkdfCases.length).toBe(hkdfFile.numberOfTests);
    expect(hkdfCases.length).toBe(86);
  });

  it.each(hkdfCases)('tcId $tcId $result', (tc) => {
    const derive = (): Uint8Array =>
      kernel.hkdfSha256(fromHex(tc.ikm), fromHex(tc.salt), fromHex(tc.info), tc.size);
    expect(tc.result).not.toBe('acceptable');
    // The invalid cases ask for more than 255 blocks, a caller bug.
    if (tc.result === 'valid') expect(hex(derive())).toBe(tc.okm);
    else expect(derive).toThrow(RangeError);
  });
});

/** Sizes at and around the block boundaries, where the padding takes one block or two. */
const BOUNDARIES = [0, 1, 31, 32, 33, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, MAX - 1, MAX];

/** A length in 0..max, mostly near block boundaries, often small, sometimes anywhere. */
const lengthUpTo = (max: number): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(...BOUNDARIES.filter((n) => n <= max)),
    fc.integer({ min: 0, max: Math.min(max, 300) }),
    fc.integer({ min: 0, max }),
  );

/**
 * Bytes of such a length, drawn from a seeded xorshift32 so that shrinking a failure works on the
 * length and seed rather than on thousands of byte values.
 */
const bytesUpTo = (max: number): fc.Arbitrary<Uint8Array> =>
  fc.tuple(lengthUpTo(max), fc.integer({ min: 1, max: 0xffffffff })).map(([length, seed]) => {
    const bytes = new Uint8Array(length);
    let x = seed;
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[i] = x & 0xff;
    }
    return bytes;
  });

const okmLength = fc.oneof(
  fc.constantFrom(0, 1, 31, 32, 33, 64, 65, 8128, 8159, 8160),
  fc.integer({ min: 0, max: 8160 }),
);

type Operation =
  | { readonly kind: 'sha256'; readonly data: Uint8Array }
  | { readonly kind: 'hmac'; readonly key: Uint8Array; readonly data: Uint8Array }
  | {
      readonly kind: 'hkdf';
      readonly ikm: Uint8Array;
      readonly salt: Uint8Array;
      readonly info: Uint8Array;
      readonly length: number;
    };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('sha256' as const), data: bytesUpTo(MAX) }),
  fc.record({ kind: fc.constant('hmac' as const), key: bytesUpTo(MAX), data: bytesUpTo(MAX) }),
  fc.record({
    kind: fc.constant('hkdf' as const),
    ikm: bytesUpTo(MAX),
    salt: bytesUpTo(MAX),
    info: bytesUpTo(MAX),
    length: okmLength,
  }),
);

function run(k: Sha256Kernel, op: Operation): Uint8Array {
  switch (op.kind) {
    case 'sha256':
      return k.sha256(op.data);
    case 'hmac':
      return k.hmacSha256(op.key, op.data);
    case 'hkdf':
      return k.hkdfSha256(op.ikm, op.salt, op.info, op.length);
  }
}

function reference(op: Operation): Uint8Array {
  switch (op.kind) {
    case 'sha256':
      return sha256(op.data);
    case 'hmac':
      return hmac(sha256, op.key, op.data);
    case 'hkdf':
      return hkdf(sha256, op.ikm, op.salt, op.info, op.length);
  }
}

describe('differential against @noble/hashes', () => {
  it('sha256 agrees on every length up to the maximum', () => {
    fc.assert(
      fc.property(bytesUpTo(MAX), (data) => {
        expect(hex(kernel.sha256(data))).toBe(hex(sha256(data)));
      }),
      RUNS,
    );
  });

  it('sha256 agrees on every length of the first three blocks', () => {
    for (let length = 0; length <= 3 * 64; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 131 + length) & 0xff);
      expect(hex(kernel.sha256(data))).toBe(hex(sha256(data)));
    }
  });

  it('hmacSha256 agrees for keys shorter than, equal to and longer than a block', () => {
    fc.assert(
      fc.property(bytesUpTo(MAX), bytesUpTo(MAX), (key, data) => {
        expect(hex(kernel.hmacSha256(key, data))).toBe(hex(hmac(sha256, key, data)));
      }),
      RUNS,
    );
  });

  it('hkdfSha256 agrees for every output length', () => {
    fc.assert(
      fc.property(
        bytesUpTo(MAX),
        bytesUpTo(MAX),
        bytesUpTo(MAX),
        okmLength,
        (ikm, salt, info, n) => {
          expect(hex(kernel.hkdfSha256(ikm, salt, info, n))).toBe(
            hex(hkdf(sha256, ikm, salt, info, n)),
          );
        },
      ),
      RUNS,
    );
  });

  it('any sequence of calls on one instance agrees and leaves its memory all zeros', () => {
    const fresh = new Sha256Kernel();
    const memory = kernelMemory(fresh);
    fc.assert(
      fc.property(fc.array(operation, { minLength: 1, maxLength: 4 }), (ops) => {
        for (const op of ops) {
          expect(hex(run(fresh, op))).toBe(hex(reference(op)));
          expect(memory.findIndex((byte) => byte !== 0)).toBe(-1);
        }
      }),
      { numRuns: propertyRuns(40, 2_000) },
    );
  });
});

describe('arguments', () => {
  const tooLong = new Uint8Array(MAX + 1);
  const ok = new Uint8Array(32);

  it('refuses inputs above the maximum with RangeError', () => {
    expect(() => kernel.sha256(tooLong)).toThrow(RangeError);
    expect(() => kernel.hmacSha256(tooLong, ok)).toThrow(RangeError);
    expect(() => kernel.hmacSha256(ok, tooLong)).toThrow(RangeError);
    expect(() => kernel.hkdfSha256(tooLong, ok, ok, 32)).toThrow(RangeError);
    expect(() => kernel.hkdfSha256(ok, tooLong, ok, 32)).toThrow(RangeError);
    expect(() => kernel.hkdfSha256(ok, ok, tooLong, 32)).toThrow(RangeError);
  });

  it.each([-1, 8161, 1.5, Number.NaN])('refuses an output length of %s', (length) => {
    expect(() => kernel.hkdfSha256(ok, ok, ok, length)).toThrow(RangeError);
  });

  it('refuses arguments that are not byte arrays with TypeError', () => {
    const notBytes = [1, 2, 3] as unknown as Uint8Array;
    expect(() => kernel.sha256(notBytes)).toThrow(TypeError);
    expect(() => kernel.hmacSha256(notBytes, ok)).toThrow(TypeError);
    expect(() => kernel.hkdfSha256(ok, ok, notBytes, 32)).toThrow(TypeError);
  });

  it('still computes correctly after a refused call', () => {
    expect(() => kernel.hmacSha256(ok, tooLong)).toThrow(RangeError);
    expect(hex(kernel.hmacSha256(ok, ok))).toBe(hex(hmac(sha256, ok, ok)));
  });
});
