/**
 * Day labels of ARCHITECTURE.md §5: a door's day `D` is the property's local calendar date,
 * `YYYYMMDD`, in an IANA time zone. A label, not a 24 h counter: a day lasts from the first
 * instant whose local date is `D` to the last one, so 23 h and 25 h days come out right.
 *
 * Local times come from `Intl.DateTimeFormat` (the tz database shipped with the runtime's ICU);
 * instants are always parameters, never read from a clock. Bounds are computed from the zone's
 * UTC offsets around the day, not by assuming that local midnight exists once:
 * - where DST skips midnight (Chile's and Lebanon's spring-forward go from 00:00 to 01:00), the
 *   day starts at 01:00;
 * - a day the zone skipped altogether (Pacific/Apia, 2011-12-30) has `start = end`;
 * - where clocks fell back across midnight (America/St_Johns, 1987–2010: 00:01 back to 23:01),
 *   the local date goes backwards, so a day ends after the next one has started: the two
 *   overlap by the repeated hour, and a code is good whenever the wall clock shows its date.
 */

/** A day as UTC instants in ms: its first instant, and the end of its last one. */
export interface DayBounds {
  readonly start: number;
  readonly end: number;
}

const MS_PER_SECOND = 1000;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;
const LABEL_PATTERN = /^[0-9]{8}$/;
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

/**
 * The instants the time-zone functions accept: UTC dates 0001-01-02 .. 9999-12-30, so that the
 * local date stays in years 0001..9999 in any zone (offsets are far below a day).
 */
export const MIN_INSTANT_MS = -62_135_510_400_000;
export const MAX_INSTANT_MS = 253_402_128_000_000;

/**
 * How far around a day to look at offsets. Every UTC offset in the tz database, the local mean
 * times of the 19th century included, stays within ±16 h, so a day lies within 18 h either side
 * of its UTC calendar day.
 */
const MARGIN_MS = 18 * MS_PER_HOUR;
/**
 * Offsets are sampled this far apart and transitions found by bisection between samples that
 * differ. Two transitions within one step that restore the same offset would be missed; we know
 * of none in the tz database, whose transitions are weeks apart or more.
 */
const SAMPLE_STEP_MS = 6 * MS_PER_HOUR;

/** Proleptic Gregorian, ASCII digits, 00..23: nothing may depend on the runtime's locale. */
const LOCALE = 'en-US-u-ca-gregory-nu-latn';

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Day bounds already computed, keyed by zone and label. Every door of a property shares its zone,
 * so a fleet computes each day once; the results are pure, so the cache cannot change one.
 */
const boundsCache = new Map<string, DayBounds>();
const BOUNDS_CACHE_SIZE = 4096;

/** The cached formatter of a zone; building one costs far more than formatting with it. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  const cached = formatters.get(timeZone);
  if (cached !== undefined) return cached;
  // An undefined zone would silently mean the host's zone, which no simulation may depend on.
  if (typeof timeZone !== 'string')
    throw new TypeError('timeZone: expected an IANA time zone name');
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = new Intl.DateTimeFormat(LOCALE, {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
  } catch {
    throw new RangeError(`timeZone: unknown IANA time zone "${timeZone}"`);
  }
  formatters.set(timeZone, formatter);
  return formatter;
}

/** Throws a RangeError naming the zone unless the runtime knows it. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

function assertInstant(instantMs: number, name: string): void {
  if (typeof instantMs !== 'number' || !Number.isFinite(instantMs)) {
    throw new TypeError(`${name}: expected a finite number of ms since the Unix epoch`);
  }
  if (instantMs < MIN_INSTANT_MS || instantMs > MAX_INSTANT_MS) {
    throw new RangeError(`${name}: expected an instant between years 0001 and 9999`);
  }
}

/** UTC midnight of a proleptic Gregorian date (`setUTCFullYear` keeps years below 100 as is). */
function utcMidnight(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

function labelOfUtcMidnight(ms: number): string {
  const date = new Date(ms);
  return (
    date.getUTCFullYear().toString().padStart(4, '0') +
    (date.getUTCMonth() + 1).toString().padStart(2, '0') +
    date.getUTCDate().toString().padStart(2, '0')
  );
}

function midnightOfLabel(day: string): number {
  return utcMidnight(Number(day.slice(0, 4)), Number(day.slice(4, 6)), Number(day.slice(6, 8)));
}

/**
 * Throws unless `day` is a `YYYYMMDD` label of a real proleptic Gregorian date in years
 * 0001..9999: a TypeError for a non-string, a RangeError naming `name` otherwise. The value is
 * not echoed, in case a caller passed a code by mistake.
 */
export function assertDayLabel(day: string, name = 'day'): void {
  if (typeof day !== 'string') throw new TypeError(`${name}: expected a YYYYMMDD string`);
  if (!LABEL_PATTERN.test(day)) throw new RangeError(`${name}: expected 8 ASCII digits YYYYMMDD`);
  if (Number(day.slice(0, 4)) < MIN_YEAR || labelOfUtcMidnight(midnightOfLabel(day)) !== day) {
    throw new RangeError(`${name}: not a calendar date in years 0001..9999`);
  }
}

/** The local wall-clock time at an instant, as ms since 1970-01-01T00:00 on that wall clock. */
function wallClockAt(formatter: Intl.DateTimeFormat, instantMs: number): number {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatter.formatToParts(instantMs)) {
    const value = Number(part.value);
    if (part.type === 'year') year = value;
    else if (part.type === 'month') month = value;
    else if (part.type === 'day') day = value;
    else if (part.type === 'hour') hour = value;
    else if (part.type === 'minute') minute = value;
    else if (part.type === 'second') second = value;
  }
  return utcMidnight(year, month, day) + ((hour * 60 + minute) * 60 + second) * MS_PER_SECOND;
}

/** The zone's UTC offset at a whole-second instant (tz offsets are whole seconds). */
function offsetAt(formatter: Intl.DateTimeFormat, secondMs: number): number {
  return wallClockAt(formatter, secondMs) - secondMs;
}

/** ARCHITECTURE.md §5: the label `D` of the local calendar date at `instantMs` in `timeZone`. */
export function dayLabelAt(instantMs: number, timeZone: string): string {
  const formatter = formatterFor(timeZone);
  assertInstant(instantMs, 'instantMs');
  return labelOfUtcMidnight(
    Math.floor(wallClockAt(formatter, instantMs) / MS_PER_DAY) * MS_PER_DAY,
  );
}

/**
 * The local wall-clock time in `timeZone` at `instantMs`, as ms since 1970-01-01T00:00 on that
 * wall clock, to the second: what weekly schedules (credential and door schedules, §3) are
 * written against. Day `n` of that count is weekday `(n + 3) mod 7` in ISO order (Monday = 0),
 * since 1970-01-01 was a Thursday.
 */
export function wallClockMs(instantMs: number, timeZone: string): number {
  const formatter = formatterFor(timeZone);
  assertInstant(instantMs, 'instantMs');
  const second = Math.floor(instantMs / MS_PER_SECOND) * MS_PER_SECOND;
  return wallClockAt(formatter, second);
}

/**
 * ARCHITECTURE.md §5 bounds of day `D` in UTC ms: `start` is the first instant whose local date
 * is `D` (or later, for a day the zone skipped), `end` the first instant after which the local
 * date is always later than `D`. Usually `end` is the next day's start, and `end − start` is
 * 23 h or 25 h on DST change days; see the module comment for skipped and repeated dates.
 *
 * Within one UTC offset `o`, the local date is `D` exactly for `t + o ∈ [midnight(D),
 * midnight(D) + 24 h)`, so each stretch of constant offset gives its part of the day directly.
 */
export function dayBounds(day: string, timeZone: string): DayBounds {
  const formatter = formatterFor(timeZone);
  const key = `${timeZone} ${day}`;
  const cached = boundsCache.get(key);
  if (cached !== undefined) return cached;
  assertDayLabel(day);
  const midnight = midnightOfLabel(day);
  const lo = Math.max(midnight - MARGIN_MS, MIN_INSTANT_MS);
  const hi = Math.min(midnight + MS_PER_DAY + MARGIN_MS, MAX_INSTANT_MS);

  let start = Number.NaN;
  let end = Number.NaN;
  /** Folds the stretch `[from, to)` of constant offset into `start` and `end`. */
  const stretch = (from: number, to: number, offset: number): void => {
    const first = Math.max(from, midnight - offset);
    if (Number.isNaN(start) && first < to) start = first;
    const last = Math.min(to, midnight + MS_PER_DAY - offset);
    if (last > from) end = last;
  };

  let from = lo;
  let offset = offsetAt(formatter, lo);
  let sample = lo;
  while (sample < hi) {
    const next = Math.min(sample + SAMPLE_STEP_MS, hi);
    if (offsetAt(formatter, next) === offset) {
      sample = next;
      continue;
    }
    // The first whole second in (sample, next] with another offset: a transition.
    let before = sample;
    let after = next;
    while (after - before > MS_PER_SECOND) {
      const mid = before + Math.floor((after - before) / (2 * MS_PER_SECOND)) * MS_PER_SECOND;
      if (offsetAt(formatter, mid) === offset) before = mid;
      else after = mid;
    }
    stretch(from, after, offset);
    from = after;
    offset = offsetAt(formatter, after);
    sample = after;
  }
  stretch(from, hi, offset);

  if (!(start > lo && end < hi)) {
    throw new RangeError(`day: outside the range supported in time zone "${timeZone}"`);
  }
  const bounds: DayBounds = Object.freeze({ start, end });
  // First in, first out: the oldest days are the least likely to be asked again.
  if (boundsCache.size >= BOUNDS_CACHE_SIZE)
    boundsCache.delete(boundsCache.keys().next().value ?? '');
  boundsCache.set(key, bounds);
  return bounds;
}

/** The label `n` calendar days after `day` (before it for negative `n`); no time zone involved. */
export function addDays(day: string, n: number): string {
  assertDayLabel(day);
  if (!Number.isSafeInteger(n)) throw new RangeError('n: expected a safe integer');
  const shifted = midnightOfLabel(day) + n * MS_PER_DAY;
  const year = new Date(shifted).getUTCFullYear();
  if (!(year >= MIN_YEAR && year <= MAX_YEAR))
    throw new RangeError('n: the result is outside years 0001..9999');
  return labelOfUtcMidnight(shifted);
}
