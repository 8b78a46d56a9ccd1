// What phones carry back and forth besides bundles (ARCHITECTURE.md §3 "Audit log", "Door State
// Notifications", §4 "Time anchors", §6): audit uploads ingested once each and acknowledged in
// the next bundle, anchors the lock's own time sync accepts, the outbox of door-state events,
// and the package a phone caches.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { sealAuditUpload } from '../../protocol/formats/audit-upload.js';
import type { AuditUpload } from '../../protocol/formats/audit-upload.js';
import { openSyncBundle } from '../../protocol/formats/sync-bundle.js';
import { verifyCredential } from '../../protocol/formats/credential.js';
import { openFlash } from '../../firmware-sim/flash.js';
import { TimeSync, timeSyncFlashLayout } from '../../firmware-sim/time-sync.js';
import { advanceAudit } from '../../src/cloud/audit-ingest.js';
import type { PhoneCloud } from '../../src/phone/cloud-api.js';
import type { Door } from '../../src/cloud/cloud.js';
import { commission, HOUR, outcome, phoneKey, present, setup, sync } from './cloud-world.js';
import type { Setup } from './cloud-world.js';

/** The lock's audit chunk from `from`, sealed by the lock as an audit pull would. */
function pull({ world }: Setup, door: Door, from: number): Uint8Array {
  const lock = world.lock(door.id);
  return lock.audit.sealChunk(from, 32, door.lockId, door.lockSecret, world.crypto).upload;
}

/** A resident who can open `door`, synced to its lock. */
function resident(s: Setup, door: Door) {
  const user = s.cloud.addUser({ name: 'Ada', role: 'resident' });
  s.cloud.shareKey(s.cloud.createKey({ doors: [door.id] }).id, user.id);
  const phone = phoneKey(s, 'ada');
  const [credential] = s.cloud.registerPhone(user.id, phone);
  expect(sync(s, door.id).ok).toBe(true);
  return { user, phone, credential: credential! };
}

describe('audit ingest', () => {
  it('stores each record once, acknowledges in the next bundle, and the lock trims', () => {
    const s = setup('audit');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 8');
    const { credential } = resident(s, unit);
    for (let i = 0; i < 3; i++) expect(outcome(present(s, unit.id, credential.signed))).toBe(0);
    const lock = world.lock(unit.id);
    const head = lock.audit.head;
    expect(head).toBe(3);

    const upload = pull(s, unit, 0);
    expect(cloud.ingestAudit(upload)).toEqual({
      ok: true,
      value: { doorId: unit.id, accepted: 3, duplicates: 0, overflow: 0, lost: 0, auditAck: 3 },
    });
    // A second phone carrying the same chunk, re-sealed by the lock.
    expect(cloud.ingestAudit(pull(s, unit, 0))).toMatchObject({
      ok: true,
      value: { accepted: 0, duplicates: 3, auditAck: 3 },
    });
    const log = cloud.auditLog(unit.id);
    expect(log.map((e) => [e.seq, e.record.method, e.record.result])).toEqual([
      [0, 'BLE', 'SUCCESS'],
      [1, 'BLE', 'SUCCESS'],
      [2, 'BLE', 'SUCCESS'],
    ]);

    const offer = cloud.bundleFor(unit.id);
    const held = lock.sync.version;
    const opened = openSyncBundle(offer.sealed, unit.lockSecret, unit.lockId, held, world.crypto);
    expect(opened.ok && opened.value.auditAck).toBe(3);
    expect(sync(s, unit.id).ok).toBe(true);
    expect(lock.sync.auditAck).toBe(3);
    expect(lock.audit.tail).toBe(head);
  });

  it('refuses bytes that are not an upload of one of its locks, never throwing', () => {
    const s = setup('audit-bad');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 8');
    const upload = pull(s, unit, 0);
    expect(cloud.ingestAudit(new Uint8Array([1, 2, 3]))).toMatchObject({ ok: false });
    const tampered = upload.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(cloud.ingestAudit(tampered)).toMatchObject({ ok: false, code: WIRE_ERRORS.AUTH_FAILED });
    const stranger: AuditUpload = {
      lockId: new Uint8Array(16).fill(9),
      firstSeq: 0,
      records: [],
      overflow: 0,
    };
    expect(
      cloud.ingestAudit(sealAuditUpload(stranger, unit.lockSecret, world.crypto)),
    ).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.WRONG_DOOR,
    });
  });

  it('advances over held sequences only, crossing a gap only as far as the overflow grew', () => {
    const progress = { ack: 0, overflow: 0, lost: 0 };
    const held = new Set([0, 1, 5, 6]);
    const upload = (firstSeq: number, overflow: number): AuditUpload => ({
      lockId: new Uint8Array(16),
      firstSeq,
      records: [],
      overflow,
    });
    // 2..4 may still be in a phone's pocket: the ack waits.
    expect(advanceAudit(progress, upload(5, 0), (s) => held.has(s))).toEqual({
      progress: { ack: 2, overflow: 0, lost: 0 },
      lost: 0,
    });
    // The lock dropped two records: the oldest two missing ones are declared lost, not the third.
    expect(advanceAudit(progress, upload(5, 2), (s) => held.has(s))).toEqual({
      progress: { ack: 4, overflow: 2, lost: 2 },
      lost: 2,
    });
    expect(advanceAudit(progress, upload(5, 3), (s) => held.has(s))).toEqual({
      progress: { ack: 7, overflow: 3, lost: 3 },
      lost: 3,
    });
    // Drops are the oldest records, below the upload's first sequence: never past it.
    expect(advanceAudit(progress, upload(2, 3), (s) => held.has(s)).progress.ack).toBe(2);
    // Overflow already counted before does not let a later upload skip anything.
    const after = { ack: 2, overflow: 3, lost: 0 };
    expect(advanceAudit(after, upload(5, 3), (s) => held.has(s)).progress.ack).toBe(2);
  });
});

describe('time anchors', () => {
  it("a nonce anchor and a window anchor pass the lock's own time sync; another lock's does not", () => {
    const s = setup('anchors');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 8');
    const other = commission(s, 'Unit 9');
    const timeSync = TimeSync.open(openFlash(timeSyncFlashLayout()), {
      lockId: unit.lockId,
      issuerKey: unit.issuerKey,
      crypto: world.crypto,
    });
    const nonce = world.random.fork('nonce').bytes(16);
    timeSync.setSessionNonce(nonce);
    expect(timeSync.accept(cloud.timeAnchor(unit.id, nonce), undefined, undefined)).toEqual({
      ok: true,
      value: { timeMs: world.now(), binding: 'nonce' },
    });
    expect(timeSync.accept(cloud.timeAnchor(unit.id, nonce), undefined, undefined)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.REPLAY,
    });

    const window = cloud.windowAnchor(unit.id);
    const later = world.now() + 71 * HOUR;
    expect(timeSync.accept(window, later, undefined)).toEqual({
      ok: true,
      value: { timeMs: later, binding: 'window' },
    });
    expect(
      timeSync.accept(cloud.windowAnchor(unit.id), world.now() + 73 * HOUR, undefined),
    ).toMatchObject({ ok: false, code: WIRE_ERRORS.EXPIRED });
    expect(
      timeSync.accept(cloud.windowAnchor(other.id), world.now() + HOUR, undefined),
    ).toMatchObject({ ok: false, code: WIRE_ERRORS.WRONG_DOOR });
    expect(() => cloud.timeAnchor(unit.id, new Uint8Array(15))).toThrow(
      expect.objectContaining({ code: 'INVALID', field: 'nonce' }),
    );
    expect(() => cloud.windowAnchor(unit.id, { validFrom: 0, validUntil: 73 * HOUR })).toThrow(
      expect.objectContaining({ code: 'INVALID' }),
    );
  });
});

describe('door state notifications', () => {
  it("queue the R's door-state events once each for the property's managers", () => {
    const s = setup('dsn');
    const { world, cloud } = s;
    const lobby = commission(s, 'Lobby', 'R', { ajarSeconds: 30 });
    const manager = cloud.addUser({ name: 'Mia', role: 'manager' });
    cloud.addUser({ name: 'Ada', role: 'resident' });
    expect(sync(s, lobby.id).ok).toBe(true);
    world.openDoor(lobby.id);
    world.advance(31_000);
    world.closeDoor(lobby.id);
    const queued = cloud.ingestEvents(lobby.id, world.eventsOf(lobby.id));
    expect(queued.map((n) => n.kind)).toEqual(['DOOR_BREACHED', 'DOOR_AJAR', 'DOOR_SECURE']);
    expect(queued[1]).toMatchObject({
      doorName: 'Lobby',
      openMs: 30_000,
      recipients: [manager.id],
    });
    expect(cloud.ingestEvents(lobby.id, world.eventsOf(lobby.id))).toEqual([]);
    expect(cloud.outbox).toHaveLength(3);
    expect(cloud.drainOutbox().map((n) => n.kind)).toEqual([
      'DOOR_BREACHED',
      'DOOR_AJAR',
      'DOOR_SECURE',
    ]);
    expect(cloud.outbox).toEqual([]);
    expect(() => cloud.ingestEvents(lobby.id, [{ t: Number.NaN, type: 'DOOR_AJAR' }])).toThrow(
      expect.objectContaining({ code: 'INVALID', field: 'events[0].t' }),
    );
  });
});

describe('phone packages', () => {
  it("hold the phone's credentials, the directory, bundles that open, deltas and anchors", () => {
    const s = setup('package');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 8');
    const lobby = commission(s, 'Lobby', 'R');
    commission(s, 'Gym', 'R');
    const user = cloud.addUser({ name: 'Ada', role: 'resident' });
    cloud.shareKey(cloud.createKey({ doors: [unit.id, lobby.id] }).id, user.id);
    const phone = phoneKey(s, 'ada');
    cloud.registerPhone(user.id, phone);
    expect(sync(s, unit.id).ok).toBe(true);
    cloud.createPermanentCode(unit.id, user.id);

    // The phone reaches the cloud through its own interface, which the Cloud satisfies as it is.
    const api: PhoneCloud = cloud;
    expect(api.timeAnchor(unit.id, new Uint8Array(16))).toBeInstanceOf(Uint8Array);
    const pkg = cloud.phoneSync(user.id, phone);
    expect(pkg.issuerKey).toEqual(cloud.authorityPublicKey);
    expect(pkg.directory.map((d) => [d.name, d.lockIdHex, d.staticPublicKey])).toEqual([
      ['Unit 8', unit.lockIdHex, unit.staticKey.publicKey],
      ['Lobby', lobby.lockIdHex, lobby.staticKey.publicKey],
    ]);
    expect(pkg.credentials).toHaveLength(1);
    const signed = pkg.credentialByLock.get(lobby.lockIdHex)!;
    expect(verifyCredential(signed, pkg.issuerKey, world.crypto).ok).toBe(true);
    for (const door of [unit, lobby]) {
      const full = pkg.bundles.get(door.lockIdHex)!;
      expect(openSyncBundle(full, door.lockSecret, door.lockId, 0, world.crypto).ok).toBe(true);
    }
    // The unit acknowledged its version, then got a doorcode: a delta is offered too.
    const delta = pkg.deltas.get(unit.lockIdHex)!;
    const held = world.lock(unit.id).sync.version;
    expect(delta.baseVersion).toBe(held);
    expect(world.pushSealedBundle(unit.id, delta.sealed).ok).toBe(true);
    expect(pkg.deltas.has(lobby.lockIdHex)).toBe(false);
    expect(pkg.timeAnchors.size).toBe(2);
    expect(outcome(present(s, lobby.id, signed))).toBe(WIRE_ERRORS.NOT_PROVISIONED);
    expect(world.pushSealedBundle(lobby.id, pkg.bundles.get(lobby.lockIdHex)!).ok).toBe(true);
    expect(outcome(present(s, lobby.id, signed))).toBe(0);

    expect(() => cloud.phoneSync(user.id, phoneKey(s, 'stranger'))).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', field: 'phoneKey' }),
    );
  });
});
