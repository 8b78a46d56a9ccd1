import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, dayBounds, dayLabelAt } from '../../../protocol/doorcode/day-label.js';
import {
  DayTable,
  GRACE_BASE_MS,
  GRACE_MAX_MS,
  graceMs,
} from '../../../protocol/doorcode/day-table.js';
import type { DayCodeCheck, DayTableConfig } from '../../../protocol/doorcode/day-table.js';
import { formatCode } from '../../../protocol/doorcode/deriver.js';
import type { DayCodesDeriver } from '../../../protocol/doorcode/deriver.js';
import { DOORCODE_ERRORS } from '../../../protocol/doorcode/errors.js';
import {
  deriveCodeReference,
  deriveDayKey,
  deriveDoorKey,
  referenceDayCodes,
} from '../../../protocol/doorcode/reference.js';
import { propertyRuns } from '../../support/properties.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ZONE = 'America/New_York';
const PROPERTY_KEY = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const DOOR_KEY = deriveDoorKey(PROPERTY_KEY, 'door-1');
const OTHER_DOOR_KEY = deriveDoorKey(PROPERTY_KEY, 'door-2');
const at = (iso: string): number => Date.parse(iso);
/** Local midnight between 4 and 5 July 2024 in New York (EDT, −4). */
const MIDNIGHT = at('2024-07-05T04:00:00Z');
const GRACE = { graceMs: 5 * MINUTE };

function codeOf(day: string, slot: number, doorKey = DOOR_KEY, digits = 7): string {
  return formatCode(deriveCodeReference(deriveDayKey(doorKey, day), slot, digits), digits);
}

function table(now: number, config: Partial<DayTableConfig> = {}): DayTable {
  return new DayTable(
    { deriver: referenceDayCodes, doorKey: DOOR_KEY, timeZone: ZONE, ...config },
    now,
  );
}

const failure = (code: number): DayCodeCheck => ({ ok: false, code }) as DayCodeCheck;

describe('graceMs (ARCHITECTURE.md §5)', () => {
  it('is 5 min plus 50 ppm of the time since the last sync, capped at 30 min', () => {
    expect(graceMs(0)).toBe(GRACE_BASE_MS);
    expect(graceMs(1_000_000)).toBe(5 * MINUTE + 50);
    expect(graceMs(24 * HOUR)).toBe(5 * MINUTE + 4320);
    expect(graceMs(1)).toBe(5 * MINUTE + 1);
    expect(graceMs(5e10 - 1)).toBe(GRACE_MAX_MS);
    expect(graceMs(5e10)).toBe(GRACE_MAX_MS);
    expect(graceMs(1e15)).toBe(30 * MINUTE);
  });

  it('rejects negative and non-finite durations', () => {
    expect(() => graceMs(-1)).toThrow(/msSinceLastSync/);
    expect(() => graceMs(Number.NaN)).toThrow(RangeError);
    expect(() => graceMs(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('DayTable: windows around midnight', () => {
  const lock = table(MIDNIGHT - HOUR);

  it('holds yesterday, today and tomorrow of the local day', () => {
    expect(table(MIDNIGHT - HOUR).days).toEqual(['20240703', '20240704', '20240705']);
    expect(table(MIDNIGHT).days).toEqual(['20240704', '20240705', '20240706']);
  });

  it("accepts today's code with its slot and kind", () => {
    expect(lock.check(codeOf('20240704', 0), MIDNIGHT - HOUR, GRACE)).toEqual({
      ok: true,
      day: '20240704',
      slot: 0,
      kind: 'DAILY',
    });
    expect(lock.check(codeOf('20240704', 191), MIDNIGHT - HOUR, GRACE)).toMatchObject({
      ok: true,
      slot: 191,
      kind: 'DAILY',
    });
    expect(lock.check(codeOf('20240704', 192), MIDNIGHT - HOUR, GRACE)).toMatchObject({
      ok: true,
      slot: 192,
      kind: 'DAILY_SINGLE_USE',
    });
    expect(lock.check(codeOf('20240704', 255), MIDNIGHT - HOUR, GRACE)).toMatchObject({
      ok: true,
      slot: 255,
      kind: 'DAILY_SINGLE_USE',
    });
  });

  it("accepts yesterday's code just after midnight inside the grace, not one ms later", () => {
    const code = codeOf('20240704', 7);
    expect(lock.check(code, MIDNIGHT + 1, GRACE)).toMatchObject({
      ok: true,
      day: '20240704',
      slot: 7,
    });
    expect(lock.check(code, MIDNIGHT + GRACE.graceMs, GRACE)).toMatchObject({
      ok: true,
      day: '20240704',
    });
    expect(lock.check(code, MIDNIGHT + GRACE.graceMs + 1, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
    expect(lock.check(code, MIDNIGHT + GRACE.graceMs + 1, { graceMs: GRACE_MAX_MS })).toMatchObject(
      { ok: true },
    );
    expect(lock.check(code, MIDNIGHT + GRACE_MAX_MS + 1, { graceMs: GRACE_MAX_MS })).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
  });

  it("accepts tomorrow's code just before midnight inside the grace, not one ms earlier", () => {
    const code = codeOf('20240705', 200);
    expect(lock.check(code, MIDNIGHT - GRACE.graceMs, GRACE)).toMatchObject({
      ok: true,
      day: '20240705',
      slot: 200,
      kind: 'DAILY_SINGLE_USE',
    });
    expect(lock.check(code, MIDNIGHT - 1, GRACE)).toMatchObject({ ok: true, day: '20240705' });
    expect(lock.check(code, MIDNIGHT - GRACE.graceMs - 1, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
  });

  it('rejects codes of days held but far from their window, and of days not held', () => {
    const noon = MIDNIGHT + 8 * HOUR;
    expect(lock.check(codeOf('20240704', 1), noon, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
    expect(lock.check(codeOf('20240706', 1), noon, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
    expect(lock.check(codeOf('20240703', 1), noon, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
    expect(lock.check(codeOf('20240705', 1), noon, GRACE)).toMatchObject({
      ok: true,
      day: '20240705',
    });
  });

  it("rejects another door's codes", () => {
    const ownCodes = new Set<string>();
    for (const day of ['20240703', '20240704', '20240705'])
      for (let s = 0; s < 256; s++) ownCodes.add(codeOf(day, s));
    let rejected = 0;
    for (let slot = 0; slot < 256; slot++) {
      const code = codeOf('20240704', slot, OTHER_DOOR_KEY);
      if (ownCodes.has(code)) continue;
      expect(lock.check(code, MIDNIGHT - HOUR, GRACE)).toEqual(failure(DOORCODE_ERRORS.INCORRECT));
      rejected++;
    }
    expect(rejected).toBeGreaterThan(250);
  });
});

describe('DayTable: malformed entries', () => {
  const lock = table(MIDNIGHT);

  it.each(['', '123456', '12345678', '0000000000'])('%j has the wrong length', (entry) => {
    expect(lock.check(entry, MIDNIGHT, GRACE)).toEqual(failure(DOORCODE_ERRORS.WRONG_LENGTH));
  });

  it.each([
    '12345a7',
    '123 567',
    '*123456',
    '123456#',
    '-123456',
    '１２３４５６７',
    '12.4567',
    '/:/:/:/',
  ])('%j is not digits', (entry) => {
    expect(lock.check(entry, MIDNIGHT, GRACE)).toEqual(failure(DOORCODE_ERRORS.NOT_DIGITS));
  });

  it('throws on a non-string entry, without echoing it', () => {
    expect(() => lock.check(1234567 as unknown as string, MIDNIGHT, GRACE)).toThrow(TypeError);
    expect(() => lock.check(1234567 as unknown as string, MIDNIGHT, GRACE)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('1234567') as string }),
    );
  });

  it('throws on a bad clock or instant', () => {
    expect(() => lock.check('1234567', MIDNIGHT, { graceMs: -1 })).toThrow(/clock\.graceMs/);
    expect(() => lock.check('1234567', MIDNIGHT, { graceMs: Number.NaN })).toThrow(
      /clock\.graceMs/,
    );
    expect(() => lock.check('1234567', Number.NaN, GRACE)).toThrow(/now/);
  });
});

describe('DayTable: revoked slots', () => {
  it('refuses a revoked slot inside its window, other slots still open', () => {
    const lock = table(MIDNIGHT - HOUR);
    lock.revokeSlot('20240704', 5);
    expect(lock.check(codeOf('20240704', 5), MIDNIGHT - HOUR, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.SLOT_REVOKED),
    );
    expect(lock.check(codeOf('20240704', 6), MIDNIGHT - HOUR, GRACE)).toMatchObject({
      ok: true,
      slot: 6,
    });
    expect(lock.check(codeOf('20240705', 5), MIDNIGHT - 1, GRACE)).toMatchObject({
      ok: true,
      slot: 5,
    });
  });

  it('outside its window a revoked slot is just incorrect', () => {
    const lock = table(MIDNIGHT - HOUR, { revoked: [{ day: '20240705', slot: 9 }] });
    expect(lock.check(codeOf('20240705', 9), MIDNIGHT - HOUR, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
    expect(lock.check(codeOf('20240705', 9), MIDNIGHT - 1, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.SLOT_REVOKED),
    );
  });

  it('keeps revocations of future days, and applies them when their day arrives', () => {
    const lock = table(MIDNIGHT - HOUR, { revoked: [{ day: '20240707', slot: 3 }] });
    expect(lock.check(codeOf('20240707', 3), at('2024-07-07T16:00:00Z'), GRACE)).toEqual(
      failure(DOORCODE_ERRORS.SLOT_REVOKED),
    );
    expect(lock.check(codeOf('20240707', 4), at('2024-07-07T16:00:00Z'), GRACE)).toMatchObject({
      ok: true,
    });
  });

  it('still refuses yesterday’s revoked slot in the grace after midnight', () => {
    const lock = table(MIDNIGHT - HOUR);
    lock.revokeSlot('20240704', 100);
    expect(lock.check(codeOf('20240704', 100), MIDNIGHT + MINUTE, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.SLOT_REVOKED),
    );
  });

  it('names bad revocations', () => {
    const lock = table(MIDNIGHT);
    expect(() => lock.revokeSlot('20240704', 256)).toThrow(/^slot:/);
    expect(() => lock.revokeSlot('20240732', 1)).toThrow(/^day:/);
    expect(() => table(MIDNIGHT, { revoked: [{ day: '2024070', slot: 1 }] })).toThrow(
      /config\.revoked\.day/,
    );
  });
});

describe('DayTable: codes shared by several slots', () => {
  /** A deriver whose codes repeat: slot s of any day has code `s mod 16`. */
  const repeating: DayCodesDeriver = (request, out, outOffset = 0) => {
    for (let i = 0; i < request.count; i++) out[outOffset + i] = (request.firstSlot + i) % 16;
  };

  it('within a day: accepts, naming the first of the slots', () => {
    const lock = table(MIDNIGHT + 12 * HOUR, { deriver: repeating });
    for (let code = 0; code < 16; code++) {
      expect(lock.check(formatCode(code, 7), MIDNIGHT + 12 * HOUR, GRACE)).toEqual({
        ok: true,
        day: '20240705',
        slot: code,
        kind: 'DAILY',
      });
    }
    expect(lock.check(formatCode(16, 7), MIDNIGHT + 12 * HOUR, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
  });

  it('across days: the day in progress wins, then whichever window still holds', () => {
    const lock = table(MIDNIGHT + MINUTE, { deriver: repeating });
    expect(lock.check(formatCode(3, 7), MIDNIGHT + MINUTE, GRACE)).toMatchObject({
      ok: true,
      day: '20240705',
      slot: 3,
    });
    for (let slot = 3; slot < 256; slot += 16) lock.revokeSlot('20240705', slot);
    expect(lock.check(formatCode(3, 7), MIDNIGHT + MINUTE, GRACE)).toMatchObject({
      ok: true,
      day: '20240704',
      slot: 3,
    });
    expect(lock.check(formatCode(3, 7), MIDNIGHT + 10 * MINUTE, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.SLOT_REVOKED),
    );
    expect(lock.check(formatCode(4, 7), MIDNIGHT + 10 * MINUTE, GRACE)).toMatchObject({
      ok: true,
      day: '20240705',
      slot: 4,
    });
  });

  it('with one-digit codes every entry chains hundreds of slots, and still resolves', () => {
    const lock = table(MIDNIGHT + 12 * HOUR, { digits: 1 });
    const seen = new Set<string>();
    for (let digit = 0; digit < 10; digit++) {
      const result = lock.check(digit.toString(), MIDNIGHT + 12 * HOUR, GRACE);
      if (!result.ok) continue;
      expect(result.day).toBe('20240705');
      expect(codeOf(result.day, result.slot, DOOR_KEY, 1)).toBe(digit.toString());
      seen.add(digit.toString());
    }
    expect(seen.size).toBe(10);
  });
});

describe('DayTable: configuration and refresh', () => {
  it('takes the kind from the slot against S_d', () => {
    const lock = table(MIDNIGHT, { slots: 16, dailySlots: 4 });
    expect(lock.check(codeOf('20240705', 3), MIDNIGHT, GRACE)).toMatchObject({
      ok: true,
      kind: 'DAILY',
    });
    expect(lock.check(codeOf('20240705', 4), MIDNIGHT, GRACE)).toMatchObject({
      ok: true,
      kind: 'DAILY_SINGLE_USE',
    });
    expect(lock.check(codeOf('20240705', 16), MIDNIGHT, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
  });

  it('derives with the configured key version and digits', () => {
    const lock = table(MIDNIGHT, { keyVersion: 2, digits: 9 });
    const code = formatCode(deriveCodeReference(deriveDayKey(DOOR_KEY, '20240705', 2), 17, 9), 9);
    expect(lock.check(code, MIDNIGHT, GRACE)).toMatchObject({ ok: true, slot: 17 });
    expect(lock.check(codeOf('20240705', 17), MIDNIGHT, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.WRONG_LENGTH),
    );
  });

  it('refreshes for free within a day, derives one day at midnight, rebuilds after a jump', () => {
    const days: string[] = [];
    const counting: DayCodesDeriver = (request, out, outOffset) => {
      days.push(request.day);
      referenceDayCodes(request, out, outOffset);
    };
    const lock = table(MIDNIGHT - HOUR, { deriver: counting });
    expect(days).toEqual(['20240703', '20240704', '20240705']);
    expect(lock.refresh(MIDNIGHT - 1)).toBe(false);
    expect(days).toHaveLength(3);
    expect(lock.refresh(MIDNIGHT)).toBe(true);
    expect(days.slice(3)).toEqual(['20240706']);
    expect(lock.days).toEqual(['20240704', '20240705', '20240706']);
    expect(lock.check(codeOf('20240704', 2), MIDNIGHT + MINUTE, GRACE)).toMatchObject({
      ok: true,
      day: '20240704',
    });
    expect(lock.refresh(at('2024-08-01T12:00:00Z'))).toBe(true);
    expect(days.slice(4)).toEqual(['20240731', '20240801', '20240802']);
    expect(lock.refresh(MIDNIGHT)).toBe(true);
    expect(lock.days).toEqual(['20240704', '20240705', '20240706']);
  });

  it('a table advanced day by day answers like a fresh one', () => {
    const advanced = table(MIDNIGHT - HOUR, { revoked: [{ day: '20240706', slot: 1 }] });
    for (let day = 1; day <= 3; day++) advanced.refresh(MIDNIGHT + day * 24 * HOUR - HOUR);
    const now = MIDNIGHT + 3 * 24 * HOUR - HOUR;
    const fresh = table(now, { revoked: [{ day: '20240706', slot: 1 }] });
    expect(advanced.days).toEqual(fresh.days);
    for (const day of fresh.days) {
      expect(advanced.boundsOf(day)).toEqual(fresh.boundsOf(day));
      for (let slot = 0; slot < 256; slot += 5) {
        for (const t of [now, now + 2 * MINUTE])
          expect(advanced.check(codeOf(day, slot), t, GRACE)).toEqual(
            fresh.check(codeOf(day, slot), t, GRACE),
          );
      }
    }
  });

  it('checks its configuration, naming the parameter', () => {
    expect(() => table(MIDNIGHT, { digits: 0 })).toThrow(/config\.digits/);
    expect(() => table(MIDNIGHT, { slots: 0 })).toThrow(/config\.slots/);
    expect(() => table(MIDNIGHT, { slots: 0x10001 })).toThrow(/config\.slots/);
    expect(() => table(MIDNIGHT, { slots: 16, dailySlots: 17 })).toThrow(/config\.dailySlots/);
    expect(() => table(MIDNIGHT, { keyVersion: 0x10000 })).toThrow(/config\.keyVersion/);
    expect(() => table(MIDNIGHT, { doorKey: new Uint8Array(0) })).toThrow(/config\.doorKey/);
    expect(() => table(MIDNIGHT, { timeZone: 'Europe/Atlantis' })).toThrow(/Europe\/Atlantis/);
    expect(() => table(MIDNIGHT, { deriver: undefined as unknown as DayCodesDeriver })).toThrow(
      TypeError,
    );
  });
});

describe('DayTable: DST and the date line', () => {
  it('a 23 h spring-forward day in New York', () => {
    const lock = table(at('2024-03-10T12:00:00Z'));
    const bounds = lock.boundsOf('20240310');
    expect(bounds).toEqual(dayBounds('20240310', ZONE));
    expect(((bounds?.end ?? 0) - (bounds?.start ?? 0)) / HOUR).toBe(23);
    expect(lock.check(codeOf('20240310', 1), at('2024-03-11T04:04:00Z'), GRACE)).toMatchObject({
      ok: true,
      day: '20240310',
    });
    expect(lock.check(codeOf('20240310', 1), at('2024-03-11T04:06:00Z'), GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
  });

  it('Pacific/Apia skipped 30 December 2011: the table holds the days either side', () => {
    const newDay = at('2011-12-30T10:00:00Z');
    const lock = table(newDay + HOUR, { timeZone: 'Pacific/Apia' });
    expect(lock.days).toEqual(['20111229', '20111231', '20120101']);
    expect(lock.check(codeOf('20111229', 4), newDay + 4 * MINUTE, GRACE)).toMatchObject({
      ok: true,
      day: '20111229',
    });
    expect(lock.check(codeOf('20111229', 4), newDay + 6 * MINUTE, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
    expect(lock.check(codeOf('20111230', 4), newDay + MINUTE, GRACE)).toEqual(
      failure(DOORCODE_ERRORS.INCORRECT),
    );
    expect(table(newDay - HOUR, { timeZone: 'Pacific/Apia' }).days).toEqual([
      '20111228',
      '20111229',
      '20111231',
    ]);
  });
});

describe('DayTable: properties', () => {
  const lock = table(MIDNIGHT);
  const start = MIDNIGHT - 2 * 24 * HOUR;
  const instant = fc.integer({ min: start, max: start + 6 * 24 * HOUR });

  it('the code of any slot of the day in progress is accepted as that slot', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 255 }), (now, slot) => {
        const day = dayLabelAt(now, ZONE);
        const result = lock.check(codeOf(day, slot), now, GRACE);
        expect(result).toMatchObject({ ok: true, day });
        if (result.ok) expect(codeOf(result.day, result.slot)).toBe(codeOf(day, slot));
      }),
      { numRuns: propertyRuns(50, 1000) },
    );
  });

  it('an entry is accepted exactly when it is the code of a slot whose graced window holds', () => {
    const entry = fc.oneof(
      fc.stringMatching(/^[0-9]{7}$/).map((random) => ({ random })),
      fc.record({
        dayOffset: fc.integer({ min: -2, max: 2 }),
        slot: fc.integer({ min: 0, max: 255 }),
      }),
    );
    fc.assert(
      fc.property(
        instant,
        entry,
        fc.integer({ min: 0, max: GRACE_MAX_MS }),
        (now, choice, grace) => {
          const day =
            'random' in choice ? undefined : addDays(dayLabelAt(now, ZONE), choice.dayOffset);
          const typed = 'random' in choice ? choice.random : codeOf(day ?? '', choice.slot);
          const result = lock.check(typed, now, { graceMs: grace });
          if (result.ok) {
            expect(codeOf(result.day, result.slot)).toBe(typed);
            const bounds = dayBounds(result.day, ZONE);
            expect(now).toBeGreaterThanOrEqual(bounds.start - grace);
            expect(now).toBeLessThanOrEqual(bounds.end + grace);
          } else {
            expect(result.code).toBe(DOORCODE_ERRORS.INCORRECT);
            if (day !== undefined) {
              const bounds = dayBounds(day, ZONE);
              expect(now < bounds.start - grace || now > bounds.end + grace).toBe(true);
            }
          }
        },
      ),
      { numRuns: propertyRuns(200, 5000) },
    );
  });
});
