/**
 * The physics of the virtual radio (ARCHITECTURE.md §6 "Transports"): where devices stand, what
 * signal strength a scanner reports at a distance, and when a peripheral's advertising events
 * happen. Pure functions of their inputs and of a seeded stream, so a run repeats by seed.
 *
 * Signal: the log-distance path-loss model (T. S. Rappaport, _Wireless Communications_, 2nd ed.,
 * §4.9), RSSI(d) = P(1 m) − 10·n·log10(d / 1 m) + X, with X a zero-mean Gaussian (log-normal
 * shadowing, §4.9.2). Defaults: P(1 m) = −59 dBm, the usual calibration of a 0 dBm BLE advertiser;
 * n = 2.5, between free space (2) and an obstructed building (3 and more); σ = 2 dB. At the
 * default 30 m range that gives about −96 dBm, the sensitivity of a typical phone.
 *
 * Advertising: Core spec Vol 6 Part B §4.4.2.2.1, consecutive advertising events are
 * `advInterval + advDelay` apart, advDelay pseudo-random in 0..10 ms. So that every scanner sees
 * the same events without the radio keeping a timer per lock, event `k` is computed, not drawn
 * in turn: `phase + k·(advInterval + 5) + jitter(k)`, the jitter a hash of the lock's salt and
 * `k` in −2..2 ms. Gaps then stay within the spec's `advInterval + 0..10 ms`, 5 ms over the
 * interval on average as with a uniform advDelay.
 */

/** A device's place, metres on the floor plan. */
export interface Position {
  readonly x: number;
  readonly y: number;
}

/** A seeded stream, as `src/sim/random.ts` provides one (the radio never imports the simulator). */
export interface RadioRandom {
  /** Uniform in [0, 1). */
  nextFloat(): number;
  /** Uniform in [0, 2^32). */
  nextU32(): number;
  fork(label: string): RadioRandom;
}

export interface PathLoss {
  /** RSSI at 1 m, dBm. */
  readonly rssiAt1mDbm: number;
  /** Path-loss exponent n. */
  readonly exponent: number;
  /** Standard deviation of the shadowing, dB. */
  readonly shadowingDb: number;
}

/** Core spec Vol 6 Part B §4.4.2.2.1: advDelay is 0..10 ms. */
export const ADV_DELAY_MAX_MS = 10;
/** Core spec Vol 6 Part B §4.4.2.2.1: advInterval is at least 20 ms (legacy advertising). */
export const ADV_INTERVAL_MIN_MS = 20;
/** Distances below this are taken as this: the model has no meaning in the near field. */
const MIN_DISTANCE_M = 0.1;
/** The lowest RSSI HCI reports (Core Vol 4 Part E §7.7.65.2: −127..20 dBm). */
const RSSI_FLOOR_DBM = -127;

export function assertPosition(position: Position, name: string): void {
  if (!Number.isFinite(position.x) || !Number.isFinite(position.y)) {
    throw new RangeError(`${name}: expected finite x and y in metres`);
  }
}

export function distance(a: Position, b: Position): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/** A standard normal draw (Box–Muller), from two uniform draws of `random`. */
function gaussian(random: RadioRandom): number {
  const u1 = 1 - random.nextFloat();
  const u2 = random.nextFloat();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** The RSSI one report shows at `metres`, whole dBm as HCI reports it. */
export function rssiAt(metres: number, model: PathLoss, random: RadioRandom): number {
  const d = Math.max(metres, MIN_DISTANCE_M);
  const mean = model.rssiAt1mDbm - 10 * model.exponent * Math.log10(d);
  const rssi = Math.round(mean + model.shadowingDb * gaussian(random));
  return Math.max(RSSI_FLOOR_DBM, rssi);
}

/** A lock's advertising schedule: its interval, a phase and a salt for the delays. */
export interface AdvertisingSchedule {
  readonly intervalMs: number;
  /** The time of event 0 without its delay. */
  readonly phase: number;
  /** Seeds the per-event delays. */
  readonly salt: number;
}

/** advDelay's mean (0..10 ms uniform), the part of it every event gets. */
const MEAN_ADV_DELAY_MS = ADV_DELAY_MAX_MS / 2;
/** The rest, ± per event: two jitters apart never exceed the mean, so no gap falls short. */
const ADV_JITTER_MS = Math.floor(ADV_DELAY_MAX_MS / 4);

/** A 32-bit mix (the MurmurHash3 finalizer) of `salt` and `k`: event `k`'s jitter. */
function advJitter(salt: number, k: number): number {
  let h = (salt ^ Math.imul(k, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return (h % (2 * ADV_JITTER_MS + 1)) - ADV_JITTER_MS;
}

/** The mean time between a lock's advertising events. */
function advPeriod(schedule: AdvertisingSchedule): number {
  return schedule.intervalMs + MEAN_ADV_DELAY_MS;
}

/** The time of advertising event `k`. */
export function advertisingEventTime(schedule: AdvertisingSchedule, k: number): number {
  return schedule.phase + k * advPeriod(schedule) + advJitter(schedule.salt, k);
}

/** The first advertising event after `t` (one at `t` itself has gone by). */
export function advertisingEventAfter(schedule: AdvertisingSchedule, t: number): number {
  // Event k is within the jitter of its mean time, so this k is before `t`, and the answer is
  // one of the next two.
  let k = Math.floor((t - schedule.phase - ADV_JITTER_MS) / advPeriod(schedule));
  let time = advertisingEventTime(schedule, k);
  while (time <= t) time = advertisingEventTime(schedule, ++k);
  return time;
}

/** A schedule for a lock placed at `now`: its first event within one interval. */
export function advertisingSchedule(
  intervalMs: number,
  now: number,
  random: RadioRandom,
): AdvertisingSchedule {
  if (!Number.isSafeInteger(intervalMs) || intervalMs < ADV_INTERVAL_MIN_MS) {
    throw new RangeError(`advertisingIntervalMs: expected an integer >= ${ADV_INTERVAL_MIN_MS}`);
  }
  return {
    intervalMs,
    phase: now + Math.floor(random.nextFloat() * intervalMs),
    salt: random.nextU32(),
  };
}

/**
 * A static random device address (Core Vol 6 Part B §1.3.2.1: the two most significant bits
 * are 1), written most significant byte first as noble writes addresses: `c5:1e:…`.
 */
export function staticRandomAddress(random: RadioRandom): string {
  const bytes: number[] = [];
  for (let i = 0; i < 6; i++) bytes.push(Math.floor(random.nextFloat() * 256));
  bytes[0] = bytes[0]! | 0xc0;
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}
