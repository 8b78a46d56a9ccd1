// Access in a World, as ARCHITECTURE.md §3 describes it: daily codes and a lost clock, permanent
// codes, the keypad lockout across a power cut, mobile keys that need a sync, revocation, door
// schedules, and the same log for the same seed.
import { describe, expect, it } from 'vitest';
import { formatCode } from '../../protocol/doorcode/deriver.js';
import { deriveCodeReference, deriveDayKey } from '../../protocol/doorcode/reference.js';
import { dayLabelAt } from '../../protocol/doorcode/day-label.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import type { Credential } from '../../protocol/formats/credential.js';
import type { SyncBundle } from '../../protocol/formats/sync-bundle.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import { KEYPAD_LOCKOUT_MS, KEYPAD_MAX_WRONG_ENTRIES } from '../../firmware-sim/keypad.js';
import type { LockOptions } from '../../src/sim/world.js';
import { World } from '../../src/sim/world.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ZONE = 'America/New_York';
/** Monday 2026-03-02 15:00 UTC, 10:00 in New York. */
const START = Date.UTC(2026, 2, 2, 15);
const PIN = '4815162';

const id = (tag: number, n = 0): Uint8Array =>
  Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? tag : i === 15 ? n : 0));
const PERMANENT_ID = id(0xdc, 1);
const RESIDENT_USER = id(0x05, 1);

function worldWith(options: Partial<LockOptions> & Pick<LockOptions, 'model'>): World {
  const world = new World({ seed: 'access', start: START });
  world.addLock({ id: 'door', wiring: 'fail-secure', ...options } as LockOptions);
  return world;
}

function bundle(world: World, version: number, extra: Partial<SyncBundle> = {}): SyncBundle {
  const { lockId } = world.lock('door').identity;
  return {
    lockId,
    version,
    baseVersion: 0,
    kind: 'full',
    credentials: [],
    doorcodes: [{ door: lockId, id: PERMANENT_ID, pin: PIN, user: RESIDENT_USER }],
    timeZone: ZONE,
    ...extra,
  };
}

/** Today's code of `slot` at the lock, as the cloud derives it. */
function dailyCode(world: World, slot: number): string {
  const { doorKey } = world.lock('door').identity;
  const day = dayLabelAt(world.now(), ZONE);
  return formatCode(deriveCodeReference(deriveDayKey(doorKey, day), slot, 7), 7);
}

const accessEvents = (world: World) =>
  world
    .eventsOf('door')
    .filter((e): e is Extract<LockEvent, { type: 'ACCESS' }> => e.type === 'ACCESS')
    .map(({ method, result, reason }) => ({ method, result, ...(reason ? { reason } : {}) }));

function residentKey(world: World, overrides: Partial<Credential> = {}) {
  const credential: Credential = {
    id: id(0xc0, 1),
    user: RESIDENT_USER,
    phoneKey: new Uint8Array(32).fill(0x11),
    doors: [world.lock('door').identity.lockId],
    notBefore: START - DAY,
    expires: START + 365 * DAY,
    epoch: 1,
    role: 'resident',
    ...overrides,
  };
  // Model fidelity: the World hands the decoded credential over, so nothing is signed.
  return { credential };
}

describe('R fail-secure: daily codes wait for a time sync after an outage', () => {
  it('stays locked, needs an update, refuses the daily code until the sync, then accepts it', () => {
    const world = worldWith({ model: 'R' });
    expect(world.applyBundle('door', bundle(world, 1)).ok).toBe(true);
    world.cutPower('door');
    expect(world.controllerState('door').relay).toBe('locked');
    world.advance(10 * MINUTE);
    world.restorePower('door');
    expect(world.eventsOf('door').map((e) => e.type)).toContain('NEEDS_UPDATE');

    const code = dailyCode(world, 3);
    expect(world.enterCode('door', code)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.CLOCK_INVALID,
    });
    expect(world.controllerState('door').relay).toBe('locked');
    // The resident's permanent code is not time-bound: it still opens.
    expect(world.enterCode('door', PIN)).toMatchObject({ ok: true });
    world.advance(MINUTE);

    world.syncTime('door');
    expect(world.enterCode('door', code)).toMatchObject({ ok: true, grant: { kind: 'DAILY' } });
    expect(world.controllerState('door').relay).toBe('unlocked');
    expect(accessEvents(world)).toEqual([
      { method: 'PASSCODE', result: 'UNKNOWN_TIME_FAILURE', reason: 'CLOCK_INVALID' },
      { method: 'PASSCODE', result: 'SUCCESS' },
      { method: 'PASSCODE', result: 'SUCCESS' },
    ]);
    // The same three attempts are in the audit ring, with the lock's clock where it had one.
    const records = world.lock('door').audit.records(0, 32);
    expect(records.map((r) => [r.result, r.time === undefined])).toEqual([
      ['UNKNOWN_TIME_FAILURE', true],
      ['SUCCESS', true],
      ['SUCCESS', false],
    ]);
  });
});

describe('keypad lockout in the World (SECURITY.md 22)', () => {
  it('survives a power cut: the valid code fails until the lockout ends', () => {
    const world = worldWith({ model: 'R' });
    world.applyBundle('door', bundle(world, 1));
    for (let i = 0; i < KEYPAD_MAX_WRONG_ENTRIES; i++) world.enterCode('door', '0000000');
    expect(world.eventsOf('door').filter((e) => e.type === 'KEYPAD_LOCKOUT')).toHaveLength(1);
    world.cutPower('door');
    world.advance(MINUTE);
    world.restorePower('door');
    expect(world.enterCode('door', PIN)).toMatchObject({ code: WIRE_ERRORS.LOCKED_OUT });
    world.advance(KEYPAD_LOCKOUT_MS);
    expect(world.enterCode('door', PIN)).toMatchObject({ ok: true });
  });
});

describe('mobile keys at model fidelity', () => {
  it('are usable once a sync delivered them, and refused once a sync revoked them', () => {
    const world = worldWith({ model: 'M' });
    const { credential } = residentKey(world);
    expect(world.presentMobileKey('door', credential)).toMatchObject({
      code: WIRE_ERRORS.NOT_PROVISIONED,
    });
    world.applyBundle('door', bundle(world, 1, { credentials: [credential.id] }));
    expect(world.presentMobileKey('door', credential)).toMatchObject({ ok: true });
    world.advance(MINUTE);
    const revoked = bundle(world, 2, {
      credentials: [credential.id],
      revocations: { version: 1, credentials: [credential.id], dailySlots: [], doorcodes: [] },
    });
    expect(world.applyBundle('door', revoked).ok).toBe(true);
    expect(world.presentMobileKey('door', credential)).toMatchObject({
      code: WIRE_ERRORS.REVOKED,
    });
    // The older bundle, replayed, is refused and changes nothing (SECURITY.md 18).
    expect(
      world.applyBundle('door', bundle(world, 1, { credentials: [credential.id] })),
    ).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.STALE,
    });
    expect(world.presentMobileKey('door', credential)).toMatchObject({
      code: WIRE_ERRORS.REVOKED,
    });
    const types = world.eventsOf('door').map((e) => e.type);
    expect(types.filter((t) => t === 'SYNC_APPLIED')).toHaveLength(2);
    expect(types.filter((t) => t === 'SYNC_REFUSED')).toHaveLength(1);
  });

  it('keep a resident in after a battery swap but not a guest', () => {
    const world = worldWith({ model: 'C' });
    const resident = residentKey(world);
    const guest = residentKey(world, {
      id: id(0xc0, 2),
      role: 'guest',
      sharedBy: RESIDENT_USER,
      user: id(0x05, 2),
    });
    world.applyBundle(
      'door',
      bundle(world, 1, { credentials: [resident.credential.id, guest.credential.id] }),
    );
    world.swapBattery('door');
    expect(world.presentMobileKey('door', resident.credential)).toMatchObject({ ok: true });
    expect(world.presentMobileKey('door', guest.credential)).toMatchObject({
      code: WIRE_ERRORS.CLOCK_INVALID,
    });
  });
});

describe('passage mode by a manager (SECURITY.md 19)', () => {
  it('is a manager’s command: a resident is FORBIDDEN, a manager holds the door, lock ends it', () => {
    const world = worldWith({ model: 'R' });
    const resident = residentKey(world);
    const manager = residentKey(world, { id: id(0xc0, 3), role: 'manager', user: id(0x05, 3) });
    world.applyBundle(
      'door',
      bundle(world, 1, { credentials: [resident.credential.id, manager.credential.id] }),
    );
    expect(world.presentMobileKey('door', resident.credential, 'passage')).toMatchObject({
      code: WIRE_ERRORS.FORBIDDEN,
    });
    expect(world.controllerState('door').relay).toBe('locked');
    expect(world.presentMobileKey('door', manager.credential, 'passage')).toMatchObject({
      ok: true,
    });
    world.advance(HOUR);
    expect(world.controllerState('door').relay).toBe('unlocked');
    expect(world.presentMobileKey('door', resident.credential, 'lock')).toMatchObject({
      ok: true,
    });
    expect(world.controllerState('door').relay).toBe('locked');
    expect(world.eventsOf('door').filter((e) => e.type.startsWith('PASSAGE'))).toMatchObject([
      { type: 'PASSAGE_STARTED', by: 'manager' },
      { type: 'PASSAGE_ENDED', by: 'manager' },
    ]);
  });
});

describe('door schedules (passage mode)', () => {
  it('hold an R unlocked in the window on its own clock, and stop when the clock is lost', () => {
    const world = worldWith({ model: 'R' });
    // Weekdays 11:00–12:00 New York time (16:00–17:00 UTC in March before the DST change).
    const windows = [{ days: 0b0011111, start: 11 * 60, end: 12 * 60 }];
    world.applyBundle('door', bundle(world, 1, { config: { doorSchedules: windows } }));
    expect(world.controllerState('door').relay).toBe('locked');
    world.advance(HOUR);
    expect(world.controllerState('door').relay).toBe('unlocked');
    // Passage: the door opens and closes without a relock or a breach.
    world.holdDoorOpen('door', 10_000);
    world.advance(MINUTE);
    expect(world.controllerState('door').relay).toBe('unlocked');
    world.advance(HOUR);
    expect(world.controllerState('door').relay).toBe('locked');
    const types = world.eventsOf('door').map((e) => e.type);
    expect(types).not.toContain('DOOR_BREACHED');
    expect(types.filter((t) => t === 'PASSAGE_STARTED')).toHaveLength(1);
    expect(types.filter((t) => t === 'PASSAGE_ENDED')).toHaveLength(1);

    // The next day: an outage before the window; the window passes without passage until a sync.
    world.runUntil(START + DAY + 30 * MINUTE);
    world.cutPower('door');
    world.restorePower('door');
    world.advance(HOUR);
    expect(world.controllerState('door').relay).toBe('locked');
    world.syncTime('door');
    expect(world.controllerState('door').relay).toBe('unlocked');
    expect(
      world
        .lock('door')
        .audit.records(0, 32)
        .map((r) => r.method),
    ).toEqual(['SCHEDULED_UNLOCK', 'SCHEDULED_LOCK', 'SCHEDULED_UNLOCK']);
  });
});

describe('determinism', () => {
  it('gives byte-identical logs for the same scenario and seed', () => {
    const run = () => {
      const world = worldWith({ model: 'C2' });
      const { credential } = residentKey(world);
      world.applyBundle('door', bundle(world, 1, { credentials: [credential.id] }));
      for (let i = 0; i < 20; i++) {
        const choice = world.random.int(0, 3);
        if (choice === 0) world.presentMobileKey('door', credential);
        else if (choice === 1) world.enterCode('door', dailyCode(world, world.random.int(0, 255)));
        else if (choice === 2) world.enterCode('door', '1234567');
        else world.swapBattery('door');
        world.advance(world.random.int(0, 2 * HOUR));
      }
      return world.toJsonLines();
    };
    const first = run();
    expect(first.split('\n').length).toBeGreaterThan(40);
    expect(run()).toBe(first);
  });
});

describe('clock drift', () => {
  it('moves the lock’s clock away from world time until a time sync', () => {
    const world = worldWith({ model: 'C' });
    world.setClockDrift('door', 500);
    world.advance(10 * DAY);
    const lock = world.lock('door');
    // 500 ppm of 10 days is 432 s ahead.
    expect(lock.clockReading(world.now())! - world.now()).toBe(432_000);
    world.syncTime('door');
    expect(lock.clockReading(world.now())).toBe(world.now());
  });
});

describe('door configuration by sync', () => {
  it('sets the Door Ajar delay and the relock time of an R from the bundle', () => {
    const world = worldWith({ model: 'R', ajarSeconds: 90 });
    world.applyBundle('door', bundle(world, 1, { config: { ajarSeconds: 30, relockSeconds: 8 } }));
    world.holdDoorOpen('door', 40_000);
    world.advance(MINUTE);
    expect(world.eventsOf('door').filter((e) => e.type === 'DOOR_AJAR')).toMatchObject([
      { openMs: 30_000 },
    ]);
    expect(world.enterCode('door', PIN)).toMatchObject({ ok: true });
    expect(world.eventsOf('door').filter((e) => e.type === 'UNLOCKED')).toMatchObject([
      { holdMs: 8_000 },
    ]);
    // A full bundle without the fields brings back the installed values.
    world.applyBundle('door', bundle(world, 2));
    world.advance(MINUTE);
    world.enterCode('door', PIN);
    expect(
      world
        .eventsOf('door')
        .filter((e) => e.type === 'UNLOCKED')
        .at(-1),
    ).toMatchObject({
      holdMs: 5_000,
    });
  });
});
