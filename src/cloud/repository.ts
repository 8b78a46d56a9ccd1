/**
 * The cloud's storage (ARCHITECTURE.md §6: "storage behind a small repository interface:
 * in-memory first; SQLite when the server arrives"): one table per kind of record, each a
 * keyed set of plain, immutable records. The authority (`cloud.ts`) validates a whole request
 * before it writes, and replaces a record by writing a new one under the same id, so a table
 * needs nothing but get, put, delete and an ordered listing — what any store offers.
 *
 * Ids are lowercase hex strings. Those that travel on the wire (users, credentials, doorcodes)
 * are 16 random bytes, so `fromHex(id)` is the wire id (`protocol/formats/common.ts` `ID_BYTES`);
 * a phone's id is the hex of its Noise static public key. Times are ms UTC from the injected
 * clock. Listing order is insertion order, which keeps every run deterministic by seed.
 */
import type { AuditRecord } from '../../protocol/formats/audit-upload.js';
import type { WeeklyWindow } from '../../protocol/formats/common.js';
import type { CredentialRole } from '../../protocol/formats/credential.js';
import type { DoorConfig } from '../../protocol/formats/sync-bundle.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';

/** A keyed set of immutable records. */
export interface Table<T extends { readonly id: string }> {
  get(id: string): T | undefined;
  /** Inserts, or replaces the record with the same id (keeping its place in the order). */
  put(record: T): void;
  delete(id: string): void;
  /** Every record, in insertion order. */
  list(): T[];
}

/** The lock models a door can carry (ARCHITECTURE.md §3). */
export type DoorModel = 'M' | 'C' | 'C2' | 'R';

/** The property: one per cloud (id `property`), its time zone and its secrets. */
export interface PropertyRecord {
  readonly id: string;
  /** IANA time zone of every door: daily codes, schedules (§5). */
  readonly timeZone: string;
  /** The authority's Ed25519 seed: signs credentials and time anchors. */
  readonly authoritySeed: Uint8Array;
  readonly authorityPublicKey: Uint8Array;
  /** `K_property` of §5; door keys derive from it, locks never see it. */
  readonly propertyKey: Uint8Array;
  /** The latest revocation version; every revocation request takes the next one. */
  readonly revocationVersion: number;
}

/** Where the cloud stands with one lock's audit ring. */
export interface AuditProgress {
  /** Every sequence below this reached the cloud or was declared lost: the bundles' `auditAck`. */
  readonly ack: number;
  /** The largest overflow counter the lock reported. */
  readonly overflow: number;
  /** Sequences the cloud skipped as dropped by the lock, ever. */
  readonly lost: number;
}

export interface DoorRecord {
  readonly id: string;
  readonly name: string;
  readonly model: DoorModel;
  readonly lockId: Uint8Array;
  readonly lockIdHex: string;
  readonly lockSecret: Uint8Array;
  readonly staticKey: KeyPair;
  /** `K_door = deriveDoorKey(K_property, id)` (§5). */
  readonly doorKey: Uint8Array;
  readonly config: DoorConfig;
  /** The newest bundle version built for this lock (monotonic; 1 from commissioning). */
  readonly version: number;
  /** The newest version the lock is known to hold (phones' and the hub's reports). */
  readonly ackedVersion: number;
  readonly audit: AuditProgress;
  readonly createdAt: number;
}

export type UserRole = CredentialRole;

export interface UserRecord {
  readonly id: string;
  readonly name: string;
  readonly role: UserRole;
  /** The credential epoch signed into this user's credentials; bumped at revocation. */
  readonly epoch: number;
  readonly createdAt: number;
  readonly revokedAt?: number;
}

/** A key: a set of doors and an optional weekly schedule, in the property's time zone. */
export interface KeyRecord {
  readonly id: string;
  readonly name: string;
  readonly doorIds: readonly string[];
  readonly schedule?: readonly WeeklyWindow[];
  readonly createdAt: number;
}

/** A key shared with a user, on `[notBefore, expires)`. */
export interface ShareRecord {
  readonly id: string;
  readonly keyId: string;
  readonly userId: string;
  readonly notBefore: number;
  readonly expires: number;
  /** For a guest: the resident whose access this share depends on. */
  readonly sharedBy?: string;
  readonly createdAt: number;
  readonly revokedAt?: number;
}

export interface PhoneRecord {
  /** Hex of `publicKey`. */
  readonly id: string;
  readonly userId: string;
  /** The phone's Noise static public key (X25519). */
  readonly publicKey: Uint8Array;
  readonly registeredAt: number;
  readonly revokedAt?: number;
}

/** What every revocable record carries once revoked. */
export interface Revoked {
  readonly revokedAt?: number;
  /** The revocation version of the request that revoked it. */
  readonly revocationVersion?: number;
}

/** A signed mobile-key credential for one share on one phone. */
export interface CredentialRecord extends Revoked {
  readonly id: string;
  readonly userId: string;
  readonly shareId: string;
  readonly phoneId: string;
  readonly doorIds: readonly string[];
  /** `signCredential` output, what the phone presents and bundles carry. */
  readonly signed: Uint8Array;
  readonly role: UserRole;
  readonly notBefore: number;
  readonly expires: number;
  readonly hasSchedule: boolean;
  readonly issuedAt: number;
}

/** A permanent doorcode (PERMANENT, §3): one door, a system-generated 7-digit PIN. */
export interface DoorcodeEntry extends Revoked {
  readonly id: string;
  readonly doorId: string;
  readonly userId: string;
  readonly pin: string;
  readonly notBefore?: number;
  readonly expires?: number;
  readonly createdAt: number;
}

export type DailyCodeKind = 'DAILY' | 'DAILY_SINGLE_USE';

/** A daily-code slot assigned to a user on one door and day (§5); id `door:day:slot`. */
export interface DailyCodeEntry extends Revoked {
  readonly id: string;
  readonly doorId: string;
  readonly userId: string;
  /** `YYYYMMDD` in the property's time zone. */
  readonly day: string;
  readonly slot: number;
  readonly kind: DailyCodeKind;
  readonly assignedAt: number;
}

/**
 * What one bundle version installs on its lock, by id: the basis of deltas (a delta from base
 * B to version V carries what V holds and B does not). Revoked daily slots are `day:slot`.
 */
export interface DoorSyncState {
  readonly credentials: readonly string[];
  readonly doorcodes: readonly string[];
  readonly revokedCredentials: readonly string[];
  readonly revokedDoorcodes: readonly string[];
  readonly revokedSlots: readonly string[];
  readonly revocationVersion: number;
  readonly config: DoorConfig;
  readonly timeZone: string;
  readonly auditAck: number;
}

/** One built bundle version of a door; id `door:version`. */
export interface BundleRecord {
  readonly id: string;
  readonly doorId: string;
  readonly version: number;
  readonly state: DoorSyncState;
  /** The full bundle of this version, sealed once (so every phone carries the same bytes). */
  readonly sealedFull: Uint8Array;
  readonly builtAt: number;
}

/** An audit record received from a lock; id `door:seq` (the dedupe key). */
export interface AuditEntry {
  readonly id: string;
  readonly doorId: string;
  readonly seq: number;
  readonly record: AuditRecord;
  readonly receivedAt: number;
}

export type DoorStateKind = 'DOOR_AJAR' | 'DOOR_STILL_AJAR' | 'DOOR_BREACHED' | 'DOOR_SECURE';

/** A Door State Notification (§3) waiting in, or delivered from, the outbox. */
export interface NotificationRecord {
  /** `door:kind:time:repeat`: the same lock event queues one notification. */
  readonly id: string;
  readonly doorId: string;
  readonly doorName: string;
  readonly kind: DoorStateKind;
  /** When the lock raised it (ms). */
  readonly time: number;
  readonly openMs?: number;
  readonly repeat?: number;
  /** The property's managers at the time it was queued. */
  readonly recipients: readonly string[];
  readonly queuedAt: number;
  readonly deliveredAt?: number;
}

export interface CloudRepository {
  readonly properties: Table<PropertyRecord>;
  readonly doors: Table<DoorRecord>;
  readonly users: Table<UserRecord>;
  readonly keys: Table<KeyRecord>;
  readonly shares: Table<ShareRecord>;
  readonly phones: Table<PhoneRecord>;
  readonly credentials: Table<CredentialRecord>;
  readonly doorcodes: Table<DoorcodeEntry>;
  readonly dailyCodes: Table<DailyCodeEntry>;
  readonly bundles: Table<BundleRecord>;
  readonly audit: Table<AuditEntry>;
  readonly notifications: Table<NotificationRecord>;
}
