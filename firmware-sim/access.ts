/**
 * The lock's one authorization function (issue 4 item 3; ARCHITECTURE.md §3 "Access types",
 * "Mobile keys", "Keypad", "Power"; §4 "Credentials"; §7): `authorize` decides every access —
 * a mobile key over BLE at full fidelity, the same key handed over directly at model fidelity,
 * and a code typed on the keypad. No other module holds an access rule: the BLE server, the
 * keypad and the World's model-fidelity path all call this, and the audit record of an attempt
 * is built from the decision it returns.
 *
 * What stays outside, because it is mechanics rather than rules: the credential's signature
 * (checked where the bytes arrive, by the crypto provider, or skipped at model fidelity: §7),
 * collecting keys into an entry and the keypad lockout (`keypad.ts`), and actuating.
 *
 * Mobile key, checks in order (each names its wire code, SECURITY.md items 16–19):
 * 1. the credential lists this lock (`WRONG_DOOR`);
 * 2. its phone key is the static key the Noise handshake authenticated (`AUTH_FAILED`);
 * 3. it is not on the synced revocation list (`REVOKED`);
 * 4. a sync has listed its id in this lock's cache (`NOT_PROVISIONED`): the list says the cloud
 *    authorizes it here, the signature checked upstream says what it grants;
 * 5. its role may run the operation (`FORBIDDEN`): passage mode is a manager's;
 * 6. time. A guest's or vendor's key, and any key with a schedule, is time-limited access:
 *    without a valid clock it fails closed (`CLOCK_INVALID`). A resident's or manager's key
 *    without a schedule is permanent access (§3 PERMANENT): after a power loss the resident
 *    must still get in, so its validity window is checked only while the clock is valid — the
 *    vendor's "disruption to guest access and schedules" and nothing more;
 * 7. `[notBefore, expires)` on the lock's clock (`NOT_YET_VALID` / `EXPIRED`);
 * 8. the schedule's weekly windows in its time zone (`OUTSIDE_SCHEDULE`).
 *
 * Keypad entry (SECURITY.md items 22, 23): length and digits first (`WRONG_LENGTH`,
 * `NOT_DIGITS`); then the door's permanent codes, compared in constant time over every code; a
 * permanent code with a window needs a valid clock and its window, one without is permanent
 * access like a resident's key; then daily codes through the day table, only on a valid clock
 * (`CLOCK_INVALID`); a DAILY_SINGLE_USE code expires 15 min after its first use (`EXPIRED`).
 */
import type { DailyCodeKind, DayTable } from '../protocol/doorcode/day-table.js';
import { DOORCODE_ERRORS } from '../protocol/doorcode/errors.js';
import type { DoorcodeErrorCode } from '../protocol/doorcode/errors.js';
import { WIRE_ERRORS } from '../protocol/errors.js';
import type { WireErrorCode } from '../protocol/errors.js';
import type { AuditMethod, AuditResult } from '../protocol/formats/audit-upload.js';
import { bytesEqual } from '../protocol/formats/common.js';
import {
  checkCredentialDoor,
  checkCredentialPhoneKey,
  checkCredentialValidity,
} from '../protocol/formats/credential.js';
import type { Credential, CredentialRole } from '../protocol/formats/credential.js';
import {
  checkDoorcodeValidity,
  PERMANENT_PIN_DIGITS,
} from '../protocol/formats/doorcode-record.js';
import type { DoorcodeRecord } from '../protocol/formats/doorcode-record.js';
import { inWeeklyWindows } from './weekly-window.js';

/** §3: a DAILY_SINGLE_USE code expires 15 minutes after its first use. */
export const SINGLE_USE_VALIDITY_MS = 15 * 60_000;

/** What a mobile key asks the lock to do. */
export type Operation = 'unlock' | 'lock' | 'passage';

/**
 * Who may do what (SECURITY.md item 19). Passage mode holds a door open for everyone. A hub
 * syncs the lock (bundles, clock, audit: no access decision) and may move the bolt never.
 */
const ALLOWED: Readonly<Record<CredentialRole, readonly Operation[]>> = {
  resident: ['unlock', 'lock'],
  guest: ['unlock', 'lock'],
  vendor: ['unlock', 'lock'],
  manager: ['unlock', 'lock', 'passage'],
  hub: [],
};

/** The lock's clock at the moment of a decision. */
export interface AccessClock {
  /** The RTC's reading (ms UTC); `undefined` while invalid (after a power loss, §3). */
  readonly reading: number | undefined;
  /** §5 grace of daily codes: `graceMs(msSinceLastSync)` from `day-table.ts`. */
  readonly graceMs: number;
}

/** This door's permanent doorcodes, their digits packed for the constant-time scan. */
export interface PermanentCodes {
  readonly records: readonly DoorcodeRecord[];
  /** `PERMANENT_PIN_DIGITS` digit values (0–9) per record, in record order. */
  readonly pins: Uint8Array;
}

export const NO_PERMANENT_CODES: PermanentCodes = Object.freeze({
  records: Object.freeze([]),
  pins: new Uint8Array(0),
});

/** The permanent codes of `lockId` among `records` (a sync bundle's), packed for `authorize`. */
export function permanentCodes(
  lockId: Uint8Array,
  records: readonly DoorcodeRecord[],
): PermanentCodes {
  const mine = records.filter((record) => bytesEqual(record.door, lockId));
  if (mine.length === 0) return NO_PERMANENT_CODES;
  const pins = new Uint8Array(mine.length * PERMANENT_PIN_DIGITS);
  mine.forEach((record, i) => {
    for (let j = 0; j < PERMANENT_PIN_DIGITS; j++) {
      pins[i * PERMANENT_PIN_DIGITS + j] = record.pin.charCodeAt(j) - 0x30;
    }
  });
  return { records: mine, pins };
}

/** Everything the rules read: the lock's synced state and clock, as of the decision. */
export interface AccessState {
  readonly lockId: Uint8Array;
  readonly clock: AccessClock;
  /** The synced credential cache and revocation list (`sync-store.ts`). */
  hasCredential(id: Uint8Array): boolean;
  isCredentialRevoked(id: Uint8Array): boolean;
  readonly permanent: PermanentCodes;
  /** `L` of the door's daily codes; `undefined` while it has none (no time zone synced yet). */
  readonly dailyDigits: number | undefined;
  /**
   * The daily-code table for the RTC reading `reading` (§5: yesterday, today, tomorrow), built
   * or refreshed on demand; asked only when the door has daily codes and its clock is valid.
   */
  dayTable(reading: number): DayTable;
  /** The RTC time a single-use code of (`day`, `slot`) was first used, if it was. */
  firstUse(day: string, slot: number): number | undefined;
}

export type AccessRequest =
  | {
      readonly kind: 'mobile-key';
      readonly operation: Operation;
      /** Decoded and, at full fidelity, signature-checked. */
      readonly credential: Credential;
      /** The phone's static key as the handshake authenticated it (at model fidelity: its own). */
      readonly sessionKey: Uint8Array;
    }
  | { readonly kind: 'doorcode'; readonly entry: string };

/** What was granted, for the actuator, the single-use record and the audit log. */
export type Grant =
  | { readonly kind: 'mobile-key'; readonly operation: Operation; readonly credential: Credential }
  | { readonly kind: 'PERMANENT'; readonly record: DoorcodeRecord }
  | {
      readonly kind: DailyCodeKind;
      readonly day: string;
      readonly slot: number;
      /** A single-use code used for the first time: the caller records the use before acting. */
      readonly firstUse: boolean;
    };

export type AccessErrorCode = WireErrorCode | DoorcodeErrorCode;

/** The vendor's access-log vocabulary for the attempt (§3 "Audit log"). */
export interface AuditFields {
  readonly method: AuditMethod;
  readonly result: AuditResult;
  readonly credential?: Uint8Array;
  readonly user?: Uint8Array;
}

export type AccessDecision =
  | { readonly ok: true; readonly grant: Grant; readonly audit: AuditFields }
  | { readonly ok: false; readonly code: AccessErrorCode; readonly audit: AuditFields };

/** The one authorization function: see the module comment for the rules and their order. */
export function authorize(state: AccessState, request: AccessRequest): AccessDecision {
  return request.kind === 'mobile-key'
    ? authorizeMobileKey(state, request.operation, request.credential, request.sessionKey)
    : authorizeDoorcode(state, request.entry);
}

function isTimeLimited(credential: Credential): boolean {
  return (
    credential.schedule !== undefined || credential.role === 'guest' || credential.role === 'vendor'
  );
}

function authorizeMobileKey(
  state: AccessState,
  operation: Operation,
  credential: Credential,
  sessionKey: Uint8Array,
): AccessDecision {
  const method: AuditMethod = operation === 'lock' ? 'BLE_LOCK' : 'BLE';
  const code = mobileKeyRefusal(state, operation, credential, sessionKey);
  if (code !== undefined) {
    return {
      ok: false,
      code,
      audit: {
        method,
        result: refusalResult(code),
        credential: credential.id,
        user: credential.user,
      },
    };
  }
  let result: AuditResult = credential.role === 'guest' ? 'GUEST_SUCCESS' : 'SUCCESS';
  if (operation === 'lock') result = 'LOCK_SUCCESS';
  return {
    ok: true,
    grant: { kind: 'mobile-key', operation, credential },
    audit: { method, result, credential: credential.id, user: credential.user },
  };
}

/** The first mobile-key check that fails, in the module comment's order; `undefined` if none. */
function mobileKeyRefusal(
  state: AccessState,
  operation: Operation,
  credential: Credential,
  sessionKey: Uint8Array,
): AccessErrorCode | undefined {
  const door = checkCredentialDoor(credential, state.lockId);
  if (!door.ok) return door.code;
  const bound = checkCredentialPhoneKey(credential, sessionKey);
  if (!bound.ok) return bound.code;
  if (state.isCredentialRevoked(credential.id)) return WIRE_ERRORS.REVOKED;
  if (!state.hasCredential(credential.id)) return WIRE_ERRORS.NOT_PROVISIONED;
  if (!ALLOWED[credential.role].includes(operation)) return WIRE_ERRORS.FORBIDDEN;
  const reading = state.clock.reading;
  if (reading === undefined) {
    return isTimeLimited(credential) ? WIRE_ERRORS.CLOCK_INVALID : undefined;
  }
  const valid = checkCredentialValidity(credential, reading);
  if (!valid.ok) return valid.code;
  const { schedule } = credential;
  if (schedule !== undefined && !inWeeklyWindows(schedule.windows, schedule.timeZone, reading)) {
    return WIRE_ERRORS.OUTSIDE_SCHEDULE;
  }
  return undefined;
}

/** The vendor's result word for a refusal (§3): the precise code travels beside it. */
export function refusalResult(code: AccessErrorCode): AuditResult {
  if (code === WIRE_ERRORS.CLOCK_INVALID) return 'UNKNOWN_TIME_FAILURE';
  const outside =
    code === WIRE_ERRORS.NOT_YET_VALID ||
    code === WIRE_ERRORS.EXPIRED ||
    code === WIRE_ERRORS.OUTSIDE_SCHEDULE;
  return outside ? 'OUTSIDE_QUALIFIED_ACCESS' : 'INCORRECT';
}

function authorizeDoorcode(state: AccessState, entry: string): AccessDecision {
  const refuse = (code: AccessErrorCode): AccessDecision => ({
    ok: false,
    code,
    audit: { method: 'PASSCODE', result: refusalResult(code) },
  });
  const grant = (g: Grant): AccessDecision => ({
    ok: true,
    grant: g,
    audit: { method: 'PASSCODE', result: 'SUCCESS' },
  });
  const { dailyDigits } = state;
  if (entry.length !== PERMANENT_PIN_DIGITS && entry.length !== dailyDigits) {
    return refuse(DOORCODE_ERRORS.WRONG_LENGTH);
  }
  // A digit gives `d | (9 − d)` ≥ 0; anything else sets the sign bit. No early exit.
  let notDigit = 0;
  for (let i = 0; i < entry.length; i++) {
    const digit = entry.charCodeAt(i) - 0x30;
    notDigit |= digit | (9 - digit);
  }
  if (notDigit < 0) return refuse(DOORCODE_ERRORS.NOT_DIGITS);

  const reading = state.clock.reading;
  if (entry.length === PERMANENT_PIN_DIGITS) {
    const record = state.permanent.records[matchPermanent(state.permanent.pins, entry)];
    if (record !== undefined) {
      const timeBound = record.notBefore !== undefined || record.expires !== undefined;
      if (!timeBound) return grant({ kind: 'PERMANENT', record });
      if (reading === undefined) return refuse(WIRE_ERRORS.CLOCK_INVALID);
      const valid = checkDoorcodeValidity(record, reading);
      return valid.ok ? grant({ kind: 'PERMANENT', record }) : refuse(valid.code);
    }
  }
  if (entry.length !== dailyDigits) return refuse(DOORCODE_ERRORS.INCORRECT);
  if (reading === undefined) return refuse(WIRE_ERRORS.CLOCK_INVALID);
  const daily = state.dayTable(reading).check(entry, reading, state.clock);
  if (!daily.ok) return refuse(daily.code);
  let firstUse = false;
  if (daily.kind === 'DAILY_SINGLE_USE') {
    const first = state.firstUse(daily.day, daily.slot);
    firstUse = first === undefined;
    // From the first use on, on the RTC; a reading before it (a clock set back) fails closed.
    const since = first === undefined ? 0 : reading - first;
    if (since < 0 || since >= SINGLE_USE_VALIDITY_MS) return refuse(WIRE_ERRORS.EXPIRED);
  }
  return grant({ kind: daily.kind, day: daily.day, slot: daily.slot, firstUse });
}

/**
 * SECURITY.md item 23: the index of the permanent code equal to `entry`, or -1. Every code is
 * compared over all its digits and the match is folded in with masks, so the work does not
 * depend on whether or where a code matches (PINs are unique on their door, §3).
 */
function matchPermanent(pins: Uint8Array, entry: string): number {
  let found = -1;
  for (let i = 0, at = 0; at < pins.length; i++, at += PERMANENT_PIN_DIGITS) {
    let diff = 0;
    for (let j = 0; j < PERMANENT_PIN_DIGITS; j++) {
      diff |= (pins[at + j] ?? 0) ^ (entry.charCodeAt(j) - 0x30);
    }
    const equal = ~((diff | -diff) >> 31);
    found = (found & ~equal) | (i & equal);
  }
  return found;
}
