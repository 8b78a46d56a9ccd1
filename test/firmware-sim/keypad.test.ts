// The keypad as a pure step (ARCHITECTURE.md §3 "Keypad", §5; SECURITY.md items 22, 23, 24):
// entries, permanent and daily codes, single use, the lockout and its survival of power cuts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DayTable } from '../../protocol/doorcode/day-table.js';
import { formatCode } from '../../protocol/doorcode/deriver.js';
import { DOORCODE_ERRORS } from '../../protocol/doorcode/errors.js';
import {
  deriveCodeReference,
  deriveDayKey,
  deriveDoorKey,
  referenceDayCodes,
} from '../../protocol/doorcode/reference.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import type { DoorcodeRecord } from '../../protocol/formats/doorcode-record.js';
import { EVENT } from '../../firmware-sim/events.js';
import { openFlash } from '../../firmware-sim/flash.js';
import type { FlashStore, TornTail } from '../../firmware-sim/flash.js';
import {
  KEYPAD_DIGIT_TIMEOUT_MS,
  KEYPAD_LOCKOUT_MS,
  KEYPAD_MAX_WRONG_ENTRIES,
  KEYPAD_WRONG_WINDOW_MS,
  keypadFlashLayout,
  openKeypad,
  pressKey,
  setPermanentCodes,
  SINGLE_USE_VALIDITY_MS,
} from '../../firmware-sim/keypad.js';
import type { KeypadClock, KeypadResult, KeypadState } from '../../firmware-sim/keypad.js';
import { propertyRuns } from '../support/properties.js';

const MINUTE = 60_000;
const ZONE = 'America/New_York';
const PROPERTY_KEY = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const DOOR_KEY = deriveDoorKey(PROPERTY_KEY, 'door-1');
const OTHER_DOOR_KEY = deriveDoorKey(PROPERTY_KEY, 'door-2');
/** Local midnight between 4 and 5 July 2024 in New York (EDT, −4). */
const MIDNIGHT = Date.parse('2024-07-05T04:00:00Z');
/** 13:00 local on 4 July: the day's codes are valid for hours either side. */
const NOON = MIDNIGHT - 11 * 60 * MINUTE;
const GRACE_MS = 5 * MINUTE;

const id = (tag: number, n = 0): Uint8Array =>
  Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? tag : i === 15 ? n : 0));
const DOOR = id(0xa0, 1);
const OTHER_DOOR = id(0xb0, 2);
const PIN = '4815162';
const OTHER_DOOR_PIN = '2718281';
const WINDOWED_PIN = '3141592';
const RECORDS: readonly DoorcodeRecord[] = [
  { door: DOOR, id: id(0xdc, 1), pin: PIN, user: id(0x05, 1) },
  { door: OTHER_DOOR, id: id(0xdc, 2), pin: OTHER_DOOR_PIN, user: id(0x05, 2) },
  {
    door: DOOR,
    id: id(0xdc, 3),
    pin: WINDOWED_PIN,
    user: id(0x05, 3),
    notBefore: NOON,
    expires: NOON + 60 * MINUTE,
  },
];
/** Slots 0..191 are DAILY, 192..255 DAILY_SINGLE_USE (§5 defaults). */
const DAILY_SLOT = 3;
const SINGLE_SLOT = 200;

function codeOf(day: string, slot: number, doorKey = DOOR_KEY): string {
  return formatCode(deriveCodeReference(deriveDayKey(doorKey, day), slot, 7), 7);
}

const valid = (now: number): KeypadClock => ({ reading: now, graceMs: GRACE_MS });
const INVALID: KeypadClock = { reading: undefined, graceMs: GRACE_MS };

const table = new DayTable({ deriver: referenceDayCodes, doorKey: DOOR_KEY, timeZone: ZONE }, NOON);
const LAYOUT = keypadFlashLayout(table);

interface Rig {
  keypad: KeypadState;
  events: number[][];
}

function rig(flash: FlashStore = openFlash(LAYOUT), dayTable: DayTable = table): Rig {
  return {
    keypad: openKeypad({ door: DOOR, table: dayTable, flash, permanent: RECORDS }),
    events: [],
  };
}

/** Restarts the lock: a new store over the bytes that survived, a keypad restored from it. */
function restart(old: Rig): Rig {
  return rig(openFlash(LAYOUT, old.keypad.flash.bytes.slice()), old.keypad.table);
}

/** Presses each key of `keys` at `now`; the result of the last one. */
function type(
  { keypad, events }: Rig,
  keys: string,
  now: number,
  clock = valid(now),
): KeypadResult | undefined {
  let result: KeypadResult | undefined;
  for (const key of keys) {
    result = pressKey(keypad, key, now, clock, {
      emit: (e, a = 0, b = 0) => events.push([e, a, b]),
    });
  }
  return result;
}

const refused = (code: number): KeypadResult => ({ ok: false, code }) as KeypadResult;
const { INCORRECT, NOT_DIGITS, WRONG_LENGTH } = DOORCODE_ERRORS;
const { CLOCK_INVALID, EXPIRED, INTERNAL, LOCKED_OUT, NOT_YET_VALID } = WIRE_ERRORS;

describe('keypad entry', () => {
  it('accepts a permanent code of this door, and releases the charge it took', () => {
    const lock = rig();
    expect(type(lock, PIN.slice(0, 6), NOON)).toBeUndefined();
    expect(type(lock, PIN.slice(6), NOON)).toEqual({
      ok: true,
      kind: 'PERMANENT',
      recordId: id(0xdc, 1),
    });
    expect(lock.keypad.wrong).toBe(0);
    expect(lock.keypad.flash.writes).toBe(2);
  });

  it('ignores another door’s permanent codes and refuses its daily codes', () => {
    const lock = rig();
    expect(type(lock, OTHER_DOOR_PIN, NOON)).toEqual(refused(INCORRECT));
    expect(type(lock, codeOf('20240704', DAILY_SLOT, OTHER_DOOR_KEY), NOON)).toEqual(
      refused(INCORRECT),
    );
    expect(type(lock, codeOf('20240704', DAILY_SLOT), NOON)).toMatchObject({ ok: true });
  });

  it('refuses a short entry on # and a non-digit entry, and ignores # alone', () => {
    const lock = rig();
    expect(type(lock, '#', NOON)).toBeUndefined();
    expect(type(lock, '48151#', NOON)).toEqual(refused(WRONG_LENGTH));
    expect(type(lock, '48*5162', NOON)).toEqual(refused(NOT_DIGITS));
    // U+0130 would fold into '0' in a byte buffer.
    expect(type(lock, `\u0130${PIN.slice(1)}`, NOON)).toEqual(refused(NOT_DIGITS));
    expect(lock.keypad.wrong).toBe(3);
    expect(() => pressKey(lock.keypad, '12', NOON, valid(NOON), { emit: () => {} })).toThrow(
      TypeError,
    );
  });

  it('clears a partial entry after the digit timeout, not before', () => {
    const lock = rig();
    type(lock, PIN.slice(0, 3), NOON);
    expect(type(lock, PIN.slice(3), NOON + KEYPAD_DIGIT_TIMEOUT_MS - 1)).toMatchObject({
      ok: true,
    });
    const later = NOON + MINUTE;
    type(lock, PIN.slice(0, 3), later);
    // The rest arrives too late: it starts a new entry, which stays incomplete.
    expect(type(lock, PIN.slice(3), later + KEYPAD_DIGIT_TIMEOUT_MS)).toBeUndefined();
    expect(type(lock, '#', later + KEYPAD_DIGIT_TIMEOUT_MS)).toEqual(refused(WRONG_LENGTH));
    expect(type(lock, PIN, later + 2 * KEYPAD_DIGIT_TIMEOUT_MS)).toMatchObject({ ok: true });
  });

  it('holds a permanent code with a window to that window on the valid clock', () => {
    const lock = rig();
    expect(type(lock, WINDOWED_PIN, NOON - 1)).toEqual(refused(NOT_YET_VALID));
    expect(type(lock, WINDOWED_PIN, NOON)).toMatchObject({ ok: true, kind: 'PERMANENT' });
    expect(type(lock, WINDOWED_PIN, NOON + 60 * MINUTE)).toEqual(refused(EXPIRED));
  });

  it('with the clock invalid: refuses daily and windowed codes, still opens for a plain permanent code', () => {
    const lock = rig();
    expect(type(lock, codeOf('20240704', DAILY_SLOT), NOON, INVALID)).toEqual(
      refused(CLOCK_INVALID),
    );
    expect(type(lock, WINDOWED_PIN, NOON, INVALID)).toEqual(refused(CLOCK_INVALID));
    expect(type(lock, '0000000', NOON, INVALID)).toEqual(refused(CLOCK_INVALID));
    expect(type(lock, PIN, NOON, INVALID)).toMatchObject({ ok: true, kind: 'PERMANENT' });
  });

  it('takes new permanent codes from a sync', () => {
    const lock = rig();
    setPermanentCodes(lock.keypad, [{ ...RECORDS[1]!, door: DOOR }]);
    expect(type(lock, PIN, NOON)).toEqual(refused(INCORRECT));
    expect(type(lock, OTHER_DOOR_PIN, NOON)).toMatchObject({ ok: true });
  });
});

describe('daily codes (§5)', () => {
  it("accepts yesterday's code inside the grace after midnight, not after it", () => {
    const lock = rig();
    const yesterday = codeOf('20240704', DAILY_SLOT);
    expect(type(lock, yesterday, MIDNIGHT + 3 * MINUTE)).toEqual({
      ok: true,
      kind: 'DAILY',
      day: '20240704',
      slot: DAILY_SLOT,
    });
    expect(type(lock, yesterday, MIDNIGHT + GRACE_MS + 1)).toEqual(refused(INCORRECT));
    expect(type(lock, codeOf('20240705', DAILY_SLOT), MIDNIGHT + GRACE_MS + 1)).toMatchObject({
      ok: true,
      day: '20240705',
    });
  });

  it('a single-use code: again within 15 min of its first use, never after', () => {
    const lock = rig();
    const code = codeOf('20240704', SINGLE_SLOT);
    const first = { ok: true, kind: 'DAILY_SINGLE_USE', day: '20240704', slot: SINGLE_SLOT };
    expect(type(lock, code, NOON)).toEqual(first);
    expect(type(lock, code, NOON + SINGLE_USE_VALIDITY_MS - 1)).toEqual(first);
    expect(type(lock, code, NOON + SINGLE_USE_VALIDITY_MS)).toEqual(refused(EXPIRED));
    expect(type(lock, codeOf('20240704', DAILY_SLOT), NOON + 60 * MINUTE)).toMatchObject({
      ok: true,
      kind: 'DAILY',
    });
  });

  it('a single-use code: its first use survives a restart', () => {
    const code = codeOf('20240704', SINGLE_SLOT);
    let lock = rig();
    expect(type(lock, code, NOON)).toMatchObject({ ok: true });
    lock = restart(lock);
    expect(type(lock, code, NOON + 10 * MINUTE)).toMatchObject({ ok: true });
    lock = restart(lock);
    expect(type(lock, code, NOON + 20 * MINUTE)).toEqual(refused(EXPIRED));
  });

  it('a single-use code: a cut at the write of its first use grants nothing', () => {
    const code = codeOf('20240704', SINGLE_SLOT);
    const lock = rig();
    // Write 1 charges the counter, write 2 records the first use.
    lock.keypad.flash.injectFault({ kind: 'power-cut', atWrite: 2, landed: 0, tail: 'erased' });
    expect(type(lock, code, NOON)).toEqual(refused(INTERNAL));
    const after = restart(lock);
    expect(after.keypad.firstUses.size).toBe(0);
    expect(after.keypad.wrong).toBe(1);
  });
});

describe('wrong-code lockout (SECURITY.md item 22)', () => {
  const wrong = '0000000';

  function lockOut(lock: Rig, now: number): void {
    for (let i = 1; i < KEYPAD_MAX_WRONG_ENTRIES; i++) {
      expect(type(lock, wrong, now + i)).toEqual(refused(INCORRECT));
    }
    expect(lock.events).toEqual([]);
    expect(type(lock, wrong, now + KEYPAD_MAX_WRONG_ENTRIES)).toEqual(refused(INCORRECT));
    expect(lock.events).toEqual([
      [EVENT.KEYPAD_LOCKOUT, KEYPAD_MAX_WRONG_ENTRIES, KEYPAD_LOCKOUT_MS],
    ]);
  }

  it('refuses even a valid code until the lockout ends, then counts afresh', () => {
    const lock = rig();
    lockOut(lock, NOON);
    const start = NOON + KEYPAD_MAX_WRONG_ENTRIES;
    expect(type(lock, PIN, start + 1)).toEqual(refused(LOCKED_OUT));
    expect(type(lock, codeOf('20240704', DAILY_SLOT), start + 1)).toEqual(refused(LOCKED_OUT));
    expect(type(lock, PIN, start + KEYPAD_LOCKOUT_MS - 1)).toEqual(refused(LOCKED_OUT));
    expect(type(lock, wrong, start + KEYPAD_LOCKOUT_MS)).toEqual(refused(INCORRECT));
    expect(lock.keypad.wrong).toBe(1);
    expect(type(lock, PIN, start + KEYPAD_LOCKOUT_MS)).toMatchObject({ ok: true });
    expect(lock.events).toHaveLength(1);
  });

  it('counts wrong entries within a window from the first; a grant resets the count', () => {
    const lock = rig();
    const almost = KEYPAD_MAX_WRONG_ENTRIES - 1;
    for (let i = 0; i < almost; i++) type(lock, wrong, NOON);
    expect(type(lock, wrong, NOON + KEYPAD_WRONG_WINDOW_MS)).toEqual(refused(INCORRECT));
    expect(lock.keypad.wrong).toBe(1);
    for (let i = 1; i < almost; i++) type(lock, wrong, NOON + KEYPAD_WRONG_WINDOW_MS);
    expect(type(lock, PIN, NOON + KEYPAD_WRONG_WINDOW_MS)).toMatchObject({ ok: true });
    for (let i = 0; i < almost; i++) type(lock, wrong, NOON + KEYPAD_WRONG_WINDOW_MS);
    expect(lock.events).toEqual([]);
  });

  it('survives a power cut: the lockout and a partial count are restored from flash', () => {
    let lock = rig();
    lockOut(lock, NOON);
    lock = restart(lock);
    expect(type(lock, PIN, NOON + MINUTE)).toEqual(refused(LOCKED_OUT));

    let counting = rig();
    for (let i = 1; i < KEYPAD_MAX_WRONG_ENTRIES; i++) type(counting, wrong, NOON);
    counting = restart(counting);
    expect(type(counting, wrong, NOON + 1)).toEqual(refused(INCORRECT));
    expect(type(counting, PIN, NOON + 2)).toEqual(refused(LOCKED_OUT));
  });

  it('charges before checking: a cut at that write leaves no check and the old count', () => {
    const lock = rig();
    type(lock, wrong, NOON);
    lock.keypad.flash.injectFault({ kind: 'power-cut', atWrite: 2, landed: 8, tail: 'old' });
    expect(type(lock, PIN, NOON + 1)).toEqual(refused(INTERNAL));
    expect(restart(lock).keypad.wrong).toBe(1);
  });

  it('a write failure while charging refuses without a check; one while releasing still grants', () => {
    const lock = rig();
    lock.keypad.flash.injectFault({ kind: 'write-failure', atWrite: 1 });
    expect(type(lock, PIN, NOON)).toEqual(refused(INTERNAL));
    expect(lock.keypad.wrong).toBe(0);
    lock.keypad.flash.injectFault({ kind: 'write-failure', atWrite: 3 });
    expect(type(lock, PIN, NOON)).toMatchObject({ ok: true });
    expect(lock.keypad.wrong).toBe(1);
  });
});

describe('power cut at a random flash write (SECURITY.md item 24)', () => {
  type Which = 'pin' | 'daily' | 'single' | 'wrong' | 'short';
  type Action = { kind: 'enter'; which: Which } | { kind: 'wait'; ms: number } | { kind: 'jump' };
  interface Fault {
    readonly after: number;
    readonly cut: boolean;
    readonly landed: number;
    readonly tail: TornTail;
    readonly noise: number;
  }

  /** 01:00 local on 4 July: 40 actions, even all jumps, stay within the day. */
  const START = MIDNIGHT - 23 * 60 * MINUTE;
  /** Longer than the window and the lockout, so a jump clears any count. */
  const JUMP = Math.max(KEYPAD_WRONG_WINDOW_MS, KEYPAD_LOCKOUT_MS) + 5 * MINUTE;
  const CODES: Record<Which, string> = {
    pin: PIN,
    daily: codeOf('20240704', DAILY_SLOT),
    single: codeOf('20240704', SINGLE_SLOT),
    wrong: '0000000',
    short: '123#',
  };
  const CORRECT: ReadonlySet<Which> = new Set(['pin', 'daily', 'single']);

  /** Counts daily-code checks, which every 7-digit entry but a permanent code reaches. */
  class SpiedTable extends DayTable {
    checks = 0;
    override check(...args: Parameters<DayTable['check']>): ReturnType<DayTable['check']> {
      this.checks++;
      return super.check(...args);
    }
  }
  const spied = new SpiedTable(
    { deriver: referenceDayCodes, doorKey: DOOR_KEY, timeZone: ZONE },
    START,
  );

  // Wrong entries outnumber the right ones, so runs reach the lockout and cut its writes.
  const which = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom<Which>('pin', 'daily', 'single') },
    { weight: 3, arbitrary: fc.constantFrom<Which>('wrong', 'short') },
  );
  const action: fc.Arbitrary<Action> = fc.oneof(
    { weight: 12, arbitrary: fc.record({ kind: fc.constant('enter' as const), which }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('wait' as const),
        ms: fc.integer({ min: 0, max: 10_000 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('jump' as const) }) },
  );
  const fault: fc.Arbitrary<Fault> = fc.record({
    after: fc.integer({ min: 1, max: 6 }),
    cut: fc.boolean(),
    landed: fc.integer({ min: 0, max: 64 }),
    tail: fc.constantFrom<TornTail>('old', 'erased', 'partial', 'half-erased'),
    noise: fc.nat(),
  });

  it('never rolls the counter back, never grants a wrong code, never grants past the lockout', () => {
    expect(table.check(CODES.wrong, START, { graceMs: GRACE_MS }).ok).toBe(false);
    fc.assert(
      fc.property(
        fc.array(action, { maxLength: 40 }),
        fc.array(fault, { maxLength: 8 }),
        (actions, faults) => {
          const pending = [...faults];
          let lock = rig(openFlash(LAYOUT), spied);
          let armedAt = 0;
          const arm = (): void => {
            const next = pending.shift();
            if (next === undefined) return;
            const flash = lock.keypad.flash;
            armedAt = flash.writes + next.after;
            flash.injectFault(
              next.cut
                ? {
                    kind: 'power-cut',
                    atWrite: armedAt,
                    landed: next.landed,
                    tail: next.tail,
                    noise: next.noise,
                  }
                : { kind: 'write-failure', atWrite: armedAt },
            );
          };
          arm();
          /** Refused entries that were checked since the last grant: what an attacker learned. */
          let checkedWrong = 0;
          let firstSingleGrant: number | undefined;
          let t = START;
          for (const step of actions) {
            if (step.kind === 'wait') {
              t += step.ms;
              continue;
            }
            if (step.kind === 'jump') {
              t += JUMP;
              checkedWrong = 0;
              continue;
            }
            const before = lock.keypad;
            const checks = spied.checks;
            const result = type(lock, CODES[step.which], t);
            const correct = CORRECT.has(step.which);
            if (result?.ok === true) {
              expect(correct).toBe(true);
              expect(checkedWrong).toBeLessThan(KEYPAD_MAX_WRONG_ENTRIES);
              if (step.which === 'single') {
                firstSingleGrant ??= t;
                expect(t - firstSingleGrant).toBeLessThan(SINGLE_USE_VALIDITY_MS);
              }
              checkedWrong = 0;
            } else if (!before.flash.alive) {
              // The lock lost power mid-entry. If the code was checked, the attacker may have
              // learned the answer before the cut (a write that only follows a wrong code, say).
              if (correct) checkedWrong = 0;
              else if (spied.checks > checks) checkedWrong++;
              lock = restart(lock);
              const restored = lock.keypad;
              // Below the last committed count only if this entry's write started a fresh window.
              if (!correct) {
                expect(restored.wrong >= before.wrong || restored.windowStart === t).toBe(true);
              }
              arm();
            } else if (result?.code !== LOCKED_OUT && result?.code !== INTERNAL) {
              checkedWrong++;
            }
            if (lock.keypad.flash.writes >= armedAt) arm();
            expect(lock.keypad.wrong).toBeGreaterThanOrEqual(checkedWrong);
            if (checkedWrong >= KEYPAD_MAX_WRONG_ENTRIES) {
              expect(lock.keypad.lockoutUntil).toBeGreaterThan(t);
            }
          }
        },
      ),
      { numRuns: propertyRuns(300, 20_000) },
    );
  });
});
