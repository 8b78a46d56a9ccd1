/**
 * A tiny schema language for keyway's CBOR messages (ARCHITECTURE.md §4 "Messages": validated
 * against a strict schema before use; unknown keys rejected). A schema is a map of small integer
 * keys to named fields; each field has a type (`uint` with a range or a set of values, `int`,
 * `bytes` / `text` with length limits, `bool`, an enumeration, an array of a type, a nested map)
 * and is required or optional. TypeScript infers the decoded type from the schema (`Infer`).
 *
 * Decoding goes strict CBOR (`strict-cbor.ts`, `DECODE` / `TOO_LARGE`) → schema (`SCHEMA`, the
 * detail naming the path: `credential.doors[2]: expected bytes(16)`). Decoded objects only ever
 * get the property names written in the schema, never names taken from the input (SECURITY.md
 * item 7). Encoding checks the same rules and throws on a violation: an invalid value is a bug
 * in the caller, not an expected outcome.
 */
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import { decodeCbor, encodeCbor, MAX_MAP_KEY } from './strict-cbor.js';
import type { CborMap, CborValue } from './strict-cbor.js';

export interface UintType<V extends number = number> {
  readonly kind: 'uint';
  readonly min: number;
  readonly max: number;
  /** When present, the only values allowed. */
  readonly oneOf?: readonly V[];
}
export interface IntType {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
}
/** Lengths in bytes. */
export interface BytesType {
  readonly kind: 'bytes';
  readonly min: number;
  readonly max: number;
}
/** Lengths in UTF-8 bytes; `digits` allows only ASCII `0`..`9`. */
export interface TextType {
  readonly kind: 'text';
  readonly min: number;
  readonly max: number;
  readonly digits: boolean;
}
export interface BoolType {
  readonly kind: 'bool';
}
/** Names on the TypeScript side, small unsigned integers on the wire. */
export interface EnumType<N extends string = string> {
  readonly kind: 'enum';
  readonly codes: Readonly<Record<N, number>>;
  readonly names: ReadonlyMap<number, N>;
}
export interface ArrayType<E extends FieldType = FieldType> {
  readonly kind: 'array';
  readonly of: E;
  readonly min: number;
  readonly max: number;
}
export interface MapType<F extends Fields = Fields> {
  readonly kind: 'map';
  readonly schema: MapSchema<F>;
}
export type FieldType =
  UintType | IntType | BytesType | TextType | BoolType | EnumType | ArrayType | MapType;

export interface Field<T extends FieldType = FieldType, O extends boolean = boolean> {
  readonly key: number;
  readonly type: T;
  readonly optional: O;
}
export type Fields = Readonly<Record<string, Field>>;

export interface MapSchema<F extends Fields = Fields> {
  /** The root of error paths (`credential`). */
  readonly name: string;
  readonly fields: F;
  /** Fields in key order, the order of the encoding. */
  readonly entries: readonly (readonly [string, Field])[];
  readonly keys: ReadonlySet<number>;
  /**
   * A check across fields, run after each field is valid: returns `"field: why"` for a
   * violation. Method syntax keeps schemas of different shapes assignable to `MapSchema`.
   */
  refine?(value: InferFields<F>): string | undefined;
}

/** The decoded TypeScript type of a field type. */
export type TypeOf<T extends FieldType> =
  T extends UintType<infer V>
    ? V
    : T extends IntType
      ? number
      : T extends BytesType
        ? Uint8Array
        : T extends TextType
          ? string
          : T extends BoolType
            ? boolean
            : T extends EnumType<infer N>
              ? N
              : T extends ArrayType<infer E>
                ? readonly TypeOf<E>[]
                : T extends MapType<infer F>
                  ? InferFields<F>
                  : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredNames<F extends Fields> = {
  [K in keyof F]: F[K]['optional'] extends true ? never : K;
}[keyof F];
type OptionalNames<F extends Fields> = Exclude<keyof F, RequiredNames<F>>;

export type InferFields<F extends Fields> = Simplify<
  { readonly [K in RequiredNames<F>]: TypeOf<F[K]['type']> } & {
    readonly [K in OptionalNames<F>]?: TypeOf<F[K]['type']>;
  }
>;
export type Infer<S> = S extends MapSchema<infer F> ? InferFields<F> : never;

function assertRange(min: number, max: number, what: string): void {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
    throw new RangeError(`schema: ${what} needs integer bounds min <= max`);
  }
}

/** An unsigned integer in `[min, max]` (default the whole safe range). */
export function uint(limits: { readonly min?: number; readonly max?: number } = {}): UintType {
  const min = limits.min ?? 0;
  const max = limits.max ?? Number.MAX_SAFE_INTEGER;
  assertRange(min, max, 'uint');
  if (min < 0) throw new RangeError('schema: uint min must be >= 0');
  return { kind: 'uint', min, max };
}

/** An unsigned integer that must be one of `values` (`ajarSeconds: 30 | 60 | 90`). */
export function oneOf<const V extends readonly number[]>(...values: V): UintType<V[number]> {
  const min = Math.min(...values);
  assertRange(min, Math.max(...values), 'oneOf');
  if (min < 0) throw new RangeError('schema: oneOf values must be >= 0');
  return { kind: 'uint', min, max: Math.max(...values), oneOf: values };
}

export function int(limits: { readonly min: number; readonly max: number }): IntType {
  assertRange(limits.min, limits.max, 'int');
  return { kind: 'int', min: limits.min, max: limits.max };
}

/** `bytes(16)`: exactly 16 bytes; `bytes({ max: 64 })`: 0..64 bytes. */
export function bytes(size: number | { readonly min?: number; readonly max: number }): BytesType {
  const [min, max] = typeof size === 'number' ? [size, size] : [size.min ?? 0, size.max];
  assertRange(min, max, 'bytes');
  return { kind: 'bytes', min, max };
}

export function text(limits: {
  readonly min?: number;
  readonly max: number;
  readonly digits?: boolean;
}): TextType {
  const min = limits.min ?? 0;
  assertRange(min, limits.max, 'text');
  return { kind: 'text', min, max: limits.max, digits: limits.digits ?? false };
}

export function bool(): BoolType {
  return { kind: 'bool' };
}

/** `enumeration({ resident: 0, guest: 1 })`: decodes to the names. */
export function enumeration<const V extends Readonly<Record<string, number>>>(
  codes: V,
): EnumType<keyof V & string> {
  const names = new Map<number, keyof V & string>();
  for (const [name, code] of Object.entries(codes)) {
    if (!Number.isSafeInteger(code) || code < 0 || names.has(code)) {
      throw new RangeError(`schema: enumeration codes must be distinct uints (${name})`);
    }
    names.set(code, name);
  }
  return { kind: 'enum', codes, names };
}

export function arrayOf<const E extends FieldType>(
  of: E,
  limits: { readonly min?: number; readonly max: number },
): ArrayType<E> {
  const min = limits.min ?? 0;
  assertRange(min, limits.max, 'array');
  return { kind: 'array', of, min, max: limits.max };
}

export function nested<F extends Fields>(schema: MapSchema<F>): MapType<F> {
  return { kind: 'map', schema };
}

export function required<const T extends FieldType>(key: number, type: T): Field<T, false> {
  return { key, type, optional: false };
}

export function optional<const T extends FieldType>(key: number, type: T): Field<T, true> {
  return { key, type, optional: true };
}

/** A map schema; throws on duplicate or out-of-profile keys (a bug in the schema). */
export function mapSchema<F extends Fields>(
  name: string,
  fields: F,
  refine?: (value: InferFields<F>) => string | undefined,
): MapSchema<F> {
  const entries = Object.entries(fields).sort(([, a], [, b]) => a.key - b.key);
  const keys = new Set<number>();
  for (const [fieldName, field] of entries) {
    if (!Number.isInteger(field.key) || field.key < 0 || field.key > MAX_MAP_KEY) {
      throw new RangeError(`schema ${name}.${fieldName}: key must be an integer 0..${MAX_MAP_KEY}`);
    }
    if (keys.has(field.key)) throw new RangeError(`schema ${name}: duplicate key ${field.key}`);
    if (fieldName === '__proto__') throw new RangeError(`schema ${name}: reserved field name`);
    keys.add(field.key);
  }
  return refine === undefined
    ? { name, fields, entries, keys }
    : { name, fields, entries, keys, refine };
}

/** The expected type as written in error details: `bytes(16)`, `uint 0..1439`. */
export function describeType(type: FieldType): string {
  const span = (min: number, max: number): string => (min === max ? `${min}` : `${min}..${max}`);
  switch (type.kind) {
    case 'uint':
      if (type.oneOf !== undefined) return `one of ${type.oneOf.join(', ')}`;
      return type.min === 0 && type.max === Number.MAX_SAFE_INTEGER
        ? 'uint'
        : `uint ${span(type.min, type.max)}`;
    case 'int':
      return `int ${span(type.min, type.max)}`;
    case 'bytes':
      return `bytes(${span(type.min, type.max)})`;
    case 'text':
      return type.digits
        ? `digits(${span(type.min, type.max)})`
        : `text(${span(type.min, type.max)})`;
    case 'bool':
      return 'bool';
    case 'enum':
      return `one of ${[...type.names.keys()].join(', ')}`;
    case 'array':
      return `array(${span(type.min, type.max)}) of ${describeType(type.of)}`;
    case 'map':
      return `map ${type.schema.name}`;
  }
}

/** RFC 3629 length of a string: text limits count bytes, as the wire does. */
export function utf8Length(value: string): number {
  let n = 0;
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x1_0000 ? 3 : 4;
  }
  return n;
}

const DIGITS = /^[0-9]*$/;

/** True when a leaf value (anything but an array or a map) satisfies its type. */
function leafOk(type: FieldType, value: unknown): boolean {
  switch (type.kind) {
    case 'uint':
    case 'int':
      return (
        typeof value === 'number' &&
        Number.isSafeInteger(value) &&
        value >= type.min &&
        value <= type.max &&
        (type.kind === 'int' || type.oneOf === undefined || type.oneOf.includes(value))
      );
    case 'bytes':
      return value instanceof Uint8Array && value.length >= type.min && value.length <= type.max;
    case 'text': {
      if (typeof value !== 'string') return false;
      const n = utf8Length(value);
      return n >= type.min && n <= type.max && (!type.digits || DIGITS.test(value));
    }
    case 'bool':
      return typeof value === 'boolean';
    case 'enum':
    case 'array':
    case 'map':
      return false;
  }
}

function expected(type: FieldType, path: string): Result<never> {
  return fail(WIRE_ERRORS.SCHEMA, `${path}: expected ${describeType(type)}`);
}

function decodeValue(type: FieldType, value: CborValue, path: string): Result<unknown> {
  if (type.kind === 'enum') {
    const name = typeof value === 'number' ? type.names.get(value) : undefined;
    return name === undefined ? expected(type, path) : ok(name);
  }
  if (type.kind === 'array') {
    if (!Array.isArray(value) || value.length < type.min || value.length > type.max) {
      return expected(type, path);
    }
    const items: unknown[] = [];
    for (const [i, item] of (value as readonly CborValue[]).entries()) {
      const decoded = decodeValue(type.of, item, `${path}[${i}]`);
      if (!decoded.ok) return decoded;
      items.push(decoded.value);
    }
    return ok(items);
  }
  if (type.kind === 'map') {
    return value instanceof Map ? decodeMap(type.schema, value, path) : expected(type, path);
  }
  return leafOk(type, value) ? ok(value) : expected(type, path);
}

function decodeMap<F extends Fields>(
  schema: MapSchema<F>,
  map: CborMap,
  path: string,
): Result<InferFields<F>> {
  for (const key of map.keys()) {
    if (!schema.keys.has(key)) return fail(WIRE_ERRORS.SCHEMA, `${path}: unknown key ${key}`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, field] of schema.entries) {
    const raw = map.get(field.key);
    if (raw === undefined) {
      if (!field.optional) return fail(WIRE_ERRORS.SCHEMA, `${path}.${name}: missing`);
      continue;
    }
    const decoded = decodeValue(field.type, raw, `${path}.${name}`);
    if (!decoded.ok) return decoded;
    out[name] = decoded.value;
  }
  const value = out as InferFields<F>;
  const problem = schema.refine?.(value);
  return problem === undefined ? ok(value) : fail(WIRE_ERRORS.SCHEMA, `${path}.${problem}`);
}

/** Validates an already decoded CBOR value against `schema`: `SCHEMA` with the path on failure. */
export function fromCbor<F extends Fields>(
  schema: MapSchema<F>,
  value: CborValue,
  path: string = schema.name,
): Result<InferFields<F>> {
  return value instanceof Map ? decodeMap(schema, value, path) : expected(nested(schema), path);
}

function encodeValue(type: FieldType, value: unknown, path: string): CborValue {
  if (type.kind === 'enum') {
    const code = typeof value === 'string' ? type.codes[value] : undefined;
    if (code === undefined) throw new TypeError(`${path}: expected ${describeType(type)}`);
    return code;
  }
  if (type.kind === 'array') {
    if (!Array.isArray(value) || value.length < type.min || value.length > type.max) {
      throw new TypeError(`${path}: expected ${describeType(type)}`);
    }
    return (value as readonly unknown[]).map((item, i) =>
      encodeValue(type.of, item, `${path}[${i}]`),
    );
  }
  if (type.kind === 'map') return encodeMap(type.schema, value, path);
  if (!leafOk(type, value)) throw new TypeError(`${path}: expected ${describeType(type)}`);
  return value as CborValue;
}

function encodeMap(schema: MapSchema, value: unknown, path: string): CborMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Map) {
    throw new TypeError(`${path}: expected an object`);
  }
  const record = value as Readonly<Record<string, unknown>>;
  for (const name of Object.keys(record)) {
    if (!Object.hasOwn(schema.fields, name)) throw new TypeError(`${path}: unknown field ${name}`);
  }
  const map = new Map<number, CborValue>();
  for (const [name, field] of schema.entries) {
    const item = record[name];
    if (item === undefined) {
      if (!field.optional) throw new TypeError(`${path}.${name}: missing`);
      continue;
    }
    map.set(field.key, encodeValue(field.type, item, `${path}.${name}`));
  }
  const problem = schema.refine?.(value as never);
  if (problem !== undefined) throw new RangeError(`${path}.${problem}`);
  return map;
}

/** The CBOR value of a typed object; throws `TypeError` / `RangeError` naming the path. */
export function toCbor<F extends Fields>(schema: MapSchema<F>, value: InferFields<F>): CborMap {
  return encodeMap(schema, value, schema.name);
}

/** A message or format: its schema, its size limit, and the paired encode / decode. */
export interface Codec<T> {
  readonly schema: MapSchema;
  readonly maxBytes: number;
  /** Canonical CBOR; throws on an invalid value or an encoding over `maxBytes`. */
  encode(value: T): Uint8Array;
  /** Size check, strict CBOR, schema: never throws. */
  decode(bytes: Uint8Array): Result<T>;
}

export function codec<F extends Fields>(
  schema: MapSchema<F>,
  maxBytes: number,
): Codec<InferFields<F>> {
  return {
    schema,
    maxBytes,
    encode(value) {
      const encoded = encodeCbor(toCbor(schema, value));
      if (encoded.length > maxBytes) {
        throw new RangeError(`${schema.name}: ${encoded.length} bytes, limit ${maxBytes}`);
      }
      return encoded;
    },
    decode(input) {
      const raw = decodeCbor(input, { maxBytes });
      return raw.ok ? fromCbor(schema, raw.value) : raw;
    },
  };
}
