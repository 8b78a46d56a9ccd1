// Scenarios of the R door controller in a World, as ARCHITECTURE.md §3 describes it.
import { describe, expect, it } from 'vitest';
import type { LockEvent } from '../../firmware-sim/events.js';
import type { RLockOptions } from '../../src/sim/world.js';
import { World } from '../../src/sim/world.js';

const SECOND = 1_000;
const MINUTE = 60_000;

function worldWith(options: Partial<RLockOptions> = {}): World {
  const world = new World({ seed: 'r-scenarios' });
  world.addLock({ id: 'lobby', model: 'R', wiring: 'fail-secure', ...options });
  return world;
}

/** The lobby's events as `type` strings. */
const types = (world: World): string[] => world.eventsOf('lobby').map((event) => event.type);

/** The lobby's events of one type. */
const ofType = <T extends LockEvent['type']>(world: World, type: T) =>
  world.eventsOf('lobby').filter((event): event is Extract<LockEvent, { type: T }> => {
    return event.type === type;
  });

describe('R: power', () => {
  it('fail-secure: a power cut leaves it locked; on restore it needs an update', () => {
    const world = worldWith({ wiring: 'fail-secure' });
    world.cutPower('lobby');
    expect(world.controllerState('lobby').relay).toBe('locked');
    expect(world.controllerState('lobby').rtc.valid).toBe(false);
    world.advance(10 * MINUTE);
    world.restorePower('lobby');
    expect(world.eventsOf('lobby').map(({ t: _t, ...rest }) => rest)).toEqual([
      { lock: 'lobby', type: 'POWER_LOST', relay: 'locked' },
      { lock: 'lobby', type: 'POWER_RESTORED' },
      { lock: 'lobby', type: 'NEEDS_UPDATE' },
    ]);
    expect(world.controllerState('lobby').rtc.valid).toBe(false);
    // Time-bound access fails closed until a time sync.
    world.syncTime('lobby');
    expect(world.controllerState('lobby').rtc.valid).toBe(true);
    expect(types(world).at(-1)).toBe('TIME_SYNCED');
  });

  it('fail-safe: a power cut unlocks; at boot it drives the relay locked again', () => {
    const world = worldWith({ wiring: 'fail-safe' });
    world.cutPower('lobby');
    expect(world.controllerState('lobby').relay).toBe('unlocked');
    expect(types(world)).toEqual(['POWER_LOST', 'RELAY']);
    expect(ofType(world, 'POWER_LOST')[0]!.relay).toBe('unlocked');
    expect(ofType(world, 'RELAY')[0]!.relay).toBe('unlocked');
    world.advance(MINUTE);
    world.restorePower('lobby');
    expect(world.controllerState('lobby').relay).toBe('locked');
    expect(types(world).slice(2)).toEqual(['POWER_RESTORED', 'NEEDS_UPDATE', 'RELAY']);
  });

  it('without power it reports nothing; a door opened in the outage is not a breach at boot', () => {
    // Documented choice (door.ts): no opening edge was seen, so no Door Breached; the Ajar
    // countdown starts from the boot.
    const world = worldWith({ ajarSeconds: 30 });
    world.cutPower('lobby');
    world.openDoor('lobby');
    world.rexMotion('lobby');
    world.grantUnlock('lobby');
    expect(types(world)).toEqual(['POWER_LOST']);
    world.advance(MINUTE);
    world.restorePower('lobby');
    world.advance(30 * SECOND);
    expect(types(world)).toEqual(['POWER_LOST', 'POWER_RESTORED', 'NEEDS_UPDATE', 'DOOR_AJAR']);
    world.closeDoor('lobby');
    expect(types(world).slice(-2)).toEqual(['DOOR_CLOSED', 'DOOR_SECURE']);
  });

  it('a Door Ajar outstanding at a power cut is settled by Door Secure at boot if the door closed', () => {
    // Documented choice (door.ts): the R keeps the outstanding notification across power loss.
    const world = worldWith({ ajarSeconds: 30 });
    world.openDoor('lobby');
    world.advance(30 * SECOND);
    world.cutPower('lobby');
    world.closeDoor('lobby');
    world.restorePower('lobby');
    expect(types(world)).toEqual([
      'DOOR_OPENED',
      'DOOR_BREACHED',
      'DOOR_AJAR',
      'POWER_LOST',
      'POWER_RESTORED',
      'NEEDS_UPDATE',
      'DOOR_SECURE',
    ]);
  });
});

describe('R: Door State Notifications', () => {
  it('door held 95 s with ajar = 90 s → one Door Ajar; 16 min more at 5 min → three Still Ajar; close → Secure', () => {
    const world = worldWith({ ajarSeconds: 90, stillAjarMinutes: 5 });
    world.grantUnlock('lobby');
    const opened = world.now();
    world.holdDoorOpen('lobby', 95 * SECOND + 16 * MINUTE);
    world.advance(95 * SECOND);
    expect(ofType(world, 'DOOR_AJAR')).toEqual([
      { t: opened + 90 * SECOND, lock: 'lobby', type: 'DOOR_AJAR', openMs: 90 * SECOND },
    ]);
    world.advance(16 * MINUTE);
    expect(ofType(world, 'DOOR_STILL_AJAR').map((e) => [e.openMs, e.repeat])).toEqual([
      [90 * SECOND + 5 * MINUTE, 1],
      [90 * SECOND + 10 * MINUTE, 2],
      [90 * SECOND + 15 * MINUTE, 3],
    ]);
    expect(ofType(world, 'DOOR_AJAR')).toHaveLength(1);
    expect(types(world).slice(-2)).toEqual(['DOOR_CLOSED', 'DOOR_SECURE']);
    expect(ofType(world, 'DOOR_BREACHED')).toHaveLength(0);
    // Nothing more after the close.
    const count = world.eventsOf('lobby').length;
    world.advance(60 * MINUTE);
    expect(world.eventsOf('lobby')).toHaveLength(count);
  });

  it('a door closed before the ajar delay sends no notification, and no Door Secure', () => {
    const world = worldWith({ ajarSeconds: 30 });
    world.grantUnlock('lobby');
    world.holdDoorOpen('lobby', 29 * SECOND);
    world.advance(5 * MINUTE);
    expect(types(world)).toEqual([
      'RELAY',
      'UNLOCKED',
      'DOOR_OPENED',
      'RELAY',
      'RELOCKED',
      'DOOR_CLOSED',
    ]);
  });

  it('door opened while locked → Door Breached; close → Door Secure', () => {
    const world = worldWith();
    world.openDoor('lobby');
    world.advance(5 * SECOND);
    world.closeDoor('lobby');
    expect(types(world)).toEqual(['DOOR_OPENED', 'DOOR_BREACHED', 'DOOR_CLOSED', 'DOOR_SECURE']);
  });

  it('reopening after an authorised opening closed is a breach: the relay relocked on the first opening', () => {
    const world = worldWith();
    world.grantUnlock('lobby');
    world.holdDoorOpen('lobby', 3 * SECOND);
    world.advance(10 * SECOND);
    world.openDoor('lobby');
    expect(types(world).slice(-2)).toEqual(['DOOR_OPENED', 'DOOR_BREACHED']);
  });
});

describe('R: unlock and relock', () => {
  it('REX motion → unlock; the door opens without a breach and relocks as soon as it opens', () => {
    const world = worldWith();
    world.rexMotion('lobby');
    expect(world.controllerState('lobby').relay).toBe('unlocked');
    world.advance(2 * SECOND);
    world.openDoor('lobby');
    expect(world.controllerState('lobby').relay).toBe('locked');
    expect(world.eventsOf('lobby').map(({ t: _t, lock: _lock, ...rest }) => rest)).toEqual([
      { type: 'REX' },
      { type: 'RELAY', relay: 'unlocked' },
      { type: 'UNLOCKED', by: 'rex', holdMs: 5_000 },
      { type: 'DOOR_OPENED' },
      { type: 'RELAY', relay: 'locked' },
      { type: 'RELOCKED', reason: 'door-opened' },
    ]);
    // The relock timer was cancelled: nothing happens when the hold would have run out.
    world.advance(10 * SECOND);
    expect(types(world)).toHaveLength(6);
  });

  it('an unlock granted and the door never opened relocks after the hold time', () => {
    const world = worldWith({ unlockHoldMs: 7_000 });
    const granted = world.now();
    world.grantUnlock('lobby');
    world.advance(6_999);
    expect(world.controllerState('lobby').relay).toBe('unlocked');
    world.advance(1);
    expect(world.controllerState('lobby').relay).toBe('locked');
    expect(ofType(world, 'RELOCKED')).toEqual([
      { t: granted + 7_000, lock: 'lobby', type: 'RELOCKED', reason: 'timeout' },
    ]);
  });

  it('a second unlock while released restarts the hold', () => {
    // Documented choice (controller.ts): as a second badge does on a real door controller.
    const world = worldWith();
    world.grantUnlock('lobby');
    world.advance(4 * SECOND);
    world.rexMotion('lobby');
    world.advance(4 * SECOND);
    expect(world.controllerState('lobby').relay).toBe('unlocked');
    world.advance(SECOND);
    expect(world.controllerState('lobby').relay).toBe('locked');
    expect(ofType(world, 'RELAY')).toHaveLength(2);
  });

  it('the hold time defaults to the model catalogue’s 5 s', () => {
    const world = worldWith();
    world.grantUnlock('lobby');
    world.advance(5 * SECOND);
    expect(types(world)).toEqual(['RELAY', 'UNLOCKED', 'RELAY', 'RELOCKED']);
  });
});

describe('World', () => {
  it('refuses unknown and duplicate locks, and DSN timings the vendor does not offer', () => {
    const world = worldWith();
    expect(() => world.openDoor('nowhere')).toThrow(RangeError);
    expect(() => world.addLock({ id: 'lobby', model: 'R', wiring: 'fail-safe' })).toThrow(
      RangeError,
    );
    expect(() =>
      world.addLock({ id: 'x', model: 'R', wiring: 'fail-safe', ajarSeconds: 45 as 30 }),
    ).toThrow(RangeError);
    expect(() =>
      world.addLock({ id: 'y', model: 'R', wiring: 'fail-safe', stillAjarMinutes: 7 as 5 }),
    ).toThrow(RangeError);
    expect(() =>
      world.addLock({ id: 'z', model: 'R', wiring: 'fail-open' as 'fail-safe' }),
    ).toThrow(RangeError);
    expect(world.lockIds()).toEqual(['lobby']);
  });

  it('keeps locks apart: one lock’s events never touch another’s', () => {
    const world = new World({ seed: 1 });
    world.addLock({ id: 'front', model: 'R', wiring: 'fail-safe' });
    world.addLock({ id: 'back', model: 'R', wiring: 'fail-secure' });
    world.cutPower('front');
    world.openDoor('back');
    expect(world.eventsOf('front').map((e) => e.type)).toEqual(['POWER_LOST', 'RELAY']);
    expect(world.eventsOf('back').map((e) => e.type)).toEqual(['DOOR_OPENED', 'DOOR_BREACHED']);
    expect(world.controllerState('back').powered).toBe(true);
  });
});
