import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  assertDayLabel,
  assertTimeZone,
  dayBounds,
  dayLabelAt,
  MAX_INSTANT_MS,
  MIN_INSTANT_MS,
} from '../../../protocol/doorcode/day-label.js';
import { propertyRuns } from '../../support/properties.js';

const HOUR = 3_600_000;
const at = (iso: string): number => Date.parse(iso);

/** Each case: a zone, a day, and its exact start and end in UTC, checked against the tz rules. */
const DAYS = [
  // America/New_York: EST (−5) to EDT (−4) at 02:00 on 10 March 2024, back at 02:00 on 3 November.
  {
    zone: 'America/New_York',
    day: '20240310',
    start: '2024-03-10T05:00:00Z',
    end: '2024-03-11T04:00:00Z',
    hours: 23,
  },
  {
    zone: 'America/New_York',
    day: '20241103',
    start: '2024-11-03T04:00:00Z',
    end: '2024-11-04T05:00:00Z',
    hours: 25,
  },
  {
    zone: 'America/New_York',
    day: '20240704',
    start: '2024-07-04T04:00:00Z',
    end: '2024-07-05T04:00:00Z',
    hours: 24,
  },
  // Europe/Berlin: CET (+1) to CEST (+2) at 02:00 on 31 March 2024, back at 03:00 on 27 October.
  {
    zone: 'Europe/Berlin',
    day: '20240331',
    start: '2024-03-30T23:00:00Z',
    end: '2024-03-31T22:00:00Z',
    hours: 23,
  },
  {
    zone: 'Europe/Berlin',
    day: '20241027',
    start: '2024-10-26T22:00:00Z',
    end: '2024-10-27T23:00:00Z',
    hours: 25,
  },
  // Australia/Sydney, southern hemisphere: AEDT (+11) ends on 7 April 2024, starts on 6 October.
  {
    zone: 'Australia/Sydney',
    day: '20240407',
    start: '2024-04-06T13:00:00Z',
    end: '2024-04-07T14:00:00Z',
    hours: 25,
  },
  {
    zone: 'Australia/Sydney',
    day: '20241006',
    start: '2024-10-05T14:00:00Z',
    end: '2024-10-06T13:00:00Z',
    hours: 23,
  },
  // America/St_Johns fell back from 00:01 NDT (−2:30) to 23:01 NST (−3:30) on 29 October 2006:
  // 28 October came back for an hour after 29 October had begun, so the two days overlap.
  {
    zone: 'America/St_Johns',
    day: '20061028',
    start: '2006-10-28T02:30:00Z',
    end: '2006-10-29T03:30:00Z',
    hours: 25,
  },
  {
    zone: 'America/St_Johns',
    day: '20061029',
    start: '2006-10-29T02:30:00Z',
    end: '2006-10-30T03:30:00Z',
    hours: 25,
  },
  // America/Santiago: DST starts at 24:00 on 7 September 2024, so 8 September starts at 01:00
  // (−3); it ends at 24:00 on 6 April 2024, which runs to 24:00 twice.
  {
    zone: 'America/Santiago',
    day: '20240908',
    start: '2024-09-08T04:00:00Z',
    end: '2024-09-09T03:00:00Z',
    hours: 23,
  },
  {
    zone: 'America/Santiago',
    day: '20240406',
    start: '2024-04-06T03:00:00Z',
    end: '2024-04-07T04:00:00Z',
    hours: 25,
  },
  // Asia/Beirut: DST starts at 00:00 on 31 March 2024, so the day starts at 01:00 (+3).
  {
    zone: 'Asia/Beirut',
    day: '20240331',
    start: '2024-03-30T22:00:00Z',
    end: '2024-03-31T21:00:00Z',
    hours: 23,
  },
  // Pacific/Apia crossed the date line: 29 December 2011 (−10) was followed by 31 December (+14).
  {
    zone: 'Pacific/Apia',
    day: '20111229',
    start: '2011-12-29T10:00:00Z',
    end: '2011-12-30T10:00:00Z',
    hours: 24,
  },
  {
    zone: 'Pacific/Apia',
    day: '20111230',
    start: '2011-12-30T10:00:00Z',
    end: '2011-12-30T10:00:00Z',
    hours: 0,
  },
  {
    zone: 'Pacific/Apia',
    day: '20111231',
    start: '2011-12-30T10:00:00Z',
    end: '2011-12-31T10:00:00Z',
    hours: 24,
  },
  // Australia/Lord_Howe shifts by 30 minutes.
  {
    zone: 'Australia/Lord_Howe',
    day: '20240407',
    start: '2024-04-06T13:00:00Z',
    end: '2024-04-07T13:30:00Z',
    hours: 24.5,
  },
] as const;

describe('dayBounds: exact UTC starts and ends (ARCHITECTURE.md §5)', () => {
  it.each(DAYS)('$zone $day lasts $hours h', ({ zone, day, start, end, hours }) => {
    const bounds = dayBounds(day, zone);
    expect(new Date(bounds.start).toISOString()).toBe(new Date(at(start)).toISOString());
    expect(new Date(bounds.end).toISOString()).toBe(new Date(at(end)).toISOString());
    expect((bounds.end - bounds.start) / HOUR).toBe(hours);
  });

  it.each(DAYS.filter((d) => d.hours > 0))(
    '$zone $day: labels flip exactly at the bounds',
    ({ zone, day, start, end }) => {
      expect(dayLabelAt(at(start), zone)).toBe(day);
      expect(dayLabelAt(at(start) - 1, zone)).not.toBe(day);
      expect(dayLabelAt(at(end) - 1, zone)).toBe(day);
      expect(dayLabelAt(at(end), zone)).not.toBe(day);
    },
  );

  it('a skipped midnight: the day starts at the first instant with its label, 01:00 local', () => {
    expect(
      new Intl.DateTimeFormat('en-US', {
        timeZone: 'America/Santiago',
        hour: 'numeric',
        hourCycle: 'h23',
      }).format(at('2024-09-08T04:00:00Z')),
    ).toBe('01');
    expect(dayLabelAt(at('2024-09-08T03:59:59.999Z'), 'America/Santiago')).toBe('20240907');
    expect(dayBounds('20240331', 'Asia/Beirut').start).toBe(at('2024-03-30T22:00:00Z'));
    expect(
      new Intl.DateTimeFormat('en-US', {
        timeZone: 'Asia/Beirut',
        hour: 'numeric',
        hourCycle: 'h23',
      }).format(at('2024-03-30T22:00:00Z')),
    ).toBe('01');
  });

  it('America/St_Johns 2006: the local date goes back for an hour, and both days cover it', () => {
    expect(dayLabelAt(at('2006-10-29T02:30:59Z'), 'America/St_Johns')).toBe('20061029');
    expect(dayLabelAt(at('2006-10-29T02:31:00Z'), 'America/St_Johns')).toBe('20061028');
    expect(dayLabelAt(at('2006-10-29T03:30:00Z'), 'America/St_Johns')).toBe('20061029');
    const overlap = at('2006-10-29T03:00:00Z');
    for (const day of ['20061028', '20061029']) {
      const { start, end } = dayBounds(day, 'America/St_Johns');
      expect(start <= overlap && overlap < end).toBe(true);
    }
  });

  it('Pacific/Apia: 30 December 2011 never happened', () => {
    expect(dayLabelAt(at('2011-12-30T09:59:59.999Z'), 'Pacific/Apia')).toBe('20111229');
    expect(dayLabelAt(at('2011-12-30T10:00:00Z'), 'Pacific/Apia')).toBe('20111231');
    expect(addDays('20111229', 1)).toBe('20111230');
  });

  it('the same instant has different labels across the date line', () => {
    const instant = at('2024-06-01T09:00:00Z');
    expect(dayLabelAt(instant, 'Pacific/Kiritimati')).toBe('20240601');
    expect(dayLabelAt(instant, 'Pacific/Honolulu')).toBe('20240531');
    expect(dayLabelAt(instant, 'UTC')).toBe('20240601');
  });

  it('New York fall-back: both 01:30s are on the same day', () => {
    expect(dayLabelAt(at('2024-11-03T05:30:00Z'), 'America/New_York')).toBe('20241103');
    expect(dayLabelAt(at('2024-11-03T06:30:00Z'), 'America/New_York')).toBe('20241103');
  });
});

describe('dayBounds: properties over zones and instants', () => {
  const zones = [
    'UTC',
    'America/New_York',
    'Europe/Berlin',
    'Australia/Sydney',
    'Australia/Lord_Howe',
    'America/Santiago',
    'Asia/Beirut',
    'Pacific/Apia',
    'Pacific/Kiritimati',
    'Asia/Kolkata',
    'America/St_Johns',
  ];
  const instant = fc.integer({ min: at('1970-01-01T00:00:00Z'), max: at('2040-01-01T00:00:00Z') });

  it('the day of an instant contains it, and starts at the first instant with its label', () => {
    fc.assert(
      fc.property(fc.constantFrom(...zones), instant, (zone, t) => {
        const day = dayLabelAt(t, zone);
        const { start, end } = dayBounds(day, zone);
        expect(start).toBeLessThanOrEqual(t);
        expect(t).toBeLessThan(end);
        expect(dayLabelAt(start, zone)).toBe(day);
        expect(dayLabelAt(start - 1, zone) < day).toBe(true);
        expect(dayLabelAt(end, zone) > day).toBe(true);
        expect(end - start).toBeGreaterThanOrEqual(22 * HOUR);
        expect(end - start).toBeLessThanOrEqual(26 * HOUR);
      }),
      { numRuns: propertyRuns(200, 5000) },
    );
  });

  it('consecutive days tile time: end(D) = start(next day), where dates never go backwards', () => {
    fc.assert(
      fc.property(fc.constantFrom(...zones), instant, (zone, t) => {
        const day = dayLabelAt(t, zone);
        const { end } = dayBounds(day, zone);
        const next = dayLabelAt(end, zone);
        expect(dayLabelAt(end - 1, zone) <= day).toBe(true);
        if (zone === 'America/St_Johns')
          expect(dayBounds(next, zone).start).toBeLessThanOrEqual(end);
        else expect(dayBounds(next, zone).start).toBe(end);
      }),
      { numRuns: propertyRuns(100, 2000) },
    );
  });
});

describe('addDays', () => {
  it.each([
    ['20240228', 1, '20240229'],
    ['20240229', 1, '20240301'],
    ['20230228', 1, '20230301'],
    ['20241231', 1, '20250101'],
    ['20250101', -1, '20241231'],
    ['20240101', 366, '20250101'],
    ['00010101', 0, '00010101'],
    ['00991231', 1, '01000101'],
    ['99991230', 1, '99991231'],
  ] as const)('%s + %i = %s', (day, n, expected) => {
    expect(addDays(day, n)).toBe(expected);
  });

  it('rejects results outside years 0001..9999 and non-integer steps', () => {
    expect(() => addDays('99991231', 1)).toThrow(/^n:/);
    expect(() => addDays('00010101', -1)).toThrow(/^n:/);
    expect(() => addDays('20240101', 0.5)).toThrow(/^n:/);
    expect(() => addDays('20240101', 1e300)).toThrow(/^n:/);
    expect(() => addDays('2024010', 1)).toThrow(/^day:/);
  });
});

describe('validation', () => {
  it('names an unknown zone', () => {
    expect(() => assertTimeZone('Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => dayLabelAt(0, 'Mars/Olympus_Mons')).toThrow(/Mars\/Olympus_Mons/);
    expect(() => dayBounds('20240101', 'Not/AZone')).toThrow(/Not\/AZone/);
    expect(() => dayLabelAt(0, undefined as unknown as string)).toThrow(TypeError);
  });

  it('rejects non-finite and out-of-range instants', () => {
    expect(() => dayLabelAt(Number.NaN, 'UTC')).toThrow(/instantMs/);
    expect(() => dayLabelAt(Number.POSITIVE_INFINITY, 'UTC')).toThrow(/instantMs/);
    expect(() => dayLabelAt(MAX_INSTANT_MS + 1, 'UTC')).toThrow(RangeError);
    expect(() => dayLabelAt(MIN_INSTANT_MS - 1, 'UTC')).toThrow(RangeError);
    expect(dayLabelAt(MIN_INSTANT_MS, 'Pacific/Kiritimati')).toMatch(/^0001/);
    expect(dayLabelAt(MAX_INSTANT_MS, 'Pacific/Kiritimati')).toMatch(/^9999/);
    expect(dayLabelAt(MIN_INSTANT_MS, 'Pacific/Pago_Pago')).toMatch(/^0001/);
  });

  it('labels are 8 ASCII digits of a real date, without echoing the value', () => {
    expect(() => assertDayLabel('20240230')).toThrow(RangeError);
    expect(() => assertDayLabel('2024013')).toThrow(/^day: expected 8 ASCII digits/);
    expect(() => assertDayLabel('1234567', 'entry')).toThrow(/^entry:/);
    expect(() => assertDayLabel('12345678')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('12345678') as string }),
    );
    expect(() => dayBounds('99991231', 'UTC')).toThrow(/^day:/);
    expect(() => assertDayLabel('20240229')).not.toThrow();
  });
});
