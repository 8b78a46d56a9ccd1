// The hub (src/hub/hub.ts; ARCHITECTURE.md §3 table "hub"): over the virtual radio, with the real
// cloud and lock firmware in a World, it pushes the cloud's bundles to its locks in range (on the
// cloud's change and on its own rounds), reports their versions, sets a lost clock with a
// nonce-bound anchor and carries the audit back; its own key opens nothing.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { SUPPORTED_VERSIONS } from '../../protocol/noise/prologue.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import { LockLink } from '../../src/phone/lock-link.js';
import { CancelSignal } from '../../src/phone/step-timing.js';
import { advanceAsync, runPromise } from '../../src/sim/async.js';
import { DEFAULT_HUB_TIMING } from '../../src/hub/hub.js';
import { building, commission, hubFor, resident } from '../e2e/building.js';

const SECOND = 1_000;

describe('the hub', () => {
  it('brings a new permanent doorcode to the keypad at the cloud’s change, with no phone', async () => {
    const b = building('hub-permanent-code');
    const door = commission(b, 'Unit 4B', 'M');
    const owner = resident(b, door, 'Ann');
    const { hub, visits } = hubFor(b, [door]);
    await advanceAsync(b.world, 10 * SECOND);
    // The first round: a lock never seen is visited, and takes the bundle with the hub's key.
    expect(visits).toHaveLength(1);
    expect(visits[0]).toMatchObject({ doorId: door.id, versionBefore: 1, version: 2 });
    expect(visits[0]!.failure).toBeUndefined();

    const code = b.cloud.createPermanentCode(door.id, owner);
    expect(b.world.enterCode(door.id, code.pin)).toMatchObject({ ok: false });
    hub.cloudChanged();
    await advanceAsync(b.world, 10 * SECOND);

    expect(visits).toHaveLength(2);
    expect(visits[1]).toMatchObject({ versionBefore: 2, version: 3 });
    expect(b.world.enterCode(door.id, code.pin)).toMatchObject({ ok: true });
    // The hub reported version 3: the cloud's next bundle for the lock is a delta from it.
    b.cloud.createPermanentCode(door.id, owner);
    expect(b.cloud.bundleFor(door.id)).toMatchObject({ kind: 'delta', baseVersion: 3 });
    hub.stop();
  });

  it('finds a change on its own round, and leaves an up-to-date lock alone', async () => {
    const b = building('hub-poll');
    const door = commission(b, 'Unit 7', 'M');
    const owner = resident(b, door, 'Ann');
    const { hub, visits } = hubFor(b, [door]);
    await advanceAsync(b.world, 10 * SECOND);
    const code = b.cloud.createPermanentCode(door.id, owner);
    // Rounds without a change (and well before the audit is due) connect to nothing.
    await advanceAsync(b.world, 3 * DEFAULT_HUB_TIMING.pollIntervalMs - 20 * SECOND);
    expect(visits).toHaveLength(2);
    expect(b.world.enterCode(door.id, code.pin)).toMatchObject({ ok: true });
    await advanceAsync(b.world, 2 * DEFAULT_HUB_TIMING.pollIntervalMs);
    expect(visits).toHaveLength(2);
    hub.stop();
  });

  it('sets the clock of a lock whose battery was swapped, so a daily code works', async () => {
    const b = building('hub-clock');
    const door = commission(b, 'Unit 9', 'M');
    const owner = resident(b, door, 'Ann');
    const { hub, visits } = hubFor(b, [door]);
    await advanceAsync(b.world, 10 * SECOND);
    b.world.swapBattery(door.id);
    const daily = b.cloud.assignDailyCode(door.id, owner);
    expect(b.world.enterCode(door.id, daily.code)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.CLOCK_INVALID,
    });

    // The advertisement says needs-update: the next round visits with a nonce-bound anchor.
    await advanceAsync(b.world, DEFAULT_HUB_TIMING.pollIntervalMs + 10 * SECOND);
    expect(visits.some((v) => v.timeSynced)).toBe(true);
    // The anchor carries the cloud's time when it was signed, a connection event or two ago.
    const reading = b.world.lock(door.id).clockReading(b.world.now())!;
    expect(Math.abs(reading - b.world.now())).toBeLessThan(SECOND);
    expect(b.world.enterCode(door.id, daily.code)).toMatchObject({ ok: true });
    hub.stop();
  });

  it('carries the audit to the cloud, and the next bundle lets the lock trim it', async () => {
    const b = building('hub-audit');
    const door = commission(b, 'Lobby', 'R');
    const owner = resident(b, door, 'Ann');
    const code = b.cloud.createPermanentCode(door.id, owner);
    const { hub, visits } = hubFor(b, [door]);
    await advanceAsync(b.world, 10 * SECOND);
    expect(b.world.enterCode(door.id, code.pin)).toMatchObject({ ok: true });
    expect(b.world.enterCode(door.id, '0000000')).toMatchObject({ ok: false });
    expect(b.world.lock(door.id).audit.head).toBe(2);

    // The audit is due after visitIntervalMs; its acknowledgement rides the next round's bundle.
    const { visitIntervalMs, pollIntervalMs } = DEFAULT_HUB_TIMING;
    await advanceAsync(b.world, visitIntervalMs - 2 * pollIntervalMs);
    expect(b.cloud.auditLog(door.id)).toEqual([]);
    await advanceAsync(b.world, 3 * pollIntervalMs);
    expect(b.cloud.auditLog(door.id).map((e) => e.record.method)).toEqual(['PASSCODE', 'PASSCODE']);
    expect(visits.map((v) => v.auditRecords)).toContain(2);
    await advanceAsync(b.world, pollIntervalMs + 10 * SECOND);
    expect(b.world.lock(door.id).audit.tail).toBe(2);
    expect(hub.pendingAuditUploads).toBe(0);
    hub.stop();
  });

  it('serves only its locks in range, and nothing once revoked', async () => {
    const b = building('hub-range');
    const near = commission(b, 'Near', 'M', { x: 0, y: 0 });
    const far = commission(b, 'Far', 'M', { x: 200, y: 0 });
    const { hub, id, visits } = hubFor(b, [near, far]);
    await advanceAsync(b.world, 10 * SECOND);
    expect(visits.map((v) => v.doorId)).toEqual([near.id]);

    b.cloud.revokeUser(id);
    hub.cloudChanged();
    const round = await runPromise(b.world, hub.syncNow());
    expect(round).toMatchObject({ visits: [], behind: 1 });
    hub.stop();
  });

  it('repeats itself by seed: the same visits at the same instants', async () => {
    const run = async (): Promise<string> => {
      const b = building('hub-determinism');
      const door = commission(b, 'Unit 2', 'M');
      const owner = resident(b, door, 'Ann');
      const { hub, visits } = hubFor(b, [door]);
      await advanceAsync(b.world, 10 * SECOND);
      b.cloud.createPermanentCode(door.id, owner);
      b.world.swapBattery(door.id);
      await advanceAsync(b.world, 2 * DEFAULT_HUB_TIMING.pollIntervalMs);
      hub.stop();
      return JSON.stringify({ visits, log: b.world.toJsonLines() });
    };
    const first = await run();
    expect(first).toContain('"timeSynced":true');
    expect(await run()).toBe(first);
  });

  it('cannot open, lock or hold the door with its own key', async () => {
    const b = building('hub-forbidden');
    const door = commission(b, 'Lobby', 'R');
    const crypto = createNodeCrypto(b.world.random.fork('rogue-hub').bytes);
    const staticKey = generateKeyPair(crypto);
    const registered = b.cloud.addHub({
      name: 'Hub',
      doors: [door.id],
      publicKey: staticKey.publicKey,
    });
    const pushed = b.world.pushSealedBundle(door.id, b.cloud.bundleFor(door.id).sealed);
    expect(pushed.ok).toBe(true);
    const pkg = b.cloud.hubSync(registered.id, staticKey.publicKey);
    const entry = pkg.directory[0]!;

    const central = b.radio.central({ position: { x: 1, y: 0 } });
    const connection = await runPromise(
      b.world,
      central.connect(b.radio.addressOf(door.id), { timeoutMs: 5 * SECOND, mtu: 247 }),
    );
    const link = new LockLink({
      connection,
      transport: central,
      crypto,
      signal: new CancelSignal(),
      responseTimeoutMs: 5 * SECOND,
    });
    const credential = pkg.credentialByLock.get(door.lockIdHex)!;
    const hello = await runPromise(
      b.world,
      link.handshake(entry, SUPPORTED_VERSIONS, staticKey, credential),
    );
    expect(hello.ok).toBe(true);
    for (const request of ['unlock-request', 'lock-request'] as const) {
      const answer = await runPromise(b.world, link.request(request, {}));
      expect(answer).toMatchObject({ ok: true, value: { result: WIRE_ERRORS.FORBIDDEN } });
    }
    await runPromise(b.world, link.close());
    expect(b.world.controllerState(door.id).relay).toBe('locked');
    const refusals = b.world.eventsOf(door.id).filter((e) => e.type === 'ACCESS');
    expect(refusals).toHaveLength(2);
  });
});
