// Backoff with seeded jitter (src/phone/step-timing.ts): inside [ceiling/2, ceiling], doubling to
// the cap, the same draws give the same delays, and phones on different streams spread out.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/phone/step-timing.js';
import { Random } from '../../src/sim/random.js';
import { propertyRuns } from '../support/properties.js';

const POLICY = { baseMs: 250, maxMs: 4_000 };

describe('backoffMs', () => {
  it('stays within half and all of the doubled, capped delay', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.string(), (retry, seed) => {
        const ceiling = Math.min(POLICY.maxMs, POLICY.baseMs * 2 ** (retry - 1));
        const delay = backoffMs(retry, POLICY, new Random(seed).bytes);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }),
      { numRuns: propertyRuns(200, 5_000) },
    );
  });

  it('repeats by seed, and spreads phones on different streams', () => {
    const delays = (seed: string) =>
      [1, 2, 3].map((r) => backoffMs(r, POLICY, new Random(seed).bytes));
    expect(delays('phone:a')).toEqual(delays('phone:a'));
    const firsts = new Set(
      Array.from({ length: 20 }, (_, n) => backoffMs(1, POLICY, new Random(`phone:${n}`).bytes)),
    );
    expect(firsts.size).toBeGreaterThan(10);
  });

  it('refuses a retry number that is not 1, 2, ...', () => {
    expect(() => backoffMs(0, POLICY, new Random(1).bytes)).toThrow(RangeError);
  });
});
