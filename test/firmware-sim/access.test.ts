// The lock's one authorization function (ARCHITECTURE.md §3, §4 "Credentials"; SECURITY.md
// items 16–19, 22, 23): the order of the mobile-key checks, permanent versus time-limited access
// on a lost clock, schedules across DST changes, roles, and the audit words of each decision.
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
import type { Credential } from '../../protocol/formats/credential.js';
import {
  authorize,
  NO_PERMANENT_CODES,
  permanentCodes,
  SINGLE_USE_VALIDITY_MS,
} from '../../firmware-sim/access.js';
import type { AccessState, Operation } from '../../firmware-sim/access.js';
import { localWeekMinute } from '../../firmware-sim/weekly-window.js';
import { propertyRuns } from '../support/properties.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const id = (tag: number, n = 0): Uint8Array =>
  Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? tag : i === 15 ? n : 0));
const LOCK = id(0xa0, 1);
const OTHER_LOCK = id(0xb0, 2);
const PHONE = new Uint8Array(32).fill(0x11);
const OTHER_PHONE = new Uint8Array(32).fill(0x12);
/** Monday 2026-03-02 12:00 UTC. */
const T0 = Date.UTC(2026, 2, 2, 12);

const resident: Credential = {
  id: id(0xc0, 1),
  user: id(0x05, 1),
  phoneKey: PHONE,
  doors: [OTHER_LOCK, LOCK],
  notBefore: T0 - 30 * 24 * HOUR,
  expires: T0 + 365 * 24 * HOUR,
  epoch: 1,
  role: 'resident',
};

function lockState(overrides: Partial<AccessState> = {}): AccessState {
  return {
    lockId: LOCK,
    clock: { reading: T0, graceMs: 5 * MINUTE },
    hasCredential: () => true,
    isCredentialRevoked: () => false,
    permanent: NO_PERMANENT_CODES,
    dailyDigits: undefined,
    dayTable: () => {
      throw new Error('no day table');
    },
    firstUse: () => undefined,
    ...overrides,
  };
}

const key = (
  credential: Credential,
  operation: Operation = 'unlock',
  sessionKey: Uint8Array = PHONE,
) => ({ kind: 'mobile-key', operation, credential, sessionKey }) as const;

describe('mobile keys', () => {
  it('grants a provisioned resident key, with the audit words of the vendor', () => {
    const decision = authorize(lockState(), key(resident));
    expect(decision).toMatchObject({
      ok: true,
      grant: { kind: 'mobile-key', operation: 'unlock' },
      audit: { method: 'BLE', result: 'SUCCESS', credential: resident.id, user: resident.user },
    });
    expect(authorize(lockState(), key(resident, 'lock')).audit).toMatchObject({
      method: 'BLE_LOCK',
      result: 'LOCK_SUCCESS',
    });
  });

  it('checks door, phone binding, revocation, cache, role and time in that order', () => {
    // Each refusal below also fails every later check, so the first failing check must win.
    const bad: Credential = {
      ...resident,
      doors: [OTHER_LOCK],
      role: 'guest',
      sharedBy: id(0x05, 9),
      expires: T0 - 1,
      notBefore: T0 - 2,
    };
    const everythingWrong = lockState({
      hasCredential: () => false,
      isCredentialRevoked: () => true,
      clock: { reading: undefined, graceMs: 0 },
    });
    const steps: [Credential, AccessState, Operation, Uint8Array, number][] = [
      [bad, everythingWrong, 'passage', OTHER_PHONE, WIRE_ERRORS.WRONG_DOOR],
      [{ ...bad, doors: [LOCK] }, everythingWrong, 'passage', OTHER_PHONE, WIRE_ERRORS.AUTH_FAILED],
      [{ ...bad, doors: [LOCK] }, everythingWrong, 'passage', PHONE, WIRE_ERRORS.REVOKED],
      [
        { ...bad, doors: [LOCK] },
        lockState({ hasCredential: () => false, clock: { reading: undefined, graceMs: 0 } }),
        'passage',
        PHONE,
        WIRE_ERRORS.NOT_PROVISIONED,
      ],
      [
        { ...bad, doors: [LOCK] },
        lockState({ clock: { reading: undefined, graceMs: 0 } }),
        'passage',
        PHONE,
        WIRE_ERRORS.FORBIDDEN,
      ],
      [
        { ...bad, doors: [LOCK] },
        lockState({ clock: { reading: undefined, graceMs: 0 } }),
        'unlock',
        PHONE,
        WIRE_ERRORS.CLOCK_INVALID,
      ],
      [{ ...bad, doors: [LOCK] }, lockState(), 'unlock', PHONE, WIRE_ERRORS.EXPIRED],
    ];
    for (const [credential, state, operation, sessionKey, code] of steps) {
      const decision = authorize(state, key(credential, operation, sessionKey));
      expect(decision.ok).toBe(false);
      expect(decision.ok ? 0 : decision.code).toBe(code);
    }
  });

  it('gives passage mode to managers only (SECURITY.md 19)', () => {
    for (const role of ['resident', 'vendor'] as const) {
      expect(authorize(lockState(), key({ ...resident, role }, 'passage'))).toMatchObject({
        ok: false,
        code: WIRE_ERRORS.FORBIDDEN,
        audit: { result: 'INCORRECT' },
      });
    }
    expect(authorize(lockState(), key({ ...resident, role: 'manager' }, 'passage')).ok).toBe(true);
  });

  it('lets a hub key do nothing to the door: unlock, lock and passage are FORBIDDEN', () => {
    const hub: Credential = { ...resident, role: 'hub' };
    for (const operation of ['unlock', 'lock', 'passage'] as const) {
      expect(authorize(lockState(), key(hub, operation))).toMatchObject({
        ok: false,
        code: WIRE_ERRORS.FORBIDDEN,
        audit: { result: 'INCORRECT', credential: hub.id },
      });
    }
    // A lost clock changes nothing: the role is checked before time.
    const lost = lockState({ clock: { reading: undefined, graceMs: 0 } });
    expect(authorize(lost, key(hub))).toMatchObject({ ok: false, code: WIRE_ERRORS.FORBIDDEN });
  });

  it('is exact at not-before and expiry on the lock’s clock (SECURITY.md 16)', () => {
    const at = (reading: number) =>
      authorize(lockState({ clock: { reading, graceMs: 0 } }), key(resident));
    expect(at(resident.notBefore - 1)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.NOT_YET_VALID,
      audit: { result: 'OUTSIDE_QUALIFIED_ACCESS' },
    });
    expect(at(resident.notBefore).ok).toBe(true);
    expect(at(resident.expires - 1).ok).toBe(true);
    expect(at(resident.expires)).toMatchObject({ ok: false, code: WIRE_ERRORS.EXPIRED });
  });

  it('keeps residents in after a power loss, and fails guests, vendors and schedules closed', () => {
    const lost = lockState({ clock: { reading: undefined, graceMs: 0 } });
    expect(authorize(lost, key(resident)).ok).toBe(true);
    expect(authorize(lost, key({ ...resident, role: 'manager' })).ok).toBe(true);
    const limited: Credential[] = [
      { ...resident, role: 'guest', sharedBy: id(0x05, 9) },
      { ...resident, role: 'vendor' },
      {
        ...resident,
        schedule: { timeZone: 'UTC', windows: [{ days: 0x7f, start: 0, end: 1440 }] },
      },
    ];
    for (const credential of limited) {
      expect(authorize(lost, key(credential))).toMatchObject({
        ok: false,
        code: WIRE_ERRORS.CLOCK_INVALID,
        audit: { result: 'UNKNOWN_TIME_FAILURE' },
      });
      expect(authorize(lockState(), key(credential)).ok).toBe(true);
    }
  });

  it('runs schedules on local wall-clock time across DST changes (SECURITY.md 16)', () => {
    // A vendor may enter 09:00–10:00 New York time on Sundays. 2026-03-08 is the spring-forward
    // Sunday (EST −5 → EDT −4), 2026-11-01 the fall-back Sunday.
    const vendor: Credential = {
      ...resident,
      role: 'vendor',
      schedule: {
        timeZone: 'America/New_York',
        windows: [{ days: 1 << 6, start: 9 * 60, end: 10 * 60 }],
      },
    };
    const at = (iso: string) =>
      authorize(lockState({ clock: { reading: Date.parse(iso), graceMs: 0 } }), key(vendor));
    // Before the change, 09:00 local is 14:00 UTC; after it, 13:00 UTC.
    expect(at('2026-03-01T14:00:00Z').ok).toBe(true);
    expect(at('2026-03-01T13:59:59Z')).toMatchObject({ code: WIRE_ERRORS.OUTSIDE_SCHEDULE });
    expect(at('2026-03-08T13:00:00Z').ok).toBe(true);
    expect(at('2026-03-08T12:59:59Z')).toMatchObject({ code: WIRE_ERRORS.OUTSIDE_SCHEDULE });
    expect(at('2026-03-08T13:59:59Z').ok).toBe(true);
    expect(at('2026-03-08T14:00:00Z')).toMatchObject({ code: WIRE_ERRORS.OUTSIDE_SCHEDULE });
    expect(at('2026-11-01T14:00:00Z').ok).toBe(true);
    expect(at('2026-11-01T13:59:59Z')).toMatchObject({ code: WIRE_ERRORS.OUTSIDE_SCHEDULE });
    // A Monday at the same local time is outside.
    expect(at('2026-03-09T13:30:00Z')).toMatchObject({ code: WIRE_ERRORS.OUTSIDE_SCHEDULE });
  });

  it('reads weekdays and minutes of the wall clock', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), (t) => {
        const { weekday, minute } = localWeekMinute(t, 'UTC');
        const date = new Date(t);
        expect(weekday).toBe((date.getUTCDay() + 6) % 7);
        expect(minute).toBe(date.getUTCHours() * 60 + date.getUTCMinutes());
      }),
      { numRuns: propertyRuns(200, 100_000) },
    );
  });
});

describe('keypad entries', () => {
  const ZONE = 'America/New_York';
  const DOOR_KEY = deriveDoorKey(new Uint8Array(32).fill(0x42), 'door-1');
  const NOON = Date.parse('2024-07-04T17:00:00Z');
  const table = new DayTable(
    { deriver: referenceDayCodes, doorKey: DOOR_KEY, timeZone: ZONE },
    NOON,
  );
  const code = (slot: number) =>
    formatCode(deriveCodeReference(deriveDayKey(DOOR_KEY, '20240704'), slot, 7), 7);
  const permanent = permanentCodes(LOCK, [
    { door: LOCK, id: id(0xdc, 1), pin: '4815162', user: id(0x05, 1) },
    { door: OTHER_LOCK, id: id(0xdc, 2), pin: '2718281', user: id(0x05, 2) },
  ]);
  const state = (overrides: Partial<AccessState> = {}) =>
    lockState({
      clock: { reading: NOON, graceMs: 0 },
      permanent,
      dailyDigits: 7,
      dayTable: () => table,
      ...overrides,
    });
  const entry = (text: string) => ({ kind: 'doorcode', entry: text }) as const;

  it('grants this door’s permanent codes, also on a lost clock, and no other door’s', () => {
    expect(authorize(state(), entry('4815162'))).toMatchObject({
      ok: true,
      grant: { kind: 'PERMANENT' },
      audit: { method: 'PASSCODE', result: 'SUCCESS' },
    });
    const lost = state({ clock: { reading: undefined, graceMs: 0 } });
    expect(authorize(lost, entry('4815162')).ok).toBe(true);
    expect(authorize(state(), entry('2718281'))).toMatchObject({
      ok: false,
      code: DOORCODE_ERRORS.INCORRECT,
      audit: { method: 'PASSCODE', result: 'INCORRECT' },
    });
  });

  it('grants daily codes on a valid clock only, and single use for 15 minutes', () => {
    expect(authorize(state(), entry(code(3)))).toMatchObject({
      ok: true,
      grant: { kind: 'DAILY', slot: 3 },
    });
    expect(
      authorize(state({ clock: { reading: undefined, graceMs: 0 } }), entry(code(3))),
    ).toMatchObject({ ok: false, code: WIRE_ERRORS.CLOCK_INVALID });
    expect(authorize(state(), entry(code(200)))).toMatchObject({
      ok: true,
      grant: { kind: 'DAILY_SINGLE_USE', firstUse: true },
    });
    const used = (first: number) => state({ firstUse: () => first });
    expect(authorize(used(NOON - SINGLE_USE_VALIDITY_MS + 1), entry(code(200)))).toMatchObject({
      ok: true,
      grant: { firstUse: false },
    });
    expect(authorize(used(NOON - SINGLE_USE_VALIDITY_MS), entry(code(200)))).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.EXPIRED,
    });
    // A first use after the clock's reading (the clock was set back) fails closed.
    expect(authorize(used(NOON + 1), entry(code(200))).ok).toBe(false);
  });

  it('refuses wrong lengths and non-digits without looking further (SECURITY.md 23)', () => {
    expect(authorize(state(), entry('123'))).toMatchObject({ code: DOORCODE_ERRORS.WRONG_LENGTH });
    expect(authorize(state(), entry('48151a2'))).toMatchObject({
      code: DOORCODE_ERRORS.NOT_DIGITS,
    });
    // Without a day table (no time zone yet) only permanent codes exist.
    expect(authorize(state({ dailyDigits: undefined }), entry(code(3)))).toMatchObject({
      code: DOORCODE_ERRORS.INCORRECT,
    });
  });
});
