/**
 * Weekly windows (protocol/spec/messages.md, `window`): a credential's schedule and a door's
 * passage schedule (ARCHITECTURE.md §3 "Access types", "Door schedules") are lists of
 * `{ days, start, end }` in local wall-clock minutes of a named IANA zone, evaluated on the
 * lock's own clock. DST is handled by reading the wall clock at the instant: on a spring-forward
 * day the skipped hour never matches, on a fall-back day the repeated hour matches twice.
 */
import { wallClockMs } from '../protocol/doorcode/day-label.js';
import type { WeeklyWindow } from '../protocol/formats/common.js';

const MS_PER_MINUTE = 60_000;
const MINUTES_PER_DAY = 1_440;
/** 1970-01-01, day 0 of the wall-clock count, was a Thursday: weekday 3 in ISO order. */
const EPOCH_WEEKDAY = 3;

/** The ISO weekday (Monday = 0) and minute of the day on the wall clock of `timeZone`. */
export function localWeekMinute(
  instantMs: number,
  timeZone: string,
): { weekday: number; minute: number } {
  const minutes = Math.floor(wallClockMs(instantMs, timeZone) / MS_PER_MINUTE);
  const day = Math.floor(minutes / MINUTES_PER_DAY);
  return {
    weekday: (((day + EPOCH_WEEKDAY) % 7) + 7) % 7,
    minute: minutes - day * MINUTES_PER_DAY,
  };
}

/** Whether `instantMs` falls in any of `windows` (half-open `[start, end)` minutes). */
export function inWeeklyWindows(
  windows: readonly WeeklyWindow[],
  timeZone: string,
  instantMs: number,
): boolean {
  const { weekday, minute } = localWeekMinute(instantMs, timeZone);
  const bit = 1 << weekday;
  return windows.some((w) => (w.days & bit) !== 0 && minute >= w.start && minute < w.end);
}
