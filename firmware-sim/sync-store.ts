/**
 * The lock's synced state (ARCHITECTURE.md §3 "Mobile keys", "Passive sync", "Keypad", "Door
 * schedules"; §4 "Sync bundle"; SECURITY.md items 18 and 24): everything a sync bundle installs —
 * the credential cache, this door's permanent doorcodes, the revocation lists, the door
 * configuration, the time zone and the audit acknowledgement — kept in ONE flash record, so a
 * bundle applies atomically: after a power cut at any moment the lock holds the old state or the
 * new one, never a mix, and its version never goes back (`flash.ts` on why one record).
 *
 * The record is the canonical CBOR of `syncStateSchema` (the protocol's schema language, with the
 * protocol's own doorcode, revocation and door-configuration schemas inside), sized for the
 * largest state the protocol limits admit (about 89 KiB). RAM mirrors it for access-time
 * lookups: credential and revocation ids as sorted 16-byte runs in one typed array each, sized
 * to what the lock holds and searched in place, so a check allocates nothing.
 *
 * `apply` re-checks what `openSyncBundle` checks about versions (protocol/spec/messages.md §5.6),
 * because at model fidelity (§7) the World hands the bundle object over without the sealed form:
 * another lock's bundle is `WRONG_DOOR`, a version not above the lock's `STALE`, a delta on
 * another base `DELTA_BASE_MISMATCH`. Then:
 * - the bundle's credential ids enter the cache as they are: the cloud sealed the list for this
 *   lock, and nothing here reads a credential — the phone presents the signed credential at
 *   unlock, where `access.ts` verifies it (signature, issuer, doors, validity, schedule), so an
 *   id in the cache alone admits no one. A doorcode record for another door is skipped;
 * - a full bundle replaces everything; absent configuration fields mean the defaults;
 * - a delta merges: credentials added, doorcodes added or replaced by id, revocations added to the
 *   lists (union), configuration fields present replace and absent ones keep, the time zone kept
 *   unless given;
 * - revocation wins: a revoked credential leaves the cache and a revoked doorcode the list, and a
 *   delta cannot bring either back (only a full bundle, the cloud's complete view, can);
 * - the audit acknowledgement only moves forward: records the cloud has are never un-received;
 * - the state stays within the limits of one full bundle (2,048 credentials, 256 doorcodes,
 *   the revocation list's limits): a delta that would pass one is `TOO_LARGE` — by
 *   accumulation — and the phone pushes a full bundle instead. The one exception is daily-slot
 *   revocations: past 16 days the oldest days go, the horizon the cloud's own full list keeps (a
 *   day table holds only yesterday, today and tomorrow, §5).
 * The new state is committed first and installed in RAM only once the commit succeeded; a failed
 * commit changes nothing (`INTERNAL`, with the flash error beside it).
 */
import {
  arrayOf,
  codec,
  mapSchema,
  nested,
  optional,
  required,
  uint,
} from '../protocol/cbor/schema.js';
import type { Infer } from '../protocol/cbor/schema.js';
import type { RevokedSlot } from '../protocol/doorcode/day-table.js';
import { MAX_SLOTS } from '../protocol/doorcode/deriver.js';
import { WIRE_ERRORS } from '../protocol/errors.js';
import type { WireErrorCode } from '../protocol/errors.js';
import { assertLength, bytesEqual, ID_BYTES, idType } from '../protocol/formats/common.js';
import { MAX_TIME_ZONE_BYTES, timeZoneType } from '../protocol/formats/credential.js';
import { doorcodeRecordSchema, PERMANENT_PIN_DIGITS } from '../protocol/formats/doorcode-record.js';
import type { DoorcodeRecord } from '../protocol/formats/doorcode-record.js';
import {
  MAX_REVOKED_CREDENTIALS,
  MAX_REVOKED_DAYS,
  MAX_REVOKED_DOORCODES,
  MAX_REVOKED_SLOTS_PER_DAY,
  revocationListSchema,
} from '../protocol/formats/revocation.js';
import type { RevocationList } from '../protocol/formats/revocation.js';
import {
  doorConfigSchema,
  MAX_BUNDLE_CREDENTIALS,
  MAX_BUNDLE_DOORCODES,
  MAX_DOOR_SCHEDULE_WINDOWS,
} from '../protocol/formats/sync-bundle.js';
import type { DoorConfig, SyncBundle } from '../protocol/formats/sync-bundle.js';
import { fail, ok } from '../protocol/result.js';
import type { Result } from '../protocol/result.js';
import type { FlashErrorCode, FlashLayout, FlashStore } from './flash.js';

/** The sync state's flash record (`flash.ts`). */
export const SYNC_FLASH_KEY = 'sync-state';

/** What the record holds: the lock's whole synced state. */
export const syncStateSchema = mapSchema('syncState', {
  /** The bundle version applied last; 0 = never synced. */
  version: required(0, uint()),
  /** Ids of the cached credentials (for this lock, not revoked), in byte order. */
  credentials: required(1, arrayOf(idType, { max: MAX_BUNDLE_CREDENTIALS })),
  /** This door's permanent doorcodes, not revoked, in id order. */
  doorcodes: required(2, arrayOf(nested(doorcodeRecordSchema), { max: MAX_BUNDLE_DOORCODES })),
  /** Every revocation in force, ids in byte order and days in date order; version 0 = none. */
  revocations: required(3, nested(revocationListSchema)),
  config: required(4, nested(doorConfigSchema)),
  timeZone: optional(5, timeZoneType),
  /** Audit records below this sequence reached the cloud; 0 = none. */
  auditAck: required(6, uint()),
});
export type SyncState = Infer<typeof syncStateSchema>;

/** What a successful `apply` reports. */
export interface SyncApplied {
  readonly version: number;
  /** Doorcode records of the bundle for another door. */
  readonly skippedDoorcodes: number;
}

/**
 * A `Result` whose failure may come from a flash commit: the wire code is then `INTERNAL` and
 * `flash` says what the flash reported (`POWER_LOST`: the store is dead until reopened).
 */
export type CommitResult<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly code: WireErrorCode;
      readonly detail?: string;
      readonly flash?: FlashErrorCode;
    };

/** The failure of a commit the flash refused. */
export function commitFailure(flash: FlashErrorCode, record: string): CommitResult<never> {
  return { ok: false, code: WIRE_ERRORS.INTERNAL, detail: `flash commit of ${record}`, flash };
}

const NO_IDS = new Uint8Array(0);
const EMPTY_REVOCATIONS: RevocationList = {
  version: 0,
  credentials: [],
  dailySlots: [],
  doorcodes: [],
};
const NEVER_SYNCED: SyncState = {
  version: 0,
  credentials: [],
  doorcodes: [],
  revocations: EMPTY_REVOCATIONS,
  config: {},
  auditAck: 0,
};

/** Byte order of two ids. */
function compareIds(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** The distinct ids of `lists`, in byte order. */
function unionIds(...lists: readonly (readonly Uint8Array[])[]): Uint8Array[] {
  const sorted = lists.flat().sort(compareIds);
  return sorted.filter((id, i) => i === 0 || compareIds(id, sorted[i - 1]!) !== 0);
}

/** Sorted distinct ids packed 16 bytes each, for `hasId`. */
function packIds(sorted: readonly Uint8Array[]): Uint8Array {
  if (sorted.length === 0) return NO_IDS;
  const packed = new Uint8Array(sorted.length * ID_BYTES);
  sorted.forEach((id, i) => packed.set(id, i * ID_BYTES));
  return packed;
}

/** The ids of a packed set, as views into it. */
function unpackIds(packed: Uint8Array): Uint8Array[] {
  const ids: Uint8Array[] = [];
  for (let at = 0; at < packed.length; at += ID_BYTES) ids.push(packed.subarray(at, at + ID_BYTES));
  return ids;
}

/** Binary search of a packed set, comparing in place: no allocation. */
function hasId(packed: Uint8Array, id: Uint8Array): boolean {
  assertLength(id, ID_BYTES, 'id');
  let low = 0;
  let high = packed.length / ID_BYTES - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const at = middle * ID_BYTES;
    let d = 0;
    for (let i = 0; i < ID_BYTES && d === 0; i++) d = packed[at + i]! - id[i]!;
    if (d === 0) return true;
    if (d < 0) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/** Strictly increasing union of two strictly increasing slot lists. */
function unionSlots(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

/**
 * `added` on top of `base` (for a full bundle, on top of nothing): ids and slots merged, the
 * version taken from `added`. `TOO_LARGE` when a list would pass its limit; days past the 16 the
 * format holds drop out oldest first.
 */
function mergeRevocations(base: RevocationList, added: RevocationList): Result<RevocationList> {
  const credentials = unionIds(base.credentials, added.credentials);
  const doorcodes = unionIds(base.doorcodes, added.doorcodes);
  if (credentials.length > MAX_REVOKED_CREDENTIALS || doorcodes.length > MAX_REVOKED_DOORCODES) {
    return fail(WIRE_ERRORS.TOO_LARGE, 'syncState.revocations: over the list limits');
  }
  const days = new Map<string, number[]>();
  for (const { day, slots } of [...base.dailySlots, ...added.dailySlots]) {
    const merged = unionSlots(days.get(day) ?? [], slots);
    if (merged.length > MAX_REVOKED_SLOTS_PER_DAY) {
      return fail(
        WIRE_ERRORS.TOO_LARGE,
        `syncState.revocations: over ${MAX_REVOKED_SLOTS_PER_DAY} slots a day`,
      );
    }
    days.set(day, merged);
  }
  const dailySlots = [...days]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .slice(-MAX_REVOKED_DAYS)
    .map(([day, slots]) => ({ day, slots }));
  return ok({ version: added.version, credentials, dailySlots, doorcodes });
}

/** The largest state the schema admits: every list full, every number and text at its longest. */
function largestState(): SyncState {
  const longest = Number.MAX_SAFE_INTEGER;
  const ids = (n: number): Uint8Array[] =>
    Array.from({ length: n }, () => new Uint8Array(ID_BYTES));
  const window = { days: 0x7f, start: 1438, end: 1440 };
  return {
    version: longest,
    credentials: ids(MAX_BUNDLE_CREDENTIALS),
    doorcodes: ids(MAX_BUNDLE_DOORCODES).map((id) => ({
      door: id,
      id,
      pin: '9'.repeat(PERMANENT_PIN_DIGITS),
      user: id,
      notBefore: longest - 1,
      expires: longest,
    })),
    revocations: {
      version: longest,
      credentials: ids(MAX_REVOKED_CREDENTIALS),
      // Slots of 256 and up take three bytes each.
      dailySlots: Array.from({ length: MAX_REVOKED_DAYS }, () => ({
        day: '99991231',
        slots: Array.from(
          { length: MAX_REVOKED_SLOTS_PER_DAY },
          (_, i) => MAX_SLOTS - 1 - i,
        ).reverse(),
      })),
      doorcodes: ids(MAX_REVOKED_DOORCODES),
    },
    config: {
      ajarSeconds: 90,
      stillAjarMinutes: 15,
      relockSeconds: 3600,
      doorSchedules: Array.from({ length: MAX_DOOR_SCHEDULE_WINDOWS }, () => window),
    },
    timeZone: 'x'.repeat(MAX_TIME_ZONE_BYTES),
    auditAck: longest,
  };
}

/** The record's capacity: the encoding of the largest state (about 89 KiB). */
export const SYNC_STATE_MAX_BYTES = codec(syncStateSchema, Infinity).encode(largestState()).length;

const stateCodec = codec(syncStateSchema, SYNC_STATE_MAX_BYTES);

/** The sync state's record; add it to the lock's flash layout. */
export function syncFlashLayout(): FlashLayout {
  return [{ key: SYNC_FLASH_KEY, capacity: SYNC_STATE_MAX_BYTES }];
}

export class SyncStore {
  readonly #flash: FlashStore;
  readonly #lockId: Uint8Array;
  #version = 0;
  #revocationVersion = 0;
  #timeZone: string | undefined;
  #config: DoorConfig = {};
  #auditAck = 0;
  #credentials: Uint8Array = NO_IDS;
  #revokedCredentials: Uint8Array = NO_IDS;
  #revokedDoorcodes: Uint8Array = NO_IDS;
  #doorcodes: readonly DoorcodeRecord[] = [];
  #revokedDays: RevocationList['dailySlots'] = [];

  private constructor(flash: FlashStore, lockId: Uint8Array, state: SyncState) {
    this.#flash = flash;
    this.#lockId = lockId;
    this.#install(state);
  }

  /**
   * The synced state at boot, from `flash` (a fresh store, or one reopened over the bytes that
   * survived a power cut): the last committed state, or "never synced". A committed record that
   * does not decode is a bug (the CRC guards against torn writes) and throws.
   */
  static open(flash: FlashStore, lockId: Uint8Array): SyncStore {
    assertLength(lockId, ID_BYTES, 'lockId');
    const stored = flash.read(SYNC_FLASH_KEY);
    if (stored === undefined) return new SyncStore(flash, lockId, NEVER_SYNCED);
    const decoded = stateCodec.decode(stored);
    if (!decoded.ok) throw new RangeError(`sync state record: ${decoded.detail ?? 'undecodable'}`);
    return new SyncStore(flash, lockId, decoded.value);
  }

  /** The bundle version applied last; 0 = never synced. */
  get version(): number {
    return this.#version;
  }

  /** The cloud's revocation version of the lists in force; 0 = none. */
  get revocationVersion(): number {
    return this.#revocationVersion;
  }

  /** The property's IANA time zone, once a bundle gave it. */
  get timeZone(): string | undefined {
    return this.#timeZone;
  }

  /** The door configuration; absent fields mean the defaults. */
  get config(): DoorConfig {
    return this.#config;
  }

  /** Audit records below this sequence reached the cloud; 0 = none. */
  get auditAck(): number {
    return this.#auditAck;
  }

  /** This door's permanent doorcodes, revoked ones excluded. */
  get doorcodes(): readonly DoorcodeRecord[] {
    return this.#doorcodes;
  }

  /** A sync delivered this credential to the cache (and no revocation removed it). */
  hasCredential(id: Uint8Array): boolean {
    return hasId(this.#credentials, id);
  }

  isCredentialRevoked(id: Uint8Array): boolean {
    return hasId(this.#revokedCredentials, id);
  }

  isDoorcodeRevoked(id: Uint8Array): boolean {
    return hasId(this.#revokedDoorcodes, id);
  }

  /** Revoked daily-code slots, for the day table (`DayTable`'s `revoked`). */
  revokedSlots(): RevokedSlot[] {
    return this.#revokedDays.flatMap(({ day, slots }) => slots.map((slot) => ({ day, slot })));
  }

  /**
   * Applies `bundle` (opened by `openSyncBundle`, or handed over at model fidelity): see the
   * module comment for the rules and the codes. Commits, then installs; on any failure the state
   * is unchanged.
   */
  apply(bundle: SyncBundle): CommitResult<SyncApplied> {
    if (!bytesEqual(bundle.lockId, this.#lockId)) {
      return fail(WIRE_ERRORS.WRONG_DOOR, 'syncBundle: for another lock');
    }
    if (bundle.version <= this.#version) {
      return fail(WIRE_ERRORS.STALE, `syncBundle: version ${bundle.version} <= ${this.#version}`);
    }
    const full = bundle.kind === 'full';
    if (!full && bundle.baseVersion !== this.#version) {
      return fail(
        WIRE_ERRORS.DELTA_BASE_MISMATCH,
        `syncBundle: delta on ${bundle.baseVersion}, lock holds ${this.#version}`,
      );
    }
    const current = full ? NEVER_SYNCED : this.#snapshot();

    const revocations = mergeRevocations(
      current.revocations,
      bundle.revocations ?? (full ? EMPTY_REVOCATIONS : current.revocations),
    );
    if (!revocations.ok) return revocations;
    const revokedCredentials = packIds(revocations.value.credentials);
    const revokedDoorcodes = packIds(revocations.value.doorcodes);

    const credentials = unionIds(current.credentials, bundle.credentials).filter(
      (id) => !hasId(revokedCredentials, id),
    );
    const mine = bundle.doorcodes.filter((record) => bytesEqual(record.door, this.#lockId));
    const byId = new Map<string, DoorcodeRecord>();
    for (const record of [...current.doorcodes, ...mine]) {
      if (!hasId(revokedDoorcodes, record.id)) byId.set(String.fromCharCode(...record.id), record);
    }
    const doorcodes = [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
    if (credentials.length > MAX_BUNDLE_CREDENTIALS || doorcodes.length > MAX_BUNDLE_DOORCODES) {
      return fail(
        WIRE_ERRORS.TOO_LARGE,
        `syncState: over ${MAX_BUNDLE_CREDENTIALS} credentials or ${MAX_BUNDLE_DOORCODES} doorcodes`,
      );
    }

    const timeZone = bundle.timeZone ?? current.timeZone;
    const next: SyncState = {
      version: bundle.version,
      credentials,
      doorcodes,
      revocations: revocations.value,
      config: { ...current.config, ...bundle.config },
      ...(timeZone === undefined ? {} : { timeZone }),
      auditAck: Math.max(this.#auditAck, bundle.auditAck ?? 0),
    };
    const committed = this.#flash.commit(SYNC_FLASH_KEY, stateCodec.encode(next));
    if (!committed.ok) return commitFailure(committed.code, SYNC_FLASH_KEY);
    this.#install(next);
    return ok({
      version: next.version,
      skippedDoorcodes: bundle.doorcodes.length - mine.length,
    });
  }

  /** The state in RAM as the record's object, ids as views into the packed sets. */
  #snapshot(): SyncState {
    return {
      version: this.#version,
      credentials: unpackIds(this.#credentials),
      doorcodes: this.#doorcodes,
      revocations: {
        version: this.#revocationVersion,
        credentials: unpackIds(this.#revokedCredentials),
        dailySlots: this.#revokedDays,
        doorcodes: unpackIds(this.#revokedDoorcodes),
      },
      config: this.#config,
      ...(this.#timeZone === undefined ? {} : { timeZone: this.#timeZone }),
      auditAck: this.#auditAck,
    };
  }

  /** Mirrors a committed state in RAM; its id lists are already sorted and distinct. */
  #install(state: SyncState): void {
    this.#version = state.version;
    this.#revocationVersion = state.revocations.version;
    this.#timeZone = state.timeZone;
    this.#config = state.config;
    this.#auditAck = state.auditAck;
    this.#credentials = packIds(state.credentials);
    this.#revokedCredentials = packIds(state.revocations.credentials);
    this.#revokedDoorcodes = packIds(state.revocations.doorcodes);
    this.#doorcodes = state.doorcodes;
    this.#revokedDays = state.revocations.dailySlots;
  }
}
