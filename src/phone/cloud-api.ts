/**
 * What the phone needs from the cloud (ARCHITECTURE.md §1: the phone reaches the cloud only
 * through an API interface, never by importing `src/cloud`; §6 "Phone"). The in-process `Cloud`
 * satisfies it structurally; an HTTP client will later. Every call may be synchronous or return a
 * promise, and may throw when the network or the server fails: the phone then treats itself as
 * offline for that call and keeps working from its cache.
 *
 * Everything here is opaque to the phone except what it needs to route: the door directory
 * (which lock is which door, and the lock's Noise static key, never taken from the air —
 * SECURITY.md item 15), the cleartext header of a sealed sync bundle (its version), and the
 * doors a credential names (read with `peekCredential`, never trusted for access).
 *
 * The SDK's account calls (`getAccessLogs`, `inviteGuest`, `revokeGuestAccess`) are optional: a
 * cloud without them leaves the phone answering `Unsupported`. The user is named by the token
 * the phone was set up with (the in-process cloud's user id; a bearer token over HTTP).
 */
import type { AuditRecord } from '../../protocol/formats/audit-upload.js';

/** One door of the directory. */
export interface DoorEntry {
  readonly doorId: string;
  /** 16 bytes: advertised (by its 4-byte prefix and in the scan response) and in the prologue. */
  readonly lockId: Uint8Array;
  /** The lock's static X25519 public key, for Noise XK. */
  readonly staticPublicKey: Uint8Array;
  readonly model: string;
  readonly name: string;
}

/** What `phoneSync` hands a phone: everything it needs to unlock offline. Maps are keyed by lock
 * id in lowercase hex. */
export interface PhonePackage {
  /** The signed mobile-key credential to present at each lock, bound to this phone's key. */
  readonly credentialByLock: ReadonlyMap<string, Uint8Array>;
  readonly directory: readonly DoorEntry[];
  /** The newest full sealed sync bundle of each lock. */
  readonly bundles: ReadonlyMap<string, Uint8Array>;
  /** A smaller delta from the version the lock last acknowledged, when there is one. */
  readonly deltas?: ReadonlyMap<
    string,
    { readonly baseVersion: number; readonly sealed: Uint8Array }
  >;
  /** A signed window time anchor per lock, for a time sync while offline. */
  readonly timeAnchors: ReadonlyMap<string, Uint8Array>;
}

/** One audit record the cloud holds for a door, as the lock recorded it (decoded by the cloud). */
export interface AccessLogEntry {
  readonly doorId: string;
  /** The lock's audit sequence number. */
  readonly seq: number;
  readonly record: AuditRecord;
}

/** A guest invitation: a new guest user sharing the resident's access to `doorIds`. */
export interface GuestInvite {
  readonly doorIds: readonly string[];
  readonly name: string;
  /** Start of the guest's access, ms UTC. */
  readonly from: number;
  /** End of the guest's access, ms UTC (exclusive). */
  readonly until: number;
  /** Also assign the guest a daily keypad code for today on each door (access must have begun). */
  readonly dailyCode?: boolean;
}

/** What the cloud made of an invitation. */
export interface GuestInvitation {
  readonly guestUserId: string;
  /** The guest's share: what `revokeGuestAccess` takes. */
  readonly shareId: string;
  readonly dailyCodes: readonly {
    readonly doorId: string;
    readonly day: string;
    readonly code: string;
  }[];
}

type MaybePromise<T> = T | Promise<T>;

export interface PhoneCloud {
  /**
   * The package for the user the token names and the phone with this static public key (the
   * cloud binds the credentials to it). Throws for an invalid token.
   */
  phoneSync(token: string, phoneKey: Uint8Array): MaybePromise<PhonePackage>;
  /** A time anchor bound to `nonce`, the lock's fresh session nonce: exact and unreplayable. */
  timeAnchor(doorId: string, nonce: Uint8Array): MaybePromise<Uint8Array>;
  /**
   * A sealed audit upload pulled from a lock; the cloud dedupes by lock sequence. Whatever it
   * answers, the upload was delivered: one it refuses (unauthentic, unknown lock) would be refused
   * again. Only a throw (the network) keeps it queued.
   */
  ingestAudit(upload: Uint8Array): MaybePromise<unknown>;
  /**
   * The lock of `doorId` holds bundle `version` (its status said so, or a push the phone made
   * did): the cloud builds later bundles for it as deltas from that version. Older reports
   * change nothing. A cloud that keeps no per-lock versions may leave it out.
   */
  acknowledgeBundle?(doorId: string, version: number): MaybePromise<unknown>;
  /**
   * The audit records of the doors the user can open now (of `doorId` only, when given), as the
   * cloud decoded them from the sealed uploads phones and hubs carried.
   */
  accessLogs?(userId: string, doorId?: string): MaybePromise<readonly AccessLogEntry[]>;
  /** The resident `residentId` invites a guest. Throws when refused (doors not the resident's). */
  inviteGuest?(residentId: string, invite: GuestInvite): MaybePromise<GuestInvitation>;
  /** Revokes a guest share that resident `residentId` made. Throws when it is not theirs. */
  revokeGuestAccess?(shareId: string, residentId: string): MaybePromise<unknown>;
}
