// The strict CBOR profile (protocol/cbor/strict-cbor.ts): round trips, deterministic encoding,
// and the hostile inputs of SECURITY.md items 6, 7, 8 and 26, written as hex.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../../../protocol/cbor/strict-cbor.js';
import type { CborLimits, CborValue } from '../../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import { propertyRuns } from '../../support/properties.js';
import { hex } from '../../support/hex.js';
import { cborValue, fromHex } from './arbitraries.js';

const LIMITS = { maxBytes: 4096 };
const { DECODE, TOO_LARGE } = WIRE_ERRORS;

function decodeHex(text: string, limits: CborLimits = LIMITS) {
  return decodeCbor(fromHex(text), limits);
}

describe('strict CBOR: valid items', () => {
  it.each<[string, CborValue]>([
    ['00', 0],
    ['17', 23],
    ['1818', 24],
    ['190100', 256],
    ['1a00010000', 65_536],
    ['1b0000000100000000', 2 ** 32],
    ['1b001fffffffffffff', Number.MAX_SAFE_INTEGER],
    ['20', -1],
    ['3b001ffffffffffffe', -Number.MAX_SAFE_INTEGER],
    ['f4', false],
    ['f5', true],
    ['f6', null],
    ['40', new Uint8Array(0)],
    ['43010203', Uint8Array.of(1, 2, 3)],
    ['6449455446', 'IETF'],
    ['63efbbbf', '\uFEFF'],
    ['64f0908591', '\u{10151}'],
    ['8301820203820405', [1, [2, 3], [4, 5]]],
    [
      'a201020304',
      new Map([
        [1, 2],
        [3, 4],
      ]),
    ],
    ['a1 18ff 00', new Map([[255, 0]])],
  ])('%s', (text, value) => {
    expect(decodeHex(text)).toEqual({ ok: true, value });
    expect(hex(encodeCbor(value))).toBe(text.replace(/\s+/g, ''));
  });

  it('decode(encode(v)) = v for every value of the profile', () => {
    fc.assert(
      fc.property(cborValue, (value) => {
        expect(decodeCbor(encodeCbor(value), LIMITS)).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(2_000, 200_000) },
    );
  });

  it('accepts only canonical bytes: encode(decode(b)) = b whenever decode succeeds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const result = decodeCbor(bytes, LIMITS);
        if (result.ok) expect(hex(encodeCbor(result.value))).toBe(hex(bytes));
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });

  it('encodes map keys in canonical order whatever the insertion order', () => {
    const map = new Map<number, CborValue>([
      [200, 1],
      [3, 2],
      [24, 3],
      [0, 4],
    ]);
    expect(hex(encodeCbor(map))).toBe('a4 0004 0302 181803 18c801'.replace(/\s+/g, ''));
  });
});

describe('strict CBOR: hostile inputs (SECURITY.md 6, 7, 8)', () => {
  it.each([
    ['empty input', '', 'empty input'],
    ['indefinite byte string', '5f 41 00 ff', 'indefinite length'],
    ['indefinite text', '7f 61 61 ff', 'indefinite length'],
    ['indefinite array', '9f 00 ff', 'indefinite length'],
    ['indefinite map', 'bf 00 00 ff', 'indefinite length'],
    ['lone break', 'ff', 'unexpected break'],
    ['huge byte string length', '5b ffffffffffffffff', 'declared length exceeds the input'],
    ['huge text length', '7b 7fffffffffffffff 61', 'declared length exceeds the input'],
    ['huge array length', '9b ffffffffffffffff 00', 'declared length exceeds the input'],
    ['huge map length', 'bb ffffffffffffffff 00 00', 'declared length exceeds the input'],
    ['4 GiB byte string', '5a ffffffff 00', 'declared length exceeds the input'],
    ['array longer than the input', '83 00 00', 'declared length exceeds the input'],
    ['map longer than the input', 'a2 00 00 01', 'declared length exceeds the input'],
    ['truncated argument', '19 01', 'unexpected end of input'],
    ['truncated argument inside an array', '81 19 01', 'unexpected end of input'],
    ['tag 0 (date)', 'c0 74 323031332d30332d32315432303a30343a30305a', 'tags are not allowed'],
    ['tag 2 (bignum)', 'c2 49 010000000000000000', 'tags are not allowed'],
    ['tag 55799 (self-describe)', 'd9d9f7 00', 'tags are not allowed'],
    ['half float', 'f9 3c00', 'floats are not allowed'],
    ['single float', 'fa 47c35000', 'floats are not allowed'],
    ['double float', 'fb 3ff199999999999a', 'floats are not allowed'],
    ['undefined', 'f7', 'simple values other than'],
    ['simple(16)', 'f0', 'simple values other than'],
    ['simple(255)', 'f8 ff', 'simple values other than'],
    ['reserved additional information 28', '1c', 'reserved additional information 28'],
    ['reserved additional information 30', '5e', 'reserved additional information 30'],
    ['non-shortest 0 in 1 byte', '18 00', 'non-shortest'],
    ['non-shortest 23 in 1 byte', '18 17', 'non-shortest'],
    ['non-shortest 255 in 2 bytes', '19 00ff', 'non-shortest'],
    ['non-shortest 65535 in 4 bytes', '1a 0000ffff', 'non-shortest'],
    ['non-shortest 2^32 - 1 in 8 bytes', '1b 00000000ffffffff', 'non-shortest'],
    ['non-shortest negative', '38 00', 'non-shortest'],
    ['non-shortest length', '58 01 00', 'non-shortest'],
    ['non-shortest map key', 'a1 18 01 00', 'non-shortest'],
    ['integer 2^53', '1b 0020000000000000', 'integer beyond'],
    ['integer -2^53', '3b 001fffffffffffff', 'integer beyond'],
    ['integer 2^64 - 1', '1b ffffffffffffffff', 'integer beyond'],
    ['duplicate map key', 'a2 00 01 00 02', 'duplicate map key 0'],
    ['map keys out of order', 'a2 01 00 00 00', 'out of canonical order'],
    ['text map key', 'a1 61 61 00', 'map keys must be unsigned integers'],
    ['__proto__ map key', 'a1 69 5f5f70726f746f5f5f a1 00 f5', 'map keys must be unsigned'],
    ['negative map key', 'a1 20 00', 'map keys must be unsigned integers'],
    ['map key 256', 'a1 190100 00', 'map keys must be unsigned integers'],
    ['bytes map key', 'a1 41 00 00', 'map keys must be unsigned integers'],
    ['array map key', 'a1 80 00', 'map keys must be unsigned integers'],
    ['trailing byte', '00 00', 'trailing bytes'],
    ['trailing bytes after a map', 'a1 00 00 ff ff', 'trailing bytes'],
    ['two items', '61 61 61 62', 'trailing bytes'],
    ['UTF-8 truncated sequence', '62 c3 28', 'invalid UTF-8'],
    ['UTF-8 sequence cut by the length', '62 e2 82 ac', 'invalid UTF-8'],
    ['UTF-8 overlong NUL', '62 c0 80', 'invalid UTF-8'],
    ['UTF-8 overlong slash', '63 e0 80 af', 'invalid UTF-8'],
    ['UTF-8 surrogate', '63 ed a0 80', 'invalid UTF-8'],
    ['UTF-8 above U+10FFFF', '64 f4 90 80 80', 'invalid UTF-8'],
    ['UTF-8 lone continuation', '61 80', 'invalid UTF-8'],
    ['UTF-8 0xff', '61 ff', 'invalid UTF-8'],
    ['9 nested arrays', '81'.repeat(9) + '00', 'nesting deeper than 8'],
    ['9 nested maps', 'a100'.repeat(9) + '00', 'nesting deeper than 8'],
  ])('%s → DECODE', (_, text, reason) => {
    const result = decodeHex(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe(DECODE);
    expect(result.detail).toContain(reason);
  });

  it('refuses 100,000 nested arrays at the ninth, recursing no deeper', () => {
    const bytes = new Uint8Array(100_001).fill(0x81);
    bytes[100_000] = 0;
    expect(decodeCbor(bytes, { maxBytes: 200_000 })).toMatchObject({ ok: false, code: DECODE });
  });

  it('checks the size before parsing: TOO_LARGE for one byte over the limit', () => {
    const valid = encodeCbor(new Uint8Array(10));
    expect(decodeCbor(valid, { maxBytes: valid.length })).toMatchObject({ ok: true });
    expect(decodeCbor(valid, { maxBytes: valid.length - 1 })).toEqual({
      ok: false,
      code: TOO_LARGE,
      detail: `${valid.length} bytes, limit ${valid.length - 1}`,
    });
    expect(decodeCbor(fromHex('5b ffffffffffffffff'), { maxBytes: 4 })).toMatchObject({
      code: TOO_LARGE,
    });
  });

  it('honours a smaller nesting limit', () => {
    expect(decodeHex('818100', { maxBytes: 10, maxDepth: 1 })).toMatchObject({ code: DECODE });
    expect(decodeHex('8100', { maxBytes: 10, maxDepth: 1 })).toEqual({ ok: true, value: [0] });
  });

  it('decodes maps into Map objects: Object.prototype is never touched', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const result = decodeHex('a1 00 a1 01 69 5f5f70726f746f5f5f');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toBeInstanceOf(Map);
    expect(result.value).toEqual(new Map([[0, new Map([[1, '__proto__']])]]));
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('copies byte strings: the result does not alias the input', () => {
    const input = fromHex('42 0102');
    const result = decodeCbor(input, LIMITS);
    input[1] = 9;
    expect(result).toEqual({ ok: true, value: Uint8Array.of(1, 2) });
  });

  it('never throws on arbitrary bytes: a value or DECODE / TOO_LARGE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => {
        const result = decodeCbor(bytes, { maxBytes: 100 });
        if (!result.ok) expect([DECODE, TOO_LARGE]).toContain(result.code);
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});

describe('strict CBOR: the encoder refuses values outside the profile', () => {
  it.each<[string, unknown]>([
    ['a float', 1.5],
    ['NaN', Number.NaN],
    ['2^53', 2 ** 53],
    ['-2^53', -(2 ** 53)],
    ['undefined', undefined],
    ['a bigint', 1n],
    ['a plain object', { a: 1 }],
    ['a lone surrogate', '\uD800'],
    ['a text map key', new Map([['a', 1]])],
    ['map key 256', new Map([[256, 1]])],
    ['a fractional map key', new Map([[1.5, 1]])],
    ['9 nested arrays', [[[[[[[[[0]]]]]]]]]],
  ])('%s', (_, value) => {
    expect(() => encodeCbor(value as CborValue)).toThrow(/CBOR: /);
  });
});
