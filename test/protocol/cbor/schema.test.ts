// The schema language (protocol/cbor/schema.ts): inferred types, SCHEMA errors naming the path,
// unknown keys, cross-field checks, and the encoder refusing what the decoder would refuse.
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  arrayOf,
  bool,
  bytes,
  codec,
  enumeration,
  int,
  mapSchema,
  nested,
  oneOf,
  optional,
  required,
  text,
  uint,
  utf8Length,
} from '../../../protocol/cbor/schema.js';
import type { Infer } from '../../../protocol/cbor/schema.js';
import { encodeCbor } from '../../../protocol/cbor/strict-cbor.js';
import type { CborValue } from '../../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import { propertyRuns } from '../../support/properties.js';
import { arbitraryFor, fromHex } from './arbitraries.js';

const window = mapSchema(
  'window',
  { start: required(0, uint({ max: 1439 })), end: required(1, uint({ min: 1, max: 1440 })) },
  (w) => (w.start < w.end ? undefined : 'end: must be after start'),
);

const sample = mapSchema('sample', {
  id: required(0, bytes(16)),
  doors: required(1, arrayOf(bytes(16), { min: 1, max: 4 })),
  name: optional(2, text({ max: 12 })),
  pin: optional(3, text({ min: 7, max: 7, digits: true })),
  offset: optional(4, int({ min: -100, max: 100 })),
  ajar: required(5, oneOf(30, 60, 90)),
  role: required(6, enumeration({ resident: 0, guest: 1 })),
  flag: optional(7, bool()),
  windows: optional(8, arrayOf(nested(window), { max: 2 })),
  blob: optional(20, bytes({ min: 1, max: 4 })),
});
const sampleCodec = codec(sample, 512);

const id = new Uint8Array(16).fill(1);
const door = new Uint8Array(16).fill(2);

/** The CBOR map of a sample, built by hand so tests can break it anywhere. */
function raw(overrides: ReadonlyMap<number, CborValue | undefined> = new Map()): Uint8Array {
  const map = new Map<number, CborValue>([
    [0, id],
    [1, [door, door, door]],
    [5, 60],
    [6, 1],
  ]);
  for (const [key, value] of overrides) {
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }
  return encodeCbor(map);
}

function schemaError(bytes: Uint8Array): string | undefined {
  const result = sampleCodec.decode(bytes);
  expect(result.ok).toBe(false);
  if (result.ok) return undefined;
  expect(result.code).toBe(WIRE_ERRORS.SCHEMA);
  return result.detail;
}

describe('schema: inferred types', () => {
  it('infers required, optional, literal and nested field types', () => {
    type Sample = Infer<typeof sample>;
    expectTypeOf<Sample['id']>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<Sample['doors']>().toEqualTypeOf<readonly Uint8Array[]>();
    expectTypeOf<Sample['ajar']>().toEqualTypeOf<30 | 60 | 90>();
    expectTypeOf<Sample['role']>().toEqualTypeOf<'resident' | 'guest'>();
    expectTypeOf<Sample['flag']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<Sample['windows']>().toEqualTypeOf<
      readonly { readonly start: number; readonly end: number }[] | undefined
    >();
    expectTypeOf<Sample>().toHaveProperty('name');
  });
});

describe('schema: decode', () => {
  it('decodes a valid map into an object with the schema names', () => {
    expect(sampleCodec.decode(raw(new Map([[2, 'front']])))).toEqual({
      ok: true,
      value: { id, doors: [door, door, door], name: 'front', ajar: 60, role: 'guest' },
    });
  });

  it.each<[string, ReadonlyMap<number, CborValue | undefined>, string]>([
    [
      'a short door',
      new Map([[1, [door, door, new Uint8Array(15)]]]),
      'sample.doors[2]: expected bytes(16)',
    ],
    ['a text door', new Map([[1, ['door']]]), 'sample.doors[0]: expected bytes(16)'],
    ['no doors', new Map([[1, []]]), 'sample.doors: expected array(1..4) of bytes(16)'],
    [
      '5 doors',
      new Map([[1, [door, door, door, door, door]]]),
      'sample.doors: expected array(1..4)',
    ],
    ['a missing id', new Map([[0, undefined]]), 'sample.id: missing'],
    ['an unknown key', new Map([[9, 0]]), 'sample: unknown key 9'],
    ['an unknown key 255', new Map([[255, 0]]), 'sample: unknown key 255'],
    ['null for an optional field', new Map([[2, null]]), 'sample.name: expected text(0..12)'],
    ['a name of 13 bytes', new Map([[2, 'thirteenchars']]), 'sample.name: expected text(0..12)'],
    [
      'a name of 12 chars and 13 UTF-8 bytes',
      new Map([[2, 'abcdefghijké']]),
      'sample.name: expected text',
    ],
    ['a 6-digit pin', new Map([[3, '123456']]), 'sample.pin: expected digits(7)'],
    ['a pin with a letter', new Map([[3, '12345a7']]), 'sample.pin: expected digits(7)'],
    ['a pin with Arabic-Indic digits', new Map([[3, '١٢٣٤٥٦٧']]), 'sample.pin: expected digits(7)'],
    ['an int below its range', new Map([[4, -101]]), 'sample.offset: expected int -100..100'],
    ['an ajar not in the set', new Map([[5, 45]]), 'sample.ajar: expected one of 30, 60, 90'],
    ['an unknown role', new Map([[6, 2]]), 'sample.role: expected one of 0, 1'],
    ['a text role', new Map([[6, 'guest']]), 'sample.role: expected one of 0, 1'],
    ['a number for a bool', new Map([[7, 1]]), 'sample.flag: expected bool'],
    [
      'bytes for a map',
      new Map([[8, [new Uint8Array(2)]]]),
      'sample.windows[0]: expected map window',
    ],
    [
      'a window ending before its start',
      new Map([
        [
          8,
          [
            new Map([
              [0, 10],
              [1, 5],
            ]),
          ],
        ],
      ]),
      'sample.windows[0].end: must be after start',
    ],
    [
      'an unknown key in a nested map',
      new Map([
        [
          8,
          [
            new Map([
              [0, 1],
              [1, 5],
              [2, 0],
            ]),
          ],
        ],
      ]),
      'sample.windows[0]: unknown key 2',
    ],
    [
      'empty bytes under min 1',
      new Map([[20, new Uint8Array(0)]]),
      'sample.blob: expected bytes(1..4)',
    ],
  ])('%s → SCHEMA', (_, overrides, detail) => {
    expect(schemaError(raw(overrides))).toContain(detail);
  });

  it('refuses a top-level value that is not a map', () => {
    expect(schemaError(encodeCbor([1, 2]))).toBe('sample: expected map sample');
  });

  it('keeps strict CBOR failures as DECODE and size as TOO_LARGE', () => {
    expect(sampleCodec.decode(fromHex('a2 00 00 00 00'))).toMatchObject({
      code: WIRE_ERRORS.DECODE,
    });
    expect(sampleCodec.decode(new Uint8Array(513))).toMatchObject({ code: WIRE_ERRORS.TOO_LARGE });
  });

  it('never lets a field name from the input reach an object', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const value = sampleCodec.decode(raw(new Map([[2, '__proto__']])));
    expect(value).toMatchObject({ ok: true, value: { name: '__proto__' } });
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });

  it('decode(encode(v)) = v for generated values', () => {
    fc.assert(
      fc.property(arbitraryFor(sample), (value) => {
        expect(sampleCodec.decode(sampleCodec.encode(value))).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });
});

describe('schema: encode', () => {
  const valid: Infer<typeof sample> = { id, doors: [door], ajar: 30, role: 'resident' };

  it('writes the canonical map', () => {
    expect(sampleCodec.encode(valid)).toEqual(
      raw(
        new Map<number, CborValue>([
          [1, [door]],
          [5, 30],
          [6, 0],
        ]),
      ),
    );
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a short id', { id: new Uint8Array(3) }, /^sample\.id: expected bytes\(16\)$/],
    ['an unknown field', { extra: 1 }, /^sample: unknown field extra$/],
    ['a missing field', { id: undefined }, /^sample\.id: missing$/],
    ['a value outside the set', { ajar: 31 }, /^sample\.ajar: expected one of 30, 60, 90$/],
    ['an unknown role', { role: 'vendor' }, /^sample\.role: expected one of 0, 1$/],
    ['a float', { offset: 1.5 }, /^sample\.offset: expected int/],
    ['a broken window', { windows: [{ start: 5, end: 5 }] }, /^sample\.windows\[0\]\.end: must be/],
  ])('throws on %s', (_, change, message) => {
    expect(() => sampleCodec.encode({ ...valid, ...change })).toThrow(message);
  });

  it('throws when the encoding is over the codec limit', () => {
    const small = codec(mapSchema('small', { b: required(0, bytes({ max: 64 })) }), 8);
    expect(() => small.encode({ b: new Uint8Array(10) })).toThrow(/small: 13 bytes, limit 8/);
  });

  it('refuses broken schemas', () => {
    expect(() => mapSchema('x', { a: required(0, bool()), b: required(0, bool()) })).toThrow(
      /duplicate key 0/,
    );
    expect(() => mapSchema('x', { a: required(256, bool()) })).toThrow(/key must be/);
    expect(() => uint({ min: 5, max: 4 })).toThrow(RangeError);
    expect(() => enumeration({ a: 0, b: 0 })).toThrow(RangeError);
  });

  it('counts text limits in UTF-8 bytes', () => {
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
  });
});
