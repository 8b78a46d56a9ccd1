/**
 * The device model catalogue (ARCHITECTURE.md §3 "Device models"), as data: what each model is,
 * how it is powered, which inputs it has, and the constants its behaviour functions read. The
 * behaviours themselves live beside it (`controller.ts` for the R); a model declares what it has,
 * it does not inherit it (STYLE.md: data tables plus behaviour functions, not a class hierarchy).
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

/** Every model, by id. */
export const MODELS: { readonly [K in ModelId]: K extends 'R' ? ReaderControllerSpec : ModelSpec } =
  {
    M: {
      id: 'M',
      kind: 'mortise',
      vendorName: 'M',
      firmware: '1.02',
      power: ['battery', 'wired-with-battery-backup'],
      inputs: ['ble', 'keypad'],
    },
    C: {
      id: 'C',
      kind: 'cylinder',
      vendorName: 'C1',
      firmware: '2.4.2',
      power: ['battery'],
      inputs: ['ble', 'keypad'],
    },
    C2: {
      id: 'C2',
      kind: 'cylinder',
      vendorName: 'C2',
      firmware: '1.02',
      power: ['battery'],
      inputs: ['ble', 'keypad'],
    },
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
