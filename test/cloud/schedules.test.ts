// Schedules from the cloud on the lock's own clock across the DST change of 2026-03-08 in New
// York (ARCHITECTURE.md §3 "Access types", "Door schedules"; §5 day labels): a guest key with a
// weekly schedule and a validity window, and a door schedule delivered in the configuration.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { verifyCredential } from '../../protocol/formats/credential.js';
import { commission, outcome, phoneKey, present, setup, sync, ZONE } from './cloud-world.js';

const WEEKDAYS = 0b0011111;
const MONDAY = 0b0000001;
const utc = (day: number, hour: number, minute = 0) => Date.UTC(2026, 2, day, hour, minute);

describe('schedules across a DST change', () => {
  it("a guest key's weekly window and validity hold in local time on both sides of the change", () => {
    const s = setup('dst-guest');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 4B');
    const resident = cloud.addUser({ name: 'Ada', role: 'resident' });
    const guest = cloud.addUser({ name: 'Gus', role: 'guest' });
    cloud.shareKey(cloud.createKey({ doors: [unit.id] }).id, resident.id);
    const windows = [{ days: WEEKDAYS, start: 9 * 60, end: 17 * 60 }];
    const key = cloud.createKey({ doors: [unit.id], schedule: windows });
    cloud.shareKey(key.id, guest.id, {
      notBefore: utc(6, 5), // Fri 2026-03-06 00:00 EST
      expires: utc(10, 4), // Tue 2026-03-10 00:00 EDT
      sharedBy: resident.id,
    });
    const [credential] = cloud.registerPhone(guest.id, phoneKey(s, 'gus'));
    const body = verifyCredential(credential!.signed, cloud.authorityPublicKey, world.crypto);
    expect(body.ok && body.value.schedule).toEqual({ timeZone: ZONE, windows });
    expect(sync(s, unit.id).ok).toBe(true);

    const at = (t: number) => {
      world.runUntil(t);
      return outcome(present(s, unit.id, credential!.signed));
    };
    expect(at(utc(5, 14, 30))).toBe(WIRE_ERRORS.NOT_YET_VALID); // Thu 09:30 EST
    expect(at(utc(6, 13, 30))).toBe(WIRE_ERRORS.OUTSIDE_SCHEDULE); // Fri 08:30 EST
    expect(at(utc(6, 14, 30))).toBe(0); // Fri 09:30 EST
    expect(at(utc(7, 15))).toBe(WIRE_ERRORS.OUTSIDE_SCHEDULE); // Sat 10:00 EST
    expect(at(utc(9, 13, 30))).toBe(0); // Mon 09:30 EDT (08:30 had the offset not changed)
    expect(at(utc(9, 21, 30))).toBe(WIRE_ERRORS.OUTSIDE_SCHEDULE); // Mon 17:30 EDT
    expect(at(utc(10, 14))).toBe(WIRE_ERRORS.EXPIRED); // Tue 10:00 EDT
  });

  it('a door schedule reaches the lock and opens passage at local 09:00 after the change', () => {
    const s = setup('dst-door');
    const { world } = s;
    const doorSchedules = [{ days: MONDAY, start: 9 * 60, end: 10 * 60 }];
    const lobby = commission(s, 'Lobby', 'R', { ajarSeconds: 60, doorSchedules });
    expect(sync(s, lobby.id).ok).toBe(true);
    expect(world.lock(lobby.id).sync.config).toEqual({ ajarSeconds: 60, doorSchedules });
    expect(world.lock(lobby.id).sync.timeZone).toBe(ZONE);
    world.runUntil(utc(9, 16)); // the World starts on Mon 03-02 at 10:00 EST, after that day's window
    const passage = world
      .eventsOf(lobby.id)
      .filter((e) => e.type === 'PASSAGE_STARTED' || e.type === 'PASSAGE_ENDED')
      .map((e) => [e.type, e.t]);
    expect(passage).toEqual([
      ['PASSAGE_STARTED', utc(9, 13)], // Mon 03-09 09:00 EDT
      ['PASSAGE_ENDED', utc(9, 14)],
    ]);
  });
});
