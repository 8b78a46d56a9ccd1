/**
 * Keypad codes on the cloud's side (ARCHITECTURE.md §3 "Access types", "Keypad"; §5):
 * permanent PINs the system generates and the daily-code slots it assigns.
 *
 * Horizon. Daily codes are assigned only for days from yesterday to `DAILY_CODE_HORIZON_DAYS`
 * ahead (in the property's time zone): 16 days, exactly the `MAX_REVOKED_DAYS` a revocation
 * list holds, so every assignable day's revocations fit one full bundle. A new permanent PIN is
 * checked against the codes of every slot (all 256, assigned or not) of that door on each day of
 * that horizon, and §5 makes slot assignment skip any slot whose code equals a permanent PIN of
 * the door. Together: no permanent PIN equals a daily code that has been or can be handed out
 * on its door. Days past the horizon are covered when they enter it, by the assignment rule.
 *
 * Codes are derived with the injected `DayCodesDeriver` (the readable reference by default, the
 * fast kernel in bulk) and cached per door and day.
 */
import { addDays, dayLabelAt } from '../../protocol/doorcode/day-label.js';
import { DOORCODE_DEFAULTS, formatCode } from '../../protocol/doorcode/deriver.js';
import type { DayCodesDeriver } from '../../protocol/doorcode/deriver.js';
import type { RandomSource } from '../../protocol/crypto/provider.js';
import { PERMANENT_PIN_DIGITS } from '../../protocol/formats/doorcode-record.js';
import type { DailyCodeKind } from './repository.js';

/** Days after today for which daily codes may be assigned; yesterday is the first day. */
export const DAILY_CODE_HORIZON_DAYS = 14;
/** Draws before `drawPermanentPin` gives up (each draw fails with probability < 0.1 %). */
export const PIN_DRAW_ATTEMPTS = 64;

const PIN_SPACE = 10 ** PERMANENT_PIN_DIGITS;
const TWO_32 = 2 ** 32;
/** The largest multiple of the PIN space below 2^32: draws above it would bias small PINs. */
const PIN_DRAW_LIMIT = TWO_32 - (TWO_32 % PIN_SPACE);
const CACHE_ENTRIES = 4096;

/** The days a daily code may be assigned for at `now`: yesterday … today + horizon. */
export function assignableDays(now: number, timeZone: string): string[] {
  const today = dayLabelAt(now, timeZone);
  const days: string[] = [];
  for (let n = -1; n <= DAILY_CODE_HORIZON_DAYS; n++) days.push(addDays(today, n));
  return days;
}

/** The §5 slot range of a kind: DAILY `[0, S_d)`, DAILY_SINGLE_USE `[S_d, S)`. */
export function slotRange(kind: DailyCodeKind): { readonly first: number; readonly end: number } {
  return kind === 'DAILY'
    ? { first: 0, end: DOORCODE_DEFAULTS.dailySlots }
    : { first: DOORCODE_DEFAULTS.dailySlots, end: DOORCODE_DEFAULTS.slots };
}

/** The kind of a slot, as an offline lock tells it (§5). */
export function slotKind(slot: number): DailyCodeKind {
  return slot < DOORCODE_DEFAULTS.dailySlots ? 'DAILY' : 'DAILY_SINGLE_USE';
}

/** A uniform 7-digit PIN from `random` (rejection sampling over 32-bit draws). */
export function drawPin(random: RandomSource): string {
  for (;;) {
    const bytes = random(4);
    const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    if (value < PIN_DRAW_LIMIT) return formatCode(value % PIN_SPACE, PERMANENT_PIN_DIGITS);
  }
}

/** The codes of every slot of a door on a day, derived once and kept (first in, first out). */
export class DayCodeCache {
  readonly #deriver: DayCodesDeriver;
  readonly #days = new Map<string, readonly string[]>();

  constructor(deriver: DayCodesDeriver) {
    this.#deriver = deriver;
  }

  /** The formatted codes of slots `0 .. S-1` of the door on `day`. */
  codes(doorId: string, doorKey: Uint8Array, day: string): readonly string[] {
    const key = `${doorId}:${day}`;
    const cached = this.#days.get(key);
    if (cached !== undefined) return cached;
    const out = new Uint32Array(DOORCODE_DEFAULTS.slots);
    this.#deriver(
      {
        doorKey,
        day,
        keyVersion: DOORCODE_DEFAULTS.keyVersion,
        firstSlot: 0,
        count: DOORCODE_DEFAULTS.slots,
        digits: DOORCODE_DEFAULTS.digits,
      },
      out,
    );
    const codes = Array.from(out, (code) => formatCode(code, DOORCODE_DEFAULTS.digits));
    if (this.#days.size >= CACHE_ENTRIES) this.#days.delete(this.#days.keys().next().value ?? '');
    this.#days.set(key, codes);
    return codes;
  }
}

/**
 * A permanent PIN for a door: not one of `taken` (the door's active PINs) nor any code in
 * `dailyCodes` (the horizon's slot codes); `undefined` after `PIN_DRAW_ATTEMPTS` draws.
 */
export function drawPermanentPin(
  random: RandomSource,
  taken: ReadonlySet<string>,
  dailyCodes: ReadonlySet<string>,
): string | undefined {
  for (let attempt = 0; attempt < PIN_DRAW_ATTEMPTS; attempt++) {
    const pin = drawPin(random);
    if (!taken.has(pin) && !dailyCodes.has(pin)) return pin;
  }
  return undefined;
}

/**
 * §5 slot choice: the lowest slot of `kind` not in `assigned` (assigned or revoked before, on
 * this door and day), whose code no other slot of the day shares and which equals no permanent
 * PIN of the door; `undefined` when none is left.
 */
export function chooseSlot(
  kind: DailyCodeKind,
  codes: readonly string[],
  assigned: ReadonlySet<number>,
  permanentPins: ReadonlySet<string>,
): number | undefined {
  const counts = new Map<string, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  const { first, end } = slotRange(kind);
  for (let slot = first; slot < end; slot++) {
    const code = codes[slot]!;
    if (assigned.has(slot) || counts.get(code)! > 1 || permanentPins.has(code)) continue;
    return slot;
  }
  return undefined;
}
