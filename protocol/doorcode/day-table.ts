/**
 * The lock-side table of daily doorcodes, ARCHITECTURE.md §5: the codes of every slot of
 * yesterday, today and tomorrow (local days of the door's time zone), looked up in O(1) when a
 * code is typed on the keypad, and accepted only inside `[start(D) − g, end(D) + g]`.
 *
 * What is constant time (SECURITY.md item 23), and what is not:
 * - The entry is parsed over its whole length, with no early exit on the first non-digit.
 * - The lookup probes the same number of buckets for every entry: the longest probe distance of
 *   the current build, fixed when the table is built. It does not stop at an empty bucket or at
 *   a match, so its work does not tell whether, or on which day, a code exists.
 * - Codes, windows and revocations are combined with integer masks (XOR of the stored and entered
 *   codes, no branch on their digits), so an unknown code and a code outside its window cost the
 *   same and return the same `INCORRECT`.
 * - Not constant time: the length check and the digit check (the person at the keypad knows both
 *   already), the bucket addresses touched (they depend on the code's hash), building the success
 *   value, and rebuilding the table. JavaScript engines give no timing guarantee: the JIT may
 *   still introduce branches. Keypad lockout (firmware) is the bound on guessing.
 */
import { assertDayLabel, assertTimeZone, dayBounds, dayLabelAt } from './day-label.js';
import type { DayBounds } from './day-label.js';
import type { DayCodesDeriver } from './deriver.js';
import {
  DOORCODE_DEFAULTS,
  MAX_DIGITS,
  MAX_KEY_VERSION,
  MAX_SLOTS,
  MIN_DIGITS,
} from './deriver.js';
import { DOORCODE_ERRORS } from './errors.js';
import type { DoorcodeErrorCode } from './errors.js';

/** §3 access types of a daily code, known offline from its slot (§5). */
export type DailyCodeKind = 'DAILY' | 'DAILY_SINGLE_USE';

/** A slot of one day, revoked by the cloud. */
export interface RevokedSlot {
  readonly day: string;
  readonly slot: number;
}

export interface DayTableConfig {
  /** The reference or the fast kernel. */
  readonly deriver: DayCodesDeriver;
  /** `K_door`, installed at commissioning. */
  readonly doorKey: Uint8Array;
  /** The door's IANA time zone. */
  readonly timeZone: string;
  /** Default 1. */
  readonly keyVersion?: number;
  /** `S`, default 256. */
  readonly slots?: number;
  /** `S_d`, default 192. */
  readonly dailySlots?: number;
  /** `L`, default 7. */
  readonly digits?: number;
  /** Slots revoked before the table is built. */
  readonly revoked?: Iterable<RevokedSlot>;
}

/** The lock's clock state at the moment of a check. */
export interface DoorcodeClock {
  /** `g`, from `graceMs(msSinceLastSync)`. */
  readonly graceMs: number;
}

export type DayCodeCheck =
  | { readonly ok: true; readonly day: string; readonly slot: number; readonly kind: DailyCodeKind }
  | { readonly ok: false; readonly code: DoorcodeErrorCode };

/** §5 grace: 5 min, plus 50 ppm of the time since the last sync, capped at 30 min. */
export const GRACE_BASE_MS = 5 * 60_000;
export const GRACE_DRIFT_PPM = 50;
export const GRACE_MAX_MS = 30 * 60_000;

/**
 * §5 grace `g` for a lock whose clock was last synced `msSinceLastSync` ago: the 5 min base plus
 * the worst drift of its RTC (50 ppm), rounded up to a whole ms, capped at 30 min.
 */
export function graceMs(msSinceLastSync: number): number {
  if (
    typeof msSinceLastSync !== 'number' ||
    !Number.isFinite(msSinceLastSync) ||
    msSinceLastSync < 0
  ) {
    throw new RangeError('msSinceLastSync: expected a finite, non-negative number of ms');
  }
  return Math.min(
    GRACE_MAX_MS,
    GRACE_BASE_MS + Math.ceil((msSinceLastSync * GRACE_DRIFT_PPM) / 1_000_000),
  );
}

const DAYS = 3;
const YESTERDAY = 0;
const TODAY = 1;
const TOMORROW = 2;
/** Above any code (`< 10^9`): the code of the sentinel entry that marks empty buckets. */
const SENTINEL_CODE = 0xffff_ffff;
/** 2^32 / golden ratio: Fibonacci hashing spreads codes that share low digits. */
const HASH_MULTIPLIER = 0x9e37_79b1;

const WRONG_LENGTH: DayCodeCheck = Object.freeze({ ok: false, code: DOORCODE_ERRORS.WRONG_LENGTH });
const NOT_DIGITS: DayCodeCheck = Object.freeze({ ok: false, code: DOORCODE_ERRORS.NOT_DIGITS });
const INCORRECT: DayCodeCheck = Object.freeze({ ok: false, code: DOORCODE_ERRORS.INCORRECT });
const SLOT_REVOKED: DayCodeCheck = Object.freeze({ ok: false, code: DOORCODE_ERRORS.SLOT_REVOKED });

function integerOption(
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
): number {
  const chosen = value ?? fallback;
  if (typeof chosen !== 'number' || !Number.isInteger(chosen) || chosen < min || chosen > max) {
    throw new RangeError(`${name}: expected an integer in ${min}..${max}`);
  }
  return chosen;
}

/** A revocation as one number: the label `YYYYMMDD` times 2^16, plus the slot. */
function revocationKey(day: string, slot: number): number {
  return Number(day) * MAX_SLOTS + slot;
}

/**
 * §5 day table. Entries are `dayIndex · S + slot` (0 yesterday, 1 today, 2 tomorrow), their
 * codes in one preallocated `Uint32Array`; an open-addressing (linear probing) hash over the
 * numeric codes maps a code to its entries. Codes shared by several slots are all kept, one
 * after the other in the probe sequence.
 */
export class DayTable {
  readonly timeZone: string;
  readonly keyVersion: number;
  readonly slots: number;
  readonly dailySlots: number;
  readonly digits: number;

  readonly #deriver: DayCodesDeriver;
  readonly #doorKey: Uint8Array;
  /** Index of the sentinel entry, which empty buckets hold. */
  readonly #sentinel: number;
  readonly #codes: Uint32Array;
  /** Day index of each entry; the sentinel's is 3, whose window is always closed. */
  readonly #entryDay: Uint8Array;
  /** -1 for an entry whose slot is revoked, 0 otherwise (a mask). */
  readonly #entryRevoked: Int8Array;
  readonly #buckets: Uint16Array | Uint32Array;
  readonly #bucketMask: number;
  readonly #hashShift: number;
  /** Buckets scanned by every lookup: one more than the longest probe distance. */
  #probeLength = 0;
  readonly #days: [string, string, string] = ['', '', ''];
  /** `start(D)` and `end(D)` of the three days, in UTC ms (days may overlap, see day-label.ts). */
  readonly #starts = new Float64Array(DAYS);
  readonly #ends = new Float64Array(DAYS);
  /** Per check: -1 where `now` is inside the day's graced window, then inside the day itself. */
  readonly #windowMask = new Int32Array(DAYS + 1);
  readonly #coreMask = new Int32Array(DAYS + 1);
  readonly #revoked = new Set<number>();

  /** Builds the table for the local days around `now` (UTC ms). */
  constructor(config: DayTableConfig, now: number) {
    if (typeof config !== 'object' || config === null)
      throw new TypeError('config: expected an object');
    if (typeof config.deriver !== 'function')
      throw new TypeError('config.deriver: expected a DayCodesDeriver');
    if (!(config.doorKey instanceof Uint8Array))
      throw new TypeError('config.doorKey: expected a Uint8Array');
    if (config.doorKey.length === 0)
      throw new RangeError('config.doorKey: expected a non-empty key');
    assertTimeZone(config.timeZone);
    this.timeZone = config.timeZone;
    this.keyVersion = integerOption(
      config.keyVersion,
      DOORCODE_DEFAULTS.keyVersion,
      0,
      MAX_KEY_VERSION,
      'config.keyVersion',
    );
    this.slots = integerOption(config.slots, DOORCODE_DEFAULTS.slots, 1, MAX_SLOTS, 'config.slots');
    this.dailySlots = integerOption(
      config.dailySlots,
      DOORCODE_DEFAULTS.dailySlots,
      0,
      this.slots,
      'config.dailySlots',
    );
    this.digits = integerOption(
      config.digits,
      DOORCODE_DEFAULTS.digits,
      MIN_DIGITS,
      MAX_DIGITS,
      'config.digits',
    );
    this.#deriver = config.deriver;
    this.#doorKey = config.doorKey.slice();

    const entries = DAYS * this.slots;
    this.#sentinel = entries;
    this.#codes = new Uint32Array(entries + 1);
    this.#codes[entries] = SENTINEL_CODE;
    this.#entryDay = new Uint8Array(entries + 1);
    for (let day = 0; day <= DAYS; day++)
      this.#entryDay.fill(day, day * this.slots, (day + 1) * this.slots);
    this.#entryRevoked = new Int8Array(entries + 1);
    // At most half full, so probe sequences stay short.
    const bits = Math.ceil(Math.log2(2 * entries));
    this.#buckets = entries < 0xffff ? new Uint16Array(1 << bits) : new Uint32Array(1 << bits);
    this.#bucketMask = (1 << bits) - 1;
    this.#hashShift = 32 - bits;

    for (const { day, slot } of config.revoked ?? [])
      this.#addRevocation(day, slot, 'config.revoked.day', 'config.revoked.slot');
    this.#build(now);
  }

  /** The labels of yesterday, today and tomorrow the table currently holds. */
  get days(): readonly [string, string, string] {
    const [yesterday, today, tomorrow] = this.#days;
    return [yesterday, today, tomorrow];
  }

  /** The bounds of one of the three days held, or `undefined`. */
  boundsOf(day: string): DayBounds | undefined {
    const index = this.#days.indexOf(day);
    if (index < 0) return undefined;
    return { start: this.#starts[index] ?? 0, end: this.#ends[index] ?? 0 };
  }

  /**
   * Brings the table to the local day of `now`. Two comparisons when the day has not changed;
   * at the next day, one day's codes are derived and the other two reused; after any other jump
   * (a time sync), a full rebuild. Returns whether the table changed.
   */
  refresh(now: number): boolean {
    if (typeof now !== 'number' || !Number.isFinite(now))
      throw new TypeError('now: expected a finite number of ms');
    const todayEnd = this.#ends[TODAY] ?? 0;
    if (now >= (this.#starts[TODAY] ?? 0) && now < todayEnd) return false;
    if (now >= todayEnd && now < (this.#ends[TOMORROW] ?? 0)) this.#advance();
    else this.#build(now);
    return true;
  }

  /** Revokes one slot of one day; it stays revoked until that day has left the table. */
  revokeSlot(day: string, slot: number): void {
    this.#addRevocation(day, slot, 'day', 'slot');
    this.#markRevocations();
  }

  /**
   * ARCHITECTURE.md §5 keypad check of `entry` at `now` (UTC ms, on the lock's valid RTC; the
   * firmware refuses time-bound access before calling this when the clock is invalid). Refreshes
   * the table first. Expected failures are values; only a bad argument type or clock throws.
   */
  check(entry: string, now: number, clock: DoorcodeClock): DayCodeCheck {
    if (typeof entry !== 'string') throw new TypeError('entry: expected a string');
    const grace = clock.graceMs;
    if (typeof grace !== 'number' || !Number.isFinite(grace) || grace < 0) {
      throw new RangeError('clock.graceMs: expected a finite, non-negative number of ms');
    }
    this.refresh(now);
    if (entry.length !== this.digits) return WRONG_LENGTH;

    // A digit gives `d | (9 − d)` ≥ 0; anything else sets the sign bit. No early exit.
    let value = 0;
    let notDigit = 0;
    for (let i = 0; i < entry.length; i++) {
      const digit = entry.charCodeAt(i) - 0x30;
      notDigit |= digit | (9 - digit);
      value = value * 10 + digit;
    }
    if (notDigit < 0) return NOT_DIGITS;

    for (let day = 0; day < DAYS; day++) {
      const start = this.#starts[day] ?? 0;
      const end = this.#ends[day] ?? 0;
      this.#windowMask[day] = now >= start - grace && now <= end + grace ? -1 : 0;
      this.#coreMask[day] = now >= start && now < end ? -1 : 0;
    }
    return this.#lookup(value);
  }

  /**
   * The constant-work probe: every one of `#probeLength` buckets is read and folded into masks.
   * The best match is ranked 2 when `now` is inside its day, 1 when only inside the grace, so a
   * code shared by two days resolves to the day in progress.
   */
  #lookup(value: number): DayCodeCheck {
    const codes = this.#codes;
    const entryDay = this.#entryDay;
    const entryRevoked = this.#entryRevoked;
    const windowMask = this.#windowMask;
    const coreMask = this.#coreMask;
    let bucket = this.#home(value);
    let best = 0;
    let bestRank = 0;
    let revokedInWindow = 0;
    for (let i = 0; i < this.#probeLength; i++) {
      const entry = this.#buckets[bucket] ?? this.#sentinel;
      const day = entryDay[entry] ?? DAYS;
      const diff = ((codes[entry] ?? 0) ^ value) | 0;
      const equal = ~((diff | -diff) >> 31);
      const live = equal & (windowMask[day] ?? 0);
      const revoked = entryRevoked[entry] ?? 0;
      revokedInWindow |= live & revoked;
      const rank = live & ~revoked & (1 + ((coreMask[day] ?? 0) & 1));
      const better = (bestRank - rank) >> 31;
      best = (best & ~better) | (entry & better);
      bestRank = (bestRank & ~better) | (rank & better);
      bucket = (bucket + 1) & this.#bucketMask;
    }
    if (bestRank !== 0) {
      const day = Math.floor(best / this.slots);
      const slot = best - day * this.slots;
      return {
        ok: true,
        day: this.#days[day] ?? '',
        slot,
        kind: slot < this.dailySlots ? 'DAILY' : 'DAILY_SINGLE_USE',
      };
    }
    return revokedInWindow !== 0 ? SLOT_REVOKED : INCORRECT;
  }

  #home(code: number): number {
    return Math.imul(code, HASH_MULTIPLIER) >>> this.#hashShift;
  }

  #addRevocation(day: string, slot: number, dayName: string, slotName: string): void {
    assertDayLabel(day, dayName);
    if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new RangeError(`${slotName}: expected an integer in 0..${this.slots - 1}`);
    }
    this.#revoked.add(revocationKey(day, slot));
  }

  /** A full build around `now`: yesterday and tomorrow are the days either side of today's bounds. */
  #build(now: number): void {
    const zone = this.timeZone;
    this.#hold(TODAY, dayLabelAt(now, zone));
    // Neighbours by instant, not by date, so that a day the zone skipped is never held.
    this.#hold(YESTERDAY, dayLabelAt((this.#starts[TODAY] ?? 0) - 1, zone));
    this.#hold(TOMORROW, dayLabelAt(this.#ends[TODAY] ?? 0, zone));
    for (let day = 0; day < DAYS; day++) this.#derive(day);
    this.#markRevocations();
    this.#index();
  }

  /** Midnight: today becomes yesterday, tomorrow today; only the new tomorrow is derived. */
  #advance(): void {
    const zone = this.timeZone;
    this.#codes.copyWithin(0, this.slots, DAYS * this.slots);
    this.#days[YESTERDAY] = this.#days[TODAY] ?? '';
    this.#days[TODAY] = this.#days[TOMORROW] ?? '';
    this.#starts.copyWithin(0, 1);
    this.#ends.copyWithin(0, 1);
    this.#hold(TOMORROW, dayLabelAt(this.#ends[TODAY] ?? 0, zone));
    this.#derive(TOMORROW);
    this.#markRevocations();
    this.#index();
  }

  /** Puts `label` with its bounds at position `day` (0 yesterday, 1 today, 2 tomorrow). */
  #hold(day: number, label: string): void {
    const bounds = dayBounds(label, this.timeZone);
    this.#days[day] = label;
    this.#starts[day] = bounds.start;
    this.#ends[day] = bounds.end;
  }

  #derive(day: number): void {
    const request = {
      doorKey: this.#doorKey,
      day: this.#days[day] ?? '',
      keyVersion: this.keyVersion,
      firstSlot: 0,
      count: this.slots,
      digits: this.digits,
    };
    this.#deriver(request, this.#codes, day * this.slots);
  }

  /** Marks the revoked entries of the days held, and forgets revocations of days already gone. */
  #markRevocations(): void {
    this.#entryRevoked.fill(0);
    const oldest = Number(this.#days[YESTERDAY]);
    for (const key of this.#revoked) {
      const label = Math.floor(key / MAX_SLOTS);
      if (label < oldest) {
        this.#revoked.delete(key);
        continue;
      }
      const day = this.#days.indexOf(label.toString().padStart(8, '0'));
      if (day >= 0) this.#entryRevoked[day * this.slots + (key % MAX_SLOTS)] = -1;
    }
  }

  /** Rebuilds the hash index over all entries, and the probe length every lookup will use. */
  #index(): void {
    const buckets = this.#buckets;
    buckets.fill(this.#sentinel);
    let longest = 0;
    for (let entry = 0; entry < this.#sentinel; entry++) {
      let bucket = this.#home(this.#codes[entry] ?? 0);
      let distance = 0;
      while (buckets[bucket] !== this.#sentinel) {
        bucket = (bucket + 1) & this.#bucketMask;
        distance++;
      }
      buckets[bucket] = entry;
      if (distance > longest) longest = distance;
    }
    this.#probeLength = longest + 1;
  }
}
