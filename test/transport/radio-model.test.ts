// The virtual radio's physics (src/transport/radio-model.ts): advertising events spaced as the
// Core spec's advInterval + advDelay, found from any instant; the log-distance RSSI; addresses.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/sim/random.js';
import {
  ADV_DELAY_MAX_MS,
  advertisingEventAfter,
  advertisingEventTime,
  advertisingSchedule,
  rssiAt,
  staticRandomAddress,
} from '../../src/transport/radio-model.js';
import { propertyRuns } from '../support/properties.js';

const PATH_LOSS = { rssiAt1mDbm: -59, exponent: 2.5, shadowingDb: 2 };

describe('advertising events', () => {
  it('are advInterval + 0..10 ms apart, 5 ms over on average (Core Vol 6 Part B §4.4.2.2.1)', () => {
    const schedule = advertisingSchedule(200, 1_000, new Random('adv'));
    const gaps = Array.from(
      { length: 2_000 },
      (_, k) => advertisingEventTime(schedule, k + 1) - advertisingEventTime(schedule, k),
    );
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(200 + ADV_DELAY_MAX_MS);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeCloseTo(205, 0);
  });

  it('starts within one interval of placement', () => {
    const schedule = advertisingSchedule(100, 5_000, new Random('start'));
    expect(advertisingEventAfter(schedule, 5_000)).toBeLessThanOrEqual(5_000 + 100 + 2);
  });

  it('advertisingEventAfter(t) is the first event after t (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 10_240 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: -100_000, max: 10_000_000 }),
        fc.string(),
        (interval, placed, offset, seed) => {
          const schedule = advertisingSchedule(interval, placed, new Random(seed));
          const t = placed + offset;
          const next = advertisingEventAfter(schedule, t);
          expect(next).toBeGreaterThan(t);
          const k = Math.round((next - schedule.phase) / (interval + 5));
          expect(advertisingEventTime(schedule, k)).toBe(next);
          expect(advertisingEventTime(schedule, k - 1)).toBeLessThanOrEqual(t);
        },
      ),
      { numRuns: propertyRuns(300, 20_000) },
    );
  });

  it('refuses an interval under the Core minimum of 20 ms', () => {
    expect(() => advertisingSchedule(19, 0, new Random(1))).toThrow(RangeError);
  });
});

describe('RSSI by the log-distance model', () => {
  it('averages P(1 m) − 25·log10(d) dBm, whole numbers, falling with distance', () => {
    const random = new Random('rssi');
    const mean = (metres: number) => {
      let sum = 0;
      for (let i = 0; i < 4_000; i++) {
        const rssi = rssiAt(metres, PATH_LOSS, random);
        expect(Number.isInteger(rssi)).toBe(true);
        sum += rssi;
      }
      return sum / 4_000;
    };
    expect(mean(1)).toBeCloseTo(-59, 0);
    expect(mean(10)).toBeCloseTo(-84, 0);
    expect(mean(30)).toBeCloseTo(-59 - 25 * Math.log10(30), 0);
  });

  it('has no shadowing at σ = 0 and stays at or above −127 dBm', () => {
    const random = new Random(2);
    expect(rssiAt(100, { ...PATH_LOSS, shadowingDb: 0 }, random)).toBe(-109);
    expect(rssiAt(1e9, PATH_LOSS, random)).toBe(-127);
  });
});

describe('addresses', () => {
  it('are static random addresses: six bytes, the top two bits set', () => {
    const random = new Random('addresses');
    for (let i = 0; i < 100; i++) {
      const address = staticRandomAddress(random);
      expect(address).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(Number.parseInt(address.slice(0, 2), 16) & 0xc0).toBe(0xc0);
    }
  });
});
