/**
 * Times and durations in scenario files (docs/SCENARIOS.md "Times"), read against the building's
 * IANA time zone and start instant:
 *
 * - a duration: `95s`, `16m`, `2h`, `1d2h30m`, `1500ms` (units d, h, m, s, ms, largest first);
 * - an offset from the start: `+2h`, `+1d30m` (a bare duration where a time is expected means
 *   the same);
 * - a day of the run at a local wall-clock time: `day 3 09:00` (day 1 is the start's local date);
 * - an ISO 8601 instant with a zone (`2026-03-08T07:30:00Z`, `…-05:00`), or a local date and
 *   time without one (`2026-03-08T09:00`, `2026-03-08 09:00`), read in the building's zone.
 *
 * Local times go through the zone's rules, so `day 2 09:00` across a DST change is 09:00 on the
 * wall clock (ARCHITECTURE.md §3: schedules are local). A local time the zone skips (02:30 on a
 * spring-forward night) is refused rather than moved.
 */
import { wallClockMs } from '../../protocol/doorcode/day-label.js';

const MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
const UNIT_ORDER = ['d', 'h', 'm', 's', 'ms'] as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DAY_AT = /^day (\d{1,4}) (\d{2}):(\d{2})(?::(\d{2}))?$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const DAY_MS = MS.d;

/** Why a text is not a time or a duration: the problem, ready to follow a path and a colon. */
export type TimeProblem = { readonly ok: false; readonly problem: string };
export type Parsed = { readonly ok: true; readonly value: number } | TimeProblem;

const bad = (problem: string): TimeProblem => ({ ok: false, problem });

/** A duration in ms (`1d2h30m`, `95s`, `0s`). */
export function parseDuration(text: string): Parsed {
  const match = DURATION.exec(text);
  if (text === '' || match === null) {
    return bad(`${JSON.stringify(text)} is not a duration (like 95s, 16m, 2h, 1d2h30m, 1500ms)`);
  }
  let total = 0;
  UNIT_ORDER.forEach((unit, i) => {
    const digits = match[i + 1];
    if (digits !== undefined) total += Number(digits) * MS[unit];
  });
  if (!Number.isSafeInteger(total)) return bad(`${JSON.stringify(text)} is too long`);
  return { ok: true, value: total };
}

/** A duration for humans: `1d2h30m`, `95s`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let text = ms < 0 ? '-' : '';
  for (const unit of UNIT_ORDER) {
    const n = Math.floor(rest / MS[unit]);
    if (n > 0) text += `${n}${unit}`;
    rest -= n * MS[unit];
  }
  return text;
}

/** The instant of local wall-clock time `wall` (ms on the wall clock) in `zone`, if it exists. */
export function instantOfWallClock(wall: number, zone: string): number | undefined {
  // Two rounds of "subtract the offset at the guess" land on the instant when one exists; the
  // offset can only change once within the few hours the guesses span.
  let guess = wall - (wallClockMs(wall, zone) - wall);
  guess = wall - (wallClockMs(guess, zone) - guess);
  if (wallClockMs(guess, zone) === wall - (wall % 1000)) return guess;
  return undefined;
}

/** Midnight (wall clock, ms) of the local date at `instant`. */
function localMidnight(instant: number, zone: string): number {
  return Math.floor(wallClockMs(instant, zone) / DAY_MS) * DAY_MS;
}

/** A time in a scenario: see the module comment. `start` is the run's first instant. */
export function parseTime(text: string, start: number, zone: string): Parsed {
  if (text.startsWith('+')) {
    const offset = parseDuration(text.slice(1));
    return offset.ok ? { ok: true, value: start + offset.value } : offset;
  }
  if (/^\d/.test(text) && !/^\d{4}-/.test(text)) {
    const offset = parseDuration(text);
    return offset.ok ? { ok: true, value: start + offset.value } : offset;
  }
  const dayAt = DAY_AT.exec(text);
  if (dayAt !== null) {
    const [day, hour, minute] = dayAt.slice(1, 4).map(Number) as [number, number, number];
    const seconds = Number(dayAt[4] ?? 0);
    if (day < 1) return bad(`${JSON.stringify(text)}: days count from 1 (the start's date)`);
    if (hour > 23 || minute > 59 || seconds > 59) {
      return bad(`${JSON.stringify(text)} is not a time of day (00:00 .. 23:59:59)`);
    }
    const wall =
      localMidnight(start, zone) +
      (day - 1) * DAY_MS +
      ((hour * 60 + minute) * 60 + seconds) * 1000;
    return wallInstant(text, wall, zone);
  }
  const local = LOCAL.exec(text);
  if (local !== null) {
    const [year, month, day, hour, minute] = local.slice(1, 6).map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const seconds = Number(local[6] ?? 0);
    const wall = Date.UTC(year, month - 1, day, hour, minute, seconds);
    const check = new Date(wall);
    if (
      check.getUTCFullYear() !== year ||
      check.getUTCMonth() !== month - 1 ||
      check.getUTCDate() !== day ||
      hour > 23 ||
      minute > 59 ||
      seconds > 59
    ) {
      return bad(`${JSON.stringify(text)} is not a real date and time`);
    }
    return wallInstant(text, wall, zone);
  }
  if (ZONED.test(text)) {
    const value = Date.parse(text);
    if (Number.isNaN(value)) return bad(`${JSON.stringify(text)} is not a real date and time`);
    return { ok: true, value };
  }
  return bad(
    `${JSON.stringify(text)} is not a time (like +2h, day 3 09:00, 2026-03-08T09:00, ` +
      `2026-03-08T14:00:00Z)`,
  );
}

function wallInstant(text: string, wall: number, zone: string): Parsed {
  const instant = instantOfWallClock(wall, zone);
  if (instant === undefined) {
    return bad(`${JSON.stringify(text)} does not exist in ${zone} (skipped by a DST change)`);
  }
  return { ok: true, value: instant };
}

/** An instant for the report: ISO 8601 UTC and the building's local wall-clock time. */
export function formatInstant(instant: number, zone: string): string {
  const local = new Date(wallClockMs(instant, zone)).toISOString().slice(0, 19).replace('T', ' ');
  return `${new Date(instant).toISOString()} (${local} local)`;
}

/** `+1d2h` from the start: how the report names a moment of the run. */
export function formatOffset(instant: number, start: number): string {
  return instant >= start ? `+${formatDuration(instant - start)}` : formatDuration(instant - start);
}
