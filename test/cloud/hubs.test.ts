// Hub credentials (src/cloud/hubs.ts; ARCHITECTURE.md §3 table "hub"): a hub is registered with
// its static key and doors, gets credentials of role `hub` bound to that key which the doors'
// bundles carry, is revoked like a user, and is never made by `addUser`.
import { describe, expect, it } from 'vitest';
import { verifyCredential } from '../../protocol/formats/credential.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { commission, outcome, phoneKey, present, setup, sync } from './cloud-world.js';

const refusal = (code: string, field: string): Error =>
  expect.objectContaining({ name: 'CloudError', code, field }) as Error;

describe('hubs in the cloud', () => {
  it('issues role-hub credentials bound to the hub key, which the bundles carry', () => {
    const s = setup('cloud-hub-issue');
    const lobby = commission(s, 'Lobby', 'R');
    const unit = commission(s, 'Unit 1', 'M');
    const key = phoneKey(s, 'hub');
    const hub = s.cloud.addHub({ name: 'Hub', doors: [lobby.id, unit.id], publicKey: key });

    expect(hub.doorIds).toEqual([lobby.id, unit.id]);
    expect(hub.credentials).toHaveLength(1);
    const signed = hub.credentials[0]!.signed;
    const credential = verifyCredential(signed, s.cloud.authorityPublicKey, s.world.crypto);
    expect(credential.ok && credential.value).toMatchObject({
      role: 'hub',
      phoneKey: key,
      doors: [lobby.lockId, unit.lockId],
    });
    expect(sync(s, unit.id).ok).toBe(true);
    const id = credential.ok ? credential.value.id : new Uint8Array(16);
    expect(s.world.lock(unit.id).sync.hasCredential(id)).toBe(true);
    // Carried to the lock, it still opens nothing.
    expect(outcome(present(s, unit.id, signed))).toBe(WIRE_ERRORS.FORBIDDEN);

    const pkg = s.cloud.hubSync(hub.id, key);
    expect(pkg.directory.map((d) => d.doorId)).toEqual([lobby.id, unit.id]);
    expect(pkg.credentialByLock.get(unit.lockIdHex)).toEqual(signed);
  });

  it('refuses bad requests before writing anything, and hubs through addUser', () => {
    const s = setup('cloud-hub-refuse');
    const unit = commission(s, 'Unit 1');
    const resident = s.cloud.addUser({ name: 'Ann', role: 'resident' });
    s.cloud.registerPhone(resident.id, phoneKey(s, 'ann'));
    expect(() => s.cloud.addUser({ name: 'Hub', role: 'hub' })).toThrow(
      refusal('INVALID', 'user.role'),
    );
    expect(() =>
      s.cloud.addHub({ name: 'Hub', doors: [unit.id], publicKey: phoneKey(s, 'ann') }),
    ).toThrow(refusal('CONFLICT', 'hub.publicKey'));
    expect(() =>
      s.cloud.addHub({ name: 'Hub', doors: ['nope'], publicKey: phoneKey(s, 'hub') }),
    ).toThrow(refusal('NOT_FOUND', 'key.doors[0]'));
    expect(() =>
      s.cloud.addHub({ name: 'Hub', doors: [unit.id], publicKey: new Uint8Array(31) }),
    ).toThrow(refusal('INVALID', 'hub.publicKey'));
    // Nothing of the refused hubs was kept: the same key registers cleanly.
    const hub = s.cloud.addHub({ name: 'Hub', doors: [unit.id], publicKey: phoneKey(s, 'hub') });
    expect(hub.credentials).toHaveLength(1);
  });

  it('answers hubSync only for a live hub with its own key', () => {
    const s = setup('cloud-hub-sync');
    const unit = commission(s, 'Unit 1');
    const key = phoneKey(s, 'hub');
    const hub = s.cloud.addHub({ name: 'Hub', doors: [unit.id], publicKey: key });
    const resident = s.cloud.addUser({ name: 'Ann', role: 'resident' });
    expect(() => s.cloud.hubSync(resident.id, key)).toThrow(refusal('NOT_FOUND', 'hubId'));
    expect(() => s.cloud.hubSync(hub.id, phoneKey(s, 'other'))).toThrow(
      refusal('NOT_FOUND', 'phoneKey'),
    );

    const revoked = s.cloud.revokeUser(hub.id);
    expect(revoked.credentials).toEqual(hub.credentials.map((c) => c.id));
    expect(() => s.cloud.hubSync(hub.id, key)).toThrow(refusal('REVOKED', 'hubId'));
  });
});
