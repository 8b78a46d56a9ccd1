// The WebAssembly ChaCha20-Poly1305 kernel: the RFC 8439 vectors of each part (§2.3.2, §2.4.2,
// §2.5.2 and the Poly1305 carry cases of Appendix A.3, §2.6.2, §2.8.2, A.5), every Wycheproof
// case with a 96-bit nonce, and differential properties against @noble/ciphers at every block
// boundary up to the maximum size (SECURITY.md, Crypto).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import {
  CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES as MAX,
  ChaCha20Poly1305Kernel,
} from '../../../protocol/crypto/wasm/chacha20-poly1305-kernel.js';
import { propertyRuns } from '../../support/properties.js';
import { loadWycheproof, type WycheproofGroups } from '../../support/wycheproof.js';
import { fromHex, hex } from '../../support/hex.js';

const kernel = new ChaCha20Poly1305Kernel();
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const SUNSCREEN = text(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const KEY_00_1F = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const KEY_80_9F = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
const NONE = new Uint8Array(0);

/** The ciphertext part of a sealed box (the payload keystream runs from block counter 1). */
const ciphertextOf = (sealed: Uint8Array): string => hex(sealed.subarray(0, sealed.length - 16));

/** `length` bytes that differ with `seed`, cheap enough for thousands of boundary lengths. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed * 29 + (i >> 8)) & 0xff;
  return out;
}

function flipBit(data: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(data);
  copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7));
  return copy;
}

describe('RFC 8439 vectors', () => {
  it('§2.3.2: the block function, as the keystream of counter 1 over zeros', () => {
    const sealed = kernel.seal(
      KEY_00_1F,
      fromHex('000000090000004a00000000'),
      NONE,
      new Uint8Array(64),
    );
    expect(ciphertextOf(sealed)).toBe(
      '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e' +
        'd2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e',
    );
  });

  it('§2.4.2: encryption from counter 1, with a partial last block', () => {
    const sealed = kernel.seal(KEY_00_1F, fromHex('000000000000004a00000000'), NONE, SUNSCREEN);
    expect(ciphertextOf(sealed)).toBe(
      '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b' +
        'f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
        '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736' +
        '5af90bbf74a35be6b40b8eedf2785e42874d',
    );
  });

  it('§2.5.2: Poly1305 of a message with a partial last block', () => {
    const key = fromHex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
    const tag = kernel.poly1305(key, text('Cryptographic Forum Research Group'));
    expect(hex(tag)).toBe('a8061dc1305136c6c22b8baf0c0127a9');
  });

  // Appendix A.3 #5-#11: accumulators that wrap past 2^130 - 5, land exactly on it, or carry
  // through every limb. Keys are r ‖ s.
  const r1 = '01' + '00'.repeat(15);
  const r2 = '02' + '00'.repeat(15);
  const r10 = '0100000000000000' + '0400000000000000';
  const zero16 = '00'.repeat(16);
  const a310 =
    'e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000' +
    '01000000000000000000000000000000';
  it.each([
    [5, r2 + zero16, 'ff'.repeat(16), '03' + '00'.repeat(15)],
    [6, r2 + 'ff'.repeat(16), '02' + '00'.repeat(15), '03' + '00'.repeat(15)],
    [
      7,
      r1 + zero16,
      'ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15),
      '05' + '00'.repeat(15),
    ],
    [8, r1 + zero16, 'ff'.repeat(16) + 'fb' + 'fe'.repeat(15) + '01'.repeat(16), zero16],
    [9, r2 + zero16, 'fd' + 'ff'.repeat(15), 'fa' + 'ff'.repeat(15)],
    [10, r10 + zero16, a310, '1400000000000000' + '5500000000000000'],
    [11, r10 + zero16, a310.slice(0, 96), '13' + '00'.repeat(15)],
  ])('A.3 Poly1305 test vector #%i', (_, key, message, tag) => {
    expect(hex(kernel.poly1305(fromHex(key), fromHex(message)))).toBe(tag);
  });

  it('§2.6.2: the one-time key is the first half of block 0 (checked through the tag)', () => {
    const oneTimeKey = fromHex('8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646');
    const sealed = kernel.seal(KEY_80_9F, fromHex('000000000001020304050607'), NONE, NONE);
    // With no aad and no text, the MAC input is the length block le64(0) ‖ le64(0) alone.
    expect(hex(sealed)).toBe(hex(kernel.poly1305(oneTimeKey, new Uint8Array(16))));
    expect(hex(sealed)).toBe(hex(poly1305(new Uint8Array(16), oneTimeKey)));
  });

  it('§2.8.2: AEAD seal and open', () => {
    const nonce = fromHex('070000004041424344454647');
    const aad = fromHex('50515253c0c1c2c3c4c5c6c7');
    const expected =
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6' +
      '3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36' +
      '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
      '3ff4def08e4b7a9de576d26586cec64b6116' +
      '1ae10b594f09e26a7e902ecbd0600691';
    expect(hex(kernel.seal(KEY_80_9F, nonce, aad, SUNSCREEN))).toBe(expected);
    expect(kernel.open(KEY_80_9F, nonce, aad, fromHex(expected))).toEqual(SUNSCREEN);
  });

  it('A.5: AEAD decryption of 265 bytes', () => {
    const key = fromHex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0');
    const sealed = fromHex(
      '64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2' +
        '4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf' +
        '332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855' +
        '9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4' +
        'b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e' +
        'af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a' +
        '0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10' +
        '49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29' +
        'a6ad5cb4022b02709b' +
        'eead9d67890cbb22392336fea1851f38',
    );
    const plaintext = kernel.open(
      key,
      fromHex('000000000102030405060708'),
      fromHex('f33388860000000000004e91'),
      sealed,
    );
    expect(plaintext && new TextDecoder().decode(plaintext)).toBe(
      'Internet-Drafts are draft documents valid for a maximum of six months and may be ' +
        'updated, replaced, or obsoleted by other documents at any time. It is inappropriate ' +
        'to use Internet-Drafts as reference material or to cite them other than as ' +
        '/\u201cwork in progress./\u201d',
    );
  });
});

const wycheproof = loadWycheproof<WycheproofGroups['aead']>('chacha20_poly1305_test.json');
/** The kernel takes 96-bit nonces only; the other sizes are refused before it (provider.ts). */
const wycheproofCases = wycheproof.testGroups
  .flatMap((g) => g.tests)
  .filter((tc) => tc.iv.length === 24 && tc.key.length === 64);

describe('Wycheproof chacha20_poly1305_test.json, 96-bit nonces', () => {
  it('holds the expected cases', () => {
    expect(wycheproofCases.length).toBe(316);
    expect(wycheproofCases.filter((tc) => tc.result === 'valid').length).toBe(256);
    expect(wycheproofCases.filter((tc) => tc.result === 'invalid').length).toBe(60);
  });

  it.each(wycheproofCases)('tcId $tcId $result $comment', (tc) => {
    const [key, nonce, aad] = [fromHex(tc.key), fromHex(tc.iv), fromHex(tc.aad)];
    const sealed = fromHex(tc.ct + tc.tag);
    if (tc.result === 'valid') {
      expect(hex(kernel.seal(key, nonce, aad, fromHex(tc.msg)))).toBe(tc.ct + tc.tag);
      expect(hex(kernel.open(key, nonce, aad, sealed) ?? fromHex('ff'))).toBe(tc.msg);
    } else {
      expect(kernel.open(key, nonce, aad, sealed)).toBeUndefined();
    }
  });
});

/** Lengths 0..MAX, most of them on or next to a 16- or 64-byte boundary. */
const length: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: MAX }),
  fc.integer({ min: 0, max: 160 }),
  fc
    .tuple(
      fc.constantFrom(16, 64),
      fc.integer({ min: 0, max: MAX / 16 }),
      fc.integer({ min: -1, max: 1 }),
    )
    .map(([unit, k, delta]) => Math.min(MAX, Math.max(0, ((k * 16) / unit) * unit + delta))),
);
const bytesOf = (n: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: n, maxLength: n });
const aeadInputs = fc.record({
  key: bytesOf(32),
  nonce: bytesOf(12),
  aad: length.chain(bytesOf),
  plaintext: length.chain(bytesOf),
});

describe('differential against @noble/ciphers', () => {
  it('seal and open agree on random inputs of lengths 0..MAX', () => {
    fc.assert(
      fc.property(aeadInputs, ({ key, nonce, aad, plaintext }) => {
        const expected = chacha20poly1305(key, nonce, aad).encrypt(plaintext);
        const sealed = kernel.seal(key, nonce, aad, plaintext);
        expect(hex(sealed)).toBe(hex(expected));
        expect(hex(kernel.open(key, nonce, aad, sealed) ?? NONE)).toBe(hex(plaintext));
      }),
      { numRuns: propertyRuns(150, 20_000) },
    );
  });

  it('every length up to 320 and around every 64-byte boundary, for the text and the aad', () => {
    const key = pattern(32, 1);
    const nonce = pattern(12, 2);
    const lengths = new Set<number>();
    for (let n = 0; n <= 320; n++) lengths.add(n);
    for (let b = 64; b <= MAX; b += 64) [b - 1, b, b + 1].forEach((n) => lengths.add(n));
    lengths.delete(MAX + 1);
    for (const n of lengths) {
      const data = pattern(n, n);
      const short = pattern(n % 40, n);
      for (const [aad, plaintext] of [
        [short, data],
        [data, short],
      ] as const) {
        const sealed = kernel.seal(key, nonce, aad, plaintext);
        expect(hex(sealed)).toBe(hex(chacha20poly1305(key, nonce, aad).encrypt(plaintext)));
        expect(hex(kernel.open(key, nonce, aad, sealed) ?? NONE)).toBe(hex(plaintext));
      }
    }
  });

  it('Poly1305 agrees on random keys (bytes biased to 00 and ff) and messages', () => {
    const edgyByte = fc.oneof(fc.constantFrom(0, 0xff), fc.integer({ min: 0, max: 0xff }));
    const edgyBytes = (n: number): fc.Arbitrary<Uint8Array> =>
      fc.array(edgyByte, { minLength: n, maxLength: n }).map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(edgyBytes(32), length.chain(edgyBytes), (key, message) => {
        expect(hex(kernel.poly1305(key, message))).toBe(hex(poly1305(message, key)));
      }),
      { numRuns: propertyRuns(100, 20_000) },
    );
  });
});

describe('authentication', () => {
  const small = fc.integer({ min: 0, max: 40 }).chain(bytesOf);

  it('a flip of any single bit of the box or the aad opens to undefined', () => {
    fc.assert(
      fc.property(bytesOf(32), bytesOf(12), small, small, (key, nonce, aad, plaintext) => {
        const sealed = kernel.seal(key, nonce, aad, plaintext);
        for (let bit = 0; bit < sealed.length * 8; bit++) {
          expect(kernel.open(key, nonce, aad, flipBit(sealed, bit))).toBeUndefined();
        }
        for (let bit = 0; bit < aad.length * 8; bit++) {
          expect(kernel.open(key, nonce, flipBit(aad, bit), sealed)).toBeUndefined();
        }
        expect(kernel.open(key, nonce, aad, sealed)).toEqual(plaintext);
      }),
      { numRuns: propertyRuns(8, 500) },
    );
  });

  it('a wrong key or nonce, or a truncated or extended box, opens to undefined', () => {
    const key = pattern(32, 3);
    const nonce = pattern(12, 4);
    const sealed = kernel.seal(key, nonce, NONE, SUNSCREEN);
    expect(kernel.open(flipBit(key, 255), nonce, NONE, sealed)).toBeUndefined();
    expect(kernel.open(key, flipBit(nonce, 0), NONE, sealed)).toBeUndefined();
    expect(kernel.open(key, nonce, NONE, sealed.subarray(1))).toBeUndefined();
    expect(kernel.open(key, nonce, NONE, sealed.subarray(0, sealed.length - 1))).toBeUndefined();
    expect(kernel.open(key, nonce, NONE, Uint8Array.of(...sealed, 0))).toBeUndefined();
    expect(kernel.open(key, nonce, NONE, sealed)).toEqual(SUNSCREEN);
  });

  it('a box shorter than a tag opens to undefined', () => {
    for (let n = 0; n < 16; n++) {
      expect(kernel.open(KEY_00_1F, pattern(12, 0), NONE, new Uint8Array(n))).toBeUndefined();
    }
  });
});

describe('calls', () => {
  it('inputs are not modified and outputs are fresh arrays that later calls leave alone', () => {
    const key = pattern(32, 5);
    const nonce = pattern(12, 6);
    const aad = pattern(20, 7);
    const plaintext = pattern(100, 8);
    const first = kernel.seal(key, nonce, aad, plaintext);
    const firstHex = hex(first);
    const opened = kernel.open(key, nonce, aad, first);
    kernel.seal(pattern(32, 9), nonce, aad, pattern(100, 10));
    expect(hex(first)).toBe(firstHex);
    expect(opened).toEqual(pattern(100, 8));
    expect([key, nonce, aad, plaintext]).toEqual([
      pattern(32, 5),
      pattern(12, 6),
      pattern(20, 7),
      pattern(100, 8),
    ]);
    expect(first.buffer).not.toBe(opened?.buffer);
  });

  it('separate instances give the same results', () => {
    const other = new ChaCha20Poly1305Kernel();
    const sealed = other.seal(KEY_00_1F, pattern(12, 1), pattern(9, 2), pattern(77, 3));
    expect(sealed).toEqual(kernel.seal(KEY_00_1F, pattern(12, 1), pattern(9, 2), pattern(77, 3)));
  });

  it('accepts aad and text of exactly MAX bytes', () => {
    const [key, nonce, aad, plaintext] = [
      pattern(32, 1),
      pattern(12, 2),
      pattern(MAX, 3),
      pattern(MAX, 4),
    ];
    const sealed = kernel.seal(key, nonce, aad, plaintext);
    expect(hex(sealed)).toBe(hex(chacha20poly1305(key, nonce, aad).encrypt(plaintext)));
    expect(hex(kernel.open(key, nonce, aad, sealed) ?? NONE)).toBe(hex(plaintext));
  });

  it('throws RangeError on wrong key or nonce sizes and inputs above MAX', () => {
    const [key, nonce] = [pattern(32, 1), pattern(12, 2)];
    const tooLong = new Uint8Array(MAX + 1);
    const sealed = new Uint8Array(32);
    for (const badKey of [new Uint8Array(31), new Uint8Array(33), NONE]) {
      expect(() => kernel.seal(badKey, nonce, NONE, NONE)).toThrow(RangeError);
      expect(() => kernel.open(badKey, nonce, NONE, sealed)).toThrow(RangeError);
    }
    for (const badNonce of [new Uint8Array(8), new Uint8Array(11), new Uint8Array(24)]) {
      expect(() => kernel.seal(key, badNonce, NONE, NONE)).toThrow(RangeError);
      expect(() => kernel.open(key, badNonce, NONE, sealed)).toThrow(RangeError);
    }
    expect(() => kernel.seal(key, nonce, tooLong, NONE)).toThrow(RangeError);
    expect(() => kernel.seal(key, nonce, NONE, tooLong)).toThrow(RangeError);
    expect(() => kernel.open(key, nonce, tooLong, sealed)).toThrow(RangeError);
    expect(() => kernel.open(key, nonce, NONE, new Uint8Array(MAX + 17))).toThrow(RangeError);
    expect(() => kernel.poly1305(new Uint8Array(16), NONE)).toThrow(RangeError);
    expect(() => kernel.poly1305(key, tooLong)).toThrow(RangeError);
  });

  it('throws TypeError on arguments that are not byte arrays', () => {
    const notBytes = [1, 2, 3] as unknown as Uint8Array;
    expect(() => kernel.seal(notBytes, pattern(12, 0), NONE, NONE)).toThrow(TypeError);
    expect(() => kernel.seal(KEY_00_1F, pattern(12, 0), NONE, notBytes)).toThrow(TypeError);
    expect(() => kernel.open(KEY_00_1F, pattern(12, 0), notBytes, NONE)).toThrow(TypeError);
  });
});
