// The cloud's bundles on real locks (ARCHITECTURE.md §3 "Mobile keys", "Passive sync", §4 "Sync
// bundle", §6): credentials it issues verify and open the door once a bundle delivered them,
// revoking a resident revokes the guest they shared with, deltas follow acknowledgements,
// versions only grow, and a stale or mismatched bundle is refused by the lock.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { peekCredential, verifyCredential } from '../../protocol/formats/credential.js';
import { decodeSyncBundleHeader, openSyncBundle } from '../../protocol/formats/sync-bundle.js';
import { toHex } from '../../src/cloud/ids.js';
import { commission, DAY, outcome, phoneKey, present, setup, START, sync } from './cloud-world.js';

describe('mobile keys issued by the cloud', () => {
  it('verify with the authority key and open the door once a full bundle delivered them', () => {
    const s = setup('issue');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 4B');
    const lobby = commission(s, 'Lobby', 'R');
    const resident = cloud.addUser({ name: 'Ada', role: 'resident' });
    const key = cloud.createKey({ name: 'home', doors: [unit.id, lobby.id] });
    cloud.shareKey(key.id, resident.id);
    const phone = phoneKey(s, 'ada');
    const [credential, ...others] = cloud.registerPhone(resident.id, phone);
    expect(others).toEqual([]);

    const verified = verifyCredential(credential!.signed, cloud.authorityPublicKey, world.crypto);
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(toHex(verified.value.user)).toBe(resident.id);
    expect(verified.value.phoneKey).toEqual(phone);
    expect(verified.value.doors.map(toHex)).toEqual([unit.lockIdHex, lobby.lockIdHex]);
    expect(verified.value.role).toBe('resident');
    expect(verified.value.sharedBy).toBeUndefined();

    expect(outcome(present(s, unit.id, credential!.signed))).toBe(WIRE_ERRORS.NOT_PROVISIONED);
    for (const door of [unit, lobby]) {
      const offer = cloud.bundleFor(door.id);
      expect(offer.kind).toBe('full');
      const opened = openSyncBundle(offer.sealed, door.lockSecret, door.lockId, 0, world.crypto);
      expect(opened.ok && opened.value.credentials.map(toHex)).toEqual([credential!.id]);
      expect(opened.ok && opened.value.timeZone).toBe('America/New_York');
      expect(world.pushSealedBundle(door.id, offer.sealed)).toEqual({
        ok: true,
        value: offer.version,
      });
      expect(outcome(present(s, door.id, credential!.signed))).toBe(0);
    }
  });

  it('a key with more doors than one credential lists gets several credentials', () => {
    const s = setup('many-doors');
    const doors = Array.from({ length: 33 }, (_, i) =>
      s.cloud.addDoor({ name: `D${i}`, model: 'C' }),
    );
    const user = s.cloud.addUser({ name: 'Bo', role: 'manager' });
    s.cloud.shareKey(s.cloud.createKey({ doors: doors.map((d) => d.id) }).id, user.id);
    const credentials = s.cloud.registerPhone(user.id, phoneKey(s, 'bo'));
    expect(credentials.map((c) => c.doorIds.length)).toEqual([32, 1]);
    const listed = credentials.flatMap((c) => {
      const body = peekCredential(c.signed);
      return body.ok ? body.value.doors.map(toHex) : [];
    });
    expect(listed).toEqual(doors.map((d) => d.lockIdHex));
  });
});

describe('revocation', () => {
  it("revoking a resident revokes the guest they shared with, on the lock's next sync", () => {
    const s = setup('cascade');
    const { cloud } = s;
    const unit = commission(s, 'Unit 2A');
    const resident = cloud.addUser({ name: 'Ada', role: 'resident' });
    const guest = cloud.addUser({ name: 'Gus', role: 'guest' });
    const neighbour = cloud.addUser({ name: 'Ned', role: 'resident' });
    const key = cloud.createKey({ doors: [unit.id] });
    cloud.shareKey(key.id, resident.id);
    cloud.shareKey(key.id, neighbour.id);
    const guestShare = cloud.shareKey(key.id, guest.id, {
      expires: START + 7 * DAY,
      sharedBy: resident.id,
    });
    const [residentKey] = cloud.registerPhone(resident.id, phoneKey(s, 'ada'));
    const [guestKey] = cloud.registerPhone(guest.id, phoneKey(s, 'gus'));
    const [neighbourKey] = cloud.registerPhone(neighbour.id, phoneKey(s, 'ned'));
    const guestBody = verifyCredential(guestKey!.signed, cloud.authorityPublicKey, s.world.crypto);
    expect(guestBody.ok && guestBody.value.role).toBe('guest');
    expect(guestBody.ok && toHex(guestBody.value.sharedBy!)).toBe(resident.id);
    expect(sync(s, unit.id).ok).toBe(true);
    for (const c of [residentKey!, guestKey!, neighbourKey!]) {
      expect(outcome(present(s, unit.id, c.signed))).toBe(0);
    }

    const report = cloud.revokeUser(resident.id);
    expect(report.version).toBe(1);
    expect(cloud.revocationVersion).toBe(1);
    expect(report.shares).toContain(guestShare.id);
    expect([...report.credentials].sort()).toEqual([residentKey!.id, guestKey!.id].sort());

    const offer = cloud.bundleFor(unit.id);
    expect(offer.kind).toBe('delta');
    const held = s.world.lock(unit.id).sync.version;
    expect(offer.baseVersion).toBe(held);
    const opened = openSyncBundle(offer.sealed, unit.lockSecret, unit.lockId, held, s.world.crypto);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.value.revocations?.version).toBe(1);
    expect(opened.value.revocations?.credentials.map(toHex).sort()).toEqual(
      [residentKey!.id, guestKey!.id].sort(),
    );
    expect(sync(s, unit.id).ok).toBe(true);
    expect(outcome(present(s, unit.id, residentKey!.signed))).toBe(WIRE_ERRORS.REVOKED);
    expect(outcome(present(s, unit.id, guestKey!.signed))).toBe(WIRE_ERRORS.REVOKED);
    expect(outcome(present(s, unit.id, neighbourKey!.signed))).toBe(0);
    // The full bundle of the same version lists them too, for a lock that missed the delta.
    const full = cloud.bundleFor(unit.id, { baseVersion: 0 });
    const fullOpened = openSyncBundle(full.sealed, unit.lockSecret, unit.lockId, 0, s.world.crypto);
    expect(fullOpened.ok && fullOpened.value.revocations?.credentials.length).toBe(2);
    expect(fullOpened.ok && fullOpened.value.credentials.map(toHex)).toEqual([neighbourKey!.id]);
  });

  it("a resident who loses the guest key's door takes the guest with them", () => {
    const s = setup('coverage');
    const { cloud } = s;
    const unit = commission(s, 'Unit 3C');
    const resident = cloud.addUser({ name: 'Ada', role: 'resident' });
    const guest = cloud.addUser({ name: 'Gus', role: 'guest' });
    const residentShare = cloud.shareKey(cloud.createKey({ doors: [unit.id] }).id, resident.id);
    const guestShare = cloud.shareKey(cloud.createKey({ doors: [unit.id] }).id, guest.id, {
      expires: START + DAY,
      sharedBy: resident.id,
    });
    const code = cloud.assignDailyCode(unit.id, guest.id);
    const report = cloud.revokeShare(residentShare.id);
    expect(report.shares).toEqual([residentShare.id, guestShare.id]);
    expect(report.dailyCodes).toEqual([code.id]);
    expect(cloud.user(guest.id).revokedAt).toBeUndefined();
  });

  it('a revoked phone pushing its older bundle is refused as stale', () => {
    const s = setup('stale');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 1');
    const user = cloud.addUser({ name: 'Ada', role: 'resident' });
    cloud.shareKey(cloud.createKey({ doors: [unit.id] }).id, user.id);
    const phone = phoneKey(s, 'ada');
    const [credential] = cloud.registerPhone(user.id, phone);
    const oldPackage = cloud.phoneSync(user.id, phone);
    expect(sync(s, unit.id).ok).toBe(true);
    cloud.revokePhone(user.id, phone);
    expect(sync(s, unit.id).ok).toBe(true);
    const old = oldPackage.bundles.get(unit.lockIdHex)!;
    expect(world.pushSealedBundle(unit.id, old)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.STALE,
    });
    expect(outcome(present(s, unit.id, credential!.signed))).toBe(WIRE_ERRORS.REVOKED);
    expect(() => cloud.phoneSync(user.id, phone)).toThrow(/phone revoked/);
  });
});

describe('bundle versions and deltas', () => {
  it('builds a version only on change, deltas from the acknowledged version, and only grows', () => {
    const s = setup('delta');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 5');
    const first = cloud.bundleFor(unit.id);
    expect(first).toMatchObject({ version: 1, kind: 'full', baseVersion: 0 });
    expect(cloud.bundleFor(unit.id).sealed).toBe(first.sealed);
    expect(sync(s, unit.id)).toEqual({ ok: true, value: 1 });

    const user = cloud.addUser({ name: 'Ada', role: 'resident' });
    cloud.shareKey(cloud.createKey({ doors: [unit.id] }).id, user.id);
    const [credential] = cloud.registerPhone(user.id, phoneKey(s, 'ada'));
    const delta = cloud.bundleFor(unit.id);
    expect(delta).toMatchObject({ version: 2, kind: 'delta', baseVersion: 1 });
    expect(decodeSyncBundleHeader(delta.sealed)).toMatchObject({ ok: true, value: { version: 2 } });
    const opened = openSyncBundle(delta.sealed, unit.lockSecret, unit.lockId, 1, world.crypto);
    expect(opened.ok && opened.value.credentials.map(toHex)).toEqual([credential!.id]);
    expect(opened.ok && opened.value.revocations).toBeUndefined();
    expect(opened.ok && opened.value.config).toBeUndefined();

    // A delta is refused by a lock that holds another version; the full bundle is not.
    const other = commission(s, 'Other');
    expect(world.pushSealedBundle(other.id, delta.sealed)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.WRONG_DOOR,
    });
    expect(
      openSyncBundle(delta.sealed, unit.lockSecret, unit.lockId, 0, world.crypto),
    ).toMatchObject({ ok: false, code: WIRE_ERRORS.DELTA_BASE_MISMATCH });

    expect(world.pushSealedBundle(unit.id, delta.sealed)).toEqual({ ok: true, value: 2 });
    expect(outcome(present(s, unit.id, credential!.signed))).toBe(0);
    cloud.acknowledgeBundle(unit.id, 2);
    cloud.acknowledgeBundle(unit.id, 1);
    expect(cloud.bundleFor(unit.id)).toMatchObject({ version: 2, kind: 'full' });
    expect(() => cloud.acknowledgeBundle(unit.id, 3)).toThrow(/newer than any bundle/);

    cloud.setDoorConfig(unit.id, { relockSeconds: 7 });
    const third = cloud.bundleFor(unit.id);
    expect(third).toMatchObject({ version: 3, kind: 'delta', baseVersion: 2 });
    const thirdOpened = openSyncBundle(third.sealed, unit.lockSecret, unit.lockId, 2, world.crypto);
    expect(thirdOpened.ok && thirdOpened.value.config).toEqual({ relockSeconds: 7 });
    expect(thirdOpened.ok && thirdOpened.value.credentials).toEqual([]);
    expect(sync(s, unit.id).ok).toBe(true);
    expect(world.lock(unit.id).sync.config).toEqual({ relockSeconds: 7 });
  });

  it('two clouds on the same seed build the same bytes', () => {
    const build = () => {
      const s = setup('determinism');
      const unit = commission(s, 'Unit 7', 'C2');
      const user = s.cloud.addUser({ name: 'Ada', role: 'resident' });
      s.cloud.shareKey(s.cloud.createKey({ doors: [unit.id] }).id, user.id);
      s.cloud.registerPhone(user.id, phoneKey(s, 'ada'));
      s.cloud.createPermanentCode(unit.id, user.id);
      return s.cloud.bundleFor(unit.id).sealed;
    };
    expect(toHex(build())).toBe(toHex(build()));
  });
});
