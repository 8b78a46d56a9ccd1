/**
 * The event records every lock behaviour emits into the World's log (issue 4 item 4): typed,
 * JSON-serialisable `{ t, lock, type, ...fields }`, with `t` in world ms. The audit log and the
 * CLI report are built from the same records, so the `type` names and field names are stable:
 * rename one and saved logs and scenario expectations break.
 *
 * The firmware's hot path does not build these objects: it writes an event code and up to two
 * numbers into its effect buffer (`effects.ts`), and the World turns them into records with
 * `eventRecord` when it logs them (I/O at the edge).
 *
 * | type | when (ARCHITECTURE.md §3) | fields |
 * |---|---|---|
 * | `POWER_LOST` | the supply was cut; the RTC is lost | `relay`: the relay's state without power (its wiring) |
 * | `POWER_RESTORED` | the supply is back and the firmware booted | — |
 * | `NEEDS_UPDATE` | reported after boot while the RTC is invalid: time-bound access fails closed until a time sync | — |
 * | `TIME_SYNCED` | the RTC was set by a time sync | — |
 * | `RELAY` | the relay output changed, for any reason (command, relock, power) | `relay` |
 * | `DOOR_OPENED` / `DOOR_CLOSED` | the door-position sensor changed, as the powered firmware saw it | — |
 * | `DOOR_AJAR` | Door Ajar: the door stayed open for the configured 30, 60 or 90 s | `openMs` |
 * | `DOOR_STILL_AJAR` | Door Still Ajar: repeated every 5, 10 or 15 min while the door stays open | `openMs`, `repeat` (1, 2, …) |
 * | `DOOR_BREACHED` | Door Breached: the door opened while the relay was locked (no credential, no REX) | — |
 * | `DOOR_SECURE` | Door Secure: the door closed after any non-secure notification | — |
 * | `REX` | request-to-exit motion | — |
 * | `UNLOCKED` | an unlock began (the relay is released, or its hold restarted) | `by`, `holdMs` |
 * | `RELOCKED` | an unlock ended | `reason` |
 * | `BOLT` | a battery lock's bolt began or ended a travel | `bolt`: `locked`, `unlocking`, `unlocked`, `locking` |
 * | `UNLOCK_REFUSED` | the motor refused an authorised unlock | `reason`: the wire code (`protocol/errors.ts`: `INSUFFICIENT_BATTERY`, `JAMMED`) |
 * | `JAMMED` | the motor stalled: the bolt is stuck where it was | `bolt`: that position |
 * | `LOW_BATTERY` | the charge reached the low-battery threshold | `percent` (rounded) |
 * | `BATTERY_CRITICAL` | the charge reached the critical threshold: unlocks are refused from now | `percent` (rounded) |
 * | `BATTERY_SWAPPED` | the batteries were replaced; on battery power that is a power loss (the RTC is lost, `POWER_RESTORED` and `NEEDS_UPDATE` follow) | — |
 * | `POWER_SOURCE` | an M gen 2 switched supply, keeping its clock | `source`: `battery` or `wired` |
 * | `QI_JUMP_START` | a Qi charger jump-started a C2: one unlock is powered | — |
 * | `KEYPAD_LOCKOUT` | the alarm: too many wrong keypad entries started a lockout (SECURITY.md 22) | `wrongEntries`, `lockoutMs` |
 * | `ACCESS` | an access attempt was decided (`access.ts`); its audit record holds the same words | `method`, `result` (the vendor's words, §3 "Audit log"), `reason` (the precise error name; absent on success), `credential`, `user`, `doorcode` (hex ids, when known) |
 * | `SYNC_APPLIED` | a sync bundle was applied | `version` |
 * | `SYNC_REFUSED` | a sync bundle was refused (stale, another lock's, unauthentic, …) | `reason` |
 * | `TIME_SYNC_REFUSED` | a time anchor was refused (forged, replayed, backwards, …) | `reason` |
 * | `PASSAGE_STARTED` / `PASSAGE_ENDED` | passage mode: held unlocked by a door schedule or a manager, and its end | `by`: `schedule` or `manager` |
 * | `BLE_CONNECTED` | a phone's link was accepted | — |
 * | `BLE_DISCONNECTED` | the link ended | `reason`: absent for a normal close, else the error name |
 * | `FLASH_WRITE_FAILED` | a flash write failed verification; the record kept its old state | — |
 *
 * The battery locks (`battery-lock.ts`) share `POWER_RESTORED`, `NEEDS_UPDATE`, `TIME_SYNCED`,
 * `UNLOCKED` (`by` = `grant`, `holdMs` = the auto-relock time) and `RELOCKED` (`timeout`, `boot`) with
 * the R; they emit `UNLOCKED` when the bolt is fully retracted and `RELOCKED` when it is thrown.
 *
 * `openMs` counts from the opening the firmware saw: after a power loss with the door open, that
 * is the boot.
 */

import { DOORCODE_ERRORS } from '../protocol/doorcode/errors.js';
import { wireErrorName } from '../protocol/errors.js';
import type { WireErrorName } from '../protocol/errors.js';
import { AUDIT_METHODS, AUDIT_RESULTS } from '../protocol/formats/audit-upload.js';
import type { AuditMethod, AuditResult } from '../protocol/formats/audit-upload.js';

export const EVENT = {
  POWER_LOST: 0,
  POWER_RESTORED: 1,
  NEEDS_UPDATE: 2,
  TIME_SYNCED: 3,
  RELAY: 4,
  DOOR_OPENED: 5,
  DOOR_CLOSED: 6,
  DOOR_AJAR: 7,
  DOOR_STILL_AJAR: 8,
  DOOR_BREACHED: 9,
  DOOR_SECURE: 10,
  REX: 11,
  UNLOCKED: 12,
  RELOCKED: 13,
  BOLT: 14,
  UNLOCK_REFUSED: 15,
  JAMMED: 16,
  LOW_BATTERY: 17,
  BATTERY_CRITICAL: 18,
  BATTERY_SWAPPED: 19,
  POWER_SOURCE: 20,
  QI_JUMP_START: 21,
  KEYPAD_LOCKOUT: 22,
  ACCESS: 23,
  SYNC_APPLIED: 24,
  SYNC_REFUSED: 25,
  TIME_SYNC_REFUSED: 26,
  PASSAGE_STARTED: 27,
  PASSAGE_ENDED: 28,
  BLE_CONNECTED: 29,
  BLE_DISCONNECTED: 30,
  FLASH_WRITE_FAILED: 31,
} as const;
export type EventType = keyof typeof EVENT;
export type EventCode = (typeof EVENT)[EventType];

export type RelayState = 'locked' | 'unlocked';
/** What released the relay: a granted credential, or request-to-exit motion. */
export type UnlockSource = 'grant' | 'rex';
/**
 * Why the relay relocked or the bolt was thrown: the door opened, the hold (auto-relock) time ran
 * out, a battery lock booted with its bolt not thrown, or passage mode ended.
 */
export type RelockReason = 'door-opened' | 'timeout' | 'boot' | 'passage-ended';
/** A battery lock's bolt: at rest thrown or retracted, or travelling between the two. */
export type BoltPosition = 'locked' | 'unlocking' | 'unlocked' | 'locking';
/** What powers an M gen 2 right now. */
export type PowerSource = 'wired' | 'battery';
/** What holds a door in passage mode. */
export type PassageSource = 'schedule' | 'manager';
/** An error's name: a wire error (`protocol/errors.ts`) or a doorcode error. */
export type ReasonName = WireErrorName | keyof typeof DOORCODE_ERRORS;

// Numeric encodings of the fields, as the firmware writes them into its effect buffer.
export const RELAY_CODE = { locked: 0, unlocked: 1 } as const;
export const UNLOCK_SOURCE_CODE = { grant: 0, rex: 1 } as const;
export const RELOCK_REASON_CODE = {
  'door-opened': 0,
  timeout: 1,
  boot: 2,
  'passage-ended': 3,
} as const;
const RELAY_STATES: readonly RelayState[] = ['locked', 'unlocked'];
const UNLOCK_SOURCES: readonly UnlockSource[] = ['grant', 'rex'];
const RELOCK_REASONS: readonly RelockReason[] = ['door-opened', 'timeout', 'boot', 'passage-ended'];
export const BOLT_CODE = { locked: 0, unlocking: 1, unlocked: 2, locking: 3 } as const;
export const POWER_SOURCE_CODE = { wired: 0, battery: 1 } as const;
const BOLT_POSITIONS: readonly BoltPosition[] = ['locked', 'unlocking', 'unlocked', 'locking'];
export const PASSAGE_SOURCE_CODE = { schedule: 0, manager: 1 } as const;
const PASSAGE_SOURCES: readonly PassageSource[] = ['schedule', 'manager'];
const METHODS = Object.keys(AUDIT_METHODS) as readonly AuditMethod[];
const RESULTS = Object.keys(AUDIT_RESULTS) as readonly AuditResult[];
const DOORCODE_ERROR_NAMES = new Map<number, keyof typeof DOORCODE_ERRORS>(
  Object.entries(DOORCODE_ERRORS).map(([name, code]) => [
    code,
    name as keyof typeof DOORCODE_ERRORS,
  ]),
);

/** The `ACCESS` event's packed field: method and result codes (each below 16). */
export function accessCode(method: AuditMethod, result: AuditResult): number {
  return AUDIT_METHODS[method] * 16 + AUDIT_RESULTS[result];
}

function reasonName(code: number): ReasonName {
  const name = wireErrorName(code) ?? DOORCODE_ERROR_NAMES.get(code);
  if (name === undefined) throw new RangeError(`unknown reason code ${code}`);
  return name;
}

/** The two hex digits of each byte value, as character codes. */
const HEX_DIGIT_CODES: readonly number[] = Array.from({ length: 16 }, (_, digit) =>
  digit.toString(16).charCodeAt(0),
);
/** The character codes of one id's hex text, reused: `hex` runs for the ids of every `ACCESS` event. */
const hexCodes: number[] = [];
/**
 * An id as lowercase hex. Built in one `String.fromCharCode` rather than by concatenation, so the
 * log holds one flat string per id rather than a rope of a node per byte (the log keeps them all).
 */
const hex = (id: Uint8Array): string => {
  hexCodes.length = 2 * id.length;
  for (let i = 0; i < id.length; i++) {
    const byte = id[i]!;
    hexCodes[2 * i] = HEX_DIGIT_CODES[byte >>> 4]!;
    hexCodes[2 * i + 1] = HEX_DIGIT_CODES[byte & 15]!;
  }
  return String.fromCharCode.apply(null, hexCodes);
};
const POWER_SOURCES: readonly PowerSource[] = ['wired', 'battery'];

interface Base<T extends EventType> {
  /** World time, ms UTC. */
  readonly t: number;
  /** The lock's id in the World. */
  readonly lock: string;
  readonly type: T;
}

export type LockEvent =
  | (Base<'POWER_LOST'> & { readonly relay: RelayState })
  | Base<'POWER_RESTORED'>
  | Base<'NEEDS_UPDATE'>
  | Base<'TIME_SYNCED'>
  | (Base<'RELAY'> & { readonly relay: RelayState })
  | Base<'DOOR_OPENED'>
  | Base<'DOOR_CLOSED'>
  | (Base<'DOOR_AJAR'> & { readonly openMs: number })
  | (Base<'DOOR_STILL_AJAR'> & { readonly openMs: number; readonly repeat: number })
  | Base<'DOOR_BREACHED'>
  | Base<'DOOR_SECURE'>
  | Base<'REX'>
  | (Base<'UNLOCKED'> & { readonly by: UnlockSource; readonly holdMs: number })
  | (Base<'RELOCKED'> & { readonly reason: RelockReason })
  | (Base<'BOLT'> & { readonly bolt: BoltPosition })
  | (Base<'UNLOCK_REFUSED'> & { readonly reason: number })
  | (Base<'JAMMED'> & { readonly bolt: BoltPosition })
  | (Base<'LOW_BATTERY'> & { readonly percent: number })
  | (Base<'BATTERY_CRITICAL'> & { readonly percent: number })
  | Base<'BATTERY_SWAPPED'>
  | (Base<'POWER_SOURCE'> & { readonly source: PowerSource })
  | Base<'QI_JUMP_START'>
  | (Base<'KEYPAD_LOCKOUT'> & { readonly wrongEntries: number; readonly lockoutMs: number })
  | (Base<'ACCESS'> & {
      readonly method: AuditMethod;
      readonly result: AuditResult;
      readonly reason?: ReasonName;
      readonly credential?: string;
      readonly user?: string;
      readonly doorcode?: string;
    })
  | (Base<'SYNC_APPLIED'> & { readonly version: number })
  | (Base<'SYNC_REFUSED'> & { readonly reason: ReasonName })
  | (Base<'TIME_SYNC_REFUSED'> & { readonly reason: ReasonName })
  | (Base<'PASSAGE_STARTED'> & { readonly by: PassageSource })
  | (Base<'PASSAGE_ENDED'> & { readonly by: PassageSource })
  | Base<'BLE_CONNECTED'>
  | (Base<'BLE_DISCONNECTED'> & { readonly reason?: ReasonName })
  | Base<'FLASH_WRITE_FAILED'>;

type AccessEvent = Extract<LockEvent, { readonly type: 'ACCESS' }>;

/** The type of `E` when it has no field besides `t`, `lock` and `type`; else `never`. */
type Fieldless<E> =
  E extends Base<infer T> ? (Exclude<keyof E, keyof Base<T>> extends never ? T : never) : never;
type FieldlessType = Fieldless<LockEvent>;
/** Their names by event code; the other codes have none. */
const FIELDLESS: readonly FieldlessType[] = (() => {
  const byCode: FieldlessType[] = [];
  const fieldless: readonly FieldlessType[] = [
    'POWER_RESTORED',
    'NEEDS_UPDATE',
    'TIME_SYNCED',
    'DOOR_OPENED',
    'DOOR_CLOSED',
    'DOOR_BREACHED',
    'DOOR_SECURE',
    'REX',
    'BATTERY_SWAPPED',
    'QI_JUMP_START',
    'BLE_CONNECTED',
    'FLASH_WRITE_FAILED',
  ];
  for (const type of fieldless) byCode[EVENT[type]] = type;
  return byCode;
})();

function decoded<T>(table: readonly T[], code: number, what: string): T {
  const value = table[code];
  if (value === undefined) throw new RangeError(`unknown ${what} code ${code}`);
  return value;
}

/**
 * The record for event `code` with its numeric fields `a` and `b` and ids `idA`, `idB` as the
 * firmware wrote them (see the table above for which fields each type has). Keys are always in
 * the order `t, lock, type, …fields`, so `JSON.stringify` of a log is byte-for-byte
 * reproducible. `ACCESS` names a credential and its user (mobile keys) or a doorcode record and
 * its user (permanent codes).
 */
export function eventRecord(
  t: number,
  lock: string,
  code: number,
  a: number,
  b: number,
  idA?: Uint8Array,
  idB?: Uint8Array,
): LockEvent {
  // Switched on the numeric code, which compiles to a jump table, rather than on its name.
  switch (code) {
    case EVENT.ACCESS: {
      const method = decoded(METHODS, Math.floor(a / 16), 'audit method');
      const result = decoded(RESULTS, a % 16, 'audit result');
      // Fields added one by one rather than spread: the same key order, without the spreads'
      // temporary objects on the most frequent event.
      const record: {
        -readonly [K in keyof AccessEvent]: AccessEvent[K];
      } = { t, lock, type: 'ACCESS', method, result };
      if (b !== 0) record.reason = reasonName(b);
      if (idA !== undefined) record[method === 'PASSCODE' ? 'doorcode' : 'credential'] = hex(idA);
      if (idB !== undefined) record.user = hex(idB);
      return record;
    }
    case EVENT.SYNC_APPLIED:
      return { t, lock, type: 'SYNC_APPLIED', version: a };
    case EVENT.SYNC_REFUSED:
      return { t, lock, type: 'SYNC_REFUSED', reason: reasonName(a) };
    case EVENT.TIME_SYNC_REFUSED:
      return { t, lock, type: 'TIME_SYNC_REFUSED', reason: reasonName(a) };
    case EVENT.PASSAGE_STARTED:
      return {
        t,
        lock,
        type: 'PASSAGE_STARTED',
        by: decoded(PASSAGE_SOURCES, a, 'passage source'),
      };
    case EVENT.PASSAGE_ENDED:
      return { t, lock, type: 'PASSAGE_ENDED', by: decoded(PASSAGE_SOURCES, a, 'passage source') };
    case EVENT.BLE_DISCONNECTED:
      return a === 0
        ? { t, lock, type: 'BLE_DISCONNECTED' }
        : { t, lock, type: 'BLE_DISCONNECTED', reason: reasonName(a) };
    case EVENT.POWER_LOST:
      return { t, lock, type: 'POWER_LOST', relay: decoded(RELAY_STATES, a, 'relay state') };
    case EVENT.RELAY:
      return { t, lock, type: 'RELAY', relay: decoded(RELAY_STATES, a, 'relay state') };
    case EVENT.DOOR_AJAR:
      return { t, lock, type: 'DOOR_AJAR', openMs: a };
    case EVENT.DOOR_STILL_AJAR:
      return { t, lock, type: 'DOOR_STILL_AJAR', openMs: a, repeat: b };
    case EVENT.UNLOCKED:
      return {
        t,
        lock,
        type: 'UNLOCKED',
        by: decoded(UNLOCK_SOURCES, a, 'unlock source'),
        holdMs: b,
      };
    case EVENT.RELOCKED:
      return { t, lock, type: 'RELOCKED', reason: decoded(RELOCK_REASONS, a, 'relock reason') };
    case EVENT.BOLT:
      return { t, lock, type: 'BOLT', bolt: decoded(BOLT_POSITIONS, a, 'bolt position') };
    case EVENT.JAMMED:
      return { t, lock, type: 'JAMMED', bolt: decoded(BOLT_POSITIONS, a, 'bolt position') };
    case EVENT.UNLOCK_REFUSED:
      return { t, lock, type: 'UNLOCK_REFUSED', reason: a };
    case EVENT.LOW_BATTERY:
      return { t, lock, type: 'LOW_BATTERY', percent: a };
    case EVENT.BATTERY_CRITICAL:
      return { t, lock, type: 'BATTERY_CRITICAL', percent: a };
    case EVENT.POWER_SOURCE:
      return { t, lock, type: 'POWER_SOURCE', source: decoded(POWER_SOURCES, a, 'power source') };
    case EVENT.KEYPAD_LOCKOUT:
      return { t, lock, type: 'KEYPAD_LOCKOUT', wrongEntries: a, lockoutMs: b };
    default:
      // The events without fields.
      return { t, lock, type: decoded(FIELDLESS, code, 'event') };
  }
}
