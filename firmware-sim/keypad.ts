/**
 * A lock's keypad (ARCHITECTURE.md §3 "Keypad" and "Access types"; §5; SECURITY.md items 22, 23,
 * 24): key presses gathered into an entry, checked against the door's permanent doorcodes and its
 * daily codes, behind a wrong-code lockout that survives power loss. Not yet wired into the World:
 * the lock calls `pressKey` for each key and actuates on a granted result.
 *
 * One step is `(state, key, now, clock) → result + events`: `now` is world time, the firmware's
 * monotonic tick (as for `controller.ts`'s timers), and `clock` the RTC's reading and grace. The
 * state is a small record plus the lock's flash store; it reads no clock and sets no timer.
 *
 * Entry. Digits accumulate; `#` completes a shorter entry, and reaching the longest code length
 * completes one on its own. A pause of `KEYPAD_DIGIT_TIMEOUT_MS` clears a partial entry; it is
 * cleared at the next key, which is the only moment the firmware can tell, so no timer is needed.
 * Any other key is kept and makes the entry fail `NOT_DIGITS` (a keypad glitch or a key without a
 * digit). Results carry no code, and events carry none either.
 *
 * A completed entry:
 * 1. lockout: during one, every entry fails `LOCKED_OUT`, even a valid code (item 22);
 * 2. the wrong-entry counter is charged and committed to flash *before* the code is checked, and
 *    released after a grant: a power cut at any moment leaves the charge in place or never lets
 *    the check run, so cutting power cannot buy an uncounted guess (items 22, 24);
 * 3. the code is decided by the lock's one authorization function (`access.ts` `authorize`:
 *    permanent codes of this door, daily codes, their clocks and windows, single use);
 * 4. a DAILY_SINGLE_USE code's first use is committed to flash before the grant.
 * Every refused entry counts toward the lockout, `CLOCK_INVALID` included: otherwise a lock
 * with a lost clock would let anyone guess permanent codes without limit.
 */
import type { DailyCodeKind, DayTable } from '../protocol/doorcode/day-table.js';
import { MAX_DIGITS } from '../protocol/doorcode/deriver.js';
import type { DoorcodeErrorCode } from '../protocol/doorcode/errors.js';
import { WIRE_ERRORS } from '../protocol/errors.js';
import type { WireErrorCode } from '../protocol/errors.js';
import type { Result } from '../protocol/result.js';
import { PERMANENT_PIN_DIGITS } from '../protocol/formats/doorcode-record.js';
import type { DoorcodeRecord } from '../protocol/formats/doorcode-record.js';
import { authorize, NO_PERMANENT_CODES, permanentCodes, SINGLE_USE_VALIDITY_MS } from './access.js';
import type { AccessState, PermanentCodes } from './access.js';
import type { Effects } from './effects.js';
import { EVENT } from './events.js';
import { FLASH_ERRORS } from './flash.js';
import type { FlashErrorCode, FlashLayout, FlashStore } from './flash.js';

/** A partial entry is dropped after this long without a key; 5 s is the usual keypad default. */
export const KEYPAD_DIGIT_TIMEOUT_MS = 5_000;
/** Wrong entries that start a lockout (SECURITY.md item 22), when they fall within the window. */
export const KEYPAD_MAX_WRONG_ENTRIES = 5;
/** The window of the wrong-entry count, from the first wrong entry; after it the count restarts. */
export const KEYPAD_WRONG_WINDOW_MS = 10 * 60_000;
/**
 * How long a lockout lasts. With the window, a patient guesser gets at most 4 guesses per 10 min
 * (576 a day) against 10^7 codes of 7 digits.
 */
export const KEYPAD_LOCKOUT_MS = 15 * 60_000;
export { SINGLE_USE_VALIDITY_MS };

/** The keypad's flash records (`flash.ts`): one per concern, as the store prefers. */
export const KEYPAD_FLASH = {
  /** The wrong-entry counter: count u32 ‖ window start f64 ‖ lockout end f64 (world ms). */
  COUNTER: 'keypad-counter',
  /** First uses of single-use codes: count u16, then day u32 ‖ slot u16 ‖ first use f64 (RTC ms). */
  SINGLE_USE: 'keypad-single-use',
} as const;
const COUNTER_BYTES = 20;
const FIRST_USE_BYTES = 14;
/** Days the day table holds, so days a first use is kept for (§5: yesterday, today, tomorrow). */
const TABLE_DAYS = 3;

/** Where a step writes its events: the lock's effect buffer (`effects.ts`). */
export type KeypadEvents = Pick<Effects, 'emit'>;

/** The lock's clock at a key press: its RTC reading (`undefined` when invalid) and §5 grace. */
export interface KeypadClock {
  readonly reading: number | undefined;
  /** `graceMs(msSinceLastSync)` from `day-table.ts`. */
  readonly graceMs: number;
}

export type KeypadErrorCode = DoorcodeErrorCode | WireErrorCode;

export type KeypadResult =
  | { readonly ok: true; readonly kind: 'PERMANENT'; readonly recordId: Uint8Array }
  | { readonly ok: true; readonly kind: DailyCodeKind; readonly day: string; readonly slot: number }
  | { readonly ok: false; readonly code: KeypadErrorCode };

/** The keypad's state. Fields are read by tests and the lock; only this module writes them. */
export interface KeypadState {
  /** The lock id: doorcode records for another door are ignored. */
  readonly door: Uint8Array;
  /** The daily-code table; `undefined` until the lock can derive it (time zone, valid clock). */
  table: DayTable | undefined;
  /**
   * `L` of the door's daily codes when it has them, also while the table is not built (a lost
   * clock): such an entry is then `CLOCK_INVALID`, not `INCORRECT`. Default: the table's.
   */
  dailyDigits: number | undefined;
  readonly flash: FlashStore;
  /** This door's permanent doorcodes, packed for `authorize`. */
  permanent: PermanentCodes;
  /** The entry in progress, as UTF-16 code units of the keys (wide, so no key folds into a digit). */
  readonly keys: Uint16Array;
  length: number;
  lastKeyAt: number;
  /** The committed wrong-entry counter (world ms for the times; 0 when unset). */
  wrong: number;
  windowStart: number;
  lockoutUntil: number;
  /** First uses of single-use codes: `day · 2^16 + slot` → RTC ms. */
  readonly firstUses: Map<number, number>;
}

export interface KeypadOptions {
  readonly door: Uint8Array;
  readonly table?: DayTable;
  readonly flash: FlashStore;
  readonly permanent?: readonly DoorcodeRecord[];
}

const fail = (code: KeypadErrorCode): KeypadResult => Object.freeze({ ok: false, code });
const LOCKED_OUT = fail(WIRE_ERRORS.LOCKED_OUT);
/** A flash write failed or power was lost: refused without a check, or without the grant. */
const INTERNAL = fail(WIRE_ERRORS.INTERNAL);
/** The longest entry the keypad holds: §5 codes have at most `MAX_DIGITS` digits. */
const MAX_ENTRY_KEYS = Math.max(PERMANENT_PIN_DIGITS, MAX_DIGITS);

const KEY_ENTER = '#';
const firstUseKey = (day: string, slot: number): number => Number(day) * 0x10000 + slot;

/** The keypad's records, sized for `table`'s single-use slots; add them to the lock's layout. */
export function keypadFlashLayout(table: Pick<DayTable, 'slots' | 'dailySlots'>): FlashLayout {
  const singleUse = table.slots - table.dailySlots;
  return [
    { key: KEYPAD_FLASH.COUNTER, capacity: COUNTER_BYTES },
    { key: KEYPAD_FLASH.SINGLE_USE, capacity: 2 + TABLE_DAYS * singleUse * FIRST_USE_BYTES },
  ];
}

/**
 * The keypad at boot: its counter and first uses restored from `flash` (a fresh one, or a store
 * reopened over the bytes that survived a power cut), the entry empty.
 */
export function openKeypad(options: KeypadOptions): KeypadState {
  const { door, table, flash } = options;
  const state: KeypadState = {
    door,
    table,
    flash,
    permanent: NO_PERMANENT_CODES,
    dailyDigits: undefined,
    keys: new Uint16Array(MAX_ENTRY_KEYS),
    length: 0,
    lastKeyAt: 0,
    wrong: 0,
    windowStart: 0,
    lockoutUntil: 0,
    firstUses: new Map(),
  };
  const counter = flash.read(KEYPAD_FLASH.COUNTER);
  if (counter !== undefined) {
    if (counter.length !== COUNTER_BYTES) throw new RangeError('keypad counter record: bad size');
    const view = new DataView(counter.buffer, counter.byteOffset, counter.length);
    state.wrong = view.getUint32(0, true);
    state.windowStart = view.getFloat64(4, true);
    state.lockoutUntil = view.getFloat64(12, true);
  }
  const uses = flash.read(KEYPAD_FLASH.SINGLE_USE);
  if (uses !== undefined) {
    const view = new DataView(uses.buffer, uses.byteOffset, uses.length);
    const count = uses.length < 2 ? -1 : view.getUint16(0, true);
    if (uses.length !== 2 + count * FIRST_USE_BYTES) {
      throw new RangeError('keypad single-use record: bad size');
    }
    for (let i = 0, at = 2; i < count; i++, at += FIRST_USE_BYTES) {
      const key = view.getUint32(at, true) * 0x10000 + view.getUint16(at + 4, true);
      state.firstUses.set(key, view.getFloat64(at + 6, true));
    }
  }
  setPermanentCodes(state, options.permanent ?? []);
  return state;
}

/** Installs the permanent doorcodes of a sync (§3), keeping only this door's. */
export function setPermanentCodes(state: KeypadState, records: readonly DoorcodeRecord[]): void {
  state.permanent = permanentCodes(state.door, records);
}

/**
 * One key press at world time `now`. Returns the result of the entry it completes, or
 * `undefined` while the entry is still open. Anything but a one-character key is a bug.
 */
export function pressKey(
  state: KeypadState,
  key: string,
  now: number,
  clock: KeypadClock,
  out: KeypadEvents,
): KeypadResult | undefined {
  if (typeof key !== 'string' || key.length !== 1) {
    throw new TypeError('key: expected one character');
  }
  if (state.length > 0 && now - state.lastKeyAt >= KEYPAD_DIGIT_TIMEOUT_MS) state.length = 0;
  state.lastKeyAt = now;
  if (key !== KEY_ENTER) {
    state.keys[state.length++] = key.charCodeAt(0);
    // The longest code this door takes completes an entry on its own.
    const longest = Math.max(PERMANENT_PIN_DIGITS, state.dailyDigits ?? state.table?.digits ?? 0);
    if (state.length < longest) return undefined;
  } else if (state.length === 0) {
    return undefined;
  }
  const entry = String.fromCharCode(...state.keys.subarray(0, state.length));
  state.length = 0;
  return completeEntry(state, entry, now, clock, out);
}

function completeEntry(
  state: KeypadState,
  entry: string,
  now: number,
  clock: KeypadClock,
  out: KeypadEvents,
): KeypadResult {
  if (now < state.lockoutUntil) return LOCKED_OUT;
  // A served lockout or a window gone by starts the count afresh.
  const fresh = state.lockoutUntil !== 0 || now - state.windowStart >= KEYPAD_WRONG_WINDOW_MS;
  const before = fresh ? 0 : state.wrong;
  const wrong = before + 1;
  const windowStart = before === 0 ? now : state.windowStart;
  const lockoutUntil = wrong >= KEYPAD_MAX_WRONG_ENTRIES ? now + KEYPAD_LOCKOUT_MS : 0;
  if (!commitCounter(state, wrong, windowStart, lockoutUntil).ok) return INTERNAL;

  const decision = authorize(accessState(state, clock), { kind: 'doorcode', entry });
  if (!decision.ok) {
    if (lockoutUntil !== 0) {
      out.emit(EVENT.KEYPAD_LOCKOUT, wrong, KEYPAD_LOCKOUT_MS);
    }
    return fail(decision.code);
  }
  const { grant } = decision;
  let result: KeypadResult;
  if (grant.kind === 'PERMANENT') {
    result = { ok: true, kind: 'PERMANENT', recordId: grant.record.id };
  } else if (grant.kind === 'mobile-key') {
    throw new Error('a keypad entry was granted as a mobile key');
  } else {
    result = { ok: true, kind: grant.kind, day: grant.day, slot: grant.slot };
    if (grant.firstUse && clock.reading !== undefined) {
      const key = firstUseKey(grant.day, grant.slot);
      if (!recordFirstUse(state, key, clock.reading)) return INTERNAL;
    }
  }
  const released = commitCounter(state, 0, 0, 0);
  // A failed release leaves the charge counted, which only errs toward the lockout; but with the
  // power gone the lock cannot actuate, so the grant is lost.
  if (!released.ok && released.code === FLASH_ERRORS.POWER_LOST) return INTERNAL;
  return result;
}

/** Commits the counter, then mirrors it in RAM; on failure RAM keeps the last committed value. */
function commitCounter(
  state: KeypadState,
  wrong: number,
  windowStart: number,
  lockoutUntil: number,
): Result<number, FlashErrorCode> {
  const payload = new Uint8Array(COUNTER_BYTES);
  const view = new DataView(payload.buffer);
  view.setUint32(0, wrong, true);
  view.setFloat64(4, windowStart, true);
  view.setFloat64(12, lockoutUntil, true);
  const committed = state.flash.commit(KEYPAD_FLASH.COUNTER, payload);
  if (committed.ok) {
    state.wrong = wrong;
    state.windowStart = windowStart;
    state.lockoutUntil = lockoutUntil;
  }
  return committed;
}

/**
 * Commits the first use of a single-use code, with the first uses of the days the table still
 * holds (older ones can never match again); true once committed.
 */
function recordFirstUse(state: KeypadState, key: number, reading: number): boolean {
  const held = state.table?.days.map(Number) ?? [];
  const kept = [...state.firstUses].filter(([k]) => held.includes(Math.floor(k / 0x10000)));
  kept.push([key, reading]);
  const payload = new Uint8Array(2 + kept.length * FIRST_USE_BYTES);
  const view = new DataView(payload.buffer);
  view.setUint16(0, kept.length, true);
  kept.forEach(([k, first], i) => {
    const at = 2 + i * FIRST_USE_BYTES;
    view.setUint32(at, Math.floor(k / 0x10000), true);
    view.setUint16(at + 4, k % 0x10000, true);
    view.setFloat64(at + 6, first, true);
  });
  if (!state.flash.commit(KEYPAD_FLASH.SINGLE_USE, payload).ok) return false;
  state.firstUses.clear();
  for (const [k, first] of kept) state.firstUses.set(k, first);
  return true;
}

/** What `authorize` reads for a keypad entry: the door's codes, its table and clock. */
function accessState(state: KeypadState, clock: KeypadClock): AccessState {
  return {
    lockId: state.door,
    clock,
    // Mobile keys never reach the keypad.
    hasCredential: () => false,
    isCredentialRevoked: () => false,
    permanent: state.permanent,
    dailyDigits: state.dailyDigits ?? state.table?.digits,
    // `authorize` asks only when `dailyDigits` is set, so only with a table.
    dayTable: () => state.table as DayTable,
    firstUse: (day, slot) => state.firstUses.get(firstUseKey(day, slot)),
  };
}
