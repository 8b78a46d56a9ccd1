/**
 * A lock's real-time clock (ARCHITECTURE.md §2): its own idea of UTC, on top of world time, with
 * a drift and a `valid` flag. Power loss invalidates it (§3 "Power": any power loss on M/C/C2/R
 * loses the RTC); a time sync sets it. While it is invalid, `rtcRead` returns `undefined`, so
 * time-bound access fails closed by construction (SECURITY.md item 20).
 *
 * Immutable data plus functions, like the rest of the firmware state: `(state, now) → state`.
 * Arithmetic is on integer milliseconds: world times are floored (a real RTC ticks in whole
 * units), and the drift term is an exact floor division, so a run is the same on every machine.
 *
 * Drift: a crystal off by `ppm` parts per million gains `ppm` ms every 1,000 s. Limited to
 * ±1,000 ppm (32.768 kHz watch crystals are ±20 ppm at 25 °C and lose about 150 ppm at −40 °C),
 * which keeps `elapsed × ppm` exact for 285 years between settings.
 */

export interface RtcState {
  readonly valid: boolean;
  /** Floored world time of the last setting (or drift change). */
  readonly baseWorld: number;
  /** The RTC's reading at `baseWorld`. */
  readonly baseReading: number;
  /** Integer parts per million; positive runs fast. */
  readonly driftPpm: number;
}

export const MAX_DRIFT_PPM = 1000;

function assertDrift(ppm: number): void {
  if (!Number.isInteger(ppm) || Math.abs(ppm) > MAX_DRIFT_PPM) {
    throw new RangeError(`RTC drift must be an integer number of ppm in ±${MAX_DRIFT_PPM}`);
  }
}

function floorTime(worldNow: number, what: string): number {
  const t = Math.floor(worldNow);
  if (!Number.isSafeInteger(t)) throw new RangeError(`${what} must be a finite time in ms`);
  return t;
}

/** `⌊a / b⌋` for safe integers and b > 0, exact where `Math.floor(a / b)` may round up. */
function floorDiv(a: number, b: number): number {
  const q = Math.floor(a / b);
  return q * b > a ? q - 1 : q;
}

/** A clock that has never been set: invalid until the first `rtcSet`. */
export function createRtc(driftPpm = 0): RtcState {
  assertDrift(driftPpm);
  return { valid: false, baseWorld: 0, baseReading: 0, driftPpm };
}

/**
 * The RTC's reading (ms UTC) at world time `worldNow`, or `undefined` while it is invalid.
 * `worldNow` before the last setting is a bug (world time never goes back) and throws.
 */
export function rtcRead(rtc: RtcState, worldNow: number): number | undefined {
  if (!rtc.valid) return undefined;
  const elapsed = floorTime(worldNow, 'world time') - rtc.baseWorld;
  if (elapsed < 0) throw new RangeError('world time is before the RTC was last set');
  return rtc.baseReading + elapsed + floorDiv(elapsed * rtc.driftPpm, 1_000_000);
}

/** Sets the clock to `trueTime` at world time `worldNow` (a time sync) and marks it valid. */
export function rtcSet(rtc: RtcState, worldNow: number, trueTime: number): RtcState {
  return {
    valid: true,
    baseWorld: floorTime(worldNow, 'world time'),
    baseReading: floorTime(trueTime, 'the time set'),
    driftPpm: rtc.driftPpm,
  };
}

/** Power loss: the reading is gone until the next `rtcSet`. The crystal's drift stays. */
export function rtcInvalidate(rtc: RtcState): RtcState {
  return rtc.valid ? { ...rtc, valid: false } : rtc;
}

/**
 * A new drift from world time `worldNow` on (temperature changed, or a scenario says so); the
 * reading stays continuous across the change.
 */
export function rtcSetDrift(rtc: RtcState, worldNow: number, driftPpm: number): RtcState {
  assertDrift(driftPpm);
  const reading = rtcRead(rtc, worldNow);
  if (reading === undefined) return { ...rtc, driftPpm };
  return {
    valid: true,
    baseWorld: floorTime(worldNow, 'world time'),
    baseReading: reading,
    driftPpm,
  };
}

/** The RTC's error against world time at `worldNow` (ms, positive = ahead), or `undefined` if invalid. */
export function rtcError(rtc: RtcState, worldNow: number): number | undefined {
  const reading = rtcRead(rtc, worldNow);
  return reading === undefined ? undefined : reading - floorTime(worldNow, 'world time');
}
