/**
 * The R door controller's firmware (ARCHITECTURE.md §3, the R row and "Power"; SECURITY.md item
 * 27): a relay driving a strike or maglock, a door-position sensor, a request-to-exit (REX)
 * motion sensor, and its RTC. One step is `(config, state, input, now) → state + effects`:
 * `stepController` updates the lock's state record in place and writes its effects into a
 * reused buffer, so the per-event path allocates nothing; it reads no clock and sets no host
 * timer (STYLE.md "Pure core, I/O at the edge").
 *
 * Behaviour:
 * - Without power the relay takes its wiring's default (fail-safe → unlocked, fail-secure →
 *   locked), every timer is lost and the RTC is invalidated. At boot the relay is driven locked
 *   whatever the wiring, and the R reports `NEEDS_UPDATE`; until a time sync its clock is
 *   invalid, so time-bound access fails closed (`clockValid`).
 * - An unlock (a granted credential, or REX motion: the R auto-unlocks for exit) releases the
 *   relay for `unlockHoldMs`. Opening the door relocks at once (the door is already past the
 *   strike); otherwise the hold runs out and it relocks. A second unlock while released restarts
 *   the hold, as a second badge or a second wave at the REX sensor does on a real controller.
 * - The door opening while the relay is locked is Door Breached; Door Ajar, Still Ajar and
 *   Secure follow `door.ts`.
 * - Passage mode (§3 "Door schedules", or a manager's command) holds the relay released until it
 *   ends: opening the door does not relock and is no breach, a grant or REX changes nothing, and
 *   the end relocks (`passage-ended`). Passage lives in RAM: a power loss ends it, and the
 *   schedule starts it again only once the clock is valid.
 * - Inputs reaching an unpowered R do nothing, except that the door sensor keeps following the
 *   door, to be read at boot.
 */
import {
  createDoor,
  doorBoot,
  doorClosed,
  doorConfig,
  doorOpened,
  doorPowerLost,
  doorTimer,
  DSN_TIMER,
} from './door.js';
import type { DoorConfig, DoorState } from './door.js';
import type { Effects } from './effects.js';
import { EVENT, RELAY_CODE, RELOCK_REASON_CODE, UNLOCK_SOURCE_CODE } from './events.js';
import type { RelayState } from './events.js';
import { R_MODEL } from './models.js';
import type { AjarSeconds, RelayWiring, StillAjarMinutes } from './models.js';
import { rtcInvalidate, rtcSet } from './rtc.js';
import type { RtcState } from './rtc.js';

/** The R's timer kinds: the only timers it ever has pending, at most one of each. */
export const TIMER = {
  /** Door Ajar / Door Still Ajar countdown (`door.ts`). */
  DSN: DSN_TIMER,
  /** End of an unlock's hold: relock if the door was never opened. */
  RELOCK: 1,
} as const;
export type TimerKind = (typeof TIMER)[keyof typeof TIMER];
export const TIMER_KINDS = 2;

/** What can happen to an R. `arg` of `stepController` carries the timer kind or the synced time. */
export const INPUT = {
  POWER_CUT: 0,
  POWER_RESTORE: 1,
  DOOR_OPEN: 2,
  DOOR_CLOSE: 3,
  REX_MOTION: 4,
  /**
   * A credential was presented and authorised. The authorization function (issue 4 item 3)
   * decides that before this input; the controller only actuates.
   */
  GRANT_UNLOCK: 5,
  /** A time sync: `arg` is the true time (ms UTC) to set the RTC to. */
  TIME_SYNC: 6,
  /** A timer the World set for this lock fired: `arg` is its `TIMER` kind. */
  TIMER_FIRED: 7,
  /** Passage mode starts: `arg` is its `PASSAGE_SOURCE_CODE`. */
  PASSAGE_START: 8,
  /** Passage mode ends: `arg` is its `PASSAGE_SOURCE_CODE`. */
  PASSAGE_END: 9,
} as const;
export type ControllerInput = (typeof INPUT)[keyof typeof INPUT];

export interface ControllerConfig {
  readonly wiring: RelayWiring;
  readonly door: DoorConfig;
  /** Relay release time of an unlock if the door is never opened, ms. */
  readonly unlockHoldMs: number;
}

export interface ControllerOptions {
  readonly wiring: RelayWiring;
  readonly ajarSeconds?: AjarSeconds;
  readonly stillAjarMinutes?: StillAjarMinutes;
  readonly unlockHoldMs?: number;
}

export interface ControllerState {
  powered: boolean;
  relay: RelayState;
  door: DoorState;
  rtc: RtcState;
  /** Held released by passage mode. */
  passage: boolean;
}

/** A validated configuration; defaults from the model catalogue (`R_MODEL`). */
export function controllerConfig(options: ControllerOptions): ControllerConfig {
  if (!R_MODEL.wirings.includes(options.wiring)) {
    throw new RangeError(`R relay wiring must be one of ${R_MODEL.wirings.join(', ')}`);
  }
  const unlockHoldMs = options.unlockHoldMs ?? R_MODEL.unlockHoldMs;
  if (!Number.isSafeInteger(unlockHoldMs) || unlockHoldMs <= 0) {
    throw new RangeError('unlock hold time must be a positive integer number of ms');
  }
  return {
    wiring: options.wiring,
    door: doorConfig(
      options.ajarSeconds ?? R_MODEL.defaultAjarSeconds,
      options.stillAjarMinutes ?? R_MODEL.defaultStillAjarMinutes,
    ),
    unlockHoldMs,
  };
}

/** A commissioned R: powered, relay locked, door closed, its RTC as given (set at commissioning). */
export function createController(rtc: RtcState): ControllerState {
  return { powered: true, relay: 'locked', door: createDoor(), rtc, passage: false };
}

/** Whether time-bound access may be decided: false from a power loss until the next time sync. */
export function clockValid(state: ControllerState): boolean {
  return state.rtc.valid;
}

/** The relay's state without power, by wiring. */
export function unpoweredRelay(wiring: RelayWiring): RelayState {
  return wiring === 'fail-safe' ? 'unlocked' : 'locked';
}

/** One step of the R's firmware; effects are appended to `out` (the caller clears it). */
export function stepController(
  config: ControllerConfig,
  state: ControllerState,
  input: ControllerInput,
  arg: number,
  now: number,
  out: Effects,
): void {
  switch (input) {
    case INPUT.POWER_CUT:
      if (state.powered) powerLost(config, state, out);
      return;
    case INPUT.POWER_RESTORE:
      if (!state.powered) boot(config, state, now, out);
      return;
    case INPUT.DOOR_OPEN:
      if (state.door.open) return;
      if (!state.powered) {
        state.door.open = true;
        return;
      }
      doorOpened(state.door, config.door, state.relay === 'locked', now, out);
      if (state.relay === 'unlocked' && !state.passage) {
        relock(state, RELOCK_REASON_CODE['door-opened'], out);
      }
      return;
    case INPUT.DOOR_CLOSE:
      if (!state.door.open) return;
      if (!state.powered) {
        state.door.open = false;
        return;
      }
      doorClosed(state.door, out);
      return;
    case INPUT.REX_MOTION:
      if (!state.powered) return;
      out.emit(EVENT.REX);
      if (!state.passage) unlock(config, state, UNLOCK_SOURCE_CODE.rex, now, out);
      return;
    case INPUT.GRANT_UNLOCK:
      if (state.powered && !state.passage) {
        unlock(config, state, UNLOCK_SOURCE_CODE.grant, now, out);
      }
      return;
    case INPUT.PASSAGE_START:
      if (!state.powered || state.passage) return;
      state.passage = true;
      out.cancelTimer(TIMER.RELOCK);
      out.emit(EVENT.PASSAGE_STARTED, arg);
      setRelay(state, 'unlocked', out);
      return;
    case INPUT.PASSAGE_END:
      if (!state.powered || !state.passage) return;
      state.passage = false;
      out.emit(EVENT.PASSAGE_ENDED, arg);
      relock(state, RELOCK_REASON_CODE['passage-ended'], out);
      return;
    case INPUT.TIME_SYNC:
      if (!state.powered) return;
      state.rtc = rtcSet(state.rtc, now, arg);
      out.emit(EVENT.TIME_SYNCED);
      return;
    case INPUT.TIMER_FIRED:
      if (!state.powered) return;
      if (arg === TIMER.DSN) doorTimer(state.door, config.door, now, out);
      else if (arg === TIMER.RELOCK && state.relay === 'unlocked') {
        relock(state, RELOCK_REASON_CODE.timeout, out);
      }
      return;
  }
}

function powerLost(config: ControllerConfig, state: ControllerState, out: Effects): void {
  const relay = unpoweredRelay(config.wiring);
  state.powered = false;
  state.passage = false;
  state.rtc = rtcInvalidate(state.rtc);
  doorPowerLost(state.door);
  out.emit(EVENT.POWER_LOST, RELAY_CODE[relay]);
  out.cancelTimer(TIMER.DSN);
  out.cancelTimer(TIMER.RELOCK);
  setRelay(state, relay, out);
}

function boot(config: ControllerConfig, state: ControllerState, now: number, out: Effects): void {
  state.powered = true;
  out.emit(EVENT.POWER_RESTORED);
  if (!state.rtc.valid) out.emit(EVENT.NEEDS_UPDATE);
  setRelay(state, 'locked', out);
  doorBoot(state.door, config.door, now, out);
}

function unlock(
  config: ControllerConfig,
  state: ControllerState,
  source: number,
  now: number,
  out: Effects,
): void {
  setRelay(state, 'unlocked', out);
  out.emit(EVENT.UNLOCKED, source, config.unlockHoldMs);
  out.setTimer(TIMER.RELOCK, now + config.unlockHoldMs);
}

function relock(state: ControllerState, reason: number, out: Effects): void {
  setRelay(state, 'locked', out);
  out.cancelTimer(TIMER.RELOCK);
  out.emit(EVENT.RELOCKED, reason);
}

function setRelay(state: ControllerState, relay: RelayState, out: Effects): void {
  if (state.relay === relay) return;
  state.relay = relay;
  out.emit(EVENT.RELAY, RELAY_CODE[relay]);
}
