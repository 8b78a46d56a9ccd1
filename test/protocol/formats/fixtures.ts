// Keys, ids and arbitraries shared by the format and message tests. Every key here is a fixed
// test value, never a real one.
import fc from 'fast-check';
import { weeklyWindowSchema } from '../../../protocol/formats/common.js';
import type { Credential } from '../../../protocol/formats/credential.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromHex } from '../cbor/arbitraries.js';
import type { Override, Overrides } from '../cbor/arbitraries.js';
import type { MapSchema } from '../../../protocol/cbor/schema.js';
import { revokedDaySchema } from '../../../protocol/formats/revocation.js';
import { syncBundleSchema } from '../../../protocol/formats/sync-bundle.js';

/** 16-byte ids: a recognisable first byte, then the index. */
export function id(tag: number, n = 0): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = tag;
  out[15] = n;
  return out;
}

export const LOCK_A = id(0xa0, 1);
export const LOCK_B = id(0xb0, 2);
export const LOCK_SECRET_A = new Uint8Array(32).fill(0x5a);
export const LOCK_SECRET_B = new Uint8Array(32).fill(0x5b);

export const ISSUER_SEED = fromHex(
  '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
);
export const ISSUER_KEY = ed25519.getPublicKey(ISSUER_SEED);
export const OTHER_ISSUER_SEED = new Uint8Array(32).fill(7);
export const OTHER_ISSUER_KEY = ed25519.getPublicKey(OTHER_ISSUER_SEED);

export const PHONE_KEY = new Uint8Array(32).fill(0x11);
export const OTHER_PHONE_KEY = new Uint8Array(32).fill(0x12);

/** 2026-03-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 2, 1);
export const DAY_MS = 86_400_000;

export const credential: Credential = {
  id: id(0xc0, 1),
  user: id(0xd0, 1),
  phoneKey: PHONE_KEY,
  doors: [id(0xb0, 9), LOCK_A],
  schedule: {
    timeZone: 'America/New_York',
    windows: [{ days: 0b0011111, start: 7 * 60, end: 19 * 60 }],
  },
  notBefore: T0,
  expires: T0 + 30 * DAY_MS,
  epoch: 3,
  role: 'resident',
};

/** Weekly windows with start < end, which a filter would find too rarely. */
export const windowArbitrary = fc
  .tuple(fc.integer({ min: 1, max: 0x7f }), fc.integer({ min: 0, max: 1439 }), fc.nat(1439))
  .map(([days, start, length]) => ({ days, start, end: Math.min(1440, start + 1 + length) }));

export const WINDOW_OVERRIDES: Overrides = new Map([[weeklyWindowSchema, windowArbitrary]]);

/** Calendar days as labels, and strictly increasing slot lists: a filter would find too few. */
export const revokedDays = fc
  .tuple(
    fc.date({
      min: new Date(Date.UTC(2000, 0, 1)),
      max: new Date(Date.UTC(2099, 11, 31)),
      noInvalidDate: true,
    }),
    fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 6 }),
  )
  .map(([date, slots]) => ({
    day: date.toISOString().slice(0, 10).replaceAll('-', ''),
    slots: slots.sort((a, b) => a - b),
  }));

export const REVOCATION_OVERRIDES: Overrides = new Map([[revokedDaySchema, revokedDays]]);

/** Full bundles on base 0, deltas on a base below their version: a filter would find too few. */
export const BUNDLE_OVERRIDES: Overrides = new Map<MapSchema, Override>([
  [weeklyWindowSchema, windowArbitrary],
  [revokedDaySchema, revokedDays],
  [
    syncBundleSchema,
    (b: Record<string, unknown>) => {
      const version = Math.max(2, Number(b['version']));
      return b['kind'] === 'full'
        ? { ...b, version, baseVersion: 0 }
        : { ...b, version, baseVersion: 1 + (Number(b['baseVersion']) % (version - 1)) };
    },
  ],
]);

/** The same RFC 8032 signature with S replaced by S + L: a non-canonical, malleated copy. */
export function malleate(signature: Uint8Array): Uint8Array {
  const L = ed25519.Point.Fn.ORDER;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] ?? 0);
  let t = s + L;
  const out = Uint8Array.from(signature);
  for (let i = 32; i < 64; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}
