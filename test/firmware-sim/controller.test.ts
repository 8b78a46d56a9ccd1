// The R controller as a pure step (ARCHITECTURE.md §3): inputs in, effects out, no World.
import { describe, expect, it } from 'vitest';
import {
  clockValid,
  controllerConfig,
  createController,
  INPUT,
  stepController,
  TIMER,
  unpoweredRelay,
} from '../../firmware-sim/controller.js';
import type { ControllerInput, ControllerState } from '../../firmware-sim/controller.js';
import { EFFECT, EFFECT_CAPACITY, Effects } from '../../firmware-sim/effects.js';
import { EVENT, eventRecord, PASSAGE_SOURCE_CODE } from '../../firmware-sim/events.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import { createRtc, rtcSet } from '../../firmware-sim/rtc.js';

const T0 = Date.UTC(2026, 0, 1);

/** A record without its time and lock. */
const fieldsOf = ({ t: _t, lock: _lock, ...fields }: LockEvent) => fields;

/** The effects of one step, decoded for reading. */
function step(
  state: ControllerState,
  input: ControllerInput,
  now: number,
  arg = 0,
  config = controllerConfig({ wiring: 'fail-secure', ajarSeconds: 30, stillAjarMinutes: 5 }),
): string[] {
  const out = new Effects();
  stepController(config, state, input, arg, now, out);
  const effects: string[] = [];
  for (let i = 0; i < out.length; i++) {
    const a = out.a[i]!;
    if (out.op[i] === EFFECT.EMIT) {
      effects.push(JSON.stringify(fieldsOf(eventRecord(now, 'r', a, out.b[i]!, out.c[i]!))));
    } else if (out.op[i] === EFFECT.SET_TIMER) {
      effects.push(`set ${a === TIMER.DSN ? 'DSN' : 'RELOCK'} +${out.b[i]! - now}`);
    } else {
      effects.push(`cancel ${a === TIMER.DSN ? 'DSN' : 'RELOCK'}`);
    }
  }
  return effects;
}

const commissioned = (): ControllerState => createController(rtcSet(createRtc(), T0, T0));

describe('R controller step', () => {
  it('asks for timers by kind and never holds one', () => {
    const state = commissioned();
    expect(step(state, INPUT.GRANT_UNLOCK, T0)).toEqual([
      '{"type":"RELAY","relay":"unlocked"}',
      '{"type":"UNLOCKED","by":"grant","holdMs":5000}',
      'set RELOCK +5000',
    ]);
    expect(step(state, INPUT.DOOR_OPEN, T0 + 1_000)).toEqual([
      '{"type":"DOOR_OPENED"}',
      'set DSN +30000',
      '{"type":"RELAY","relay":"locked"}',
      'cancel RELOCK',
      '{"type":"RELOCKED","reason":"door-opened"}',
    ]);
    expect(step(state, INPUT.TIMER_FIRED, T0 + 31_000, TIMER.DSN)).toEqual([
      '{"type":"DOOR_AJAR","openMs":30000}',
      'set DSN +300000',
    ]);
    expect(step(state, INPUT.TIMER_FIRED, T0 + 331_000, TIMER.DSN)).toEqual([
      '{"type":"DOOR_STILL_AJAR","openMs":330000,"repeat":1}',
      'set DSN +300000',
    ]);
    expect(step(state, INPUT.DOOR_CLOSE, T0 + 400_000)).toEqual([
      '{"type":"DOOR_CLOSED"}',
      'cancel DSN',
      '{"type":"DOOR_SECURE"}',
    ]);
  });

  it('a power cut drops every timer and the clock; boot reports needs update', () => {
    const state = commissioned();
    step(state, INPUT.GRANT_UNLOCK, T0);
    expect(step(state, INPUT.POWER_CUT, T0 + 1)).toEqual([
      '{"type":"POWER_LOST","relay":"locked"}',
      'cancel DSN',
      'cancel RELOCK',
      '{"type":"RELAY","relay":"locked"}',
    ]);
    expect(clockValid(state)).toBe(false);
    // A stale relock timer reaching an unpowered R does nothing.
    expect(step(state, INPUT.TIMER_FIRED, T0 + 5_000, TIMER.RELOCK)).toEqual([]);
    expect(step(state, INPUT.POWER_CUT, T0 + 6_000)).toEqual([]);
    expect(step(state, INPUT.POWER_RESTORE, T0 + 7_000)).toEqual([
      '{"type":"POWER_RESTORED"}',
      '{"type":"NEEDS_UPDATE"}',
    ]);
    expect(step(state, INPUT.TIME_SYNC, T0 + 8_000, T0 + 8_000)).toEqual([
      '{"type":"TIME_SYNCED"}',
    ]);
    expect(clockValid(state)).toBe(true);
  });

  it('ignores a door input that does not change the sensor', () => {
    const state = commissioned();
    expect(step(state, INPUT.DOOR_CLOSE, T0)).toEqual([]);
    step(state, INPUT.DOOR_OPEN, T0);
    expect(step(state, INPUT.DOOR_OPEN, T0 + 1)).toEqual([]);
  });

  it('takes the wiring default without power', () => {
    expect(unpoweredRelay('fail-safe')).toBe('unlocked');
    expect(unpoweredRelay('fail-secure')).toBe('locked');
  });

  it('validates its configuration', () => {
    expect(() => controllerConfig({ wiring: 'fail-safe', unlockHoldMs: 0 })).toThrow(RangeError);
    expect(() => controllerConfig({ wiring: 'fail-safe', unlockHoldMs: 1.5 })).toThrow(RangeError);
    expect(controllerConfig({ wiring: 'fail-safe' })).toEqual({
      wiring: 'fail-safe',
      door: { ajarMs: 60_000, stillAjarMs: 600_000 },
      unlockHoldMs: 5_000,
    });
  });
});

describe('effects and event records', () => {
  it('refuses more effects than a step can write', () => {
    const out = new Effects();
    for (let i = 0; i < EFFECT_CAPACITY; i++) out.cancelTimer(0);
    expect(() => out.cancelTimer(0)).toThrow(RangeError);
    out.clear();
    expect(out.length).toBe(0);
  });

  it('builds every record type with t, lock and type first, and refuses unknown codes', () => {
    const records: LockEvent[] = Object.values(EVENT).map((code) =>
      eventRecord(T0, 'r', code, 1, 2),
    );
    expect(records.map((r) => r.type)).toEqual(Object.keys(EVENT));
    for (const record of records) {
      expect(Object.keys(record).slice(0, 3)).toEqual(['t', 'lock', 'type']);
      expect(JSON.parse(JSON.stringify(record))).toEqual(record);
    }
    expect(() => eventRecord(T0, 'r', 99, 0, 0)).toThrow(RangeError);
    expect(() => eventRecord(T0, 'r', EVENT.RELAY, 7, 0)).toThrow(RangeError);
  });
});

describe('R passage mode (door schedules, a manager)', () => {
  it('holds the relay released: the door opens without a relock or a breach, the end relocks', () => {
    const state = commissioned();
    expect(step(state, INPUT.PASSAGE_START, T0, PASSAGE_SOURCE_CODE.schedule)).toEqual([
      'cancel RELOCK',
      '{"type":"PASSAGE_STARTED","by":"schedule"}',
      '{"type":"RELAY","relay":"unlocked"}',
    ]);
    expect(step(state, INPUT.DOOR_OPEN, T0 + 1_000)).toEqual([
      '{"type":"DOOR_OPENED"}',
      'set DSN +30000',
    ]);
    expect(step(state, INPUT.DOOR_CLOSE, T0 + 2_000)).toEqual([
      '{"type":"DOOR_CLOSED"}',
      'cancel DSN',
    ]);
    // A grant or REX motion during passage changes nothing: the relay is already released.
    expect(step(state, INPUT.GRANT_UNLOCK, T0 + 3_000)).toEqual([]);
    expect(step(state, INPUT.REX_MOTION, T0 + 3_000)).toEqual(['{"type":"REX"}']);
    expect(step(state, INPUT.PASSAGE_END, T0 + 4_000, PASSAGE_SOURCE_CODE.schedule)).toEqual([
      '{"type":"PASSAGE_ENDED","by":"schedule"}',
      '{"type":"RELAY","relay":"locked"}',
      'cancel RELOCK',
      '{"type":"RELOCKED","reason":"passage-ended"}',
    ]);
  });

  it('ends with a power loss: the boot drives the relay locked and passage is off', () => {
    const state = commissioned();
    step(state, INPUT.PASSAGE_START, T0, PASSAGE_SOURCE_CODE.manager);
    step(state, INPUT.POWER_CUT, T0 + 1_000);
    expect(state.passage).toBe(false);
    step(state, INPUT.POWER_RESTORE, T0 + 2_000);
    expect(state.relay).toBe('locked');
    expect(step(state, INPUT.DOOR_OPEN, T0 + 3_000)).toContain('{"type":"DOOR_BREACHED"}');
    expect(step(state, INPUT.PASSAGE_END, T0 + 4_000, PASSAGE_SOURCE_CODE.manager)).toEqual([]);
  });
});
