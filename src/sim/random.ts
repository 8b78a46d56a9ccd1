/**
 * The World's seeded randomness (ARCHITECTURE.md §2: a run is fully determined by
 * `(scenario, seed)`). Every lock, phone and radio draws from its own stream, forked from the
 * World's by a label (`world.fork('lock:17')`), so adding a lock or reordering draws in one
 * component never changes what another component sees.
 *
 * Generator: xoshiro128** 1.1, D. Blackman and S. Vigna, "Scrambled Linear Pseudorandom Number
 * Generators", ACM TOMS 47(4), 2021; https://prng.di.unimi.it/. 128 bits of state, period
 * 2^128 − 1, passes BigCrush; all-32-bit arithmetic, so fast in JavaScript. Not cryptographic:
 * simulated keys are test keys.
 *
 * Seeding and forking: a seed (an integer or a string) or a parent's key plus a label is hashed
 * into the four state words with M. E. O'Neill's `seed_seq_fe` entropy mixer ("Developing a
 * seed_seq Alternative", pcg-random.org, 2015; the algorithm NumPy's `SeedSequence` uses, whose
 * `generate_state` our test checks against). 128-bit keys matter here: 100 k locks with 32-bit
 * keys would almost surely include two with the same stream.
 */
import type { RandomSource } from '../../protocol/crypto/provider.js';

export type Seed = number | string;

// seed_seq_fe constants (O'Neill 2015).
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_WORDS = 4;

// Domain tags, the first entropy word, so that a number, a string and a fork never collide.
const TAG_NUMBER = 0;
const TAG_STRING = 1;
const TAG_FORK = 2;

const TWO_32 = 2 ** 32;
const utf8 = new TextEncoder();

/**
 * `seed_seq_fe<4>` over `entropy` (u32 words), then `generate(4)`: four well-mixed words in which
 * every entropy bit affects every output bit.
 */
export function seedWords(entropy: ArrayLike<number>): Uint32Array {
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    value = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    return (value ^ (value >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const result = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (result ^ (result >>> 16)) >>> 0;
  };
  const pool = new Uint32Array(POOL_WORDS);
  for (let i = 0; i < POOL_WORDS; i++) pool[i] = hashmix(i < entropy.length ? entropy[i]! : 0);
  for (let src = 0; src < POOL_WORDS; src++) {
    for (let dst = 0; dst < POOL_WORDS; dst++) {
      if (src !== dst) pool[dst] = mix(pool[dst]!, hashmix(pool[src]!));
    }
  }
  for (let src = POOL_WORDS; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_WORDS; dst++) pool[dst] = mix(pool[dst]!, hashmix(entropy[src]!));
  }
  const out = new Uint32Array(POOL_WORDS);
  hashConst = INIT_B;
  for (let i = 0; i < POOL_WORDS; i++) {
    let value = (pool[i]! ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_B) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    out[i] = (value ^ (value >>> 16)) >>> 0;
  }
  return out;
}

/** `tag`, then `prefix`, then the UTF-8 byte length and bytes of `text` as little-endian words. */
function entropyOf(tag: number, prefix: ArrayLike<number>, text: string): number[] {
  const bytes = utf8.encode(text);
  const words = [tag, ...Array.from(prefix), bytes.length];
  for (let i = 0; i < bytes.length; i += 4) {
    words.push(
      (bytes[i]! |
        ((bytes[i + 1] ?? 0) << 8) |
        ((bytes[i + 2] ?? 0) << 16) |
        ((bytes[i + 3] ?? 0) << 24)) >>>
        0,
    );
  }
  return words;
}

function keyOf(seed: Seed): Uint32Array {
  if (typeof seed === 'string') return seedWords(entropyOf(TAG_STRING, [], seed));
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError('a numeric seed must be a safe non-negative integer');
  }
  return seedWords([TAG_NUMBER, seed % TWO_32, Math.floor(seed / TWO_32)]);
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** A deterministic stream of random numbers (see the file comment). */
export class Random {
  /** The stream's identity: its initial state, from which forks are derived. */
  #key: Uint32Array = new Uint32Array(POOL_WORDS);
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;

  constructor(seed: Seed) {
    this.#start(keyOf(seed));
  }

  #start(key: Uint32Array): void {
    // xoshiro's only bad state is all zeros; seedWords practically never yields it.
    if (key.every((word) => word === 0)) key[0] = 1;
    this.#key = key;
    this.#s0 = key[0]! | 0;
    this.#s1 = key[1]! | 0;
    this.#s2 = key[2]! | 0;
    this.#s3 = key[3]! | 0;
  }

  /** xoshiro128** 1.1 `next()`: a uniform integer in [0, 2^32). */
  nextU32(): number {
    const s0 = this.#s0;
    const s1 = this.#s1;
    const s2 = this.#s2 ^ s0;
    const s3 = this.#s3 ^ s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    this.#s1 = s1 ^ s2;
    this.#s0 = s0 ^ s3;
    this.#s2 = s2 ^ (s1 << 9);
    this.#s3 = rotl(s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits (two draws: 27 high bits, then 26 low). */
  nextFloat(): number {
    const high = this.nextU32() >>> 5;
    const low = this.nextU32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /**
   * A uniform integer in [min, max], both included, without modulo bias (rejection sampling).
   * `min` and `max` are safe integers at most 2^32 − 1 apart; anything else is a `RangeError`.
   */
  int(min: number, max: number): number {
    if (
      !Number.isSafeInteger(min) ||
      !Number.isSafeInteger(max) ||
      max < min ||
      max - min >= TWO_32
    ) {
      throw new RangeError(`int(${min}, ${max}): need safe integers with 0 <= max - min < 2^32`);
    }
    const range = max - min + 1;
    if (range === TWO_32) return min + this.nextU32();
    // The largest multiple of `range` not above 2^32: values past it would favour small results.
    const limit = TWO_32 - (TWO_32 % range);
    let value = this.nextU32();
    while (value >= limit) value = this.nextU32();
    return min + (value % range);
  }

  /** Fills `out` with random bytes (little-endian words) and returns it; allocates nothing. */
  fill(out: Uint8Array): Uint8Array {
    let i = 0;
    for (; i + 4 <= out.length; i += 4) {
      const word = this.nextU32();
      out[i] = word;
      out[i + 1] = word >>> 8;
      out[i + 2] = word >>> 16;
      out[i + 3] = word >>> 24;
    }
    if (i < out.length) {
      let word = this.nextU32();
      for (; i < out.length; i++, word >>>= 8) out[i] = word;
    }
    return out;
  }

  /** `length` fresh random bytes: a `RandomSource` (protocol/crypto), safe to pass unbound. */
  readonly bytes: RandomSource = (length) => {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError('length must be a non-negative integer');
    }
    return this.fill(new Uint8Array(length));
  };

  /**
   * An independent stream named `label`, derived from this stream's key only: it does not
   * advance this stream, and the same label always gives the same stream, whatever was drawn.
   */
  fork(label: string): Random {
    const child = new Random(0);
    child.#start(seedWords(entropyOf(TAG_FORK, this.#key, label)));
    return child;
  }
}
