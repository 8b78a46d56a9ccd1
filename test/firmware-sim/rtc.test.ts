import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRtc,
  MAX_DRIFT_PPM,
  rtcError,
  rtcInvalidate,
  rtcRead,
  rtcSet,
  rtcSetDrift,
} from '../../firmware-sim/rtc.js';
import { propertyRuns } from '../support/properties.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

describe('RTC', () => {
  it('is invalid until set, then follows world time', () => {
    const fresh = createRtc();
    expect(fresh.valid).toBe(false);
    expect(rtcRead(fresh, T0)).toBeUndefined();
    expect(rtcError(fresh, T0)).toBeUndefined();
    const set = rtcSet(fresh, T0, T0 + 5_000);
    expect(set.valid).toBe(true);
    expect(rtcRead(set, T0)).toBe(T0 + 5_000);
    expect(rtcRead(set, T0 + 1_234)).toBe(T0 + 6_234);
    expect(rtcError(set, T0 + DAY)).toBe(5_000);
  });

  it('drifts by whole milliseconds, exactly', () => {
    const fast = rtcSet(createRtc(20), T0, T0);
    // 20 ppm: 1.728 s a day, 630.72 s a year.
    expect(rtcError(fast, T0 + DAY)).toBe(1_728);
    expect(rtcError(fast, T0 + 365 * DAY)).toBe(630_720);
    expect(rtcError(fast, T0 + 49_999)).toBe(0);
    expect(rtcError(fast, T0 + 50_000)).toBe(1);
    const slow = rtcSet(createRtc(-150), T0, T0);
    expect(rtcError(slow, T0 + DAY)).toBe(-12_960);
    // Flooring, not truncation: 1 ms at −150 ppm is −0.00015 ms, read as −1.
    expect(rtcError(slow, T0 + 1)).toBe(-1);
    // Fractions of a world millisecond are dropped.
    expect(rtcRead(fast, T0 + 999.9)).toBe(T0 + 999);
  });

  it('loses its reading on power loss and keeps its drift', () => {
    const set = rtcSet(createRtc(30), T0, T0);
    const lost = rtcInvalidate(set);
    expect(lost.valid).toBe(false);
    expect(lost.driftPpm).toBe(30);
    expect(rtcRead(lost, T0 + DAY)).toBeUndefined();
    expect(rtcInvalidate(lost)).toBe(lost);
    const resynced = rtcSet(lost, T0 + 2 * DAY, T0 + 2 * DAY);
    expect(rtcRead(resynced, T0 + 2 * DAY)).toBe(T0 + 2 * DAY);
    expect(set.valid).toBe(true); // states are values: the old one is untouched
  });

  it('changes drift without a jump in the reading', () => {
    const set = rtcSet(createRtc(100), T0, T0);
    const at = T0 + DAY;
    const colder = rtcSetDrift(set, at, -100);
    expect(rtcRead(colder, at)).toBe(rtcRead(set, at));
    expect(rtcError(colder, at + DAY)).toBe(0);
    expect(rtcSetDrift(createRtc(), T0, 5)).toEqual(createRtc(5));
  });

  it('refuses out-of-range drift and world time before its setting', () => {
    for (const ppm of [MAX_DRIFT_PPM + 1, -MAX_DRIFT_PPM - 1, 0.5, NaN]) {
      expect(() => createRtc(ppm)).toThrow(RangeError);
    }
    const set = rtcSet(createRtc(), T0, T0);
    expect(() => rtcRead(set, T0 - 1)).toThrow(RangeError);
    expect(() => rtcRead(set, NaN)).toThrow(RangeError);
    expect(() => rtcSet(set, T0, Infinity)).toThrow(RangeError);
  });

  it('is monotonic and matches exact BigInt arithmetic', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -MAX_DRIFT_PPM, max: MAX_DRIFT_PPM }),
        fc.integer({ min: 0, max: 2 ** 41 }),
        fc.integer({ min: 0, max: 200 * 365 * DAY }),
        fc.integer({ min: 0, max: 1000 }),
        (ppm, setAt, elapsed, step) => {
          const rtc = rtcSet(createRtc(ppm), setAt, T0);
          const a = rtcRead(rtc, setAt + elapsed)!;
          const b = rtcRead(rtc, setAt + elapsed + step)!;
          expect(b).toBeGreaterThanOrEqual(a);
          const e = BigInt(elapsed) * BigInt(ppm);
          const drift = e >= 0n ? e / 1_000_000n : -((-e + 999_999n) / 1_000_000n);
          expect(BigInt(a)).toBe(BigInt(T0) + BigInt(elapsed) + drift);
        },
      ),
      { numRuns: propertyRuns(500, 20_000) },
    );
  });
});
