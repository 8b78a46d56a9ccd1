// Keypad codes from the cloud (ARCHITECTURE.md §3 "Access types", "Keypad"; §5): permanent PINs
// the system draws, unique on their door and equal to no daily code of that door over the
// assignable days; daily slots of the right kind whose codes the lock accepts; revocation of
// both reaching the keypad.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, dayLabelAt } from '../../protocol/doorcode/day-label.js';
import { formatCode } from '../../protocol/doorcode/deriver.js';
import { referenceDayCodes } from '../../protocol/doorcode/reference.js';
import { openSyncBundle } from '../../protocol/formats/sync-bundle.js';
import { Cloud } from '../../src/cloud/cloud.js';
import {
  chooseSlot,
  DAILY_CODE_HORIZON_DAYS,
  drawPermanentPin,
  drawPin,
} from '../../src/cloud/doorcodes.js';
import { toHex } from '../../src/cloud/ids.js';
import { Random } from '../../src/sim/random.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import { propertyRuns } from '../support/properties.js';
import { commission, DAY, outcome, setup, START, sync, ZONE } from './cloud-world.js';

/** Every slot code of a door on `day`, derived here with the reference, not the cloud's cache. */
function slotCodes(doorKey: Uint8Array, day: string): string[] {
  const out = new Uint32Array(256);
  referenceDayCodes({ doorKey, day, keyVersion: 1, firstSlot: 0, count: 256, digits: 7 }, out);
  return Array.from(out, (code) => formatCode(code, 7));
}

/** A random source whose first 4-byte draws spell `values` (big-endian), then `rest`'s bytes. */
function scripted(values: readonly number[], rest: Random) {
  const queue = [...values];
  return (length: number): Uint8Array => {
    const next = length === 4 ? queue.shift() : undefined;
    if (next === undefined) return rest.bytes(length);
    return Uint8Array.of(next >>> 24, (next >>> 16) & 0xff, (next >>> 8) & 0xff, next & 0xff);
  };
}

describe('permanent PINs', () => {
  it('are 7 digits, leading zeros kept, and never a taken PIN or a daily code', () => {
    const random = scripted([42, 1234567, 7654321, 5], new Random('pins'));
    expect(drawPin(random)).toBe('0000042');
    expect(drawPermanentPin(random, new Set(['1234567']), new Set(['7654321']))).toBe('0000005');
    // 2^32 - 1 is above the unbiased limit and is drawn again.
    expect(drawPin(scripted([0xffff_ffff, 9], new Random('x')))).toBe('0000009');
  });

  it('property: unique on the door and equal to no slot code from yesterday to the horizon', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 30 }),
        (seed, offset) => {
          const now = START + offset * DAY;
          const crypto = createNodeCrypto(new Random(seed).fork('crypto').bytes);
          const cloud = new Cloud({
            timeZone: ZONE,
            crypto,
            random: new Random(seed).bytes,
            clock: () => now,
          });
          const door = cloud.addDoor({ name: 'Unit', model: 'M' });
          const user = cloud.addUser({ name: 'Ada', role: 'resident' });
          const pins = Array.from(
            { length: 12 },
            () => cloud.createPermanentCode(door.id, user.id).pin,
          );
          expect(new Set(pins).size).toBe(pins.length);
          const today = dayLabelAt(now, ZONE);
          for (let n = -1; n <= DAILY_CODE_HORIZON_DAYS; n++) {
            const codes = new Set(slotCodes(door.doorKey, addDays(today, n)));
            for (const pin of pins) expect(codes.has(pin)).toBe(false);
          }
          // And every daily code assigned on the door differs from them.
          const daily = cloud.assignDailyCode(door.id, user.id, {
            day: addDays(today, offset % DAILY_CODE_HORIZON_DAYS),
          });
          expect(pins).not.toContain(daily.code);
        },
      ),
      { numRuns: propertyRuns(8, 200) },
    );
  });

  it('a draw equal to a daily code of the horizon is drawn again, in the Cloud', () => {
    const crypto = createNodeCrypto(new Random('crypto').bytes);
    const tomorrow = addDays(dayLabelAt(START, ZONE), 1);
    /** A cloud whose PIN draws (4 bytes) spell `pins`; ids and keys come from one fixed stream. */
    const cloudDrawing = (pins: readonly number[]) =>
      new Cloud({
        timeZone: ZONE,
        crypto,
        random: scripted(pins, new Random('ids')),
        clock: () => START,
      });
    const probe = cloudDrawing([]).addDoor({ name: 'Unit', model: 'M' });
    const colliding = Number(slotCodes(probe.doorKey, tomorrow)[17]);
    const cloud = cloudDrawing([colliding, 77]);
    const door = cloud.addDoor({ name: 'Unit', model: 'M' });
    expect(door.doorKey).toEqual(probe.doorKey);
    const user = cloud.addUser({ name: 'Ada', role: 'resident' });
    expect(cloud.createPermanentCode(door.id, user.id).pin).toBe('0000077');
  });
});

describe('daily-code slots', () => {
  it('skip assigned slots, codes shared by two slots, and permanent PINs', () => {
    const codes = Array.from({ length: 256 }, (_, slot) => formatCode(1000 + slot, 7));
    codes[1] = codes[2]!;
    expect(chooseSlot('DAILY', codes, new Set([0]), new Set([codes[3]!]))).toBe(4);
    expect(chooseSlot('DAILY_SINGLE_USE', codes, new Set(), new Set())).toBe(192);
    const taken = new Set(Array.from({ length: 64 }, (_, i) => 192 + i));
    expect(chooseSlot('DAILY_SINGLE_USE', codes, taken, new Set())).toBeUndefined();
  });

  it('the lock accepts an assigned daily code, and refuses it once the slot is revoked', () => {
    const s = setup('daily');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 9');
    const user = cloud.addUser({ name: 'Ada', role: 'vendor' });
    const daily = cloud.assignDailyCode(unit.id, user.id);
    const single = cloud.assignDailyCode(unit.id, user.id, { singleUse: true });
    expect(daily).toMatchObject({ kind: 'DAILY', day: '20260302', slot: 0 });
    expect(single.kind).toBe('DAILY_SINGLE_USE');
    expect(single.slot).toBeGreaterThanOrEqual(192);
    expect(cloud.assignDailyCode(unit.id, user.id)).toEqual(daily);
    expect(daily.code).toBe(slotCodes(unit.doorKey, '20260302')[daily.slot]);
    expect(cloud.dailyCodeOfSlot(unit.id, '20260302', daily.slot)).toBe(daily.code);

    expect(sync(s, unit.id).ok).toBe(true);
    expect(outcome(world.enterCode(unit.id, daily.code))).toBe(0);
    expect(outcome(world.enterCode(unit.id, single.code))).toBe(0);
    const report = cloud.revokeDailyCode(daily.id);
    expect(report.dailyCodes).toEqual([daily.id]);
    const offer = cloud.bundleFor(unit.id);
    const held = world.lock(unit.id).sync.version;
    const opened = openSyncBundle(offer.sealed, unit.lockSecret, unit.lockId, held, world.crypto);
    expect(opened.ok && opened.value.revocations?.dailySlots).toEqual([
      { day: '20260302', slots: [daily.slot] },
    ]);
    expect(sync(s, unit.id).ok).toBe(true);
    expect(outcome(world.enterCode(unit.id, daily.code))).not.toBe(0);
    // A revoked slot is never handed out again that day.
    expect(cloud.assignDailyCode(unit.id, user.id).slot).not.toBe(daily.slot);
  });

  it('days outside yesterday .. today + 14 are refused', () => {
    const { cloud } = setup('horizon');
    const door = cloud.addDoor({ name: 'Unit', model: 'M' });
    const user = cloud.addUser({ name: 'Ada', role: 'resident' });
    const today = dayLabelAt(START, ZONE);
    expect(cloud.assignDailyCode(door.id, user.id, { day: addDays(today, -1) }).day).toBe(
      addDays(today, -1),
    );
    expect(cloud.assignDailyCode(door.id, user.id, { day: addDays(today, 14) }).day).toBe(
      addDays(today, 14),
    );
    for (const day of [addDays(today, -2), addDays(today, 15), '20261301', 'tomorrow']) {
      expect(() => cloud.assignDailyCode(door.id, user.id, { day })).toThrow(
        expect.objectContaining({ code: 'INVALID', field: 'options.day' }),
      );
    }
  });
});

describe('permanent doorcodes on the keypad', () => {
  it('work after the sync that carries them and stop after the sync that revokes them', () => {
    const s = setup('permanent');
    const { world, cloud } = s;
    const unit = commission(s, 'Unit 6');
    const user = cloud.addUser({ name: 'Ada', role: 'resident' });
    const code = cloud.createPermanentCode(unit.id, user.id);
    expect(code.pin).toMatch(/^[0-9]{7}$/);
    expect(outcome(world.enterCode(unit.id, code.pin))).not.toBe(0);
    expect(sync(s, unit.id).ok).toBe(true);
    const decision = world.enterCode(unit.id, code.pin);
    expect(outcome(decision)).toBe(0);
    expect(decision?.ok && decision.grant.kind).toBe('PERMANENT');
    expect(world.lock(unit.id).sync.doorcodes.map((r) => toHex(r.id))).toEqual([code.id]);
    cloud.revokeDoorcode(code.id);
    expect(sync(s, unit.id).ok).toBe(true);
    expect(outcome(world.enterCode(unit.id, code.pin))).not.toBe(0);
    expect(
      world.lock(unit.id).sync.isDoorcodeRevoked(Uint8Array.from(Buffer.from(code.id, 'hex'))),
    ).toBe(true);
  });

  it('a guest gets codes only on doors their live shares cover', () => {
    const { cloud } = setup('guest-codes');
    const unit = cloud.addDoor({ name: 'Unit', model: 'M' });
    const gym = cloud.addDoor({ name: 'Gym', model: 'R' });
    const resident = cloud.addUser({ name: 'Ada', role: 'resident' });
    const guest = cloud.addUser({ name: 'Gus', role: 'guest' });
    const key = cloud.createKey({ doors: [unit.id] });
    cloud.shareKey(key.id, resident.id);
    cloud.shareKey(key.id, guest.id, { expires: START + DAY, sharedBy: resident.id });
    expect(cloud.createPermanentCode(unit.id, guest.id).pin).toHaveLength(7);
    expect(() => cloud.assignDailyCode(gym.id, guest.id)).toThrow(
      expect.objectContaining({ code: 'CONFLICT', field: 'doorId' }),
    );
  });
});
