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
 * Models plug in through `LockFirmware`: `addLock` builds one from the options' `model`. The R
 * (`firmware-sim/controller.ts`) is the first.
 */
import {
  controllerConfig,
  createController,
  INPUT,
  stepController,
  TIMER_KINDS,
} from '../../firmware-sim/controller.js';
import type { ControllerInput, ControllerState } from '../../firmware-sim/controller.js';
import { EFFECT, Effects } from '../../firmware-sim/effects.js';
import { eventRecord } from '../../firmware-sim/events.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import type { AjarSeconds, RelayWiring, StillAjarMinutes } from '../../firmware-sim/models.js';
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

/** A lock to add, by model. */
export type LockOptions = RLockOptions;

/** What the World needs of a lock's firmware: one pure step, and how many timer kinds it uses. */
interface LockFirmware {
  readonly timerKinds: number;
  step(input: ControllerInput, arg: number, now: number, out: Effects): void;
}

interface HostedLock {
  readonly id: string;
  readonly firmware: LockFirmware;
  /** The R's state, for inspection. */
  readonly state: ControllerState;
  /** The pending scheduler timer per timer kind; 0 when none (a `TimerId` is never 0). */
  readonly timers: TimerId[];
  /** One callback per timer kind, made once. */
  readonly onTimer: readonly TimerCallback[];
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
   * Installs a commissioned lock: powered, relay locked, door closed, its RTC set to world time
   * (commissioning syncs it).
   */
  addLock(options: LockOptions): void {
    if (this.#locks.has(options.id)) throw new RangeError(`lock "${options.id}" already exists`);
    const config = controllerConfig(options);
    const now = this.now();
    const state = createController(rtcSet(createRtc(options.driftPpm ?? 0), now, now));
    const firmware: LockFirmware = {
      timerKinds: TIMER_KINDS,
      step: (input, arg, t, out) => stepController(config, state, input, arg, t, out),
    };
    const timers = new Array<TimerId>(firmware.timerKinds).fill(0);
    const onTimer: TimerCallback[] = [];
    const lock: HostedLock = { id: options.id, firmware, state, timers, onTimer };
    for (let kind = 0; kind < firmware.timerKinds; kind++) {
      onTimer.push(() => {
        timers[kind] = 0;
        this.#input(lock, INPUT.TIMER_FIRED, kind);
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
    return this.#lock(lock).state;
  }

  /** Cuts the lock's supply. */
  cutPower(lock: string): void {
    this.#input(this.#lock(lock), INPUT.POWER_CUT, 0);
  }

  /** Restores the lock's supply; it boots. */
  restorePower(lock: string): void {
    this.#input(this.#lock(lock), INPUT.POWER_RESTORE, 0);
  }

  openDoor(lock: string): void {
    this.#input(this.#lock(lock), INPUT.DOOR_OPEN, 0);
  }

  closeDoor(lock: string): void {
    this.#input(this.#lock(lock), INPUT.DOOR_CLOSE, 0);
  }

  /**
   * Opens the door now and closes it `ms` later, whatever happened in between (a door already
   * closed by then stays closed).
   */
  holdDoorOpen(lock: string, ms: number): void {
    const hosted = this.#lock(lock);
    this.#input(hosted, INPUT.DOOR_OPEN, 0);
    this.scheduler.at(this.now() + ms, () => this.#input(hosted, INPUT.DOOR_CLOSE, 0));
  }

  /** Someone walks up to the door from the secure side: the REX sensor sees motion. */
  rexMotion(lock: string): void {
    this.#input(this.#lock(lock), INPUT.REX_MOTION, 0);
  }

  /** A credential was presented and authorised: the lock actuates. */
  grantUnlock(lock: string): void {
    this.#input(this.#lock(lock), INPUT.GRANT_UNLOCK, 0);
  }

  /** A signed time sync (from a phone or the hub) sets the lock's RTC to world time. */
  syncTime(lock: string): void {
    this.#input(this.#lock(lock), INPUT.TIME_SYNC, this.now());
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

  /** Runs one firmware step at world time and applies its effects. */
  #input(lock: HostedLock, input: ControllerInput, arg: number): void {
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
