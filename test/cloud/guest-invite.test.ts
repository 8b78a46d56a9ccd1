// The cloud's side of the phone SDK's account calls (ARCHITECTURE.md §6): `inviteGuest` checks
// everything before it creates the guest, `revokeGuestAccess` for a resident takes only their own
// guests' shares, `accessLogs` is the audit of the doors the user's live shares cover.
import { describe, expect, it } from 'vitest';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import { Cloud } from '../../src/cloud/cloud.js';
import { CloudError } from '../../src/cloud/errors.js';
import { sealAuditUpload } from '../../protocol/formats/audit-upload.js';
import { Random } from '../../src/sim/random.js';

const START = Date.UTC(2026, 2, 2, 15);
const HOUR = 3_600_000;

function property(): { cloud: Cloud } {
  const random = new Random('guest-invite');
  const cloud = new Cloud({
    timeZone: 'America/New_York',
    crypto: createNodeCrypto(random.fork('crypto').bytes),
    random: random.fork('cloud').bytes,
    clock: () => START,
  });
  return { cloud };
}

function residentOf(cloud: Cloud, doorIds: string[], name: string): string {
  const user = cloud.addUser({ name, role: 'resident' });
  cloud.shareKey(cloud.createKey({ doors: doorIds }).id, user.id);
  return user.id;
}

function codeOf(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    if (error instanceof CloudError) return error.code;
    throw error;
  }
  return undefined;
}

describe('Cloud.inviteGuest', () => {
  it("shares the resident's doors with a new guest on the window, with today's daily code", () => {
    const { cloud } = property();
    const door = cloud.addDoor({ name: 'Unit 4B', model: 'M' });
    const alice = residentOf(cloud, [door.id], 'Alice');
    const invitation = cloud.inviteGuest(alice, {
      doorIds: [door.id],
      name: 'Cleaner',
      from: START,
      until: START + 4 * HOUR,
      dailyCode: true,
    });
    expect(cloud.user(invitation.guestUserId)).toMatchObject({ name: 'Cleaner', role: 'guest' });
    const [daily] = invitation.dailyCodes;
    expect(daily?.day).toBe('20260302');
    const slotCode = cloud.assignDailyCode(door.id, invitation.guestUserId).code;
    expect(daily?.code).toBe(slotCode);
    // The share depends on Alice: revoking her revokes it.
    cloud.revokeUser(alice);
    expect(codeOf(() => cloud.assignDailyCode(door.id, invitation.guestUserId))).toBe('CONFLICT');
  });

  it('refuses before creating anything: not a resident, not their door, bad window', () => {
    const { cloud } = property();
    const door = cloud.addDoor({ name: 'Unit 4B', model: 'M' });
    const other = cloud.addDoor({ name: 'Unit 9', model: 'M' });
    const alice = residentOf(cloud, [door.id], 'Alice');
    const manager = cloud.addUser({ name: 'Manager', role: 'manager' }).id;
    const invite = { doorIds: [door.id], name: 'Visitor', from: START, until: START + HOUR };
    expect(codeOf(() => cloud.inviteGuest(manager, invite))).toBe('CONFLICT');
    expect(codeOf(() => cloud.inviteGuest(alice, { ...invite, doorIds: [other.id] }))).toBe(
      'CONFLICT',
    );
    expect(codeOf(() => cloud.inviteGuest(alice, { ...invite, doorIds: [] }))).toBe('INVALID');
    expect(codeOf(() => cloud.inviteGuest(alice, { ...invite, until: START }))).toBe('INVALID');
    expect(
      codeOf(() =>
        cloud.inviteGuest(alice, {
          ...invite,
          from: START + HOUR,
          until: START + 2 * HOUR,
          dailyCode: true,
        }),
      ),
    ).toBe('INVALID');
    // Nothing was created: the only users are the ones above.
    expect(cloud.credentialsOf(alice)).toEqual([]);
    expect(codeOf(() => cloud.inviteGuest(alice, invite))).toBeUndefined();
  });
});

describe('Cloud.revokeGuestAccess for a resident', () => {
  it("revokes only that resident's guest shares", () => {
    const { cloud } = property();
    const door = cloud.addDoor({ name: 'Lobby', model: 'R' });
    const alice = residentOf(cloud, [door.id], 'Alice');
    const bob = residentOf(cloud, [door.id], 'Bob');
    const { shareId, guestUserId } = cloud.inviteGuest(alice, {
      doorIds: [door.id],
      name: 'Visitor',
      from: START,
      until: START + HOUR,
    });
    expect(codeOf(() => cloud.revokeGuestAccess(shareId, bob))).toBe('CONFLICT');
    expect(codeOf(() => cloud.assignDailyCode(door.id, guestUserId))).toBeUndefined();
    expect(codeOf(() => cloud.revokeGuestAccess(shareId, alice))).toBeUndefined();
    expect(codeOf(() => cloud.assignDailyCode(door.id, guestUserId))).toBe('CONFLICT');
  });
});

describe('Cloud.accessLogs', () => {
  it("is the audit of the user's doors only", () => {
    const { cloud } = property();
    const door = cloud.addDoor({ name: 'Unit 4B', model: 'M' });
    const other = cloud.addDoor({ name: 'Unit 9', model: 'M' });
    const alice = residentOf(cloud, [door.id], 'Alice');
    for (const d of [door, other]) {
      const sealed = sealAuditUpload(
        {
          lockId: d.lockId,
          firstSeq: 0,
          overflow: 0,
          records: [{ seq: 0, time: START, method: 'PASSCODE', result: 'SUCCESS' }],
        },
        d.lockSecret,
        createNodeCrypto(new Random('seal').bytes),
      );
      expect(cloud.ingestAudit(sealed).ok).toBe(true);
    }
    expect(cloud.accessLogs(alice).map((e) => e.doorId)).toEqual([door.id]);
    expect(cloud.accessLogs(alice, door.id)).toHaveLength(1);
    expect(codeOf(() => cloud.accessLogs(alice, other.id))).toBe('CONFLICT');
  });
});
