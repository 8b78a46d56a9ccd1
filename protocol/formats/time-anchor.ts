/**
 * Cloud-signed time anchors (ARCHITECTURE.md §4 "Time anchors", SECURITY.md item 20): the only
 * way a lock's RTC is set. Each anchor is bound to one lock id and either
 * - to the lock's fresh nonce (from its status response): a phone online at the door fetches
 *   it, and it serves exactly once, at `time`; or
 * - to a validity window `[validFrom, validUntil)` of at most 72 h: a phone that will be offline
 *   pre-fetches it, and the lock takes the phone's clock reading only inside the window and never
 *   below its own persisted high-water mark.
 * Signed like credentials (`signed.ts`), with its own context string.
 *
 * Another lock's anchor is refused with `WRONG_DOOR`: the lock id is checked after the
 * signature, so the code is only ever given for an authentic anchor (a forgery is
 * `AUTH_FAILED`), and it tells the phone it fetched for the wrong door. A nonce anchor with any
 * nonce but the one the lock issued in this session is `REPLAY`.
 */
import { bytes, codec, mapSchema, optional, required } from '../cbor/schema.js';
import type { Infer } from '../cbor/schema.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import { bytesEqual, idType, LOCK_NONCE_BYTES, timeMs } from './common.js';
import { openSigned, signBody, signedCodec } from './signed.js';

export const TIME_ANCHOR_CONTEXT = 'keyway time anchor v1';
/** The longest validity window of an offline anchor. */
export const MAX_ANCHOR_WINDOW_MS = 72 * 3_600_000;
export const MAX_TIME_ANCHOR_BODY_BYTES = 96;

export const timeAnchorSchema = mapSchema(
  'timeAnchor',
  {
    lockId: required(0, idType),
    /** When the cloud issued the anchor (ms UTC). */
    time: required(1, timeMs),
    nonce: optional(2, bytes(LOCK_NONCE_BYTES)),
    validFrom: optional(3, timeMs),
    validUntil: optional(4, timeMs),
  },
  (a) => {
    const windowed = a.validFrom !== undefined || a.validUntil !== undefined;
    if ((a.nonce !== undefined) === windowed)
      return 'nonce: expected a nonce or a window, not both';
    if (a.nonce !== undefined) return undefined;
    if (a.validFrom === undefined) return 'validFrom: missing from the window';
    if (a.validUntil === undefined) return 'validUntil: missing from the window';
    if (a.validUntil <= a.validFrom) return 'validUntil: must be after validFrom';
    if (a.validUntil - a.validFrom > MAX_ANCHOR_WINDOW_MS) return 'validUntil: window over 72 h';
    return undefined;
  },
);

export type TimeAnchor = Infer<typeof timeAnchorSchema>;

const bodyCodec = codec(timeAnchorSchema, MAX_TIME_ANCHOR_BODY_BYTES);
const envelope = signedCodec('signedTimeAnchor', MAX_TIME_ANCHOR_BODY_BYTES);
export const MAX_SIGNED_TIME_ANCHOR_BYTES = envelope.maxBytes;

export function encodeTimeAnchor(anchor: TimeAnchor): Uint8Array {
  return bodyCodec.encode(anchor);
}

/** Decodes an anchor body (not a signed anchor). Never throws. */
export function decodeTimeAnchor(body: Uint8Array): Result<TimeAnchor> {
  return bodyCodec.decode(body);
}

export function signTimeAnchor(
  anchor: TimeAnchor,
  issuerSeed: Uint8Array,
  crypto: CryptoProvider,
): Uint8Array {
  return signBody(envelope, TIME_ANCHOR_CONTEXT, encodeTimeAnchor(anchor), issuerSeed, crypto);
}

/**
 * The lock's side: the anchor if it is signed by `issuerKey` (`AUTH_FAILED`), well-formed
 * (`TOO_LARGE` / `DECODE` / `SCHEMA`), for `lockId` (`WRONG_DOOR`), and — for a nonce anchor —
 * bound to `expectedNonce`, the nonce this lock issued in the current session (`REPLAY` for any
 * other nonce, or when it issued none). A window anchor is then checked by `anchorTime`.
 * Never throws on any `bytes`.
 */
export function verifyTimeAnchor(
  bytes: Uint8Array,
  issuerKey: Uint8Array,
  lockId: Uint8Array,
  expectedNonce: Uint8Array | undefined,
  crypto: CryptoProvider,
): Result<TimeAnchor> {
  const body = openSigned(envelope, TIME_ANCHOR_CONTEXT, bytes, issuerKey, crypto);
  if (!body.ok) return body;
  const anchor = decodeTimeAnchor(body.value);
  if (!anchor.ok) return anchor;
  if (!bytesEqual(anchor.value.lockId, lockId)) {
    return fail(WIRE_ERRORS.WRONG_DOOR, 'timeAnchor: for another lock');
  }
  const { nonce } = anchor.value;
  if (nonce !== undefined && (expectedNonce === undefined || !bytesEqual(nonce, expectedNonce))) {
    return fail(WIRE_ERRORS.REPLAY, 'timeAnchor: not bound to this session nonce');
  }
  return anchor;
}

/**
 * The time a lock may set from a verified anchor. A nonce anchor is fresh by construction: its
 * `time`, even below the lock's high-water mark (the cloud's clock corrects a reading that ran
 * ahead). A window anchor gives the phone's clock reading `phoneTimeMs`, accepted only in
 * `[validFrom, validUntil)` (`NOT_YET_VALID` / `EXPIRED`; `SCHEMA` when the phone sent none) and
 * never below the lock's persisted high-water mark `highWaterMs` (`STALE`: an offline reading
 * never moves the clock backwards).
 */
export function anchorTime(
  anchor: TimeAnchor,
  phoneTimeMs: number | undefined,
  highWaterMs: number,
): Result<number> {
  if (anchor.validFrom === undefined || anchor.validUntil === undefined) return ok(anchor.time);
  if (phoneTimeMs === undefined) {
    return fail(WIRE_ERRORS.SCHEMA, 'timeSync.phoneTime: required with a window anchor');
  }
  if (phoneTimeMs < anchor.validFrom) return fail(WIRE_ERRORS.NOT_YET_VALID);
  if (phoneTimeMs >= anchor.validUntil) return fail(WIRE_ERRORS.EXPIRED);
  if (phoneTimeMs < highWaterMs) {
    return fail(WIRE_ERRORS.STALE, 'timeSync.phoneTime: before the high-water mark');
  }
  return ok(phoneTimeMs);
}
