/**
 * A battery lock's motorised bolt (ARCHITECTURE.md §3; issue 4 "bolt state machine
 * (locking/unlocking durations, jammed fault)"): `locked → unlocking → unlocked → locking →
 * locked`, each travel taking the model's `boltTravelMs`. A travel is started by `boltStart` and
 * ended by the lock's bolt timer (`boltArrive`); the caller decides whether a travel may start
 * (battery, pending requests) and draws the motor's charge.
 *
 * The `jammed` fault is mechanical (a misaligned strike, a door pulled against the bolt): it
 * survives power loss, and it stalls the motor at the start of the next travel, so the bolt stays
 * where it was and `JAMMED` reports that position. Where the documentation is silent: a fault
 * set during a travel lets that travel finish (the bolt already moves freely) and stalls the next.
 *
 * Steps update the `BoltState` in place and write effects; they allocate nothing.
 */
import type { Effects } from './effects.js';
import { BOLT_CODE, EVENT } from './events.js';
import type { BoltPosition } from './events.js';

export interface BoltState {
  position: BoltPosition;
  jammed: boolean;
}

/** A commissioned bolt: thrown, free. */
export function createBolt(): BoltState {
  return { position: 'locked', jammed: false };
}

/**
 * Drives the bolt toward `target` for `travelMs`, its arrival at timer kind `timer`. Returns
 * false, with `JAMMED` emitted and the bolt unmoved, when the motor stalls on a jam.
 */
export function boltStart(
  bolt: BoltState,
  target: 'locked' | 'unlocked',
  travelMs: number,
  timer: number,
  now: number,
  out: Effects,
): boolean {
  if (bolt.jammed) {
    out.emit(EVENT.JAMMED, BOLT_CODE[bolt.position]);
    return false;
  }
  bolt.position = target === 'unlocked' ? 'unlocking' : 'locking';
  out.emit(EVENT.BOLT, BOLT_CODE[bolt.position]);
  out.setTimer(timer, now + travelMs);
  return true;
}

/** The travel's timer fired: the bolt is at rest at its target. Returns where it came to rest. */
export function boltArrive(bolt: BoltState, out: Effects): BoltPosition {
  if (bolt.position === 'unlocking') bolt.position = 'unlocked';
  else if (bolt.position === 'locking') bolt.position = 'locked';
  else return bolt.position;
  out.emit(EVENT.BOLT, BOLT_CODE[bolt.position]);
  return bolt.position;
}
