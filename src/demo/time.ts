/** Wall-clock times of the demo building's days, in its time zone (DST-correct, §5 day labels). */
import { dayBounds, dayLabelAt } from '../../protocol/doorcode/day-label.js';
import { localWeekMinute } from '../../firmware-sim/weekly-window.js';
import { DEMO_TIME_ZONE } from './building.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The instant `minutes` after local midnight of the `day`-th day from the one holding `start`. */
export function localTime(start: number, day: number, minutes: number): number {
  const label = dayLabelAt(start + day * DAY + 12 * HOUR, DEMO_TIME_ZONE);
  return dayBounds(label, DEMO_TIME_ZONE).start + minutes * MINUTE;
}

/** Saturday or Sunday in the building's time zone. */
export function isWeekend(t: number): boolean {
  return localWeekMinute(t, DEMO_TIME_ZONE).weekday >= 5;
}

const LOCAL = new Intl.DateTimeFormat('en-US', {
  timeZone: DEMO_TIME_ZONE,
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** `Tue 14:20`: an instant on the building's wall clock. */
export function formatLocal(t: number): string {
  const parts = Object.fromEntries(LOCAL.formatToParts(t).map((p) => [p.type, p.value]));
  return `${parts['weekday'] ?? ''} ${parts['hour'] ?? ''}:${parts['minute'] ?? ''}`;
}
