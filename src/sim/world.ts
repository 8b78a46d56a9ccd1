/**
 * The World (ARCHITECTURE.md §1 `src/sim`, §2): many locks on one virtual-time `Scheduler`, a
 * seeded `Random`, a fault and action API for scenarios, and the event log every lock writes to.
 * The firmware is pure (`firmware-sim/`): the World feeds it inputs at world time and applies
 * the effects it returns — logs its events, and keeps its timers in the one scheduler, one
 * pending timer per (lock, timer kind), each with a callback made once when the lock is added
 * (STYLE.md: never a host timer per lock; nothing allocated per event but the log records).
 *
 * Determinism (§2): everything runs on the scheduler, ties in insertion order, and the only
 * randomness is `random`, seeded; the same seed and the same actions give the same log, and
 * `toJsonLines()` the same bytes.
 *
 * Models plug in through `LockFirmware`: `addLock` builds one from the options' `model` — the R
 * (`firmware-sim/controller.ts`), or the battery locks M, C and C2
 * (`firmware-sim/battery-lock.ts`). A lock takes the actions its model has (ARCHITECTURE.md §3
 * table); any other, say `openDoor` on a C (no door sensor) or `cutPower` on a battery-only M,
 * is a scenario bug and throws `RangeError`.
 */
import {
  controllerConfig,
  createController,
  INPUT,
  stepController,
  TIMER_KINDS,
} from '../../firmware-sim/controller.js';
import type { ControllerInput, ControllerState } from '../../firmware-sim/controller.js';
import {
  BATTERY_LOCK_INPUT,
  BATTERY_LOCK_TIMER_KINDS,
  batteryLockConfig,
  createBatteryLock,
  stepBatteryLock,
} from '../../firmware-sim/battery-lock.js';
import type {
  BatteryLockConfig,
  BatteryLockInput,
  BatteryLockSettings,
  BatteryLockState,
} from '../../firmware-sim/battery-lock.js';
import { batteryPercent } from '../../firmware-sim/battery.js';
import { EFFECT, Effects } from '../../firmware-sim/effects.js';
import { eventRecord } from '../../firmware-sim/events.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import type {
  AjarSeconds,
  BatteryModelId,
  RelayWiring,
  StillAjarMinutes,
} from '../../firmware-sim/models.js';
import { createRtc, rtcSet } from '../../firmware-sim/rtc.js';
import type { TimerCallback, TimerId } from '../../firmware-sim/time.js';
import { Random } from './random.js';
import type { Seed } from './random.js';
import { Scheduler } from './scheduler.js';

export interface WorldOptions {
  readonly seed: Seed;
  /** World time at the start, ms UTC; default 2026-01-01T00:00:00Z. */
  readonly start?: number;
}

export interface RLockOptions {
  readonly id: string;
  readonly model: 'R';
  readonly wiring: RelayWiring;
  /** Door Ajar delay; default from the model catalogue. */
  readonly ajarSeconds?: AjarSeconds;
  /** Door Still Ajar period; default from the model catalogue. */
  readonly stillAjarMinutes?: StillAjarMinutes;
  /** Relay release time of an unused unlock, ms; default from the model catalogue. */
  readonly unlockHoldMs?: number;
  /** RTC crystal drift, ppm; default 0. */
  readonly driftPpm?: number;
}

/** An M, C or C2: a battery lock (`firmware-sim/battery-lock.ts`). */
export interface BatteryLockOptions extends BatteryLockSettings {
  readonly id: string;
  readonly model: BatteryModelId;
  /** The pack's level at installation, percent; default 100 (a fresh pack). */
  readonly batteryPercent?: number;
  /** RTC crystal drift, ppm; default 0. */
  readonly driftPpm?: number;
}

/** A lock to add, by model. */
export type LockOptions = RLockOptions | BatteryLockOptions;

/** The World's actions that reach a lock's firmware as an input. */
type Action =
  | 'cutPower'
  | 'restorePower'
  | 'openDoor'
  | 'closeDoor'
  | 'rexMotion'
  | 'grantUnlock'
  | 'syncTime'
  | 'swapBattery'
  | 'drainBattery'
  | 'qiJumpStart'
  | 'jamBolt'
  | 'freeBolt'
  | 'keypadWake'
  | 'phoneConnection';

/** The firmware's input for each action its model has. */
type ActionInputs<I extends number> = { readonly [A in Action]?: I };

/**
 * What the World needs of a lock's firmware: one pure step, how many timer kinds it uses, and
 * which input each action and a fired timer are.
 */
interface LockFirmware<I extends number = number> {
  readonly timerKinds: number;
  readonly timerFired: I;
  readonly actions: ActionInputs<I>;
  step(input: I, arg: number, now: number, out: Effects): void;
}

/** A hosted lock's firmware state, by model, for inspection. */
type Device =
  | { readonly model: 'R'; readonly state: ControllerState }
  | {
      readonly model: BatteryModelId;
      readonly config: BatteryLockConfig;
      readonly state: BatteryLockState;
    };

interface HostedLock {
  readonly id: string;
  readonly firmware: LockFirmware;
  readonly device: Device;
  /** The pending scheduler timer per timer kind; 0 when none (a `TimerId` is never 0). */
  readonly timers: TimerId[];
  /** One callback per timer kind, made once. */
  readonly onTimer: readonly TimerCallback[];
}

const R_ACTIONS: ActionInputs<ControllerInput> = {
  cutPower: INPUT.POWER_CUT,
  restorePower: INPUT.POWER_RESTORE,
  openDoor: INPUT.DOOR_OPEN,
  closeDoor: INPUT.DOOR_CLOSE,
  rexMotion: INPUT.REX_MOTION,
  grantUnlock: INPUT.GRANT_UNLOCK,
  syncTime: INPUT.TIME_SYNC,
};

const BATTERY_ACTIONS: ActionInputs<BatteryLockInput> = {
  grantUnlock: BATTERY_LOCK_INPUT.GRANT_UNLOCK,
  syncTime: BATTERY_LOCK_INPUT.TIME_SYNC,
  swapBattery: BATTERY_LOCK_INPUT.SWAP_BATTERY,
  drainBattery: BATTERY_LOCK_INPUT.DRAIN_TO,
  jamBolt: BATTERY_LOCK_INPUT.JAM_BOLT,
  freeBolt: BATTERY_LOCK_INPUT.FREE_BOLT,
  keypadWake: BATTERY_LOCK_INPUT.KEYPAD_WAKE,
  phoneConnection: BATTERY_LOCK_INPUT.BLE_CONNECTION,
};

/** A wired M gen 2 also has a supply to cut and restore (its mains). */
const WIRED_ACTIONS: ActionInputs<BatteryLockInput> = {
  ...BATTERY_ACTIONS,
  cutPower: BATTERY_LOCK_INPUT.MAINS_LOST,
  restorePower: BATTERY_LOCK_INPUT.MAINS_RESTORED,
};

/** A C2 also has a Qi coil. */
const QI_ACTIONS: ActionInputs<BatteryLockInput> = {
  ...BATTERY_ACTIONS,
  qiJumpStart: BATTERY_LOCK_INPUT.QI_JUMP_START,
};

/** The actions of a battery lock, shared between locks of the same kind (no map per lock). */
function batteryActions(config: BatteryLockConfig): ActionInputs<BatteryLockInput> {
  if (config.wired) return WIRED_ACTIONS;
  return config.spec.qiJumpStart ? QI_ACTIONS : BATTERY_ACTIONS;
}

export const DEFAULT_START = Date.UTC(2026, 0, 1);

export class World {
  readonly scheduler: Scheduler;
  /** The World's randomness; scenarios draw from it (or fork it) to stay deterministic by seed. */
  readonly random: Random;
  readonly #locks = new Map<string, HostedLock>();
  readonly #log: LockEvent[] = [];
  readonly #effects = new Effects();

  constructor(options: WorldOptions) {
    this.scheduler = new Scheduler({ start: options.start ?? DEFAULT_START });
    this.random = new Random(options.seed);
  }

  now(): number {
    return this.scheduler.now();
  }

  /**
   * Installs a commissioned lock, its RTC set to world time (commissioning syncs it). An R:
   * powered, relay locked, door closed. An M, C or C2: bolt thrown, its pack at
   * `batteryPercent`, an M gen 2 `gen2Wired` on mains.
   */
  addLock(options: LockOptions): void {
    if (this.#locks.has(options.id)) throw new RangeError(`lock "${options.id}" already exists`);
    const now = this.now();
    const rtc = rtcSet(createRtc(options.driftPpm ?? 0), now, now);
    let firmware: LockFirmware;
    let device: Device;
    if (options.model === 'R') {
      const config = controllerConfig(options);
      const state = createController(rtc);
      firmware = {
        timerKinds: TIMER_KINDS,
        timerFired: INPUT.TIMER_FIRED,
        actions: R_ACTIONS,
        step: (input: ControllerInput, arg, t, out) =>
          stepController(config, state, input, arg, t, out),
      } satisfies LockFirmware<ControllerInput>;
      device = { model: 'R', state };
    } else {
      const config = batteryLockConfig(options);
      const state = createBatteryLock(config, rtc, options.batteryPercent ?? 100, now);
      firmware = {
        timerKinds: BATTERY_LOCK_TIMER_KINDS,
        timerFired: BATTERY_LOCK_INPUT.TIMER_FIRED,
        actions: batteryActions(config),
        step: (input: BatteryLockInput, arg, t, out) =>
          stepBatteryLock(config, state, input, arg, t, out),
      } satisfies LockFirmware<BatteryLockInput>;
      device = { model: options.model, config, state };
    }
    const timers = new Array<TimerId>(firmware.timerKinds).fill(0);
    const onTimer: TimerCallback[] = [];
    const lock: HostedLock = { id: options.id, firmware, device, timers, onTimer };
    for (let kind = 0; kind < firmware.timerKinds; kind++) {
      onTimer.push(() => {
        timers[kind] = 0;
        this.#input(lock, firmware.timerFired, kind);
      });
    }
    this.#locks.set(options.id, lock);
  }

  /** The lock ids, in the order they were added. */
  lockIds(): string[] {
    return [...this.#locks.keys()];
  }

  /** An R's firmware state, read-only, for scenarios to inspect. */
  controllerState(lock: string): Readonly<ControllerState> {
    const { device } = this.#lock(lock);
    if (device.model !== 'R') throw new RangeError(`lock "${lock}" is not an R`);
    return device.state;
  }

  /** An M, C or C2's firmware state, read-only, for scenarios to inspect. */
  batteryLockState(lock: string): Readonly<BatteryLockState> {
    return this.#batteryLock(lock).state;
  }

  /** An M, C or C2's battery level now, percent of capacity (idle drain included). */
  batteryPercent(lock: string): number {
    const { config, state } = this.#batteryLock(lock);
    return batteryPercent(config.spec.battery, state.battery, this.now());
  }

  /**
   * Cuts the lock's supply: an R loses power; a wired M gen 2 switches to its battery. Battery-only
   * locks have no supply to cut.
   */
  cutPower(lock: string): void {
    this.#act(lock, 'cutPower', 0);
  }

  /** Restores the lock's supply: an R boots; a wired M gen 2 switches back to mains. */
  restorePower(lock: string): void {
    this.#act(lock, 'restorePower', 0);
  }

  /** Opens the door of a lock with a door sensor (the R). */
  openDoor(lock: string): void {
    this.#act(lock, 'openDoor', 0);
  }

  closeDoor(lock: string): void {
    this.#act(lock, 'closeDoor', 0);
  }

  /**
   * Opens the door now and closes it `ms` later, whatever happened in between (a door already
   * closed by then stays closed).
   */
  holdDoorOpen(lock: string, ms: number): void {
    this.#act(lock, 'openDoor', 0);
    this.scheduler.at(this.now() + ms, () => this.#act(lock, 'closeDoor', 0));
  }

  /** Someone walks up to the door from the secure side: the REX sensor sees motion. */
  rexMotion(lock: string): void {
    this.#act(lock, 'rexMotion', 0);
  }

  /** A credential was presented and authorised: the lock actuates. */
  grantUnlock(lock: string): void {
    this.#act(lock, 'grantUnlock', 0);
  }

  /** A signed time sync (from a phone or the hub) sets the lock's RTC to world time. */
  syncTime(lock: string): void {
    this.#act(lock, 'syncTime', this.now());
  }

  /** Replaces an M, C or C2's batteries with a fresh pack; on battery power, a power loss. */
  swapBattery(lock: string): void {
    this.#act(lock, 'swapBattery', 0);
  }

  /** Drains an M, C or C2's pack down to `percent` of its capacity (a lower pack stays lower). */
  drainBattery(lock: string, percent: number): void {
    this.#act(lock, 'drainBattery', percent);
  }

  /** Puts a Qi charger on a C2: it powers one unlock, even with a dead pack. */
  qiJumpStart(lock: string): void {
    this.#act(lock, 'qiJumpStart', 0);
  }

  /** Jams an M, C or C2's bolt: its motor stalls from the next travel on. */
  jamBolt(lock: string): void {
    this.#act(lock, 'jamBolt', 0);
  }

  /** Frees a jammed bolt; the firmware does not notice until its next travel. */
  freeBolt(lock: string): void {
    this.#act(lock, 'freeBolt', 0);
  }

  /** Someone touches an M, C or C2's keypad: it wakes (its energy is drawn). */
  keypadWake(lock: string): void {
    this.#act(lock, 'keypadWake', 0);
  }

  /** A phone holds a BLE connection to an M, C or C2 for `ms` (its energy is drawn). */
  phoneConnection(lock: string, ms: number): void {
    this.#act(lock, 'phoneConnection', ms);
  }

  /** Runs the world `ms` forward. */
  advance(ms: number): void {
    this.scheduler.runUntil(this.now() + ms);
  }

  /** Runs the world to time `t` (ms UTC). */
  runUntil(t: number): void {
    this.scheduler.runUntil(t);
  }

  /** Every event so far, in order. */
  events(): readonly LockEvent[] {
    return this.#log;
  }

  eventsOf(lock: string): LockEvent[] {
    return this.#log.filter((event) => event.lock === lock);
  }

  /** The log as JSON Lines: one record per line, each line ending in `\n`. */
  toJsonLines(): string {
    let text = '';
    for (const event of this.#log) text += JSON.stringify(event) + '\n';
    return text;
  }

  #lock(id: string): HostedLock {
    const lock = this.#locks.get(id);
    if (lock === undefined) throw new RangeError(`no lock "${id}" in this world`);
    return lock;
  }

  #batteryLock(id: string): Extract<Device, { readonly config: BatteryLockConfig }> {
    const { device } = this.#lock(id);
    if (device.model === 'R') throw new RangeError(`lock "${id}" has no battery`);
    return device;
  }

  /** Feeds `action` to the lock's firmware; a model without it is a scenario bug. */
  #act(id: string, action: Action, arg: number): void {
    const lock = this.#lock(id);
    const input = lock.firmware.actions[action];
    if (input === undefined) {
      throw new RangeError(`lock "${id}" (model ${lock.device.model}) has no ${action}`);
    }
    this.#input(lock, input, arg);
  }

  /** Runs one firmware step at world time and applies its effects. */
  #input(lock: HostedLock, input: number, arg: number): void {
    const out = this.#effects;
    const now = this.now();
    out.clear();
    lock.firmware.step(input, arg, now, out);
    for (let i = 0; i < out.length; i++) {
      const kind = out.a[i]!;
      switch (out.op[i]!) {
        case EFFECT.EMIT:
          this.#log.push(eventRecord(now, lock.id, kind, out.b[i]!, out.c[i]!));
          break;
        case EFFECT.SET_TIMER:
          this.#cancel(lock, kind);
          lock.timers[kind] = this.scheduler.at(out.b[i]!, lock.onTimer[kind]!);
          break;
        case EFFECT.CANCEL_TIMER:
          this.#cancel(lock, kind);
          break;
      }
    }
  }

  #cancel(lock: HostedLock, kind: number): void {
    const id = lock.timers[kind]!;
    if (id !== 0) {
      this.scheduler.cancel(id);
      lock.timers[kind] = 0;
    }
  }
}
