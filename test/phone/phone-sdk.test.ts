// The SDK calls beyond unlock (ARCHITECTURE.md §6 "Phone"): the active sync, proximity unlock,
// access logs and guest invitations, against the real cloud (src/cloud) and locks in a World over
// the virtual radio, driven on virtual time by src/sim/async.ts. Deterministic by seed.
import { describe, expect, it } from 'vitest';
import { Cloud } from '../../src/cloud/cloud.js';
import type { Door } from '../../src/cloud/cloud.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import type { PhoneCloud } from '../../src/phone/cloud-api.js';
import { Phone } from '../../src/phone/phone.js';
import type { UnlockRun } from '../../src/phone/unlock-events.js';
import { advanceAsync, runPromise } from '../../src/sim/async.js';
import { World } from '../../src/sim/world.js';
import { VirtualRadio } from '../../src/transport/virtual-radio.js';
import type { VirtualCentral } from '../../src/transport/virtual-radio.js';
import type { Effects } from '../../firmware-sim/effects.js';
import { DAY, HOUR, phoneOn, START, TestCloud, TestRadio } from './fixtures.js';

interface Building {
  readonly world: World;
  readonly cloud: Cloud;
  readonly radio: VirtualRadio<Effects>;
}

function building(seed: string): Building {
  const world = new World({ seed, start: START });
  const cloud = new Cloud({
    timeZone: 'America/New_York',
    crypto: world.crypto,
    random: world.random.fork('cloud').bytes,
    clock: () => world.now(),
  });
  return { world, cloud, radio: new VirtualRadio(world) };
}

/** A door in the cloud, its M lock in the World at `x` metres, synced at commissioning. */
function commission(b: Building, name: string, x = 0): Door {
  const door = b.cloud.addDoor({ name, model: 'M' });
  b.world.addLock({ id: door.id, model: 'M', ...door.provisioning });
  b.radio.addLock(door.id, { position: { x, y: 0 } });
  const pushed = b.world.pushSealedBundle(door.id, b.cloud.bundleFor(door.id).sealed);
  if (pushed.ok) b.cloud.acknowledgeBundle(door.id, pushed.value);
  return door;
}

function resident(b: Building, doors: readonly Door[], name: string): string {
  const user = b.cloud.addUser({ name, role: 'resident' });
  const key = b.cloud.createKey({ doors: doors.map((d) => d.id) });
  b.cloud.shareKey(key.id, user.id);
  return user.id;
}

interface Handset {
  readonly phone: Phone;
  readonly central: VirtualCentral;
}

/** A phone at `x` metres, registered for `userId`, its package fetched. */
async function handset(b: Building, userId: string, name: string, x = 3): Promise<Handset> {
  const central = b.radio.phone({ position: { x, y: 0 } });
  const api: PhoneCloud = b.cloud;
  const phone = new Phone({
    transport: central,
    crypto: createNodeCrypto(b.world.random.fork(`phone:${name}`).bytes),
    random: b.world.random.fork(`phone:${name}:jitter`).bytes,
    cloud: api,
  });
  b.cloud.registerPhone(userId, phone.publicKey);
  phone.setUp(userId);
  expect((await runPromise(b.world, phone.fetchLocks())).ok).toBe(true);
  return { phone, central };
}

function accessCount(b: Building, doorId: string): number {
  return b.world.eventsOf(doorId).filter((e) => e.type === 'ACCESS').length;
}

describe('sync(doorId)', () => {
  it('brings a lock up to date without unlocking: bundle, clock', async () => {
    const b = building('sdk-sync');
    const door = commission(b, 'Unit 4B');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice');
    expect(b.world.lock(door.id).sync.version).toBe(1);
    b.world.swapBattery(door.id);

    const started = phone.sync(door.id);
    if (!started.ok) throw new Error(started.reason);
    const result = await runPromise(b.world, started.run.result);

    expect(started.run.events.map((e) => e.type)).toEqual([
      'Started',
      'ConnectForSetupSync',
      'SetupSync',
      'Success',
    ]);
    expect(result).toMatchObject({ outcome: 'success', bundlePushed: true, clockSet: true });
    const lock = b.world.lock(door.id);
    expect(result.outcome === 'success' && result.lockVersion).toBe(lock.sync.version);
    expect(lock.sync.version).toBeGreaterThan(1);
    expect(lock.clockReading(b.world.now())).toBeDefined();
    expect(accessCount(b, door.id)).toBe(0);

    // Up to date now: a second sync pushes nothing and sets no clock.
    const again = phone.sync(door.id);
    if (!again.ok) throw new Error(again.reason);
    expect(await runPromise(b.world, again.run.result)).toMatchObject({
      outcome: 'success',
      bundlePushed: false,
      clockSet: false,
    });
  });

  it('pulls the audit the lock holds and hands it to the cloud', async () => {
    const b = building('sdk-sync-audit');
    const door = commission(b, 'Unit 5');
    const alice = await handset(b, resident(b, [door], 'Alice'), 'alice');
    const bob = await handset(b, resident(b, [door], 'Bob'), 'bob');
    bob.phone.setOnline(false);
    expect((await runPromise(b.world, bob.phone.unlock(door.id).result)).outcome).toBe('success');
    expect(b.cloud.auditLog(door.id)).toHaveLength(0);

    const started = alice.phone.sync(door.id);
    if (!started.ok) throw new Error(started.reason);
    const result = await runPromise(b.world, started.run.result);

    expect(result.outcome === 'success' && result.auditRecords).toBeGreaterThan(0);
    expect(b.cloud.auditLog(door.id).map((e) => e.record.result)).toEqual(['SUCCESS']);
  });

  it('is refused while an unlock runs, and an unlock cancels a sync in flight', async () => {
    const b = building('sdk-sync-refused');
    const door = commission(b, 'Unit 6');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice');

    const unlocking = phone.unlock(door.id);
    expect(phone.sync(door.id)).toEqual({ ok: false, reason: 'UnlockInProgress' });
    expect((await runPromise(b.world, unlocking.result)).outcome).toBe('success');

    const started = phone.sync(door.id);
    if (!started.ok) throw new Error(started.reason);
    expect(phone.sync(door.id)).toEqual({ ok: false, reason: 'SyncInProgress' });
    const unlock = phone.unlock(door.id);
    const [synced, unlocked] = await runPromise(
      b.world,
      Promise.all([started.run.result, unlock.result]),
    );
    expect(synced.outcome).toBe('canceled');
    expect(started.run.events.at(-1)?.type).toBe('Canceled');
    expect(unlocked.outcome).toBe('success');
  });

  it('fails typed: a door not in the cache, Bluetooth off', async () => {
    const b = building('sdk-sync-fail');
    const door = commission(b, 'Unit 7');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice');
    phone.setOnline(false);
    const unknown = phone.sync('no-such-door');
    if (!unknown.ok) throw new Error(unknown.reason);
    expect(await runPromise(b.world, unknown.run.result)).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'LockNotFound', detail: 'not-in-directory' },
    });
    phone.setBluetoothEnabled(false);
    const dark = phone.sync(door.id);
    if (!dark.ok) throw new Error(dark.reason);
    expect(await runPromise(b.world, dark.run.result)).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'BluetoothDisabled' },
    });
  });
});

describe('proximity unlock', () => {
  it('unlocks the closest eligible lock once per approach, again after leaving range', async () => {
    const b = building('sdk-proximity');
    const lobby = commission(b, 'Lobby', 0);
    const unit = commission(b, 'Unit 2', 20);
    // A nearer lock the user has no key for is never a candidate.
    const neighbour = commission(b, 'Neighbour', 1);
    resident(b, [neighbour], 'Neighbour');
    const { phone, central } = await handset(b, resident(b, [lobby, unit], 'Alice'), 'alice', 1);
    const runs: UnlockRun[] = [];
    expect(phone.startProximityUnlock({ onUnlock: (run) => runs.push(run) })).toEqual({
      ok: true,
    });
    expect(phone.startProximityUnlock()).toEqual({ ok: false, reason: 'AlreadyRunning' });

    await advanceAsync(b.world, 30_000);
    expect(runs.map((r) => r.doorId)).toEqual([lobby.id]);
    expect((await runs[0]!.result).outcome).toBe('success');
    expect(runs[0]!.events.map((e) => e.type)).toContain('Unlock');
    expect(accessCount(b, neighbour.id)).toBe(0);

    // Out of the lobby's range and back: a new approach.
    central.moveTo({ x: 10, y: 0 });
    await advanceAsync(b.world, 10_000);
    central.moveTo({ x: 1, y: 0 });
    await advanceAsync(b.world, 10_000);
    expect(runs.map((r) => r.doorId)).toEqual([lobby.id, lobby.id]);

    // At the unit's door.
    central.moveTo({ x: 19, y: 0 });
    await advanceAsync(b.world, 10_000);
    expect(runs.map((r) => r.doorId)).toEqual([lobby.id, lobby.id, unit.id]);
    const results = await Promise.all(runs.map((r) => r.result));
    expect(results.map((r) => r.outcome)).toEqual(['success', 'success', 'success']);

    phone.stopProximityUnlock();
    central.moveTo({ x: 1, y: 0 });
    await advanceAsync(b.world, 10_000);
    expect(runs).toHaveLength(3);
    expect(phone.proximityUnlockActive).toBe(false);
  });

  it('re-arms a door after the cool-down while the phone stays close', async () => {
    const b = building('sdk-proximity-cooldown');
    const door = commission(b, 'Lobby');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice', 1);
    const runs: UnlockRun[] = [];
    phone.startProximityUnlock({ cooldownMs: 20_000, onUnlock: (run) => runs.push(run) });
    await advanceAsync(b.world, 15_000);
    expect(runs).toHaveLength(1);
    await advanceAsync(b.world, 15_000);
    expect(runs).toHaveLength(2);
    phone.stopProximityUnlock();
  });

  it('leaves a lock below the threshold alone, and needs a set-up phone', async () => {
    const b = building('sdk-proximity-far');
    const door = commission(b, 'Lobby');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice', 8);
    const runs: UnlockRun[] = [];
    phone.startProximityUnlock({ rssiThresholdDbm: -65, onUnlock: (run) => runs.push(run) });
    await advanceAsync(b.world, 20_000);
    phone.stopProximityUnlock();
    expect(runs).toHaveLength(0);
    expect(accessCount(b, door.id)).toBe(0);

    const fresh = new Phone({
      transport: b.radio.phone({ position: { x: 1, y: 0 } }),
      crypto: createNodeCrypto(b.world.random.fork('phone:fresh').bytes),
      random: b.world.random.fork('phone:fresh:jitter').bytes,
    });
    expect(fresh.startProximityUnlock()).toEqual({ ok: false, reason: 'NotSetUp' });
    expect(() => phone.startProximityUnlock({ intervalMs: 0 })).toThrow(RangeError);
  });
});

describe('getAccessLogs', () => {
  it("online: the cloud's decoded records of the user's doors, and the uploads this phone pulled", async () => {
    const b = building('sdk-logs');
    const door = commission(b, 'Unit 4B');
    const other = commission(b, 'Unit 9');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice');
    const bob = await handset(b, resident(b, [other], 'Bob'), 'bob');
    await runPromise(b.world, phone.unlock(door.id).result);
    await runPromise(b.world, bob.phone.unlock(other.id).result);

    const logs = await runPromise(b.world, phone.getAccessLogs());
    if (!logs.ok) throw new Error(logs.reason);
    expect(logs.source).toBe('cloud');
    expect(logs.entries.map((e) => [e.doorId, e.record.method, e.record.result])).toEqual([
      [door.id, 'BLE', 'SUCCESS'],
    ]);
    expect(logs.pulled).toMatchObject([
      { doorId: door.id, lockId: door.lockIdHex, firstSeq: 0, count: 1, delivered: true },
    ]);
    // Another resident's door: the cloud refuses, the phone has pulled nothing there.
    const filtered = await runPromise(b.world, phone.getAccessLogs(other.id));
    expect(filtered).toEqual({ ok: true, source: 'phone', entries: [], pulled: [] });
  });

  it('offline: only the headers of the uploads still waiting on the phone', async () => {
    const b = building('sdk-logs-offline');
    const door = commission(b, 'Unit 4B');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice');
    phone.setOnline(false);
    await runPromise(b.world, phone.unlock(door.id).result);
    await runPromise(b.world, phone.unlock(door.id).result);

    const logs = await runPromise(b.world, phone.getAccessLogs(door.id));
    expect(logs).toMatchObject({
      ok: true,
      source: 'phone',
      entries: [],
      pulled: [
        { doorId: door.id, firstSeq: 0, count: 1, delivered: false },
        // The lock keeps its tail until the cloud's acknowledgement reaches it: pulled again.
        { doorId: door.id, firstSeq: 0, count: 2, delivered: false },
      ],
    });
    phone.setOnline(true);
    const online = await runPromise(b.world, phone.getAccessLogs(door.id));
    if (!online.ok) throw new Error(online.reason);
    expect(online.entries.map((e) => e.seq)).toEqual([0, 1]);
    expect(online.pulled.every((p) => p.delivered)).toBe(true);
    expect(phone.pendingAuditUploads).toBe(0);
  });
});

describe('inviteGuest and revokeGuestAccess', () => {
  it('a guest invited with a daily code gets in by phone until the resident revokes', async () => {
    const b = building('sdk-guest');
    const door = commission(b, 'Unit 4B');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice');

    const invited = await runPromise(
      b.world,
      phone.inviteGuest([door.id], {
        name: 'Dog walker',
        from: START,
        until: START + DAY,
        dailyCode: true,
      }),
    );
    if (!invited.ok) throw new Error(invited.reason);
    expect(b.cloud.user(invited.guestUserId).role).toBe('guest');
    expect(invited.dailyCodes).toHaveLength(1);
    const daily = invited.dailyCodes[0]!;
    expect(daily).toMatchObject({ doorId: door.id, day: '20260302' });
    expect(daily.code).toMatch(/^\d{7}$/);

    const guest = await handset(b, invited.guestUserId, 'guest');
    expect((await runPromise(b.world, guest.phone.unlock(door.id).result)).outcome).toBe('success');

    const mallory = await handset(b, resident(b, [door], 'Mallory'), 'mallory');
    const stolen = await runPromise(b.world, mallory.phone.revokeGuestAccess(invited.shareId));
    expect(stolen).toMatchObject({ ok: false, reason: 'Refused' });

    expect(await runPromise(b.world, phone.revokeGuestAccess(invited.shareId))).toEqual({
      ok: true,
    });
    await runPromise(b.world, guest.phone.fetchLocks());
    expect(guest.phone.locks()).toEqual([]);
  });

  it("is refused for another resident's door, offline, and by a cloud without it", async () => {
    const b = building('sdk-guest-refused');
    const door = commission(b, 'Unit 4B');
    const other = commission(b, 'Unit 9');
    const { phone } = await handset(b, resident(b, [door], 'Alice'), 'alice');
    const visit = { name: 'Visitor', from: START, until: START + HOUR };

    const refused = await runPromise(b.world, phone.inviteGuest([other.id], visit));
    expect(refused).toMatchObject({ ok: false, reason: 'Refused' });
    phone.setOnline(false);
    expect(await runPromise(b.world, phone.inviteGuest([door.id], visit))).toEqual({
      ok: false,
      reason: 'Offline',
    });

    const world = new World({ seed: 'sdk-guest-unsupported', start: START });
    world.addLock({ id: 'front', model: 'M' });
    const bare = phoneOn(new TestRadio(world), 'bare', { cloud: new TestCloud(world) });
    expect(await bare.revokeGuestAccess('share')).toEqual({ ok: false, reason: 'NotSetUp' });
    bare.setUp('alice');
    expect(await bare.inviteGuest(['front'], visit)).toEqual({
      ok: false,
      reason: 'Unsupported',
    });
    expect(await bare.revokeGuestAccess('share')).toEqual({ ok: false, reason: 'Unsupported' });
    expect(await bare.getAccessLogs()).toEqual({
      ok: true,
      source: 'phone',
      entries: [],
      pulled: [],
    });
  });
});
