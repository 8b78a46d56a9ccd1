// The authority's requests and their refusals (ARCHITECTURE.md §6; STYLE.md "Names and
// errors"): commissioning data for a lock, the rules of shares, and typed `CloudError`s naming
// the field for every bad input — never another exception, whatever a caller passes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveDoorKey } from '../../protocol/doorcode/reference.js';
import { MAX_BUNDLE_CREDENTIALS } from '../../protocol/formats/sync-bundle.js';
import { InputError } from '../../src/core/errors.js';
import { Cloud } from '../../src/cloud/cloud.js';
import { CloudError } from '../../src/cloud/errors.js';
import { MemoryRepository } from '../../src/cloud/memory-repository.js';
import { Random } from '../../src/sim/random.js';
import { propertyRuns } from '../support/properties.js';
import { DAY, phoneKey, setup, START, ZONE } from './cloud-world.js';

const refusal = (code: string, field: string): Error =>
  expect.objectContaining({ name: 'CloudError', code, field }) as Error;

describe('doors', () => {
  it('hand out what a lock is commissioned with, the door key derived from the property key', () => {
    const repository = new MemoryRepository();
    const { world } = setup('doors');
    const propertyKey = new Uint8Array(32).fill(7);
    const cloud = new Cloud({
      timeZone: ZONE,
      crypto: world.crypto,
      random: new Random('doors').bytes,
      clock: () => START,
      propertyKey,
      repository,
    });
    const door = cloud.addDoor({ name: 'Unit 4B', model: 'C2' });
    expect(door.lockId).toHaveLength(16);
    expect(door.lockSecret).toHaveLength(32);
    expect(door.staticKey.publicKey).toEqual(
      world.crypto.x25519PublicKey(door.staticKey.secretKey),
    );
    expect(door.issuerKey).toEqual(cloud.authorityPublicKey);
    expect(door.doorKey).toEqual(deriveDoorKey(propertyKey, door.id));
    expect(Object.keys(door.provisioning).sort()).toEqual(
      ['doorKey', 'issuerKey', 'lockId', 'lockSecret', 'staticKey'].sort(),
    );
    expect(cloud.doorByLockId(door.lockId)?.id).toBe(door.id);
    expect(cloud.doorByLockId(door.lockIdHex)?.id).toBe(door.id);
    expect(cloud.doors().map((d) => d.name)).toEqual(['Unit 4B']);
    // The same repository keeps the property: a second cloud over it is the same authority.
    const again = new Cloud({
      timeZone: 'Europe/Paris',
      crypto: world.crypto,
      random: new Random('other').bytes,
      clock: () => START,
      repository,
    });
    expect(again.authorityPublicKey).toEqual(cloud.authorityPublicKey);
    expect(again.timeZone).toBe(ZONE);
  });

  it('refuses an unknown time zone, model or configuration', () => {
    const { world } = setup('bad-doors');
    const make = (timeZone: string) =>
      new Cloud({
        timeZone,
        crypto: world.crypto,
        random: new Random(1).bytes,
        clock: () => START,
      });
    expect(() => make('Mars/Olympus_Mons')).toThrow(refusal('INVALID', 'timeZone'));
    const cloud = make(ZONE);
    expect(() => cloud.addDoor({ name: 'X', model: 'Z' as 'M' })).toThrow(
      refusal('INVALID', 'door.model'),
    );
    expect(() => cloud.addDoor({ name: '', model: 'M' })).toThrow(refusal('INVALID', 'door.name'));
    expect(() =>
      cloud.addDoor({ name: 'X', model: 'R', config: { ajarSeconds: 45 as 30 } }),
    ).toThrow(refusal('INVALID', 'door.config'));
    const door = cloud.addDoor({ name: 'X', model: 'R' });
    expect(() =>
      cloud.setDoorConfig(door.id, { doorSchedules: [{ days: 1, start: 600, end: 540 }] }),
    ).toThrow(refusal('INVALID', 'config'));
    expect(() => cloud.door('nope')).toThrow(refusal('NOT_FOUND', 'doorId'));
  });
});

describe('shares', () => {
  it('follow the rules of roles: time limits, a resident behind every guest', () => {
    const s = setup('shares');
    const { cloud } = s;
    const unit = cloud.addDoor({ name: 'Unit', model: 'M' });
    const gym = cloud.addDoor({ name: 'Gym', model: 'R' });
    const resident = cloud.addUser({ name: 'Ada', role: 'resident' });
    const other = cloud.addUser({ name: 'Ned', role: 'resident' });
    const guest = cloud.addUser({ name: 'Gus', role: 'guest' });
    const vendor = cloud.addUser({ name: 'Vic', role: 'vendor' });
    const unitKey = cloud.createKey({ doors: [unit.id] });
    const gymKey = cloud.createKey({ doors: [unit.id, gym.id] });
    const share = cloud.shareKey(unitKey.id, resident.id);
    expect(share).toMatchObject({ notBefore: 0, expires: 253_402_300_800_000 });

    const week = { expires: START + 7 * DAY };
    expect(() => cloud.shareKey(unitKey.id, vendor.id)).toThrow(
      refusal('INVALID', 'options.expires'),
    );
    expect(cloud.shareKey(unitKey.id, vendor.id, week).notBefore).toBe(START);
    expect(() => cloud.shareKey(unitKey.id, guest.id, week)).toThrow(
      refusal('INVALID', 'options.sharedBy'),
    );
    expect(() => cloud.shareKey(unitKey.id, guest.id, { ...week, sharedBy: vendor.id })).toThrow(
      refusal('CONFLICT', 'options.sharedBy'),
    );
    expect(() => cloud.shareKey(gymKey.id, guest.id, { ...week, sharedBy: resident.id })).toThrow(
      refusal('CONFLICT', 'options.sharedBy'),
    );
    expect(() => cloud.shareKey(unitKey.id, other.id, { sharedBy: resident.id })).toThrow(
      refusal('INVALID', 'options.sharedBy'),
    );
    expect(() => cloud.shareKey(unitKey.id, other.id, { expires: START - 1 })).toThrow(
      refusal('INVALID', 'options.expires'),
    );
    expect(() => cloud.shareKey(unitKey.id, other.id, { notBefore: 5, expires: 5 })).toThrow(
      refusal('INVALID', 'options.expires'),
    );
    expect(() => cloud.createKey({ doors: [unit.id, unit.id] })).toThrow(
      refusal('INVALID', 'key.doors'),
    );
    expect(() => cloud.createKey({ doors: [unit.id], schedule: [] })).toThrow(
      refusal('INVALID', 'key.schedule'),
    );

    const phone = phoneKey(s, 'ada');
    cloud.registerPhone(resident.id, phone);
    expect(cloud.registerPhone(resident.id, phone)).toHaveLength(1);
    expect(() => cloud.registerPhone(other.id, phone)).toThrow(refusal('CONFLICT', 'phoneKey'));
    cloud.revokeUser(resident.id);
    expect(() => cloud.shareKey(unitKey.id, resident.id)).toThrow(refusal('REVOKED', 'userId'));
    expect(cloud.credentialsOf(resident.id).every((c) => c.revoked)).toBe(true);
    expect(() => cloud.revokeGuestAccess(share.id)).toThrow(refusal('CONFLICT', 'shareId'));
  });

  it(`a door holds at most ${MAX_BUNDLE_CREDENTIALS} live credentials: the next phone is refused before any write`, () => {
    const s = setup('capacity');
    const { cloud } = s;
    const door = cloud.addDoor({ name: 'Lobby', model: 'R' });
    const key = cloud.createKey({ doors: [door.id] });
    const user = cloud.addUser({ name: 'Many', role: 'resident' });
    cloud.shareKey(key.id, user.id);
    const crypto = s.world.crypto;
    const random = new Random('phones');
    for (let i = 0; i < MAX_BUNDLE_CREDENTIALS; i++)
      cloud.registerPhone(user.id, crypto.x25519PublicKey(random.bytes(32)));
    const extra = crypto.x25519PublicKey(random.bytes(32));
    expect(() => cloud.registerPhone(user.id, extra)).toThrow(
      refusal('CAPACITY', `doors.${door.id}`),
    );
    expect(cloud.credentialsOf(user.id)).toHaveLength(MAX_BUNDLE_CREDENTIALS);
  });
});

describe('any input', () => {
  it('property: every request either succeeds or throws a CloudError', () => {
    const s = setup('fuzz');
    const { cloud } = s;
    const door = cloud.addDoor({ name: 'Unit', model: 'M' });
    const user = cloud.addUser({ name: 'Ada', role: 'resident' });
    const requests: ((a: unknown, b: unknown, c: unknown) => unknown)[] = [
      (a) => cloud.addDoor(a as never),
      (a) => cloud.addUser(a as never),
      (a) => cloud.createKey(a as never),
      (a, b, c) => cloud.shareKey(a as never, b as never, c as never),
      (a, b) => cloud.registerPhone(a as never, b as never),
      (a, b) => cloud.createPermanentCode(door.id, user.id, a as never) && b,
      (a) => cloud.assignDailyCode(door.id, user.id, a as never),
      (a, b) => cloud.setDoorConfig(door.id, a as never) ?? b,
      (a) => cloud.bundleFor(door.id, a as never),
      (a) => cloud.acknowledgeBundle(door.id, a as never),
      (a) => cloud.windowAnchor(door.id, a as never),
      (a) => cloud.timeAnchor(door.id, a as never),
      (a) => cloud.ingestEvents(door.id, a as never),
      (a) => cloud.revokeCredential(a as never),
      (a, b) => cloud.phoneSync(a as never, b as never),
    ];
    fc.assert(
      fc.property(
        fc.nat(requests.length - 1),
        fc.anything(),
        fc.anything(),
        fc.anything(),
        (which, a, b, c) => {
          try {
            requests[which]!(a, b, c);
          } catch (error) {
            expect(error).toBeInstanceOf(CloudError);
            expect(error).toBeInstanceOf(InputError);
          }
        },
      ),
      { numRuns: propertyRuns(300, 20_000) },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(cloud.ingestAudit(bytes).ok).toBe(false);
      }),
      { numRuns: propertyRuns(200, 20_000) },
    );
  });
});
