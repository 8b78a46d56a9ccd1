import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Random, seedWords } from '../../src/sim/random.js';
import { propertyRuns } from '../support/properties.js';

const draw = (r: Random, n: number): number[] => Array.from({ length: n }, () => r.nextU32());

describe('seedWords (seed_seq_fe)', () => {
  // From NumPy 2.4: `np.random.SeedSequence(entropy).generate_state(4)`, the same algorithm.
  it.each([
    [
      [0, 1, 2, 3, 4, 5, 6],
      [959686680, 2383605563, 1602262926, 1251384801],
    ],
    [[12345], [2688385916, 3048105090, 4196366895, 3152189807]],
    [
      [0, 42, 0],
      [355231105, 2299483779, 806451919, 2125692606],
    ],
  ])('matches NumPy SeedSequence for %j', (entropy, expected) => {
    expect(Array.from(seedWords(entropy))).toEqual(expected);
  });
});

describe('Random (xoshiro128**)', () => {
  it('gives pinned first outputs for fixed seeds', () => {
    // Seed 42 is entropy [0, 42, 0] above; these are the outputs of the reference C `next()`
    // (prng.di.unimi.it/xoshiro128starstar.c) started from that state.
    expect(draw(new Random(42), 8)).toEqual([
      3642394246, 1803322910, 3885107908, 1374426770, 2467573921, 3060890678, 2698418895,
      3355131517,
    ]);
    expect(draw(new Random('keyway'), 4)).toEqual([2589769633, 1212470922, 2109065309, 3928271907]);
    expect(draw(new Random(42).fork('lock:1'), 4)).toEqual([
      2539417339, 2066510547, 3601812818, 3257082233,
    ]);
    // Bytes are the words little-endian: 0xd91a8686, then the low 3 bytes of 0x6b7c861e.
    expect(Buffer.from(new Random(42).bytes(7)).toString('hex')).toBe('86861ad91e867c');
  });

  it('is deterministic per seed, and seeds of different kinds differ', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.string()), (seed) => {
        expect(draw(new Random(seed), 16)).toEqual(draw(new Random(seed), 16));
      }),
    );
    const streams = [
      new Random(0),
      new Random(1),
      new Random('0'),
      new Random(''),
      new Random(2 ** 40),
    ];
    const firsts = streams.map((r) => draw(r, 2).join());
    expect(new Set(firsts).size).toBe(streams.length);
  });

  it('refuses bad seeds and bad arguments', () => {
    for (const seed of [-1, 1.5, NaN, 2 ** 53]) expect(() => new Random(seed)).toThrow(RangeError);
    const r = new Random(1);
    expect(() => r.int(5, 4)).toThrow(RangeError);
    expect(() => r.int(0, 2 ** 32)).toThrow(RangeError);
    expect(() => r.int(0.5, 2)).toThrow(RangeError);
    expect(() => r.bytes(-1)).toThrow(RangeError);
  });

  it('forks deterministically, without advancing the parent, into unrelated streams', () => {
    const parent = new Random('world');
    const before = draw(new Random('world'), 4);
    const a = parent.fork('lock:1');
    const again = new Random('world');
    draw(again, 100); // drawing from the parent first does not change the fork
    expect(draw(again.fork('lock:1'), 8)).toEqual(draw(a, 8));
    expect(draw(parent, 4)).toEqual(before);

    const labels = Array.from({ length: 2000 }, (_, i) => `lock:${i}`);
    const heads = new Set(labels.map((label) => draw(parent.fork(label), 2).join()));
    expect(heads.size).toBe(labels.length);
    expect(draw(parent.fork('a').fork('b'), 4)).not.toEqual(draw(parent.fork('b').fork('a'), 4));
    expect(draw(new Random(1).fork('x'), 4)).not.toEqual(draw(new Random(2).fork('x'), 4));
    // A fork is not the parent, nor a shifted copy of it.
    const head = draw(new Random('world'), 64);
    const child = draw(new Random('world').fork('lock:1'), 64);
    expect(child.filter((x) => head.includes(x))).toEqual([]);

    // Forks of neighbouring labels are uncorrelated: each output bit agrees about half the time.
    const x = new Random(7).fork('phone:1');
    const y = new Random(7).fork('phone:2');
    let agree = 0;
    const n = 4096;
    for (let i = 0; i < n; i++) agree += 32 - popcount((x.nextU32() ^ y.nextU32()) >>> 0);
    expect(Math.abs(agree / (32 * n) - 0.5)).toBeLessThan(0.01);
  });

  it('draws integers in range, unbiased, including the full 32-bit range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.nat(),
        (min, span, seed) => {
          const r = new Random(seed);
          for (let i = 0; i < 20; i++) {
            const v = r.int(min, min + span);
            expect(Number.isSafeInteger(v) && v >= min && v <= min + span).toBe(true);
          }
        },
      ),
      { numRuns: propertyRuns(200, 10_000) },
    );
    // Chi-squared, 9 degrees of freedom: 27.9 is the 0.001 critical value.
    const r = new Random('dice');
    const counts = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[r.int(0, 9)]!++;
    const chi = counts.reduce((sum, c) => sum + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi).toBeLessThan(27.9);
    // A range of 3 · 2^30 is where modulo bias would show: the top quarter would be half as likely.
    let top = 0;
    for (let i = 0; i < n; i++) if (r.int(0, 3 * 2 ** 30 - 1) >= 2 ** 31) top++;
    expect(Math.abs(top / n - 1 / 3)).toBeLessThan(0.01);
  });

  it('draws floats in [0, 1) with a uniform spread, and bytes with every value', () => {
    const r = new Random(99);
    let sum = 0;
    let outside = 0;
    const buckets = new Array<number>(16).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const f = r.nextFloat();
      if (!(f >= 0 && f < 1)) outside++;
      sum += f;
      buckets[Math.floor(f * 16)]!++;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
    for (const b of buckets) expect(Math.abs(b / n - 1 / 16)).toBeLessThan(0.005);

    const bytes = r.bytes(256 * 400);
    const seen = new Array<number>(256).fill(0);
    for (const b of bytes) seen[b]!++;
    expect(Math.min(...seen)).toBeGreaterThan(300);
    expect(Math.max(...seen)).toBeLessThan(500);
    expect(r.bytes(0)).toHaveLength(0);
    const out = new Uint8Array(5);
    expect(r.fill(out)).toBe(out);
  });

  it('serves as a RandomSource when passed unbound', () => {
    const source = new Random(3).bytes;
    expect(source(4)).toEqual(new Random(3).bytes(4));
  });
});

function popcount(x: number): number {
  let n = 0;
  for (; x !== 0; x &= x - 1) n++;
  return n;
}
