// Issue 5 acceptance, end to end: the real cloud issues credentials and bundles, phones and a
// hub carry them over the virtual radio to lock firmware in a World, on virtual time,
// deterministic by seed (building.ts). The other acceptance scenarios (a new resident, fifty
// phones at one R, a lossy radio, range) are in test/phone/phone-world.test.ts.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { RESULT_OK, syncPushChunks } from '../../protocol/messages.js';
import { SUPPORTED_VERSIONS } from '../../protocol/noise/prologue.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import { LockLink } from '../../src/phone/lock-link.js';
import { CancelSignal } from '../../src/phone/step-timing.js';
import { advanceAsync, runPromise, runUntilAsync } from '../../src/sim/async.js';
import { building, commission, DAY, hubFor, phoneOf, resident } from './building.js';

const SECOND = 1_000;
/** 09:00–17:00 local, every day. */
const OFFICE_HOURS = [{ days: 0x7f, start: 9 * 60, end: 17 * 60 }];

describe('issue 5 acceptance', () => {
  it('a guest key with a window and a schedule holds on the lock’s own clock, across DST', async () => {
    const b = building('e2e-guest-window');
    const door = commission(b, 'Unit 12', 'M');
    const host = resident(b, door, 'Host');
    const guest = b.cloud.addUser({ name: 'Guest', role: 'guest' });
    const key = b.cloud.createKey({ doors: [door.id], schedule: OFFICE_HOURS });
    // Friday 2026-03-06 00:00 EST to Wednesday 2026-03-11 00:00 EDT; DST starts on Sunday the 8th.
    b.cloud.shareKey(key.id, guest.id, {
      sharedBy: host,
      notBefore: Date.UTC(2026, 2, 6, 5),
      expires: Date.UTC(2026, 2, 11, 4),
    });
    const phone = await phoneOf(b, guest.id, 'guest');
    // The lock's crystal gains 1 s every 1,000: in a week its clock is ten minutes ahead.
    b.world.setClockDrift(door.id, 1_000);
    const unlock = () => runPromise(b.world, phone.unlock(door.id).result);
    const lockClock = () => b.world.lock(door.id).clockReading(b.world.now())!;

    // Thursday 10:00 EST: inside office hours, before the window.
    await runUntilAsync(b.world, Date.UTC(2026, 2, 5, 15));
    expect(await unlock()).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'OutOfSchedule', code: WIRE_ERRORS.NOT_YET_VALID },
    });

    // Monday after the change, when the lock's clock reads 09:00:30 EDT (08:00:30 in EST): the
    // world's clock still says 08:50, so only the lock's own clock, in DST, lets the guest in.
    await runUntilAsync(b.world, Date.UTC(2026, 2, 9, 12));
    const target = Date.UTC(2026, 2, 9, 13, 0, 30);
    await advanceAsync(b.world, Math.floor((target - lockClock()) / 1.001));
    expect(b.world.now()).toBeLessThan(Date.UTC(2026, 2, 9, 13) - 5 * 60 * SECOND);
    expect(await unlock()).toMatchObject({ outcome: 'success' });
    expect(b.world.now()).toBeLessThan(Date.UTC(2026, 2, 9, 13));

    // 17:30 EDT (16:30 EST): after office hours.
    await runUntilAsync(b.world, Date.UTC(2026, 2, 9, 21, 30));
    expect(await unlock()).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'OutOfSchedule', code: WIRE_ERRORS.OUTSIDE_SCHEDULE },
    });

    // Wednesday noon: the window has ended.
    await runUntilAsync(b.world, Date.UTC(2026, 2, 11, 16));
    expect(await unlock()).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'OutOfSchedule', code: WIRE_ERRORS.EXPIRED },
    });
    const results = b.cloud.auditLog(door.id).map((e) => e.record.result);
    expect(results).toEqual([
      'OUTSIDE_QUALIFIED_ACCESS',
      'GUEST_SUCCESS',
      'OUTSIDE_QUALIFIED_ACCESS',
      'OUTSIDE_QUALIFIED_ACCESS',
    ]);
  });

  it('after a battery swap a daily code waits for any resident’s phone to set the clock', async () => {
    const b = building('e2e-battery-daily');
    const door = commission(b, 'Unit 3', 'M');
    const ann = resident(b, door, 'Ann');
    const bob = await phoneOf(b, resident(b, door, 'Bob'), 'bob');
    await advanceAsync(b.world, 3_600 * SECOND);
    b.world.swapBattery(door.id);
    expect(b.world.lock(door.id).advertisedStatus(b.world.now()).needsUpdate).toBe(true);

    const daily = b.cloud.assignDailyCode(door.id, ann);
    expect(b.world.enterCode(door.id, daily.code)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.CLOCK_INVALID,
    });

    // Bob's phone is offline: it hands over the window anchor it carries, with its own clock.
    bob.setOnline(false);
    const run = bob.unlock(door.id);
    expect(await runPromise(b.world, run.result)).toMatchObject({ outcome: 'success' });
    expect(run.events.map((e) => e.type)).toContain('SetupSync');
    expect(b.world.lock(door.id).advertisedStatus(b.world.now()).needsUpdate).toBe(false);

    expect(b.world.enterCode(door.id, daily.code)).toMatchObject({ ok: true });
  });

  it('a permanent doorcode created in the cloud opens a hub-connected door, no phone involved', async () => {
    const b = building('e2e-hub-code');
    const lobby = commission(b, 'Lobby', 'R');
    const ann = resident(b, lobby, 'Ann');
    const { hub, visits } = hubFor(b, [lobby], { x: 10, y: 5 });
    await advanceAsync(b.world, 10 * SECOND);

    const code = b.cloud.createPermanentCode(lobby.id, ann);
    expect(b.world.enterCode(lobby.id, code.pin)).toMatchObject({ ok: false });
    hub.cloudChanged();
    await advanceAsync(b.world, 10 * SECOND);

    expect(b.world.enterCode(lobby.id, code.pin)).toMatchObject({
      ok: true,
      grant: { kind: 'PERMANENT' },
    });
    expect(b.world.controllerState(lobby.id).relay).toBe('unlocked');
    const last = visits[visits.length - 1]!;
    expect(last.version).toBe(b.world.lock(lobby.id).sync.version);
    expect(last.failure).toBeUndefined();
    hub.stop();
  });

  it('a revoked phone stays REVOKED, even pushing the older bundle it carries', async () => {
    const b = building('e2e-revoked-push');
    const door = commission(b, 'Lobby', 'R');
    const alice = await phoneOf(b, resident(b, door, 'Alice'), 'alice');
    const bobId = resident(b, door, 'Bob');
    const bob = await phoneOf(b, bobId, 'bob');
    expect((await runPromise(b.world, bob.unlock(door.id).result)).outcome).toBe('success');
    // What Bob's phone carries: the same package, fetched before the revocation.
    const carried = b.cloud.phoneSync(bobId, bob.publicKey);
    bob.setOnline(false);

    b.cloud.revokeUser(bobId);
    await runPromise(b.world, alice.fetchLocks());
    expect((await runPromise(b.world, alice.unlock(door.id).result)).outcome).toBe('success');
    const revokedVersion = b.world.lock(door.id).sync.version;
    expect(await runPromise(b.world, bob.unlock(door.id).result)).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'Denied', code: WIRE_ERRORS.REVOKED },
    });

    // Bob's own session pushes the bundle he holds, then asks to unlock.
    await advanceAsync(b.world, 10 * SECOND);
    const central = b.radio.central({ position: { x: 3, y: 0 } });
    const connection = await runPromise(
      b.world,
      central.connect(b.radio.addressOf(door.id), { timeoutMs: 5 * SECOND, mtu: 247 }),
    );
    const link = new LockLink({
      connection,
      transport: central,
      crypto: createNodeCrypto(b.world.random.fork('bob-again').bytes),
      signal: new CancelSignal(),
      responseTimeoutMs: 5 * SECOND,
    });
    const entry = carried.directory.find((d) => d.doorId === door.id)!;
    const credential = carried.credentialByLock.get(door.lockIdHex)!;
    const hello = await runPromise(
      b.world,
      link.handshake(entry, SUPPORTED_VERSIONS, bob.staticKey, credential),
    );
    expect(hello).toMatchObject({ ok: true, value: { syncVersion: revokedVersion } });
    const stale = carried.bundles.get(door.lockIdHex)!;
    let pushResult: number = RESULT_OK;
    for (const chunk of syncPushChunks(stale)) {
      const pushed = await runPromise(b.world, link.request('sync-push-request', chunk));
      expect(pushed.ok).toBe(true);
      if (pushed.ok) pushResult = pushed.value.result;
    }
    expect(pushResult).not.toBe(RESULT_OK);
    expect(b.world.lock(door.id).sync.version).toBe(revokedVersion);
    const answer = await runPromise(b.world, link.request('unlock-request', {}));
    expect(answer).toMatchObject({ ok: true, value: { result: WIRE_ERRORS.REVOKED } });
    await runPromise(b.world, link.close());
    expect(b.world.controllerState(door.id).relay).toBe('locked');
  });

  it('the phone reports the version it pushed, so the lock’s next bundle is a delta from it', async () => {
    const b = building('e2e-delta');
    const door = commission(b, 'Unit 5', 'M');
    const aliceId = resident(b, door, 'Alice');
    const alice = await phoneOf(b, aliceId, 'alice');
    // Commissioning acknowledged version 1; Alice's credential made version 2.
    expect(b.cloud.bundleFor(door.id)).toMatchObject({ version: 2, kind: 'delta', baseVersion: 1 });

    expect((await runPromise(b.world, alice.unlock(door.id).result)).outcome).toBe('success');
    expect(b.world.lock(door.id).sync.version).toBe(2);
    b.cloud.createPermanentCode(door.id, aliceId);
    expect(b.cloud.bundleFor(door.id)).toMatchObject({ version: 3, kind: 'delta', baseVersion: 2 });

    // Her next package carries that delta, and her next unlock delivers it.
    await runPromise(b.world, alice.fetchLocks());
    const pkg = b.cloud.phoneSync(aliceId, alice.publicKey);
    expect(pkg.deltas.get(door.lockIdHex)?.baseVersion).toBe(2);
    await advanceAsync(b.world, DAY / 24);
    expect((await runPromise(b.world, alice.unlock(door.id).result)).outcome).toBe('success');
    expect(b.world.lock(door.id).sync.version).toBe(3);
  });
});
