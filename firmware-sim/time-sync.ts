/**
 * Setting the lock's clock from a cloud-signed time anchor (ARCHITECTURE.md §2, §3 "Power", §4
 * "Time anchors"; SECURITY.md items 20 and 24; protocol/spec/messages.md §5.4). The anchor
 * arrives in a time-sync request or inside a sync bundle; the checks are the protocol's own,
 * `verifyTimeAnchor` then `anchorTime`, and this module adds the lock's state around them:
 * - the session nonce. A nonce anchor must carry the nonce this lock reported in the current
 *   session's status, and serves once: the nonce is spent as soon as an authentic anchor bound
 *   to it arrives, so presenting it again is `REPLAY`, like a nonce anchor from an earlier
 *   session or one presented when the lock issued no nonce;
 * - the high-water mark, the latest time the lock has set, persisted in its own small flash
 *   record and committed *before* the time is returned, so no power cut can lose it. A window
 *   anchor's phone reading below it is `STALE`; so is one below the RTC's own reading while the
 *   clock is valid, because the running clock is a high-water mark too: otherwise an anchor
 *   replayed inside its 72 h window could turn a running clock back by days and bring back
 *   yesterday's daily codes. A nonce anchor is fresh by construction and may set the clock, and
 *   the mark, below them: the cloud's clock corrects a reading that ran ahead.
 * Codes: forged `AUTH_FAILED`, another lock's `WRONG_DOOR`, replayed `REPLAY`, backwards `STALE`,
 * outside its window `NOT_YET_VALID` / `EXPIRED`, a window anchor without a phone reading
 * `SCHEMA`, a failed commit `INTERNAL` (with the flash error). A refused anchor changes nothing;
 * an authentic nonce anchor whose commit fails has still spent its nonce (the phone asks for a
 * new status and anchor).
 *
 * No model-fidelity twin (§7): the lock-id and nonce rules live inside `verifyTimeAnchor`,
 * behind the signature check, so a path without cryptography would need a second copy of them.
 */
import type { CryptoProvider } from '../protocol/crypto/provider.js';
import { assertLength, ID_BYTES, LOCK_NONCE_BYTES } from '../protocol/formats/common.js';
import { anchorTime, verifyTimeAnchor } from '../protocol/formats/time-anchor.js';
import { ok } from '../protocol/result.js';
import type { FlashLayout, FlashStore } from './flash.js';
import { commitFailure } from './sync-store.js';
import type { CommitResult } from './sync-store.js';

/** The high-water mark's flash record: the time, ms UTC, as a little-endian f64 (exact to 2^53). */
export const TIME_SYNC_FLASH_KEY = 'time-high-water';
const HIGH_WATER_BYTES = 8;

/** The high-water mark's record; add it to the lock's flash layout. */
export function timeSyncFlashLayout(): FlashLayout {
  return [{ key: TIME_SYNC_FLASH_KEY, capacity: HIGH_WATER_BYTES }];
}

/** What the lock trusts, fixed at commissioning. */
export interface TimeSyncIdentity {
  readonly lockId: Uint8Array;
  /** The property authority's Ed25519 public key, which signs anchors. */
  readonly issuerKey: Uint8Array;
  readonly crypto: CryptoProvider;
}

/** An accepted anchor: the time to set the RTC to, and how it was bound. */
export interface AcceptedTime {
  readonly timeMs: number;
  /** `window`: an offline phone's reading, so the §5 doorcode grace should allow for its error. */
  readonly binding: 'nonce' | 'window';
}

export class TimeSync {
  readonly #flash: FlashStore;
  readonly #identity: TimeSyncIdentity;
  #highWaterMs: number;
  #nonce: Uint8Array | undefined;

  private constructor(flash: FlashStore, identity: TimeSyncIdentity, highWaterMs: number) {
    this.#flash = flash;
    this.#identity = identity;
    this.#highWaterMs = highWaterMs;
  }

  /**
   * The lock's time sync at boot: the high-water mark restored from `flash` (0 when none was
   * ever committed), no session nonce. A record of the wrong size is a bug and throws.
   */
  static open(flash: FlashStore, identity: TimeSyncIdentity): TimeSync {
    assertLength(identity.lockId, ID_BYTES, 'lockId');
    const stored = flash.read(TIME_SYNC_FLASH_KEY);
    if (stored === undefined) return new TimeSync(flash, identity, 0);
    if (stored.length !== HIGH_WATER_BYTES)
      throw new RangeError('time high-water record: bad size');
    const view = new DataView(stored.buffer, stored.byteOffset, stored.length);
    return new TimeSync(flash, identity, view.getFloat64(0, true));
  }

  /** The latest time the lock has set (ms UTC), as persisted; 0 = never. */
  get highWaterMs(): number {
    return this.#highWaterMs;
  }

  /**
   * The nonce this lock reported in the current session's status (`undefined` at the session's
   * end): the only one a nonce anchor may carry, once.
   */
  setSessionNonce(nonce: Uint8Array | undefined): void {
    if (nonce !== undefined) assertLength(nonce, LOCK_NONCE_BYTES, 'nonce');
    this.#nonce = nonce;
  }

  /**
   * Checks the signed anchor `bytes` and commits the high-water mark: the time to set the RTC to,
   * or a refusal (module comment). `phoneTimeMs` is the phone's clock reading sent with a window
   * anchor; `clockMs` the RTC's reading, `undefined` while it is invalid.
   */
  accept(
    bytes: Uint8Array,
    phoneTimeMs: number | undefined,
    clockMs: number | undefined,
  ): CommitResult<AcceptedTime> {
    const { lockId, issuerKey, crypto } = this.#identity;
    const anchor = verifyTimeAnchor(bytes, issuerKey, lockId, this.#nonce, crypto);
    if (!anchor.ok) return anchor;
    const binding = anchor.value.nonce === undefined ? 'window' : 'nonce';
    if (binding === 'nonce') this.#nonce = undefined;
    const floor = Math.max(this.#highWaterMs, clockMs ?? 0);
    const time = anchorTime(anchor.value, phoneTimeMs, floor);
    if (!time.ok) return time;
    if (time.value !== this.#highWaterMs) {
      const record = new Uint8Array(HIGH_WATER_BYTES);
      new DataView(record.buffer).setFloat64(0, time.value, true);
      const committed = this.#flash.commit(TIME_SYNC_FLASH_KEY, record);
      if (!committed.ok) return commitFailure(committed.code, TIME_SYNC_FLASH_KEY);
      this.#highWaterMs = time.value;
    }
    return ok({ timeMs: time.value, binding });
  }
}
