// Sealed sync bundles (protocol/formats/sync-bundle.ts), SECURITY.md items 12 and 18: another
// lock's bundle, a flipped bit, an older bundle replayed, a delta on the wrong base; the
// construction checked against node:crypto directly, with both providers.
import { createDecipheriv, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import { concatBytes, u64be } from '../../../protocol/formats/common.js';
import { deriveLockKey, sealBox } from '../../../protocol/formats/sealed.js';
import {
  MAX_REVOKED_CREDENTIALS,
  MAX_REVOKED_DAYS,
  MAX_REVOKED_DOORCODES,
  MAX_REVOKED_SLOTS_PER_DAY,
} from '../../../protocol/formats/revocation.js';
import { MAX_SIGNED_TIME_ANCHOR_BYTES } from '../../../protocol/formats/time-anchor.js';
import {
  decodeSyncBundle,
  decodeSyncBundleHeader,
  encodeSyncBundle,
  MAX_BUNDLE_CREDENTIALS,
  MAX_BUNDLE_DOORCODES,
  MAX_DOOR_SCHEDULE_WINDOWS,
  MAX_SEALED_SYNC_BUNDLE_BYTES,
  MAX_SYNC_BUNDLE_BYTES,
  openSyncBundle,
  sealedSyncBundleSchema,
  sealSyncBundle,
  SYNC_KEY_LABEL,
  syncBundleSchema,
} from '../../../protocol/formats/sync-bundle.js';
import type { SyncBundle } from '../../../protocol/formats/sync-bundle.js';
import { codec } from '../../../protocol/cbor/schema.js';
import { propertyRuns } from '../../support/properties.js';
import { node, PROVIDERS } from '../crypto/both-providers.js';
import {
  arbitraryFor,
  DECODER_CODES,
  hostileInputs,
  looseCbor,
  validPool,
} from '../cbor/arbitraries.js';
import { BUNDLE_OVERRIDES, id, LOCK_A, LOCK_B, LOCK_SECRET_A, LOCK_SECRET_B } from './fixtures.js';

const { AUTH_FAILED, DELTA_BASE_MISMATCH, SCHEMA, STALE, WRONG_DOOR } = WIRE_ERRORS;
const header = codec(sealedSyncBundleSchema, MAX_SEALED_SYNC_BUNDLE_BYTES);

const full: SyncBundle = {
  lockId: LOCK_A,
  version: 7,
  baseVersion: 0,
  kind: 'full',
  credentials: [id(0xc1, 1), id(0xc1, 2)],
  doorcodes: [{ door: LOCK_A, id: id(0xdc, 1), pin: '0042917', user: id(0xd0, 1) }],
  revocations: { version: 3, credentials: [id(0xc0, 9)], dailySlots: [], doorcodes: [] },
  config: {
    ajarSeconds: 60,
    stillAjarMinutes: 10,
    relockSeconds: 5,
    doorSchedules: [{ days: 0x1f, start: 480, end: 1080 }],
  },
  timeZone: 'America/New_York',
  timeAnchor: Uint8Array.of(9),
  auditAck: 120,
};
const delta: SyncBundle = {
  lockId: LOCK_A,
  version: 8,
  baseVersion: 7,
  kind: 'delta',
  credentials: [],
  doorcodes: [],
};
const bundles = arbitraryFor(syncBundleSchema, BUNDLE_OVERRIDES);

describe('sync bundle: plaintext', () => {
  it('decode(encode(b)) = b', () => {
    fc.assert(
      fc.property(bundles, (value) => {
        expect(decodeSyncBundle(encodeSyncBundle(value))).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(500, 50_000) },
    );
  });

  it.each<[string, Partial<SyncBundle>, string]>([
    [
      'a full bundle on a base',
      { baseVersion: 3 },
      'syncBundle.baseVersion: must be 0 for a full bundle, and only for a full bundle',
    ],
    [
      'a delta on base 0',
      { kind: 'delta', baseVersion: 0 },
      'syncBundle.baseVersion: must be 0 for a full bundle, and only for a full bundle',
    ],
    [
      'a delta on its own version',
      { kind: 'delta', baseVersion: 7 },
      'syncBundle.baseVersion: must be below version',
    ],
    ['version 0', { version: 0 }, 'syncBundle.version: expected uint 1..9007199254740991'],
    [
      'an ajar time of 45 s',
      { config: { ajarSeconds: 45 as 30 } },
      'syncBundle.config.ajarSeconds: expected one of 30, 60, 90',
    ],
    [
      'a still-ajar time of 7 min',
      { config: { stillAjarMinutes: 7 as 5 } },
      'syncBundle.config.stillAjarMinutes: expected one of 5, 10, 15',
    ],
  ])('refuses %s with SCHEMA', (_, change, detail) => {
    const bytes = encodeCbor(looseCbor(syncBundleSchema, { ...full, ...change }));
    expect(decodeSyncBundle(bytes)).toEqual({ ok: false, code: SCHEMA, detail });
  });

  it.each<[string, unknown[], string]>([
    [
      'a credential id of 15 bytes',
      [id(0xc1, 1), new Uint8Array(15)],
      'syncBundle.credentials[1]: expected bytes(16)',
    ],
    [
      'a signed credential where an id belongs',
      [new Uint8Array(180)],
      'syncBundle.credentials[0]: expected bytes(16)',
    ],
    [
      `${MAX_BUNDLE_CREDENTIALS + 1} credential ids`,
      Array.from({ length: MAX_BUNDLE_CREDENTIALS + 1 }, () => id(0xc1)),
      `syncBundle.credentials: expected array(0..${MAX_BUNDLE_CREDENTIALS}) of bytes(16)`,
    ],
  ])('refuses %s with SCHEMA', (_, credentials, detail) => {
    const bytes = encodeCbor(looseCbor(syncBundleSchema, { ...full, credentials }));
    expect(decodeSyncBundle(bytes)).toEqual({ ok: false, code: SCHEMA, detail });
  });

  it('fits every list at its maximum at once in one bundle', () => {
    const far = Number.MAX_SAFE_INTEGER;
    const largest: SyncBundle = {
      lockId: LOCK_A,
      version: far,
      baseVersion: 0,
      kind: 'full',
      credentials: Array.from({ length: MAX_BUNDLE_CREDENTIALS }, (_, i) => id(0xc1, i)),
      doorcodes: Array.from({ length: MAX_BUNDLE_DOORCODES }, (_, i) => ({
        door: LOCK_A,
        id: id(0xdc, i),
        pin: '9999999',
        user: id(0xd0, i),
        notBefore: far - 1,
        expires: far,
      })),
      revocations: {
        version: far,
        credentials: Array.from({ length: MAX_REVOKED_CREDENTIALS }, (_, i) => id(0xe1, i)),
        dailySlots: Array.from({ length: MAX_REVOKED_DAYS }, (_, day) => ({
          day: `202612${String(day + 10).padStart(2, '0')}`,
          slots: Array.from({ length: MAX_REVOKED_SLOTS_PER_DAY }, (_, slot) => slot * 256 + 255),
        })),
        doorcodes: Array.from({ length: MAX_REVOKED_DOORCODES }, (_, i) => id(0xe2, i)),
      },
      config: {
        ajarSeconds: 90,
        stillAjarMinutes: 15,
        relockSeconds: 3600,
        doorSchedules: Array.from({ length: MAX_DOOR_SCHEDULE_WINDOWS }, () => ({
          days: 0x7f,
          start: 1000,
          end: 1440,
        })),
      },
      timeZone: 'x'.repeat(64),
      timeAnchor: new Uint8Array(MAX_SIGNED_TIME_ANCHOR_BYTES),
      auditAck: far,
    };
    const sealed = sealSyncBundle(largest, LOCK_SECRET_A, node);
    expect(encodeSyncBundle(largest).length).toBeLessThanOrEqual(MAX_SYNC_BUNDLE_BYTES);
    expect(sealed.length).toBeLessThanOrEqual(MAX_SEALED_SYNC_BUNDLE_BYTES);
    expect(openSyncBundle(sealed, LOCK_SECRET_A, LOCK_A, 0, node)).toEqual({
      ok: true,
      value: largest,
    });
  });
});

describe.each(PROVIDERS)('sync bundle: sealed ($name)', (crypto) => {
  const sealed = sealSyncBundle(full, LOCK_SECRET_A, crypto);

  it('opens for its lock when newer than the version held', () => {
    expect(openSyncBundle(sealed, LOCK_SECRET_A, LOCK_A, 0, crypto)).toEqual({
      ok: true,
      value: full,
    });
    expect(openSyncBundle(sealed, LOCK_SECRET_A, LOCK_A, 6, crypto)).toEqual({
      ok: true,
      value: full,
    });
  });

  it('seals the same bytes as the other provider from the same random source', () => {
    expect(sealSyncBundle(full, LOCK_SECRET_A, node)).toEqual(sealed);
  });

  it('follows the construction: HKDF(secret, salt = lock id, "keyway sync v1"), AAD = id ‖ u64be(version)', () => {
    const key = new Uint8Array(hkdfSync('sha256', LOCK_SECRET_A, LOCK_A, SYNC_KEY_LABEL, 32));
    expect(deriveLockKey(LOCK_SECRET_A, LOCK_A, SYNC_KEY_LABEL, crypto)).toEqual(key);
    const decoded = header.decode(sealed);
    if (!decoded.ok) throw new Error('fixture');
    const { box } = decoded.value;
    const decipher = createDecipheriv('chacha20-poly1305', key, box.subarray(0, 12), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from([...LOCK_A, 0, 0, 0, 0, 0, 0, 0, 7]), {
      plaintextLength: box.length - 28,
    });
    decipher.setAuthTag(box.subarray(box.length - 16));
    const plaintext = Buffer.concat([
      decipher.update(box.subarray(12, box.length - 16)),
      decipher.final(),
    ]);
    expect(new Uint8Array(plaintext)).toEqual(encodeSyncBundle(full));
  });

  it('WRONG_DOOR for a bundle whose header names another lock', () => {
    const other = sealSyncBundle({ ...full, lockId: LOCK_B }, LOCK_SECRET_B, crypto);
    expect(openSyncBundle(other, LOCK_SECRET_A, LOCK_A, 0, crypto)).toMatchObject({
      code: WRONG_DOOR,
    });
  });

  it("AUTH_FAILED for another lock's bundle relabelled with this lock id", () => {
    const other = header.decode(sealSyncBundle({ ...full, lockId: LOCK_B }, LOCK_SECRET_B, crypto));
    if (!other.ok) throw new Error('fixture');
    const relabelled = header.encode({ ...other.value, lockId: LOCK_A });
    expect(openSyncBundle(relabelled, LOCK_SECRET_A, LOCK_A, 0, crypto)).toEqual({
      ok: false,
      code: AUTH_FAILED,
      detail: 'sealedSyncBundle: box',
    });
  });

  it('AUTH_FAILED for a bundle sealed under another secret', () => {
    const foreign = sealSyncBundle(full, LOCK_SECRET_B, crypto);
    expect(openSyncBundle(foreign, LOCK_SECRET_A, LOCK_A, 0, crypto)).toMatchObject({
      code: AUTH_FAILED,
    });
  });

  it('AUTH_FAILED for a changed header version, in either direction', () => {
    const decoded = header.decode(sealed);
    if (!decoded.ok) throw new Error('fixture');
    for (const version of [6, 8, 1_000]) {
      const changed = header.encode({ ...decoded.value, version });
      expect(openSyncBundle(changed, LOCK_SECRET_A, LOCK_A, 0, crypto)).toMatchObject({
        code: AUTH_FAILED,
      });
    }
  });

  it('AUTH_FAILED for every single flipped bit of the box (nonce, ciphertext, tag)', () => {
    const decoded = header.decode(sealed);
    if (!decoded.ok) throw new Error('fixture');
    const { box } = decoded.value;
    for (let bit = 0; bit < box.length * 8; bit += 7) {
      const flipped = Uint8Array.from(box);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const bytes = header.encode({ ...decoded.value, box: flipped });
      expect(openSyncBundle(bytes, LOCK_SECRET_A, LOCK_A, 0, crypto)).toMatchObject({
        code: AUTH_FAILED,
      });
    }
  });

  it('STALE for an older or equal version replayed after a newer one (SECURITY.md item 18)', () => {
    expect(openSyncBundle(sealed, LOCK_SECRET_A, LOCK_A, 7, crypto)).toEqual({
      ok: false,
      code: STALE,
      detail: 'syncBundle: version 7 <= 7',
    });
    expect(openSyncBundle(sealed, LOCK_SECRET_A, LOCK_A, 8, crypto)).toMatchObject({ code: STALE });
  });

  it('DELTA_BASE_MISMATCH for a delta on a version the lock does not hold', () => {
    const sealedDelta = sealSyncBundle(delta, LOCK_SECRET_A, crypto);
    expect(openSyncBundle(sealedDelta, LOCK_SECRET_A, LOCK_A, 7, crypto)).toEqual({
      ok: true,
      value: delta,
    });
    expect(openSyncBundle(sealedDelta, LOCK_SECRET_A, LOCK_A, 6, crypto)).toEqual({
      ok: false,
      code: DELTA_BASE_MISMATCH,
      detail: 'syncBundle: delta on 7, lock holds 6',
    });
    expect(openSyncBundle(sealedDelta, LOCK_SECRET_A, LOCK_A, 8, crypto)).toMatchObject({
      code: STALE,
    });
  });

  it('SCHEMA for an authentic box whose body disagrees with the header', () => {
    const key = deriveLockKey(LOCK_SECRET_A, LOCK_A, SYNC_KEY_LABEL, crypto);
    const aad = concatBytes(LOCK_A, u64be(9));
    const box = sealBox(key, aad, encodeSyncBundle(full), crypto);
    const bytes = header.encode({ lockId: LOCK_A, version: 9, box });
    expect(openSyncBundle(bytes, LOCK_SECRET_A, LOCK_A, 0, crypto)).toMatchObject({
      code: SCHEMA,
      detail: 'syncBundle: lock id or version differs from the header',
    });
  });

  it('lets the phone read the header without the secret', () => {
    expect(decodeSyncBundleHeader(sealed)).toEqual({
      ok: true,
      value: { lockId: LOCK_A, version: 7 },
    });
  });

  it('decode(open(seal(b))) = b for generated bundles', () => {
    fc.assert(
      fc.property(bundles, (value) => {
        const bytes = sealSyncBundle(value, LOCK_SECRET_A, crypto);
        expect(
          openSyncBundle(bytes, LOCK_SECRET_A, value.lockId, value.baseVersion, crypto),
        ).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(100, 10_000) },
    );
  });
});

describe('sync bundle: hostile bytes (SECURITY.md item 26)', () => {
  const sealed = validPool(
    bundles.map((b) => ({ ...b, lockId: LOCK_A })),
    (b) => sealSyncBundle(b, LOCK_SECRET_A, node),
  );
  const plain = validPool(bundles, encodeSyncBundle);
  const open = (bytes: Uint8Array) => openSyncBundle(bytes, LOCK_SECRET_A, LOCK_A, 1, node);

  it.each([
    ['openSyncBundle', open, sealed, [AUTH_FAILED, WRONG_DOOR, STALE, DELTA_BASE_MISMATCH]],
    ['decodeSyncBundleHeader', decodeSyncBundleHeader, sealed, []],
    ['decodeSyncBundle', decodeSyncBundle, plain, []],
  ] as const)('%s never throws and returns a typed error', (_, decode, valid, extra) => {
    fc.assert(
      fc.property(hostileInputs(valid), (bytes) => {
        const result = decode(bytes);
        if (!result.ok) expect([...DECODER_CODES, ...extra]).toContain(result.code);
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});
