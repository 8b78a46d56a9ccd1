/**
 * A battery lock's charge (ARCHITECTURE.md §3 "Power"): it drains per elapsed time (idle and
 * advertising) and per operation (motor actuation, phone connection, keypad wake) by the
 * constants of the model's `BatterySpec`, and reports the low-battery and critical thresholds
 * once each as the charge reaches them. At critical the motor refuses to unlock
 * (`battery-lock.ts` asks `batteryCritical`).
 *
 * Elapsed time is accounted lazily, at the next step; so that a threshold reached by idle drain
 * alone is still reported on time, `nextCrossing` says when it will be reached and the lock sets
 * a timer for it. Steps update the `BatteryState` in place and write effects; they allocate
 * nothing.
 *
 * Where the documentation is silent:
 * - the charge stops at 0 % and the lock keeps answering there: the electronics' brown-out
 *   cut-off is below the usable capacity counted here, so only a battery swap cuts its power;
 * - each threshold is reported once, when a drain reaches it; a lock installed below one starts
 *   with it reported (installing emits nothing), and a fresh pack re-arms both.
 */
import type { Effects } from './effects.js';
import { EVENT } from './events.js';
import type { BatterySpec } from './models.js';

const HOUR_MS = 3_600_000;

export interface BatteryState {
  /** Charge left at `at`, µAh. */
  charge: number;
  /** World time the charge was last accounted to. */
  at: number;
  /** The lock runs on this battery; false while an M gen 2 runs on its wired supply. */
  draining: boolean;
  lowReported: boolean;
  criticalReported: boolean;
}

function assertPercent(percent: number): void {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RangeError('battery level must be a percentage in [0, 100]');
  }
}

function thresholdCharge(spec: BatterySpec, percent: number): number {
  return (spec.capacityUah * percent) / 100;
}

/** µAh per ms drawn while the lock sits idle and advertises. */
function idleRate(spec: BatterySpec, battery: BatteryState): number {
  return battery.draining ? (spec.idleUahPerHour + spec.advertisingUahPerHour) / HOUR_MS : 0;
}

/** A pack at `percent` of its capacity at world time `now`; thresholds below it count as reported. */
export function createBattery(
  spec: BatterySpec,
  percent: number,
  draining: boolean,
  now: number,
): BatteryState {
  assertPercent(percent);
  return {
    charge: thresholdCharge(spec, percent),
    at: now,
    draining,
    lowReported: percent <= spec.lowPercent,
    criticalReported: percent <= spec.criticalPercent,
  };
}

/** The level at world time `now`, percent of capacity, without changing the state. */
export function batteryPercent(spec: BatterySpec, battery: BatteryState, now: number): number {
  const charge = Math.max(0, battery.charge - idleRate(spec, battery) * (now - battery.at));
  return (charge * 100) / spec.capacityUah;
}

/** At or below the critical threshold: the motor refuses to unlock. */
export function batteryCritical(spec: BatterySpec, battery: BatteryState): boolean {
  return battery.charge <= thresholdCharge(spec, spec.criticalPercent);
}

/**
 * Accounts the idle drain up to `now` and reports any threshold reached. Call it before changing
 * `draining`, so the old rate applies up to the switch.
 */
export function batteryAccount(
  spec: BatterySpec,
  battery: BatteryState,
  now: number,
  out: Effects,
): void {
  drawCharge(spec, battery, idleRate(spec, battery) * (now - battery.at), out);
  battery.at = now;
}

/** Accounts up to `now`, then draws `uah` for one operation (nothing while on wired power). */
export function batteryDraw(
  spec: BatterySpec,
  battery: BatteryState,
  uah: number,
  now: number,
  out: Effects,
): void {
  batteryAccount(spec, battery, now, out);
  if (battery.draining) drawCharge(spec, battery, uah, out);
}

/** A fault injection: the charge drops to `percent` (a pack already lower stays where it is). */
export function batteryDrainTo(
  spec: BatterySpec,
  battery: BatteryState,
  percent: number,
  now: number,
  out: Effects,
): void {
  assertPercent(percent);
  batteryAccount(spec, battery, now, out);
  drawCharge(spec, battery, battery.charge - thresholdCharge(spec, percent), out);
}

/** A fresh pack at world time `now`: full, both thresholds re-armed. */
export function batteryReplace(spec: BatterySpec, battery: BatteryState, now: number): void {
  battery.charge = spec.capacityUah;
  battery.at = now;
  battery.lowReported = false;
  battery.criticalReported = false;
}

/**
 * The world time (integer ms, rounded up) at which idle drain alone reaches the next threshold
 * not yet reported, or `Infinity` if none will be. Rounding up means the timer finds the
 * threshold reached; a floating-point hair above it only asks for one more millisecond.
 */
export function nextCrossing(spec: BatterySpec, battery: BatteryState): number {
  const rate = idleRate(spec, battery);
  if (rate === 0 || battery.criticalReported) return Infinity;
  const percent = battery.lowReported ? spec.criticalPercent : spec.lowPercent;
  const left = battery.charge - thresholdCharge(spec, percent);
  return battery.at + Math.max(1, Math.ceil(left / rate));
}

function drawCharge(spec: BatterySpec, battery: BatteryState, uah: number, out: Effects): void {
  if (uah <= 0) return;
  battery.charge = Math.max(0, battery.charge - uah);
  const percent = Math.round((battery.charge * 100) / spec.capacityUah);
  if (!battery.lowReported && battery.charge <= thresholdCharge(spec, spec.lowPercent)) {
    battery.lowReported = true;
    out.emit(EVENT.LOW_BATTERY, percent);
  }
  if (!battery.criticalReported && batteryCritical(spec, battery)) {
    battery.criticalReported = true;
    out.emit(EVENT.BATTERY_CRITICAL, percent);
  }
}
