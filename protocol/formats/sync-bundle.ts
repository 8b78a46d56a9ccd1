/**
 * The per-lock sync bundle (ARCHITECTURE.md §4 "Sync bundle", §3 "Passive sync"): built by the
 * cloud, carried opaque by a phone or a hub, applied by the lock atomically and only if newer
 * (SECURITY.md item 18).
 *
 *     sealed = { 0: lockId bytes(16), 1: version uint, 2: box bytes }        (cleartext header)
 *     K_sync = HKDF-SHA256(ikm = lock secret, salt = lock id, info = "keyway sync v1", 32)
 *     aad    = lock id ‖ u64be(version)
 *     box    = nonce(12) ‖ ChaCha20-Poly1305(K_sync, nonce, aad, canonical CBOR of the bundle)
 *
 * The bundle lists credential ids, not signed credentials: only the cloud can seal a bundle, so
 * an id in it says "the cloud authorizes credential X on this lock", and the phone presents X
 * signed at unlock, where the lock verifies its signature, doors, validity and schedule
 * (`firmware-sim/access.ts`). A listed id alone never admits anyone.
 *
 * The header lets a phone compare the version with the one the lock reports before pushing.
 * The lock derives the key and the AAD from its own lock id, never from the header, so a bundle
 * for another lock, or with a changed version, fails authentication.
 *
 * Checks of `openSyncBundle`, in order: size and header (`TOO_LARGE` / `DECODE` / `SCHEMA`);
 * header naming another lock (`WRONG_DOOR`); authentication (`AUTH_FAILED`); the sealed body
 * (`SCHEMA`, also when it disagrees with the header); version ≤ the lock's (`STALE`, reported
 * only for authentic bundles); a delta whose base is not the lock's version
 * (`DELTA_BASE_MISMATCH`: the phone should push a full bundle).
 */
import {
  arrayOf,
  bytes,
  codec,
  enumeration,
  mapSchema,
  nested,
  oneOf,
  optional,
  required,
  uint,
} from '../cbor/schema.js';
import type { Infer } from '../cbor/schema.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import { bytesEqual, concatBytes, idType, u64be, weeklyWindowSchema } from './common.js';
import { timeZoneType } from './credential.js';
import { doorcodeRecordSchema } from './doorcode-record.js';
import { revocationListSchema } from './revocation.js';
import { BOX_OVERHEAD_BYTES, deriveLockKey, openSealed, sealBox } from './sealed.js';
import { MAX_SIGNED_TIME_ANCHOR_BYTES } from './time-anchor.js';

export const SYNC_KEY_LABEL = 'keyway sync v1';
/**
 * Credential ids a lock holds, one lobby door's residents and their guests; 16 bytes each, so
 * the full list (about 34 KiB) fits one bundle.
 */
export const MAX_BUNDLE_CREDENTIALS = 2048;
export const MAX_BUNDLE_DOORCODES = 256;
export const MAX_DOOR_SCHEDULE_WINDOWS = 16;
/**
 * The plaintext limit, sized so that every list at its maximum at once (2,048 ids, 256 doorcodes,
 * full revocation lists, schedules, time zone, anchor: 91,134 bytes) still fits: the cloud can
 * always build a lock's bundle, whatever it holds (test/protocol/formats/sync-bundle.test.ts).
 */
export const MAX_SYNC_BUNDLE_BYTES = 96 * 1024;
/** The sealed limit: plaintext, box overhead, header. */
export const MAX_SEALED_SYNC_BUNDLE_BYTES = MAX_SYNC_BUNDLE_BYTES + BOX_OVERHEAD_BYTES + 32;

/**
 * §3 door configuration. Absent fields keep the lock's current value (in a delta) or its
 * default (in a full bundle). Door schedules are passage windows: unlocked from `start`, locked
 * again at `end`, in the bundle's time zone, on the lock's own clock.
 */
export const doorConfigSchema = mapSchema('config', {
  ajarSeconds: optional(0, oneOf(30, 60, 90)),
  stillAjarMinutes: optional(1, oneOf(5, 10, 15)),
  relockSeconds: optional(2, uint({ min: 1, max: 3600 })),
  doorSchedules: optional(
    3,
    arrayOf(nested(weeklyWindowSchema), { max: MAX_DOOR_SCHEDULE_WINDOWS }),
  ),
});

export const SYNC_BUNDLE_KINDS = { full: 0, delta: 1 } as const;

export const syncBundleSchema = mapSchema(
  'syncBundle',
  {
    lockId: required(0, idType),
    /** Monotonic per lock, from 1. */
    version: required(1, uint({ min: 1 })),
    /** 0 for a full bundle; for a delta, the version it applies to. */
    baseVersion: required(2, uint()),
    kind: required(3, enumeration(SYNC_BUNDLE_KINDS)),
    /**
     * Ids of the credentials (`credential.ts`) the cloud authorizes on this lock. The sealed box
     * vouches for the list; the phone presents the signed credential itself at unlock.
     */
    credentials: required(4, arrayOf(idType, { max: MAX_BUNDLE_CREDENTIALS })),
    doorcodes: required(5, arrayOf(nested(doorcodeRecordSchema), { max: MAX_BUNDLE_DOORCODES })),
    revocations: optional(6, nested(revocationListSchema)),
    config: optional(7, nested(doorConfigSchema)),
    /** The property's IANA time zone, for schedules and daily codes. */
    timeZone: optional(8, timeZoneType),
    /** A signed time anchor (`time-anchor.ts`), normally a window anchor. */
    timeAnchor: optional(9, bytes({ min: 1, max: MAX_SIGNED_TIME_ANCHOR_BYTES })),
    /** Audit records up to this sequence (exclusive) reached the cloud: the lock may trim them. */
    auditAck: optional(10, uint()),
  },
  (b) => {
    if ((b.kind === 'full') !== (b.baseVersion === 0)) {
      return 'baseVersion: must be 0 for a full bundle, and only for a full bundle';
    }
    return b.baseVersion < b.version ? undefined : 'baseVersion: must be below version';
  },
);

export const sealedSyncBundleSchema = mapSchema('sealedSyncBundle', {
  lockId: required(0, idType),
  version: required(1, uint({ min: 1 })),
  box: required(
    2,
    bytes({ min: BOX_OVERHEAD_BYTES, max: MAX_SYNC_BUNDLE_BYTES + BOX_OVERHEAD_BYTES }),
  ),
});

export type SyncBundle = Infer<typeof syncBundleSchema>;
export type DoorConfig = Infer<typeof doorConfigSchema>;
export type SyncBundleHeader = Omit<Infer<typeof sealedSyncBundleSchema>, 'box'>;

const bundleCodec = codec(syncBundleSchema, MAX_SYNC_BUNDLE_BYTES);
const sealedCodec = codec(sealedSyncBundleSchema, MAX_SEALED_SYNC_BUNDLE_BYTES);

/** The canonical plaintext; throws on an invalid bundle or one over the size limit. */
export function encodeSyncBundle(bundle: SyncBundle): Uint8Array {
  return bundleCodec.encode(bundle);
}

/** Decodes a plaintext bundle. Never throws. */
export function decodeSyncBundle(bytes: Uint8Array): Result<SyncBundle> {
  return bundleCodec.decode(bytes);
}

function syncKeyAndAad(
  lockSecret: Uint8Array,
  lockId: Uint8Array,
  version: number,
  crypto: CryptoProvider,
): [Uint8Array, Uint8Array] {
  return [
    deriveLockKey(lockSecret, lockId, SYNC_KEY_LABEL, crypto),
    concatBytes(lockId, u64be(version)),
  ];
}

/** The cloud's side: seals `bundle` for its lock with a fresh random nonce. */
export function sealSyncBundle(
  bundle: SyncBundle,
  lockSecret: Uint8Array,
  crypto: CryptoProvider,
): Uint8Array {
  const [key, aad] = syncKeyAndAad(lockSecret, bundle.lockId, bundle.version, crypto);
  const box = sealBox(key, aad, encodeSyncBundle(bundle), crypto);
  return sealedCodec.encode({ lockId: bundle.lockId, version: bundle.version, box });
}

/** The phone's side: the cleartext header, to compare with the version the lock reports. */
export function decodeSyncBundleHeader(bytes: Uint8Array): Result<SyncBundleHeader> {
  const sealed = sealedCodec.decode(bytes);
  return sealed.ok ? ok({ lockId: sealed.value.lockId, version: sealed.value.version }) : sealed;
}

/**
 * The lock's side: the bundle, if sealed for `lockId` under `lockSecret`, newer than
 * `currentVersion` (the version the lock holds, 0 for none) and, for a delta, built on it.
 * See the module comment for the codes. Never throws on any `bytes`; a wrong-size secret or
 * lock id is a bug and throws.
 */
export function openSyncBundle(
  bytes: Uint8Array,
  lockSecret: Uint8Array,
  lockId: Uint8Array,
  currentVersion: number,
  crypto: CryptoProvider,
): Result<SyncBundle> {
  const sealed = sealedCodec.decode(bytes);
  if (!sealed.ok) return sealed;
  const header = sealed.value;
  const decoded = openSealed(
    header,
    lockId,
    'sealedSyncBundle',
    (h) => syncKeyAndAad(lockSecret, lockId, h.version, crypto),
    decodeSyncBundle,
    crypto,
  );
  if (!decoded.ok) return decoded;
  const bundle = decoded.value;
  if (!bytesEqual(bundle.lockId, lockId) || bundle.version !== header.version) {
    return fail(WIRE_ERRORS.SCHEMA, 'syncBundle: lock id or version differs from the header');
  }
  if (bundle.version <= currentVersion) {
    return fail(WIRE_ERRORS.STALE, `syncBundle: version ${bundle.version} <= ${currentVersion}`);
  }
  if (bundle.kind === 'delta' && bundle.baseVersion !== currentVersion) {
    return fail(
      WIRE_ERRORS.DELTA_BASE_MISMATCH,
      `syncBundle: delta on ${bundle.baseVersion}, lock holds ${currentVersion}`,
    );
  }
  return ok(bundle);
}
