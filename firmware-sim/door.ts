/**
 * The door-position sensor and the Door State Notifications (ARCHITECTURE.md §3 "Door State
 * Notifications"; the vendor's DSN feature of the R, and of any model with a door sensor):
 * - *Door Ajar* once the door has been open for the configured 30, 60 or 90 s;
 * - *Door Still Ajar* every 5, 10 or 15 min after that while it stays open;
 * - *Door Breached* when it opens without a valid credential or REX (the caller decides that:
 *   it knows the relay);
 * - *Door Secure* when it closes after any of those.
 *
 * One timer kind (`DSN_TIMER`) serves both Ajar and Still Ajar: at most one is ever pending.
 * Steps update the lock's `DoorState` in place and write effects (`effects.ts`); they allocate
 * nothing.
 */
import type { Effects } from './effects.js';
import { EVENT } from './events.js';
import type { AjarSeconds, StillAjarMinutes } from './models.js';
import { AJAR_SECONDS, STILL_AJAR_MINUTES } from './models.js';

/** The timer kind of the Door Ajar / Still Ajar countdown. */
export const DSN_TIMER = 0;

export interface DoorConfig {
  /** Open time before Door Ajar, ms. */
  readonly ajarMs: number;
  /** Period of Door Still Ajar after Door Ajar, ms. */
  readonly stillAjarMs: number;
}

export interface DoorState {
  /** The sensor's reading. It follows the door even without power; the firmware reads it at boot. */
  open: boolean;
  /** World time of the opening the firmware saw (the boot, if the door was open then). */
  openedAt: number;
  /** Door Ajar was sent for this opening: the DSN timer now counts Still Ajar. */
  ajar: boolean;
  /** Door Still Ajar notifications sent for this opening. */
  stillAjar: number;
  /**
   * A non-secure notification (Ajar, Still Ajar, Breached) is outstanding, so Door Secure is owed
   * on the next close. The R keeps this across a power loss, so the cloud is never left with a
   * stale Door Ajar: a door that closed during the outage gets its Door Secure at boot.
   */
  notSecure: boolean;
}

/** A `DoorConfig` from the vendor's configuration choices; anything else is a `RangeError`. */
export function doorConfig(
  ajarSeconds: AjarSeconds,
  stillAjarMinutes: StillAjarMinutes,
): DoorConfig {
  if (!AJAR_SECONDS.includes(ajarSeconds)) {
    throw new RangeError(`Door Ajar delay must be one of ${AJAR_SECONDS.join(', ')} s`);
  }
  if (!STILL_AJAR_MINUTES.includes(stillAjarMinutes)) {
    throw new RangeError(
      `Door Still Ajar period must be one of ${STILL_AJAR_MINUTES.join(', ')} min`,
    );
  }
  return { ajarMs: ajarSeconds * 1_000, stillAjarMs: stillAjarMinutes * 60_000 };
}

export function createDoor(): DoorState {
  return { open: false, openedAt: 0, ajar: false, stillAjar: 0, notSecure: false };
}

/** The powered firmware sees the door open; `breached` when nothing authorised it. */
export function doorOpened(
  door: DoorState,
  config: DoorConfig,
  breached: boolean,
  now: number,
  out: Effects,
): void {
  startOpening(door, now);
  out.emit(EVENT.DOOR_OPENED);
  if (breached) {
    door.notSecure = true;
    out.emit(EVENT.DOOR_BREACHED);
  }
  out.setTimer(DSN_TIMER, now + config.ajarMs);
}

/** The powered firmware sees the door close. */
export function doorClosed(door: DoorState, out: Effects): void {
  door.open = false;
  out.emit(EVENT.DOOR_CLOSED);
  out.cancelTimer(DSN_TIMER);
  settle(door, out);
}

/** The DSN timer fired: Door Ajar the first time, Door Still Ajar after that. */
export function doorTimer(door: DoorState, config: DoorConfig, now: number, out: Effects): void {
  if (!door.open) return;
  door.notSecure = true;
  if (door.ajar) {
    door.stillAjar++;
    out.emit(EVENT.DOOR_STILL_AJAR, now - door.openedAt, door.stillAjar);
  } else {
    door.ajar = true;
    out.emit(EVENT.DOOR_AJAR, now - door.openedAt);
  }
  out.setTimer(DSN_TIMER, now + config.stillAjarMs);
}

/**
 * Power loss: the sensor is unread until boot; the DSN timer is gone with the RAM (the caller
 * cancels every timer). The outstanding-notification flag survives (see `DoorState`).
 */
export function doorPowerLost(door: DoorState): void {
  door.ajar = false;
  door.stillAjar = 0;
}

/**
 * Boot: the firmware reads the sensor. A closed door settles any outstanding notification. An
 * open door starts a fresh Ajar countdown from the boot and is never reported Breached: the R
 * saw no opening edge, so it cannot tell a forced door from one left open before the outage.
 */
export function doorBoot(door: DoorState, config: DoorConfig, now: number, out: Effects): void {
  if (door.open) {
    startOpening(door, now);
    out.setTimer(DSN_TIMER, now + config.ajarMs);
  } else {
    settle(door, out);
  }
}

function startOpening(door: DoorState, now: number): void {
  door.open = true;
  door.openedAt = now;
  door.ajar = false;
  door.stillAjar = 0;
}

function settle(door: DoorState, out: Effects): void {
  if (door.notSecure) {
    door.notSecure = false;
    out.emit(EVENT.DOOR_SECURE);
  }
  door.ajar = false;
  door.stillAjar = 0;
}
