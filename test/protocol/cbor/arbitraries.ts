// fast-check arbitraries shared by the CBOR, message and format tests: values of the strict CBOR
// profile, typed values generated from a schema, and hostile inputs for the decoder fuzz runs.
import fc from 'fast-check';
import { utf8Length } from '../../../protocol/cbor/schema.js';
import type { FieldType, Fields, InferFields, MapSchema } from '../../../protocol/cbor/schema.js';
import { encodeCbor, MAX_MAP_KEY } from '../../../protocol/cbor/strict-cbor.js';
import type { CborMap, CborValue } from '../../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../../protocol/errors.js';

export { fromHex } from '../../support/hex.js';

/** An integer in `[min, max]`, any safe range, biased to the edges like `fc.integer`. */
export function integerIn(min: number, max: number): fc.Arbitrary<number> {
  if (min >= -0x8000_0000 && max <= 0x7fff_ffff) return fc.integer({ min, max });
  return fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
}

const text = fc.oneof(fc.string({ unit: 'grapheme-ascii' }), fc.string({ unit: 'binary' }));

/** Any value of the profile, nested at most 6 deep. */
export const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 5, depthSize: 'small' },
    integerIn(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    fc.integer({ min: -300, max: 70_000 }),
    fc.boolean(),
    fc.constant(null),
    text,
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc
      .array(fc.tuple(fc.integer({ min: 0, max: MAX_MAP_KEY }), tie('value')), { maxLength: 4 })
      .map((entries) => new Map(entries)),
  ),
})).value;

/**
 * For some map schemas (cross-field rules a filter would rarely meet): an arbitrary to use
 * instead of the generated one, or a function that adjusts each generated value.
 */
export type Override = fc.Arbitrary<unknown> | ((value: Record<string, unknown>) => unknown);
export type Overrides = ReadonlyMap<MapSchema, Override>;

/** A value of a field type; arrays and byte strings stay short so each run is fast. */
export function arbitraryOf(
  type: FieldType,
  overrides: Overrides = new Map(),
): fc.Arbitrary<unknown> {
  switch (type.kind) {
    case 'uint':
      return type.oneOf !== undefined
        ? fc.constantFrom(...type.oneOf)
        : integerIn(type.min, type.max);
    case 'int':
      return integerIn(type.min, type.max);
    case 'bytes':
      return fc.uint8Array({ minLength: type.min, maxLength: Math.min(type.max, type.min + 48) });
    case 'text':
      if (type.digits) {
        return fc.string({
          unit: fc.constantFrom(...'0123456789'),
          minLength: type.min,
          maxLength: type.max,
        });
      }
      return fc
        .oneof(
          fc.string({ unit: 'grapheme-ascii', minLength: type.min, maxLength: type.max }),
          fc.string({ unit: 'binary', minLength: type.min, maxLength: type.max }),
        )
        .filter((s) => utf8Length(s) >= type.min && utf8Length(s) <= type.max);
    case 'bool':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...type.names.values());
    case 'array':
      return fc.array(arbitraryOf(type.of, overrides), {
        minLength: type.min,
        maxLength: Math.min(type.max, type.min + 3),
      });
    case 'map':
      return arbitraryFor(type.schema, overrides);
  }
}

/** A typed value of a map schema that passes its `refine` check. */
export function arbitraryFor<F extends Fields>(
  schema: MapSchema<F>,
  overrides: Overrides = new Map(),
): fc.Arbitrary<InferFields<F>> {
  const override = overrides.get(schema);
  if (override !== undefined && typeof override !== 'function') {
    return override as fc.Arbitrary<InferFields<F>>;
  }
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  const requiredKeys: string[] = [];
  for (const [name, field] of schema.entries) {
    shape[name] = arbitraryOf(field.type, overrides);
    if (!field.optional) requiredKeys.push(name);
  }
  return fc
    .record(shape, { requiredKeys })
    .map((value) => (override === undefined ? value : override(value)) as InferFields<F>)
    .filter((value) => schema.refine?.(value) === undefined);
}

/**
 * The CBOR map of a typed value without any of the encoder's checks, so tests can build values
 * that break a schema anywhere (a wrong length, a failed cross-field rule).
 */
export function looseCbor(schema: MapSchema, value: object): CborMap {
  const record = value as Readonly<Record<string, unknown>>;
  const map = new Map<number, CborValue>();
  for (const [name, field] of schema.entries) {
    if (record[name] !== undefined) map.set(field.key, looseValue(field.type, record[name]));
  }
  return map;
}

function looseValue(type: FieldType, value: unknown): CborValue {
  if (type.kind === 'map') return looseCbor(type.schema, value as object);
  if (type.kind === 'array' && Array.isArray(value)) {
    return value.map((item: unknown) => looseValue(type.of, item));
  }
  if (type.kind === 'enum' && typeof value === 'string') return type.codes[value] ?? value;
  return value as CborValue;
}

/** One change to an encoding: flip a bit, cut, insert or overwrite a byte. */
function mutate(bytes: Uint8Array, kind: number, at: number, byte: number): Uint8Array {
  const i = bytes.length === 0 ? 0 : at % bytes.length;
  const out = Uint8Array.from(bytes);
  switch (kind) {
    case 0:
      if (out.length > 0) out[i] = (out[i] ?? 0) ^ (1 << (byte & 7));
      return out;
    case 1:
      return out.subarray(0, i);
    case 2:
      return Uint8Array.from([...out.subarray(0, i), byte, ...out.subarray(i)]);
    default:
      if (out.length > 0) out[i] = byte;
      return out;
  }
}

/**
 * Hostile inputs for a decoder: random bytes, random profile values, and valid encodings with a
 * few mutations (the inputs most likely to get past the first checks).
 */
export function hostileInputs(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const mutation = fc.tuple(fc.nat(3), fc.nat(), fc.nat(255));
  return fc.oneof(
    fc.uint8Array({ maxLength: 96 }),
    cborValue.map((value) => encodeCbor(value)),
    fc
      .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([bytes, changes]) => changes.reduce((b, [k, at, v]) => mutate(b, k, at, v), bytes)),
    fc
      .tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 4 }))
      .map(([b, tail]) => Uint8Array.from([...b, ...tail])),
  );
}

/**
 * A fixed pool of valid encodings drawn once from `valid` (seeded), so that fuzz runs spend their
 * time in the decoder rather than in generating and signing fresh inputs.
 */
export function validPool<T>(valid: fc.Arbitrary<T>, encode: (value: T) => Uint8Array, size = 48) {
  return fc.constantFrom(...fc.sample(valid, { numRuns: size, seed: 8949 }).map(encode));
}

/** The codes a decoder may return for bytes that are not a valid instance. */
export const DECODER_CODES: readonly number[] = [
  WIRE_ERRORS.DECODE,
  WIRE_ERRORS.SCHEMA,
  WIRE_ERRORS.TOO_LARGE,
];
