// The phone engine end to end (issue 5): the real cloud (src/cloud) issues credentials and
// bundles, phones carry them over the virtual radio (src/transport/virtual-radio.ts) to lock
// firmware in a World, driven on virtual time by src/sim/async.ts. Deterministic by seed.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { Cloud } from '../../src/cloud/cloud.js';
import type { Door } from '../../src/cloud/cloud.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import type { PhoneCloud } from '../../src/phone/cloud-api.js';
import { Phone } from '../../src/phone/phone.js';
import type { UnlockResult } from '../../src/phone/unlock-events.js';
import { advanceAsync, runPromise } from '../../src/sim/async.js';
import { World } from '../../src/sim/world.js';
import { VirtualRadio } from '../../src/transport/virtual-radio.js';
import type { VirtualRadioOptions } from '../../src/transport/virtual-radio.js';
import type { Effects } from '../../firmware-sim/effects.js';
import { DAY, START } from './fixtures.js';

interface Building {
  readonly world: World;
  readonly cloud: Cloud;
  readonly radio: VirtualRadio<Effects>;
}

function building(seed: string, radio: VirtualRadioOptions = {}): Building {
  const world = new World({ seed, start: START });
  const cloud = new Cloud({
    timeZone: 'America/New_York',
    crypto: world.crypto,
    random: world.random.fork('cloud').bytes,
    clock: () => world.now(),
  });
  return { world, cloud, radio: new VirtualRadio(world, radio) };
}

/** A door in the cloud, its lock in the World at the origin, synced at commissioning. */
function commission(b: Building, name: string, model: 'M' | 'R'): Door {
  const door = b.cloud.addDoor({ name, model });
  if (model === 'R')
    b.world.addLock({ id: door.id, model, wiring: 'fail-secure', ...door.provisioning });
  else b.world.addLock({ id: door.id, model, ...door.provisioning });
  b.radio.addLock(door.id, { position: { x: 0, y: 0 } });
  const pushed = b.world.pushSealedBundle(door.id, b.cloud.bundleFor(door.id).sealed);
  if (pushed.ok) b.cloud.acknowledgeBundle(door.id, pushed.value);
  return door;
}

/** A phone at `x` metres from the locks, registered for `userId`, its package fetched. */
async function phoneOf(b: Building, userId: string, name: string, x = 3): Promise<Phone> {
  const api: PhoneCloud = b.cloud;
  const phone = new Phone({
    transport: b.radio.phone({ position: { x, y: 0 } }),
    crypto: createNodeCrypto(b.world.random.fork(`phone:${name}`).bytes),
    random: b.world.random.fork(`phone:${name}:jitter`).bytes,
    cloud: api,
  });
  b.cloud.registerPhone(userId, phone.publicKey);
  phone.setUp(userId);
  const fetched = await runPromise(b.world, phone.fetchLocks());
  expect(fetched.ok).toBe(true);
  return phone;
}

function resident(b: Building, door: Door, name: string): string {
  const user = b.cloud.addUser({ name, role: 'resident' });
  const key = b.cloud.createKey({ doors: [door.id] });
  b.cloud.shareKey(key.id, user.id);
  return user.id;
}

describe('phones, cloud and locks over the virtual radio', () => {
  it('a new resident gets in on the first connection and the audit reaches the cloud', async () => {
    const b = building('phone-world-new-resident');
    const door = commission(b, 'Unit 4B', 'M');
    const alice = await phoneOf(b, resident(b, door, 'Alice'), 'alice');
    expect(b.world.lock(door.id).sync.version).toBe(1);

    const run = alice.unlock(door.id);
    const result = await runPromise(b.world, run.result);

    expect(result).toMatchObject({ outcome: 'success', attempts: 1 });
    expect(run.events.map((e) => e.type)).toEqual([
      'Started',
      'ConnectForUnlock',
      'SetupSync',
      'Unlock',
      'Success',
    ]);
    expect(b.world.lock(door.id).sync.version).toBeGreaterThan(1);
    expect(b.cloud.auditLog(door.id).map((e) => e.record.result)).toContain('SUCCESS');
  });

  it('after a battery swap a guest is let in: the cloud anchors the clock in the same connection', async () => {
    const b = building('phone-world-clock');
    const door = commission(b, 'Unit 7', 'M');
    const host = resident(b, door, 'Host');
    const guest = b.cloud.addUser({ name: 'Guest', role: 'guest' });
    const key = b.cloud.createKey({ doors: [door.id] });
    b.cloud.shareKey(key.id, guest.id, {
      sharedBy: host,
      notBefore: START - DAY,
      expires: START + DAY,
    });
    const phone = await phoneOf(b, guest.id, 'guest');
    b.world.swapBattery(door.id);
    expect(b.world.lock(door.id).clockReading(b.world.now())).toBeUndefined();

    const result = await runPromise(b.world, phone.unlock(door.id).result);

    expect(result.outcome).toBe('success');
    expect(b.world.lock(door.id).clockReading(b.world.now())).toBeDefined();
  });

  it('a revoked resident is told REVOKED once another phone carried the new bundle', async () => {
    const b = building('phone-world-revoked');
    const door = commission(b, 'Lobby', 'R');
    const alice = await phoneOf(b, resident(b, door, 'Alice'), 'alice');
    const bobId = resident(b, door, 'Bob');
    const bob = await phoneOf(b, bobId, 'bob');
    expect((await runPromise(b.world, bob.unlock(door.id).result)).outcome).toBe('success');
    bob.setOnline(false);

    b.cloud.revokeUser(bobId);
    await runPromise(b.world, alice.fetchLocks());
    expect((await runPromise(b.world, alice.unlock(door.id).result)).outcome).toBe('success');

    const refused = await runPromise(b.world, bob.unlock(door.id).result);
    expect(refused).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'Denied', code: WIRE_ERRORS.REVOKED },
    });
  });

  it('fifty phones at one R at once all get in, BUSY handled by retry, each with its own key', async () => {
    const b = building('phone-world-busy');
    const door = commission(b, 'Entrance', 'R');
    const phones: Phone[] = [];
    for (let n = 0; n < 50; n++) {
      phones.push(await phoneOf(b, resident(b, door, `Resident ${n}`), `r${n}`, 1 + (n % 25)));
    }
    const results = await runPromise(
      b.world,
      Promise.all(phones.map((phone) => phone.unlock(door.id).result)),
    );
    expect(results.map((r) => r.outcome)).toEqual(Array(50).fill('success'));
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    // Each session admitted its own phone's credential: fifty grants, fifty credentials.
    const grants = b.world
      .eventsOf(door.id)
      .filter((e) => e.type === 'ACCESS' && 'result' in e && e.result === 'SUCCESS');
    expect(grants).toHaveLength(50);
    expect(new Set(grants.map((e) => ('credential' in e ? e.credential : undefined))).size).toBe(
      50,
    );
  });

  it('on a lossy radio every unlock ends with a typed outcome and the lock stays sound', async () => {
    const b = building('phone-world-lossy', { lossRate: 0.05 });
    const door = commission(b, 'Unit 9', 'M');
    const phone = await phoneOf(b, resident(b, door, 'Alice'), 'alice');
    const finished: UnlockResult[] = [];
    for (let n = 0; n < 10; n++) {
      finished.push(await runPromise(b.world, phone.unlock(door.id).result));
      await advanceAsync(b.world, 30_000);
    }
    expect(finished.filter((r) => r.outcome === 'success').length).toBeGreaterThan(0);
    for (const r of finished) {
      if (r.outcome === 'failed') expect(r.reason.kind).toMatch(/ConnectionFailed|LockNotFound/);
    }
    const lock = b.world.lock(door.id);
    expect(lock.advertisement(b.world.now()).connectable).toBe(true);
    // The bundle the phone carried is applied whole, and every decision is in the audit ring.
    expect(lock.sync.version).toBe(2);
    const decisions = b.world.eventsOf(door.id).filter((e) => e.type === 'ACCESS');
    expect(lock.audit.head).toBe(decisions.length);
    expect(lock.audit.records(0, 32).map((r) => r.seq)).toEqual(decisions.map((_, i) => i));
  });

  it('a lock out of range is LockNotFound', async () => {
    const b = building('phone-world-range');
    const door = commission(b, 'Far door', 'M');
    const phone = await phoneOf(b, resident(b, door, 'Alice'), 'alice', 500);
    const result = await runPromise(b.world, phone.unlock(door.id).result);
    expect(result).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'LockNotFound', detail: 'not-in-range' },
    });
  });
});
