/**
 * What the hub needs from the cloud (ARCHITECTURE.md §3 table "hub", §6): like the phone, it
 * reaches the cloud only through an interface, never by importing `src/cloud`; the in-process
 * `Cloud` satisfies it as it is, an HTTP client will later. Every call may be synchronous or
 * return a promise, and may throw when the network or the server fails: the hub then skips that
 * step and tries again at its next round.
 *
 * The hub is online, so unlike a phone it carries no bundles of its own: it asks for the newest
 * bundle of a door built on the version the lock just reported (a delta when the cloud kept that
 * version's state), and for a time anchor bound to the lock's session nonce.
 */
import type { DoorEntry } from '../phone/cloud-api.js';

export type { DoorEntry } from '../phone/cloud-api.js';

/** What `hubSync` gives: the hub's credential per lock (keyed by lock id in lowercase hex). */
export interface HubPackage {
  readonly credentialByLock: ReadonlyMap<string, Uint8Array>;
  /** The hub's doors, with each lock's Noise static key (never taken from the air). */
  readonly directory: readonly DoorEntry[];
}

/** A sealed bundle for one lock and the version it installs. */
export interface HubBundleOffer {
  readonly version: number;
  readonly sealed: Uint8Array;
}

type MaybePromise<T> = T | Promise<T>;

export interface HubCloud {
  /** The package of hub `hubId` whose static public key is `hubKey`. Throws for a revoked hub. */
  hubSync(hubId: string, hubKey: Uint8Array): MaybePromise<HubPackage>;
  /**
   * The door's newest bundle: without options, to learn its version; with `baseVersion`, the
   * bundle to push to a lock holding that version (a delta when possible, else full).
   */
  bundleFor(
    doorId: string,
    options?: { readonly baseVersion?: number },
  ): MaybePromise<HubBundleOffer>;
  /** The lock of `doorId` holds bundle `version`: later bundles are deltas from it. */
  acknowledgeBundle(doorId: string, version: number): MaybePromise<unknown>;
  /** A time anchor bound to `nonce`, the lock's fresh session nonce. */
  timeAnchor(doorId: string, nonce: Uint8Array): MaybePromise<Uint8Array>;
  /** A sealed audit upload pulled from a lock; deduplicated by the cloud. */
  ingestAudit(upload: Uint8Array): MaybePromise<unknown>;
}
