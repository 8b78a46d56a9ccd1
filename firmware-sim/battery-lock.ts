/**
 * The battery locks' firmware (ARCHITECTURE.md §3, the M, C and C2 rows and "Power"): a
 * motorised bolt (`bolt.ts`), a battery pack (`battery.ts`), its RTC, and for an M gen 2 a wired
 * supply with the pack as backup. One step is `(config, state, input, now) → state + effects`,
 * like the R's (`controller.ts`): state updated in place, effects into a reused buffer, no clock
 * read, no host timer.
 *
 * Behaviour:
 * - An authorised unlock retracts the bolt; once retracted it reports `UNLOCKED` and throws the
 *   bolt again after the auto-relock time (`RELOCKED`). A second unlock while retracted restarts
 *   that time, as on the R. Where the documentation is silent: an unlock while the bolt retracts
 *   joins that travel, and one while it is being thrown waits for it to arrive and then retracts
 *   it, so the motor never reverses mid-travel.
 * - On battery power at or below the critical threshold the motor refuses to unlock
 *   (`UNLOCK_REFUSED`, `INSUFFICIENT_BATTERY`) but always relocks: the reserve under the
 *   threshold is kept for that. A wired M gen 2 runs its motor on mains whatever its pack.
 *   A jammed bolt stalls the motor (`JAMMED`; an unlock is then `UNLOCK_REFUSED`, `JAMMED`); a
 *   relock that stalls leaves the bolt retracted until the next unlock's relock, since the
 *   firmware cannot sense the jam clearing.
 * - A battery swap on battery power is a power loss: timers and pending requests are gone, the
 *   RTC is invalid, and at boot the lock reports `NEEDS_UPDATE` and throws the bolt if it was not
 *   thrown (relock reason `boot`). On an M gen 2 running wired, a swap is only a fresh pack.
 * - M gen 2 wired: a mains outage switches to the battery and the return of mains switches back
 *   (`POWER_SOURCE`), with no clock loss; the pack is not drawn while wired.
 * - C2: a Qi charger on a dead lock powers exactly one unlock (`QI_JUMP_START`); the unlock after
 *   it is refused again. The jump charge waits for that unlock and a fresh pack clears it.
 * - Passage mode (§3 "Door schedules", or a manager's command) retracts the bolt and holds it
 *   with no auto-relock until it ends; the end throws it (`passage-ended`). A power loss ends
 *   it, as on the R. A start refused by the motor (critical battery, jam) leaves the bolt thrown.
 */
import { WIRE_ERRORS } from '../protocol/errors.js';
import {
  batteryAccount,
  batteryCritical,
  batteryDraw,
  batteryDrainTo,
  batteryReplace,
  createBattery,
  nextCrossing,
} from './battery.js';
import type { BatteryState } from './battery.js';
import { boltArrive, boltStart, createBolt } from './bolt.js';
import type { BoltState } from './bolt.js';
import type { Effects } from './effects.js';
import { EVENT, POWER_SOURCE_CODE, RELOCK_REASON_CODE, UNLOCK_SOURCE_CODE } from './events.js';
import type { PowerSource } from './events.js';
import { MODELS } from './models.js';
import type { BatteryLockSpec, BatteryModelId } from './models.js';
import { rtcInvalidate, rtcSet } from './rtc.js';
import type { RtcState } from './rtc.js';

/** A battery lock's timer kinds, at most one of each pending. */
export const BATTERY_LOCK_TIMER = {
  /** The end of a bolt travel. */
  BOLT: 0,
  /** The auto-relock after an unlock. */
  RELOCK: 1,
  /** The moment idle drain reaches the next battery threshold (`battery.ts` `nextCrossing`). */
  BATTERY: 2,
} as const;
export const BATTERY_LOCK_TIMER_KINDS = 3;

/** What can happen to a battery lock. `arg` of `stepBatteryLock` carries the value named. */
export const BATTERY_LOCK_INPUT = {
  /** A credential was presented and authorised (the authorization function decided). */
  GRANT_UNLOCK: 0,
  /** A time sync: `arg` is the true time (ms UTC). */
  TIME_SYNC: 1,
  /** A timer the World set fired: `arg` is its `BATTERY_LOCK_TIMER` kind. */
  TIMER_FIRED: 2,
  SWAP_BATTERY: 3,
  /** A fault injection: `arg` is the level (percent) the pack drops to. */
  DRAIN_TO: 4,
  QI_JUMP_START: 5,
  JAM_BOLT: 6,
  FREE_BOLT: 7,
  /** Someone touched the keypad: it woke (only its energy is counted here). */
  KEYPAD_WAKE: 8,
  /** A phone held a BLE connection for `arg` ms (only its energy is counted here). */
  BLE_CONNECTION: 9,
  /** An M gen 2's mains supply failed. */
  MAINS_LOST: 10,
  /** An M gen 2's mains supply came back. */
  MAINS_RESTORED: 11,
  /** Passage mode starts: `arg` is its `PASSAGE_SOURCE_CODE`. */
  PASSAGE_START: 12,
  /** Passage mode ends: `arg` is its `PASSAGE_SOURCE_CODE`. */
  PASSAGE_END: 13,
  /**
   * The supply dropped out for a moment and the lock rebooted with the same pack (a cut during a
   * flash write, a loose contact): a power loss like a swap on battery power, the pack unchanged.
   */
  BROWNOUT: 14,
} as const;
export type BatteryLockInput = (typeof BATTERY_LOCK_INPUT)[keyof typeof BATTERY_LOCK_INPUT];

export interface BatteryLockSettings {
  readonly model: BatteryModelId;
  /** An M gen 2 installed on a wired supply, the pack as backup. */
  readonly gen2Wired?: boolean;
  /** Bolt retracted time after an unlock, ms; default from the model catalogue. */
  readonly autoRelockMs?: number;
}

export interface BatteryLockConfig {
  readonly spec: BatteryLockSpec;
  readonly wired: boolean;
  readonly autoRelockMs: number;
}

export interface BatteryLockState {
  source: PowerSource;
  bolt: BoltState;
  battery: BatteryState;
  rtc: RtcState;
  /** A Qi jump-start's charge waits for the next unlock. */
  jumpCharge: boolean;
  /** An unlock arrived while the bolt was being thrown: retract it once thrown. */
  unlockPending: boolean;
  /** Why the bolt is being thrown, as a `RELOCK_REASON_CODE`. */
  relockReason: number;
  /** Held retracted by passage mode. */
  passage: boolean;
}

/** A validated configuration; defaults from the model catalogue. */
export function batteryLockConfig(options: BatteryLockSettings): BatteryLockConfig {
  const spec = MODELS[options.model];
  const wired = options.gen2Wired ?? false;
  if (wired && !spec.power.includes('wired-with-battery-backup')) {
    throw new RangeError(`model ${spec.id} cannot be wired; only the M gen 2 can`);
  }
  const autoRelockMs = options.autoRelockMs ?? spec.defaultAutoRelockMs;
  if (!Number.isSafeInteger(autoRelockMs) || autoRelockMs <= 0) {
    throw new RangeError('auto-relock time must be a positive integer number of ms');
  }
  return { spec, wired, autoRelockMs };
}

/**
 * A commissioned lock at world time `now`: bolt thrown, its pack at `batteryPercent`, on mains if
 * wired, its RTC as given (set at commissioning).
 */
export function createBatteryLock(
  config: BatteryLockConfig,
  rtc: RtcState,
  batteryPercent: number,
  now: number,
): BatteryLockState {
  return {
    source: config.wired ? 'wired' : 'battery',
    bolt: createBolt(),
    battery: createBattery(config.spec.battery, batteryPercent, !config.wired, now),
    rtc,
    jumpCharge: false,
    unlockPending: false,
    relockReason: RELOCK_REASON_CODE.timeout,
    passage: false,
  };
}

/** One step of a battery lock's firmware; effects are appended to `out` (the caller clears it). */
export function stepBatteryLock(
  config: BatteryLockConfig,
  state: BatteryLockState,
  input: BatteryLockInput,
  arg: number,
  now: number,
  out: Effects,
): void {
  const { battery: spec } = config.spec;
  batteryAccount(spec, state.battery, now, out);
  switch (input) {
    case BATTERY_LOCK_INPUT.GRANT_UNLOCK:
      grantUnlock(config, state, now, out);
      break;
    case BATTERY_LOCK_INPUT.TIME_SYNC:
      state.rtc = rtcSet(state.rtc, now, arg);
      out.emit(EVENT.TIME_SYNCED);
      break;
    case BATTERY_LOCK_INPUT.TIMER_FIRED:
      if (arg === BATTERY_LOCK_TIMER.BOLT) boltArrived(config, state, now, out);
      else if (arg === BATTERY_LOCK_TIMER.RELOCK && state.bolt.position === 'unlocked') {
        relock(config, state, RELOCK_REASON_CODE.timeout, now, out);
      }
      break;
    case BATTERY_LOCK_INPUT.SWAP_BATTERY:
      swapBattery(config, state, now, out);
      break;
    case BATTERY_LOCK_INPUT.BROWNOUT:
      reboot(config, state, now, out);
      break;
    case BATTERY_LOCK_INPUT.DRAIN_TO:
      batteryDrainTo(spec, state.battery, arg, now, out);
      break;
    case BATTERY_LOCK_INPUT.QI_JUMP_START:
      // Only the C2 has the coil; a Qi pad on another model does nothing.
      if (config.spec.qiJumpStart) {
        state.jumpCharge = true;
        out.emit(EVENT.QI_JUMP_START);
      }
      break;
    case BATTERY_LOCK_INPUT.JAM_BOLT:
      state.bolt.jammed = true;
      break;
    case BATTERY_LOCK_INPUT.FREE_BOLT:
      state.bolt.jammed = false;
      break;
    case BATTERY_LOCK_INPUT.KEYPAD_WAKE:
      batteryDraw(spec, state.battery, spec.keypadWakeUah, now, out);
      break;
    case BATTERY_LOCK_INPUT.BLE_CONNECTION:
      batteryDraw(spec, state.battery, (spec.connectionUahPerSecond * arg) / 1_000, now, out);
      break;
    case BATTERY_LOCK_INPUT.MAINS_LOST:
      setSource(config, state, 'battery', out);
      break;
    case BATTERY_LOCK_INPUT.MAINS_RESTORED:
      setSource(config, state, 'wired', out);
      break;
    case BATTERY_LOCK_INPUT.PASSAGE_START:
      if (state.passage) break;
      state.passage = true;
      out.emit(EVENT.PASSAGE_STARTED, arg);
      out.cancelTimer(BATTERY_LOCK_TIMER.RELOCK);
      if (state.bolt.position === 'locked') startUnlock(config, state, now, out);
      else if (state.bolt.position === 'locking') state.unlockPending = true;
      break;
    case BATTERY_LOCK_INPUT.PASSAGE_END:
      if (!state.passage) break;
      state.passage = false;
      out.emit(EVENT.PASSAGE_ENDED, arg);
      state.unlockPending = false;
      if (state.bolt.position === 'unlocked') {
        relock(config, state, RELOCK_REASON_CODE['passage-ended'], now, out);
      }
      break;
  }
  scheduleBatteryCheck(config, state, out);
}

/** The idle drain's next threshold gets a timer; none while no threshold lies ahead. */
function scheduleBatteryCheck(config: BatteryLockConfig, state: BatteryLockState, out: Effects) {
  const at = nextCrossing(config.spec.battery, state.battery);
  if (at === Infinity) out.cancelTimer(BATTERY_LOCK_TIMER.BATTERY);
  else out.setTimer(BATTERY_LOCK_TIMER.BATTERY, at);
}

function grantUnlock(
  config: BatteryLockConfig,
  state: BatteryLockState,
  now: number,
  out: Effects,
): void {
  switch (state.bolt.position) {
    case 'locked':
      startUnlock(config, state, now, out);
      return;
    case 'unlocking':
      return;
    case 'unlocked':
      holdUnlocked(config, state, now, out);
      return;
    case 'locking':
      state.unlockPending = true;
      return;
  }
}

function startUnlock(
  config: BatteryLockConfig,
  state: BatteryLockState,
  now: number,
  out: Effects,
): void {
  const { battery: spec } = config.spec;
  if (state.jumpCharge) {
    // The Qi charge runs this one actuation; the pack is not drawn.
    state.jumpCharge = false;
  } else if (state.source === 'battery' && batteryCritical(spec, state.battery)) {
    out.emit(EVENT.UNLOCK_REFUSED, WIRE_ERRORS.INSUFFICIENT_BATTERY);
    return;
  } else {
    batteryDraw(spec, state.battery, spec.motorUahPerActuation, now, out);
  }
  if (
    !boltStart(state.bolt, 'unlocked', config.spec.boltTravelMs, BATTERY_LOCK_TIMER.BOLT, now, out)
  ) {
    out.emit(EVENT.UNLOCK_REFUSED, WIRE_ERRORS.JAMMED);
  }
}

function relock(
  config: BatteryLockConfig,
  state: BatteryLockState,
  reason: number,
  now: number,
  out: Effects,
): void {
  const { battery: spec } = config.spec;
  batteryDraw(spec, state.battery, spec.motorUahPerActuation, now, out);
  state.relockReason = reason;
  boltStart(state.bolt, 'locked', config.spec.boltTravelMs, BATTERY_LOCK_TIMER.BOLT, now, out);
}

function holdUnlocked(
  config: BatteryLockConfig,
  state: BatteryLockState,
  now: number,
  out: Effects,
): void {
  // In passage mode the bolt stays retracted until the passage ends.
  if (state.passage) return;
  out.emit(EVENT.UNLOCKED, UNLOCK_SOURCE_CODE.grant, config.autoRelockMs);
  out.setTimer(BATTERY_LOCK_TIMER.RELOCK, now + config.autoRelockMs);
}

function boltArrived(
  config: BatteryLockConfig,
  state: BatteryLockState,
  now: number,
  out: Effects,
): void {
  const position = boltArrive(state.bolt, out);
  if (position === 'unlocked') {
    holdUnlocked(config, state, now, out);
  } else if (position === 'locked') {
    out.emit(EVENT.RELOCKED, state.relockReason);
    if (state.unlockPending) {
      state.unlockPending = false;
      startUnlock(config, state, now, out);
    }
  }
}

function swapBattery(
  config: BatteryLockConfig,
  state: BatteryLockState,
  now: number,
  out: Effects,
): void {
  const onBattery = state.source === 'battery';
  batteryReplace(config.spec.battery, state.battery, now);
  state.jumpCharge = false;
  out.emit(EVENT.BATTERY_SWAPPED);
  if (onBattery) reboot(config, state, now, out);
}

/** Power loss: the RAM (timers, pending requests) and the RTC are gone; then the boot. */
function reboot(
  config: BatteryLockConfig,
  state: BatteryLockState,
  now: number,
  out: Effects,
): void {
  state.jumpCharge = false;
  state.rtc = rtcInvalidate(state.rtc);
  state.unlockPending = false;
  state.passage = false;
  out.cancelTimer(BATTERY_LOCK_TIMER.BOLT);
  out.cancelTimer(BATTERY_LOCK_TIMER.RELOCK);
  out.emit(EVENT.POWER_RESTORED);
  out.emit(EVENT.NEEDS_UPDATE);
  if (state.bolt.position !== 'locked') relock(config, state, RELOCK_REASON_CODE.boot, now, out);
}

function setSource(
  config: BatteryLockConfig,
  state: BatteryLockState,
  source: PowerSource,
  out: Effects,
): void {
  if (!config.wired || state.source === source) return;
  state.source = source;
  state.battery.draining = source === 'battery';
  out.emit(EVENT.POWER_SOURCE, POWER_SOURCE_CODE[source]);
}
