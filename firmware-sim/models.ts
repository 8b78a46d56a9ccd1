/**
 * The device model catalogue (ARCHITECTURE.md §3 "Device models"), as data: what each model is,
 * how it is powered, which inputs it has, and the constants its behaviour functions read. The
 * behaviours themselves live beside it (`controller.ts` for the R, `battery-lock.ts` for the M,
 * C and C2); a model declares what it has, it does not inherit it (STYLE.md: data tables plus
 * behaviour functions, not a class hierarchy).
 *
 * Model ids are the vendor API's device types; `vendorName` and `firmware` are what the vendor's
 * partner documentation calls the current devices, and what the `info` characteristic reports.
 */

export type ModelId = 'M' | 'C' | 'C2' | 'R' | 'hub';

export type ModelKind = 'mortise' | 'cylinder' | 'reader-controller' | 'gateway';

/**
 * - `battery`: batteries only; replacing them is a power loss.
 * - `wired`: constant power required, no battery (the R; the hub on mains).
 * - `wired-with-battery-backup`: wired, switching to battery on an outage and back when power
 *   returns, without losing the clock (the M gen 2).
 */
export type PowerSupply = 'battery' | 'wired' | 'wired-with-battery-backup';

/**
 * - `ble`: the GATT server (a lock) or central (the hub).
 * - `keypad`: doorcode entry.
 * - `door-sensor`: a door-position switch, which drives the Door State Notifications.
 * - `rex`: a request-to-exit motion sensor on the secure side of the door.
 * - `network`: the hub's link to the cloud.
 */
export type ModelInput = 'ble' | 'keypad' | 'door-sensor' | 'rex' | 'network';

/**
 * How the R's relay is wired to the strike or maglock, which decides the door's state without
 * power: `fail-safe` releases it (unlocked; the usual maglock wiring, for egress in a fire),
 * `fail-secure` holds it (locked; the usual electric-strike wiring).
 */
export type RelayWiring = 'fail-safe' | 'fail-secure';

export interface ModelSpec {
  readonly id: ModelId;
  readonly kind: ModelKind;
  readonly vendorName: string;
  readonly firmware: string;
  /** The supplies the model can be installed with; the first is the default. */
  readonly power: readonly PowerSupply[];
  readonly inputs: readonly ModelInput[];
}

/** Door State Notification timing (§3): the choices the vendor's configuration offers. */
export const AJAR_SECONDS = [30, 60, 90] as const;
export type AjarSeconds = (typeof AJAR_SECONDS)[number];
export const STILL_AJAR_MINUTES = [5, 10, 15] as const;
export type StillAjarMinutes = (typeof STILL_AJAR_MINUTES)[number];

/** The R's own data: its wiring options and the timing constants `controller.ts` reads. */
export interface ReaderControllerSpec extends ModelSpec {
  readonly id: 'R';
  readonly wirings: readonly RelayWiring[];
  /**
   * Milliseconds the relay stays released after an unlock (a granted credential or REX motion)
   * when the door is never opened; then it relocks. Opening the door relocks at once (§3). Five
   * seconds is the customary default of door controllers: long enough to reach and pull the
   * door, short enough that an unused unlock does not leave it open to the next passer-by.
   */
  readonly unlockHoldMs: number;
  /** The Door Ajar delay used when a door's configuration does not choose one. */
  readonly defaultAjarSeconds: AjarSeconds;
  /** The Door Still Ajar period used when a door's configuration does not choose one. */
  readonly defaultStillAjarMinutes: StillAjarMinutes;
}

export const R_MODEL: ReaderControllerSpec = {
  id: 'R',
  kind: 'reader-controller',
  vendorName: 'R2',
  firmware: '4.01',
  power: ['wired'],
  inputs: ['ble', 'keypad', 'door-sensor', 'rex'],
  wirings: ['fail-safe', 'fail-secure'],
  unlockHoldMs: 5_000,
  defaultAjarSeconds: 60,
  defaultStillAjarMinutes: 10,
};

/**
 * A battery lock's power constants (ARCHITECTURE.md §3 "Power"), read by `battery.ts`. Charge is
 * counted in microamp-hours (µAh) of the pack's usable capacity; a rate per hour in µAh is the
 * mean current in µA.
 *
 * The figures are keyway's modelling assumptions for AA / CR123A-class locks, not vendor
 * figures (the vendor publishes none): chosen so that a lock with ten unlock cycles, ten short
 * phone connections and a few keypad wakes a day lasts a year or so on one set of batteries.
 */
export interface BatterySpec {
  /** Usable charge of a fresh pack, µAh. */
  readonly capacityUah: number;
  /** Sleep current of the microcontroller, RTC and sensors, µAh per hour. */
  readonly idleUahPerHour: number;
  /** BLE advertising, which never stops while the lock runs, µAh per hour (mean). */
  readonly advertisingUahPerHour: number;
  /** Radio and crypto while a phone holds a connection, µAh per second connected. */
  readonly connectionUahPerSecond: number;
  /** One bolt travel (lock or unlock), motor start-up and stall detection included, µAh. */
  readonly motorUahPerActuation: number;
  /** One keypad wake (backlight, scan, and the digits typed before it sleeps again), µAh. */
  readonly keypadWakeUah: number;
  /** At or below this level (percent of capacity) the lock reports low battery. */
  readonly lowPercent: number;
  /**
   * At or below this level (percent) the motor refuses to unlock (`INSUFFICIENT_BATTERY`); the
   * charge under it is the reserve that keeps the bolt throwable, so relocking is never refused.
   */
  readonly criticalPercent: number;
}

/** The ids of the battery locks: the models `battery-lock.ts` runs. */
export type BatteryModelId = 'M' | 'C' | 'C2';

/** A battery lock's own data: its pack, its bolt, its relock timing and its Qi coil. */
export interface BatteryLockSpec extends ModelSpec {
  readonly id: BatteryModelId;
  readonly battery: BatterySpec;
  /** Time the motor takes to throw or retract the bolt, ms (a modelling assumption). */
  readonly boltTravelMs: number;
  /**
   * Time the bolt stays retracted after an unlock before the lock throws it again, when the
   * configuration does not choose one, ms. These models have no door sensor, so they relock on
   * time alone; 30 s is keyway's assumption for a unit door (long enough to open it and walk
   * through with bags).
   */
  readonly defaultAutoRelockMs: number;
  /** A Qi coil that can jump-start a dead battery for one unlock (§3: the C2). */
  readonly qiJumpStart: boolean;
}

/** Low battery at 20 % (weeks of warning at typical use) and critical at 5 %, for every pack. */
const LOW_PERCENT = 20;
const CRITICAL_PERCENT = 5;

export const M_MODEL: BatteryLockSpec = {
  id: 'M',
  kind: 'mortise',
  vendorName: 'M',
  firmware: '1.02',
  power: ['battery', 'wired-with-battery-backup'],
  inputs: ['ble', 'keypad'],
  // Four AA lithium cells in series: 3,000 mAh; a mortise deadbolt needs the strongest motor.
  battery: {
    capacityUah: 3_000_000,
    idleUahPerHour: 50,
    advertisingUahPerHour: 100,
    connectionUahPerSecond: 3,
    motorUahPerActuation: 150,
    keypadWakeUah: 6,
    lowPercent: LOW_PERCENT,
    criticalPercent: CRITICAL_PERCENT,
  },
  boltTravelMs: 1_000,
  defaultAutoRelockMs: 30_000,
  qiJumpStart: false,
};

export const C_MODEL: BatteryLockSpec = {
  id: 'C',
  kind: 'cylinder',
  vendorName: 'C1',
  firmware: '2.4.2',
  power: ['battery'],
  inputs: ['ble', 'keypad'],
  // Two CR123A cells in series: 1,500 mAh; a cylinder turns a lighter cam.
  battery: {
    capacityUah: 1_500_000,
    idleUahPerHour: 30,
    advertisingUahPerHour: 60,
    connectionUahPerSecond: 3,
    motorUahPerActuation: 80,
    keypadWakeUah: 5,
    lowPercent: LOW_PERCENT,
    criticalPercent: CRITICAL_PERCENT,
  },
  boltTravelMs: 700,
  defaultAutoRelockMs: 30_000,
  qiJumpStart: false,
};

export const C2_MODEL: BatteryLockSpec = {
  id: 'C2',
  kind: 'cylinder',
  vendorName: 'C2',
  firmware: '1.02',
  power: ['battery'],
  inputs: ['ble', 'keypad'],
  // The C's pack; the second generation's radio idles and advertises for less.
  battery: {
    capacityUah: 1_500_000,
    idleUahPerHour: 25,
    advertisingUahPerHour: 50,
    connectionUahPerSecond: 2.5,
    motorUahPerActuation: 80,
    keypadWakeUah: 5,
    lowPercent: LOW_PERCENT,
    criticalPercent: CRITICAL_PERCENT,
  },
  boltTravelMs: 700,
  defaultAutoRelockMs: 30_000,
  qiJumpStart: true,
};

/** Every model, by id. */
export const MODELS: {
  readonly [K in ModelId]: K extends 'R'
    ? ReaderControllerSpec
    : K extends BatteryModelId
      ? BatteryLockSpec
      : ModelSpec;
} = {
  M: M_MODEL,
  C: C_MODEL,
  C2: C2_MODEL,
  R: R_MODEL,
  hub: {
    // The documentation gives no hub firmware version; keyway's hub reports its own, 1.0.
    id: 'hub',
    kind: 'gateway',
    vendorName: 'hub',
    firmware: '1.0',
    power: ['wired'],
    inputs: ['ble', 'network'],
  },
};
