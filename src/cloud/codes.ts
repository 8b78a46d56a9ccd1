/**
 * Permanent doorcodes and daily-code slots as the cloud hands them out (ARCHITECTURE.md §3
 * "Access types", "Keypad"; §5). The rules and the horizon they are checked over are in
 * `doorcodes.ts`; this module applies them to the property's records.
 *
 * - `createPermanentCode`: one door, a PIN the system draws from the injected randomness,
 *   unique among the door's live PINs and equal to no slot code of that door on the assignable
 *   days. At most `MAX_BUNDLE_DOORCODES` live codes per door (`CAPACITY`).
 * - `assignDailyCode`: a slot of the requested kind for (user, door, day) — the same slot again
 *   when that user already holds a live one of that kind there — and the day's code for it.
 *   A slot once assigned is never reassigned that day, even after revocation.
 * A guest gets codes only on doors their live shares cover (their access is the resident's).
 */
import { assertDayLabel } from '../../protocol/doorcode/day-label.js';
import { MAX_BUNDLE_DOORCODES } from '../../protocol/formats/sync-bundle.js';
import { CloudError } from './errors.js';
import { assertOptions, assertTime } from './context.js';
import type { CloudContext } from './context.js';
import type { DayCodeCache } from './doorcodes.js';
import { assignableDays, chooseSlot, drawPermanentPin, slotKind } from './doorcodes.js';
import { newId } from './ids.js';
import { coveredDoors } from './revocation.js';
import type { DailyCodeKind, DoorcodeEntry, DoorRecord, UserRecord } from './repository.js';

export interface PermanentCodeOptions {
  readonly notBefore?: number;
  readonly expires?: number;
}

export interface DailyCodeOptions {
  /** `YYYYMMDD` in the property's time zone; default today. */
  readonly day?: string;
  /** A DAILY_SINGLE_USE slot (expires 15 min after its first use) rather than DAILY. */
  readonly singleUse?: boolean;
}

/** A daily code as the API reports it. */
export interface DailyCode {
  /** `door:day:slot`. */
  readonly id: string;
  readonly doorId: string;
  readonly userId: string;
  readonly day: string;
  readonly slot: number;
  readonly kind: DailyCodeKind;
  /** The 7-digit code, left-padded with zeros (§5). */
  readonly code: string;
  readonly revoked: boolean;
}

export class CodeAuthority {
  readonly #ctx: CloudContext;
  readonly #dayCodes: DayCodeCache;

  constructor(ctx: CloudContext, dayCodes: DayCodeCache) {
    this.#ctx = ctx;
    this.#dayCodes = dayCodes;
  }

  /** The codes of every slot of `door` on `day`. */
  dayCodes(door: DoorRecord, day: string): readonly string[] {
    return this.#dayCodes.codes(door.id, door.doorKey, day);
  }

  createPermanentCode(
    doorId: string,
    userId: string,
    options: PermanentCodeOptions = {},
  ): DoorcodeEntry {
    const ctx = this.#ctx;
    const now = ctx.now();
    const door = ctx.door(doorId);
    const user = ctx.activeUser(userId);
    assertOptions(options);
    this.#assertGuestCovers(user, door.id, now);
    if (options.notBefore !== undefined) assertTime(options.notBefore, 'options.notBefore');
    if (options.expires !== undefined) {
      assertTime(options.expires, 'options.expires');
      if (options.expires <= now)
        throw new CloudError('INVALID', 'options.expires', 'already past');
      if (options.notBefore !== undefined && options.expires <= options.notBefore) {
        throw new CloudError('INVALID', 'options.expires', 'must be after notBefore');
      }
    }
    const live = this.#livePins(door.id);
    if (live.size >= MAX_BUNDLE_DOORCODES) {
      throw new CloudError(
        'CAPACITY',
        `doors.${door.id}`,
        `a lock holds at most ${MAX_BUNDLE_DOORCODES} doorcodes`,
      );
    }
    const daily = new Set<string>();
    for (const day of assignableDays(now, ctx.property.timeZone)) {
      for (const code of this.dayCodes(door, day)) daily.add(code);
    }
    const pin = drawPermanentPin(ctx.random, live, daily);
    if (pin === undefined) throw new CloudError('EXHAUSTED', 'doorId', 'no free PIN found');
    const record: DoorcodeEntry = {
      id: newId(ctx.random),
      doorId: door.id,
      userId: user.id,
      pin,
      ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
      ...(options.expires === undefined ? {} : { expires: options.expires }),
      createdAt: now,
    };
    ctx.repo.doorcodes.put(record);
    return record;
  }

  assignDailyCode(doorId: string, userId: string, options: DailyCodeOptions = {}): DailyCode {
    const ctx = this.#ctx;
    const now = ctx.now();
    const door = ctx.door(doorId);
    const user = ctx.activeUser(userId);
    assertOptions(options);
    this.#assertGuestCovers(user, door.id, now);
    const days = assignableDays(now, ctx.property.timeZone);
    const day = options.day ?? days[1]!;
    try {
      assertDayLabel(day, 'options.day');
    } catch (error) {
      throw new CloudError('INVALID', 'options.day', (error as Error).message);
    }
    if (!days.includes(day)) {
      throw new CloudError('INVALID', 'options.day', 'outside yesterday .. today + 14 days');
    }
    const kind: DailyCodeKind = options.singleUse === true ? 'DAILY_SINGLE_USE' : 'DAILY';
    const onDay = ctx.repo.dailyCodes
      .list()
      .filter((slot) => slot.doorId === door.id && slot.day === day);
    const held = onDay.find(
      (slot) => slot.userId === user.id && slot.kind === kind && slot.revokedAt === undefined,
    );
    if (held !== undefined) return this.#dailyCode(door, held);
    const codes = this.dayCodes(door, day);
    const slot = chooseSlot(
      kind,
      codes,
      new Set(onDay.map((s) => s.slot)),
      new Set(this.#livePins(door.id)),
    );
    if (slot === undefined)
      throw new CloudError('EXHAUSTED', 'options.day', `no free ${kind} slot`);
    const record = {
      id: `${door.id}:${day}:${slot}`,
      doorId: door.id,
      userId: user.id,
      day,
      slot,
      kind: slotKind(slot),
      assignedAt: now,
    };
    ctx.repo.dailyCodes.put(record);
    return this.#dailyCode(door, record);
  }

  /** A daily-code record as the API reports it, its code derived. */
  dailyCodeInfo(id: string): DailyCode {
    const record = this.#ctx.repo.dailyCodes.get(id);
    if (record === undefined) throw new CloudError('NOT_FOUND', 'dailyCodeId', 'no such slot');
    return this.#dailyCode(this.#ctx.repo.doors.get(record.doorId)!, record);
  }

  #dailyCode(
    door: DoorRecord,
    record: Omit<DailyCode, 'code' | 'revoked'> & { readonly revokedAt?: number },
  ): DailyCode {
    return {
      id: record.id,
      doorId: record.doorId,
      userId: record.userId,
      day: record.day,
      slot: record.slot,
      kind: record.kind,
      code: this.dayCodes(door, record.day)[record.slot]!,
      revoked: record.revokedAt !== undefined,
    };
  }

  /** PINs of the door's codes not revoked (an expired one is still on the lock until a full sync). */
  #livePins(doorId: string): Set<string> {
    const pins = new Set<string>();
    for (const code of this.#ctx.repo.doorcodes.list()) {
      if (code.doorId === doorId && code.revokedAt === undefined) pins.add(code.pin);
    }
    return pins;
  }

  #assertGuestCovers(user: UserRecord, doorId: string, now: number): void {
    if (user.role === 'guest' && !coveredDoors(this.#ctx, user.id, now).has(doorId)) {
      throw new CloudError('CONFLICT', 'doorId', "not a door of the guest's live shares");
    }
  }
}
