// Scenarios of the battery locks M, C and C2 in a World, as ARCHITECTURE.md §3 describes them.
import { describe, expect, it } from 'vitest';
import type { LockEvent } from '../../firmware-sim/events.js';
import { C2_MODEL, C_MODEL, M_MODEL } from '../../firmware-sim/models.js';
import type { BatteryModelId } from '../../firmware-sim/models.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import type { BatteryLockOptions } from '../../src/sim/world.js';
import { World } from '../../src/sim/world.js';

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function worldWith(options: Partial<BatteryLockOptions> & { model: BatteryModelId }): World {
  const world = new World({ seed: 'battery-scenarios' });
  world.addLock({ id: 'unit', ...options });
  return world;
}

/** The unit's events without their time and lock. */
const fields = (world: World) => world.eventsOf('unit').map(({ t: _t, lock: _l, ...rest }) => rest);

/** The unit's events as `type` strings. */
const types = (world: World): string[] => world.eventsOf('unit').map((event) => event.type);

/** The unit's events of one type. */
const ofType = <T extends LockEvent['type']>(world: World, type: T) =>
  world.eventsOf('unit').filter((event): event is Extract<LockEvent, { type: T }> => {
    return event.type === type;
  });

/** Grants an unlock and runs the whole cycle: retract, the auto-relock time, throw. */
function unlockCycle(world: World, lock = 'unit'): void {
  world.grantUnlock(lock);
  world.advance(2 * SECOND + 30 * SECOND + 2 * SECOND);
}

describe('bolt: unlock and auto-relock', () => {
  it('locked → unlocking → unlocked → locking → locked, with the travel and auto-relock times', () => {
    const world = worldWith({ model: 'C' });
    const t0 = world.now();
    world.grantUnlock('unit');
    world.advance(C_MODEL.boltTravelMs + 30 * SECOND + C_MODEL.boltTravelMs);
    expect(world.eventsOf('unit').map(({ lock: _l, ...rest }) => rest)).toEqual([
      { t: t0, type: 'BOLT', bolt: 'unlocking' },
      { t: t0 + 700, type: 'BOLT', bolt: 'unlocked' },
      { t: t0 + 700, type: 'UNLOCKED', by: 'grant', holdMs: 30_000 },
      { t: t0 + 30_700, type: 'BOLT', bolt: 'locking' },
      { t: t0 + 31_400, type: 'BOLT', bolt: 'locked' },
      { t: t0 + 31_400, type: 'RELOCKED', reason: 'timeout' },
    ]);
    expect(world.batteryLockState('unit').bolt.position).toBe('locked');
  });

  it('the auto-relock time is configurable; a second unlock while retracted restarts it', () => {
    const world = worldWith({ model: 'M', autoRelockMs: 10 * SECOND });
    world.grantUnlock('unit');
    world.advance(M_MODEL.boltTravelMs + 8 * SECOND);
    world.grantUnlock('unit');
    world.advance(9 * SECOND);
    expect(world.batteryLockState('unit').bolt.position).toBe('unlocked');
    world.advance(SECOND);
    expect(world.batteryLockState('unit').bolt.position).toBe('locking');
    expect(ofType(world, 'UNLOCKED')).toHaveLength(2);
  });

  it('an unlock while the bolt is being thrown waits for it to arrive, then retracts it', () => {
    // Documented choice (battery-lock.ts): the motor never reverses mid-travel.
    const world = worldWith({ model: 'C2' });
    world.grantUnlock('unit');
    world.advance(700 + 30 * SECOND + 300);
    world.grantUnlock('unit');
    world.advance(400);
    expect(fields(world).slice(-3)).toEqual([
      { type: 'BOLT', bolt: 'locked' },
      { type: 'RELOCKED', reason: 'timeout' },
      { type: 'BOLT', bolt: 'unlocking' },
    ]);
    expect(ofType(world, 'BOLT').map((e) => e.bolt)).toEqual([
      'unlocking',
      'unlocked',
      'locking',
      'locked',
      'unlocking',
    ]);
  });
});

describe('C2: dead battery and the Qi jump-start', () => {
  it('a dead battery refuses the unlock; a Qi jump-start powers exactly one; the next is refused', () => {
    const world = worldWith({ model: 'C2', batteryPercent: 2 });
    world.grantUnlock('unit');
    expect(fields(world)).toEqual([
      { type: 'UNLOCK_REFUSED', reason: WIRE_ERRORS.INSUFFICIENT_BATTERY },
    ]);
    expect(world.batteryLockState('unit').bolt.position).toBe('locked');

    world.qiJumpStart('unit');
    unlockCycle(world);
    expect(types(world).slice(1)).toEqual([
      'QI_JUMP_START',
      'BOLT',
      'BOLT',
      'UNLOCKED',
      'BOLT',
      'BOLT',
      'RELOCKED',
    ]);
    // The relock ran on the reserve under the critical threshold: the door is not left unlocked.
    expect(world.batteryLockState('unit').bolt.position).toBe('locked');

    world.grantUnlock('unit');
    expect(fields(world).at(-1)).toEqual({
      type: 'UNLOCK_REFUSED',
      reason: WIRE_ERRORS.INSUFFICIENT_BATTERY,
    });
  });

  it('the jump charge waits for the next unlock; two jump-starts still power only one', () => {
    const world = worldWith({ model: 'C2' });
    world.drainBattery('unit', 4);
    world.qiJumpStart('unit');
    world.qiJumpStart('unit');
    world.advance(HOUR);
    unlockCycle(world);
    world.grantUnlock('unit');
    expect(ofType(world, 'UNLOCKED')).toHaveLength(1);
    expect(ofType(world, 'UNLOCK_REFUSED')).toHaveLength(1);
  });

  it('only the C2 has a Qi coil', () => {
    expect(() => worldWith({ model: 'M' }).qiJumpStart('unit')).toThrow(RangeError);
    expect(() => worldWith({ model: 'C' }).qiJumpStart('unit')).toThrow(RangeError);
  });
});

describe('M gen 2 wired', () => {
  it('outage → battery; restore → wired; no clock loss', () => {
    const world = worldWith({ model: 'M', gen2Wired: true });
    world.cutPower('unit');
    expect(world.batteryLockState('unit').source).toBe('battery');
    unlockCycle(world);
    world.advance(10 * HOUR);
    world.restorePower('unit');
    expect(world.batteryLockState('unit').source).toBe('wired');
    expect(world.batteryLockState('unit').rtc.valid).toBe(true);
    expect(ofType(world, 'POWER_SOURCE').map((e) => e.source)).toEqual(['battery', 'wired']);
    expect(types(world)).not.toContain('NEEDS_UPDATE');
    expect(types(world)).not.toContain('BATTERY_SWAPPED');
  });

  it('the pack drains only while it powers the lock', () => {
    const world = worldWith({ model: 'M', gen2Wired: true });
    world.advance(100 * DAY);
    expect(world.batteryPercent('unit')).toBe(100);
    world.cutPower('unit');
    world.advance(100 * HOUR);
    const idle = M_MODEL.battery.idleUahPerHour + M_MODEL.battery.advertisingUahPerHour;
    const afterOutage = 100 - (100 * idle * 100) / M_MODEL.battery.capacityUah;
    expect(world.batteryPercent('unit')).toBeCloseTo(afterOutage, 9);
    world.restorePower('unit');
    world.advance(100 * DAY);
    expect(world.batteryPercent('unit')).toBeCloseTo(afterOutage, 9);
  });

  it('on mains it unlocks whatever its pack, and a swap is not a power loss', () => {
    // Documented choice (battery-lock.ts): the motor runs on mains while wired.
    const world = worldWith({ model: 'M', gen2Wired: true, batteryPercent: 1 });
    unlockCycle(world);
    expect(ofType(world, 'UNLOCKED')).toHaveLength(1);
    world.swapBattery('unit');
    expect(types(world).at(-1)).toBe('BATTERY_SWAPPED');
    expect(world.batteryLockState('unit').rtc.valid).toBe(true);
    expect(world.batteryPercent('unit')).toBe(100);
  });

  it('only an M can be installed wired; a battery-only lock has no supply to cut', () => {
    const world = new World({ seed: 1 });
    expect(() => world.addLock({ id: 'c', model: 'C', gen2Wired: true })).toThrow(RangeError);
    world.addLock({ id: 'm', model: 'M' });
    expect(() => world.cutPower('m')).toThrow(RangeError);
    expect(() => world.restorePower('m')).toThrow(RangeError);
  });
});

describe('battery swap', () => {
  it('on an M is a power loss: NEEDS_UPDATE, the clock invalid until a time sync', () => {
    const world = worldWith({ model: 'M', batteryPercent: 15 });
    world.swapBattery('unit');
    expect(fields(world)).toEqual([
      { type: 'BATTERY_SWAPPED' },
      { type: 'POWER_RESTORED' },
      { type: 'NEEDS_UPDATE' },
    ]);
    expect(world.batteryLockState('unit').rtc.valid).toBe(false);
    expect(world.batteryPercent('unit')).toBe(100);
    world.advance(MINUTE);
    expect(world.batteryLockState('unit').rtc.valid).toBe(false);
    world.syncTime('unit');
    expect(world.batteryLockState('unit').rtc.valid).toBe(true);
    expect(types(world).at(-1)).toBe('TIME_SYNCED');
  });

  it('with the bolt retracted, the lock throws it at boot', () => {
    // Documented choice (battery-lock.ts): the RAM is lost, so the pending relock is too; the
    // firmware locks at boot, as the R drives its relay locked.
    const world = worldWith({ model: 'C' });
    world.grantUnlock('unit');
    world.advance(SECOND);
    world.swapBattery('unit');
    world.advance(C_MODEL.boltTravelMs);
    expect(types(world).slice(3)).toEqual([
      'BATTERY_SWAPPED',
      'POWER_RESTORED',
      'NEEDS_UPDATE',
      'BOLT',
      'BOLT',
      'RELOCKED',
    ]);
    expect(ofType(world, 'RELOCKED')[0]!.reason).toBe('boot');
    // The relock timer died with the RAM: nothing happens when it would have run out.
    const count = world.eventsOf('unit').length;
    world.advance(MINUTE);
    expect(world.eventsOf('unit')).toHaveLength(count);
  });
});

describe('battery thresholds', () => {
  it('draining below the low threshold gives exactly one LOW_BATTERY; critical comes once too', () => {
    const world = worldWith({ model: 'C' });
    world.drainBattery('unit', 19);
    world.drainBattery('unit', 12);
    unlockCycle(world);
    world.advance(30 * DAY);
    expect(fields(world).filter((e) => e.type === 'LOW_BATTERY')).toEqual([
      { type: 'LOW_BATTERY', percent: 19 },
    ]);
    world.drainBattery('unit', 5);
    world.drainBattery('unit', 3);
    expect(ofType(world, 'BATTERY_CRITICAL').map((e) => e.percent)).toEqual([5]);
    expect(ofType(world, 'LOW_BATTERY')).toHaveLength(1);
  });

  it('idle drain alone reports the threshold on time, without any other input', () => {
    const world = worldWith({ model: 'C', batteryPercent: 21 });
    // Wake the firmware once so it schedules its battery check.
    world.keypadWake('unit');
    const { battery } = C_MODEL;
    const perHour = battery.idleUahPerHour + battery.advertisingUahPerHour;
    const hours = (battery.capacityUah * 0.01 - battery.keypadWakeUah) / perHour;
    world.advance(hours * HOUR - MINUTE);
    expect(ofType(world, 'LOW_BATTERY')).toHaveLength(0);
    world.advance(2 * MINUTE);
    const [low] = ofType(world, 'LOW_BATTERY');
    expect(low!.percent).toBe(20);
    expect(Math.abs(low!.t - (world.now() - MINUTE))).toBeLessThanOrEqual(1);
  });

  it('a fresh pack re-arms the low-battery report', () => {
    const world = worldWith({ model: 'M' });
    world.drainBattery('unit', 10);
    world.swapBattery('unit');
    world.drainBattery('unit', 10);
    expect(ofType(world, 'LOW_BATTERY')).toHaveLength(2);
  });

  it('a typical day — ten unlocks with a 5 s phone connection each, five keypad wakes — lasts a year or so', () => {
    // The constants are modelling assumptions (models.ts); this pins what they were chosen for.
    for (const spec of [M_MODEL, C_MODEL, C2_MODEL]) {
      const world = new World({ seed: spec.id });
      world.addLock({ id: 'unit', model: spec.id });
      let days = 0;
      while (ofType(world, 'BATTERY_CRITICAL').length === 0) {
        for (let i = 0; i < 10; i++) {
          world.phoneConnection('unit', 5 * SECOND);
          unlockCycle(world);
        }
        for (let i = 0; i < 5; i++) world.keypadWake('unit');
        world.advance(DAY - 10 * 34 * SECOND);
        days++;
      }
      expect(days, spec.id).toBeGreaterThan(300);
      expect(days, spec.id).toBeLessThan(500);
    }
  });
});

describe('jammed bolt', () => {
  it('a jammed bolt stalls the motor: JAMMED, and the unlock is refused with JAMMED', () => {
    const world = worldWith({ model: 'M' });
    world.jamBolt('unit');
    world.grantUnlock('unit');
    expect(fields(world)).toEqual([
      { type: 'JAMMED', bolt: 'locked' },
      { type: 'UNLOCK_REFUSED', reason: WIRE_ERRORS.JAMMED },
    ]);
    world.freeBolt('unit');
    unlockCycle(world);
    expect(ofType(world, 'RELOCKED')).toHaveLength(1);
  });

  it('a relock that stalls leaves the bolt retracted until the next unlock’s relock', () => {
    // Documented choice (battery-lock.ts): the firmware cannot sense the jam clearing.
    const world = worldWith({ model: 'C' });
    world.grantUnlock('unit');
    world.advance(SECOND);
    world.jamBolt('unit');
    world.advance(30 * SECOND);
    expect(fields(world).at(-1)).toEqual({ type: 'JAMMED', bolt: 'unlocked' });
    world.freeBolt('unit');
    world.advance(HOUR);
    expect(world.batteryLockState('unit').bolt.position).toBe('unlocked');
    unlockCycle(world);
    expect(world.batteryLockState('unit').bolt.position).toBe('locked');
  });
});

describe('World with battery locks', () => {
  it('refuses actions the model does not have, and levels outside 0..100 %', () => {
    const world = worldWith({ model: 'C' });
    expect(() => world.openDoor('unit')).toThrow(RangeError);
    expect(() => world.rexMotion('unit')).toThrow(RangeError);
    expect(() => world.controllerState('unit')).toThrow(RangeError);
    expect(() => world.drainBattery('unit', 101)).toThrow(RangeError);
    expect(() => world.addLock({ id: 'x', model: 'C2', batteryPercent: -1 })).toThrow(RangeError);
    world.addLock({ id: 'lobby', model: 'R', wiring: 'fail-safe' });
    expect(() => world.swapBattery('lobby')).toThrow(RangeError);
    expect(() => world.batteryPercent('lobby')).toThrow(RangeError);
    expect(world.lockIds()).toEqual(['unit', 'lobby']);
  });

  it('the same seed gives a byte-identical log over a mixed fleet', () => {
    const run = (seed: string): string => {
      const world = new World({ seed });
      world.addLock({ id: 'm', model: 'M' });
      world.addLock({ id: 'wired', model: 'M', gen2Wired: true });
      world.addLock({ id: 'c', model: 'C', batteryPercent: 30 });
      world.addLock({ id: 'c2', model: 'C2', batteryPercent: 8 });
      const ids = world.lockIds();
      for (let i = 0; i < 400; i++) {
        const lock = ids[world.random.int(0, ids.length - 1)]!;
        switch (world.random.int(0, 7)) {
          case 0:
            world.grantUnlock(lock);
            break;
          case 1:
            world.drainBattery(lock, world.random.int(0, 100));
            break;
          case 2:
            if (world.random.int(0, 9) === 0) world.swapBattery(lock);
            break;
          case 3:
            if (lock === 'c2') world.qiJumpStart(lock);
            else if (lock === 'wired') world.cutPower(lock);
            break;
          case 4:
            if (lock === 'wired') world.restorePower(lock);
            else world.syncTime(lock);
            break;
          case 5:
            if (world.random.int(0, 4) === 0) world.jamBolt(lock);
            else world.freeBolt(lock);
            break;
          case 6:
            world.phoneConnection(lock, world.random.int(0, 20 * SECOND));
            break;
          default:
            world.advance(world.random.int(0, 2 * HOUR));
        }
      }
      return world.toJsonLines();
    };
    const first = run('tower-3');
    expect(first.length).toBeGreaterThan(1000);
    expect(run('tower-3')).toBe(first);
    expect(run('tower-4')).not.toBe(first);
  });
});
