/**
 * The strict CBOR profile of keyway's messages (ARCHITECTURE.md §4 "Messages", SECURITY.md items
 * 6, 7, 8 and 26): a small subset of RFC 8949 in its deterministic encoding (§4.2.1), decoded by
 * a hand-written parser.
 *
 * Why not cbor-x: it is built for speed and breadth (tags, floats, records, indefinite lengths,
 * string references, packed arrays), and each of those is an extra way for hostile bytes in.
 * Turning them off needs options whose combined behaviour we would have to re-verify at every
 * upgrade, and it has no switch that refuses non-shortest integers or unsorted map keys, which a
 * signature over an encoding needs. The subset below is about 200 lines; every rule is checked
 * where it is read, nothing is allocated from a declared length before it is known to fit the
 * input, and no path can throw.
 *
 * The profile (anything else is `DECODE`):
 * - major 0 / 1: integers in ±(2^53 − 1), so that they are exact JavaScript numbers;
 * - major 2 / 3: definite-length byte and text strings, text valid UTF-8 (RFC 8949 §3.1, §5.3.1);
 * - major 4 / 5: definite-length arrays and maps, nested at most `maxDepth` deep; map keys are
 *   unsigned integers in 0..255, strictly increasing (§4.2.1 order, which also rules out
 *   duplicates, §5.6); maps decode into a `Map` keyed by number, so no key such as `__proto__`
 *   can reach an object's prototype;
 * - major 7: only `false`, `true` and `null` (§3.3) — no floats, no other simple values;
 * - no tags (major 6), no indefinite lengths (§3.2.2), no reserved additional information;
 * - every argument in its shortest form (§4.2.1 "preferred serialization" of integers and
 *   lengths), and exactly one item: trailing bytes are refused (§5.1 "well-formed" is for one
 *   data item).
 * The input size is checked before any byte is parsed: `TOO_LARGE` over `maxBytes`.
 */
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';

/** A decoded value of the profile. Maps are `Map`s keyed by unsigned integers. */
export type CborValue =
  number | boolean | null | string | Uint8Array | readonly CborValue[] | CborMap;

export type CborMap = ReadonlyMap<number, CborValue>;

/** The largest map key of the profile: keys stay "small integers" (ARCHITECTURE.md §4). */
export const MAX_MAP_KEY = 255;
/** Default nesting limit: arrays and maps inside one another, the outermost counting 1. */
export const DEFAULT_MAX_DEPTH = 8;

export interface CborLimits {
  /** Inputs longer than this are refused with `TOO_LARGE` before parsing. */
  readonly maxBytes: number;
  /** Arrays and maps nested deeper than this are refused with `DECODE`. Default 8. */
  readonly maxDepth?: number;
}

const MAJOR_UINT = 0;
const MAJOR_NEGINT = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_TAG = 6;
const MAJOR_SIMPLE = 7;

/** RFC 8949 §3.3 simple values of the profile. */
const SIMPLE_FALSE = 20;
const SIMPLE_TRUE = 21;
const SIMPLE_NULL = 22;
const AI_INDEFINITE = 31;
const TWO_POW_32 = 0x1_0000_0000;
/** §4.2.1: the smallest argument each 1-, 2- and 4-byte form may carry. */
const SHORTEST_MINIMUM: Readonly<Record<number, number>> = { 1: 24, 2: 0x100, 4: 0x1_0000 };

/** A parse failure: where it happened and what the profile forbids there. */
class Refusal {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * RFC 3629 §4: true when `bytes[start, end)` is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). Checked here so the decoder never relies on an exception.
 */
function isUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 === 0xe0) lo = 0xa0;
      if (b0 === 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 === 0xf0) lo = 0x90;
      if (b0 === 0xf4) hi = 0x8f;
    } else return false;
    if (i + need >= end) return false;
    const b1 = bytes[i + 1] ?? 0;
    if (b1 < lo || b1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const b = bytes[i + k] ?? 0;
      if (b < 0x80 || b > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

/** One pass over the input; `pos` only moves forward. */
class Parser {
  pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly maxDepth: number,
  ) {}

  private byte(): number | Refusal {
    const b = this.bytes[this.pos];
    if (b === undefined) return new Refusal(this.pos, 'unexpected end of input');
    this.pos += 1;
    return b;
  }

  /**
   * RFC 8949 §3: the argument of a head with additional information `ai`, refused unless in its
   * shortest form (§4.2.1). Values above 2^53 − 1 come back as `Infinity`: never a valid integer,
   * and larger than any input for a length.
   */
  private argument(ai: number, at: number): number | Refusal {
    if (ai < 24) return ai;
    if (ai === AI_INDEFINITE) return new Refusal(at, 'indefinite length or break');
    if (ai > 27) return new Refusal(at, `reserved additional information ${ai}`);
    const size = 1 << (ai - 24);
    if (this.bytes.length - this.pos < size) return new Refusal(at, 'unexpected end of input');
    const start = this.pos;
    this.pos += size;
    if (size === 8) {
      const high = this.uint(start, 4);
      if (high === 0) return new Refusal(at, 'non-shortest integer or length');
      return high >= 0x20_0000 ? Infinity : high * TWO_POW_32 + this.uint(start + 4, 4);
    }
    const value = this.uint(start, size);
    if (value < (SHORTEST_MINIMUM[size] ?? 0))
      return new Refusal(at, 'non-shortest integer or length');
    return value;
  }

  /** A big-endian unsigned integer of `size` ≤ 4 bytes, known to be in the input. */
  private uint(start: number, size: number): number {
    let value = 0;
    for (let k = 0; k < size; k++) value = value * 256 + (this.bytes[start + k] ?? 0);
    return value;
  }

  /** A length that must fit in what is left, each unit taking at least `unit` bytes. */
  private length(ai: number, at: number, unit: number): number | Refusal {
    const n = this.argument(ai, at);
    if (n instanceof Refusal) return n;
    if (n * unit > this.bytes.length - this.pos) {
      return new Refusal(at, 'declared length exceeds the input');
    }
    return n;
  }

  item(depth: number): CborValue | Refusal {
    const at = this.pos;
    const head = this.byte();
    if (head instanceof Refusal) return head;
    const major = head >> 5;
    const ai = head & 0x1f;
    switch (major) {
      case MAJOR_UINT:
      case MAJOR_NEGINT: {
        const n = this.argument(ai, at);
        if (n instanceof Refusal) return n;
        const value = major === MAJOR_UINT ? n : -1 - n;
        if (!Number.isSafeInteger(value)) return new Refusal(at, 'integer beyond ±(2^53 − 1)');
        return value;
      }
      case MAJOR_BYTES:
      case MAJOR_TEXT: {
        const n = this.length(ai, at, 1);
        if (n instanceof Refusal) return n;
        const start = this.pos;
        this.pos += n;
        if (major === MAJOR_BYTES) return this.bytes.slice(start, start + n);
        if (!isUtf8(this.bytes, start, start + n)) return new Refusal(at, 'invalid UTF-8 text');
        return utf8.decode(this.bytes.subarray(start, start + n));
      }
      case MAJOR_ARRAY:
      case MAJOR_MAP:
        return this.container(major, ai, at, depth + 1);
      case MAJOR_TAG:
        return new Refusal(at, 'tags are not allowed');
    }
    // MAJOR_SIMPLE, RFC 8949 §3.3.
    if (ai === SIMPLE_FALSE) return false;
    if (ai === SIMPLE_TRUE) return true;
    if (ai === SIMPLE_NULL) return null;
    if (ai >= 25 && ai <= 27) return new Refusal(at, 'floats are not allowed');
    if (ai === AI_INDEFINITE) return new Refusal(at, 'unexpected break');
    return new Refusal(at, 'simple values other than false, true, null are not allowed');
  }

  private container(major: number, ai: number, at: number, depth: number): CborValue | Refusal {
    if (depth > this.maxDepth) return new Refusal(at, `nesting deeper than ${this.maxDepth}`);
    const isMap = major === MAJOR_MAP;
    const n = this.length(ai, at, isMap ? 2 : 1);
    if (n instanceof Refusal) return n;
    if (!isMap) {
      const items: CborValue[] = [];
      for (let k = 0; k < n; k++) {
        const value = this.item(depth);
        if (value instanceof Refusal) return value;
        items.push(value);
      }
      return items;
    }
    const map = new Map<number, CborValue>();
    let previous = -1;
    for (let k = 0; k < n; k++) {
      const keyAt = this.pos;
      const key = this.item(depth);
      if (key instanceof Refusal) return key;
      if (typeof key !== 'number' || key < 0 || key > MAX_MAP_KEY) {
        return new Refusal(keyAt, `map keys must be unsigned integers 0..${MAX_MAP_KEY}`);
      }
      if (key === previous) return new Refusal(keyAt, `duplicate map key ${key}`);
      if (key < previous) return new Refusal(keyAt, 'map keys out of canonical order');
      previous = key;
      const value = this.item(depth);
      if (value instanceof Refusal) return value;
      map.set(key, value);
    }
    return map;
  }
}

/**
 * Decodes exactly one item of the profile. Never throws: `TOO_LARGE` over `limits.maxBytes`,
 * `DECODE` with the offset and the broken rule otherwise.
 */
export function decodeCbor(bytes: Uint8Array, limits: CborLimits): Result<CborValue> {
  if (bytes.length > limits.maxBytes) {
    return fail(WIRE_ERRORS.TOO_LARGE, `${bytes.length} bytes, limit ${limits.maxBytes}`);
  }
  if (bytes.length === 0) return fail(WIRE_ERRORS.DECODE, 'empty input');
  const parser = new Parser(bytes, limits.maxDepth ?? DEFAULT_MAX_DEPTH);
  const value = parser.item(0);
  if (value instanceof Refusal) {
    return fail(WIRE_ERRORS.DECODE, `offset ${value.offset}: ${value.reason}`);
  }
  if (parser.pos !== bytes.length) {
    return fail(WIRE_ERRORS.DECODE, `offset ${parser.pos}: trailing bytes after the item`);
  }
  return ok(value);
}

/** A growable output buffer. */
class Writer {
  private buffer = new Uint8Array(64);
  private length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  /** RFC 8949 §3 head in its shortest form (§4.2.1); `n` is a safe non-negative integer. */
  head(major: number, n: number): void {
    this.reserve(9);
    const b = this.buffer;
    let i = this.length;
    if (n < 24) b[i++] = (major << 5) | n;
    else if (n < 0x100) {
      b[i++] = (major << 5) | 24;
      b[i++] = n;
    } else if (n < 0x1_0000) {
      b[i++] = (major << 5) | 25;
      b[i++] = n >>> 8;
      b[i++] = n & 0xff;
    } else {
      const wide = n >= TWO_POW_32;
      b[i++] = (major << 5) | (wide ? 27 : 26);
      if (wide) i = writeU32(b, i, Math.floor(n / TWO_POW_32));
      i = writeU32(b, i, n % TWO_POW_32);
    }
    this.length = i;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  done(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function writeU32(b: Uint8Array, i: number, n: number): number {
  b[i] = n >>> 24;
  b[i + 1] = (n >>> 16) & 0xff;
  b[i + 2] = (n >>> 8) & 0xff;
  b[i + 3] = n & 0xff;
  return i + 4;
}

const utf8Encoder = new TextEncoder();
/** With the `u` flag this matches only unpaired surrogates, which have no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function write(w: Writer, value: CborValue, depth: number, maxDepth: number): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new RangeError('CBOR: integers only, within ±(2^53 − 1)');
    if (value >= 0) w.head(MAJOR_UINT, value);
    else w.head(MAJOR_NEGINT, -1 - value);
  } else if (typeof value === 'boolean') {
    w.head(MAJOR_SIMPLE, value ? SIMPLE_TRUE : SIMPLE_FALSE);
  } else if (value === null) {
    w.head(MAJOR_SIMPLE, SIMPLE_NULL);
  } else if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new TypeError('CBOR: text with an unpaired surrogate');
    const bytes = utf8Encoder.encode(value);
    w.head(MAJOR_TEXT, bytes.length);
    w.raw(bytes);
  } else if (value instanceof Uint8Array) {
    w.head(MAJOR_BYTES, value.length);
    w.raw(value);
  } else {
    if (depth >= maxDepth) throw new RangeError(`CBOR: nesting deeper than ${maxDepth}`);
    if (value instanceof Map) writeMap(w, value, depth + 1, maxDepth);
    else if (Array.isArray(value)) {
      w.head(MAJOR_ARRAY, value.length);
      for (const item of value as readonly CborValue[]) write(w, item, depth + 1, maxDepth);
    } else throw new TypeError('CBOR: unsupported value');
  }
}

/** §4.2.1: keys sorted by their encodings, which for keys 0..255 is numeric order. */
function writeMap(w: Writer, map: CborMap, depth: number, maxDepth: number): void {
  const keys = [...map.keys()].sort((a, b) => a - b);
  w.head(MAJOR_MAP, keys.length);
  for (const key of keys) {
    if (!Number.isInteger(key) || key < 0 || key > MAX_MAP_KEY) {
      throw new RangeError(`CBOR: map keys must be integers 0..${MAX_MAP_KEY}`);
    }
    w.head(MAJOR_UINT, key);
    write(w, map.get(key) ?? null, depth, maxDepth);
  }
}

/**
 * The deterministic encoding (RFC 8949 §4.2.1) of a value of the profile: shortest heads,
 * definite lengths, map keys in order. `decodeCbor` accepts exactly these bytes back, so a
 * signature over an encoding is stable. A value outside the profile is a caller bug: throws
 * `TypeError` / `RangeError`.
 */
export function encodeCbor(value: CborValue, maxDepth = DEFAULT_MAX_DEPTH): Uint8Array {
  const w = new Writer();
  write(w, value, 0, maxDepth);
  return w.done();
}
