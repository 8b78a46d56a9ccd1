/**
 * The mobile-key credential (ARCHITECTURE.md §4 "Credentials", §3 "Access types"): a CBOR map
 * signed with Ed25519 by the property authority, presented by the phone in Noise message 3.
 *
 * The lock accepts a credential only if `verifyCredential` succeeds (issuer key id and strict
 * signature over the exact body bytes, `signed.ts`), and then, on its own clock:
 * `checkCredentialValidity` (not-before ≤ now < expires), `checkCredentialDoor` (its lock id is
 * listed), `checkCredentialPhoneKey` (the phone key equals the static key the Noise handshake
 * authenticated), its synced cache (not revoked), and the schedule in the named time zone.
 */
import {
  arrayOf,
  bytes,
  codec,
  enumeration,
  mapSchema,
  nested,
  optional,
  required,
  text,
  uint,
} from '../cbor/schema.js';
import type { Infer } from '../cbor/schema.js';
import { X25519_KEY_BYTES } from '../crypto/provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import { bytesEqual, idType, timeMs, weeklyWindowSchema } from './common.js';
import { openSigned, signBody, signedCodec } from './signed.js';

/** The domain-separation context of credential signatures. */
export const CREDENTIAL_CONTEXT = 'keyway credential v1';
export const MAX_CREDENTIAL_DOORS = 32;
export const MAX_SCHEDULE_WINDOWS = 16;
/** IANA names are at most 30-odd bytes today; 64 leaves room. */
export const MAX_TIME_ZONE_BYTES = 64;
/** The body of a credential with every field at its maximum fits. */
export const MAX_CREDENTIAL_BODY_BYTES = 1024;

/**
 * §3: who holds the key. A guest's access depends on the resident who shared it. A hub's key
 * admits the property's wired gateway to push bundles, set the clock and pull audit; it never
 * opens a door (firmware-sim/access.ts).
 */
export const CREDENTIAL_ROLES = { resident: 0, guest: 1, vendor: 2, manager: 3, hub: 4 } as const;
export type CredentialRole = keyof typeof CREDENTIAL_ROLES;

export const timeZoneType = text({ min: 1, max: MAX_TIME_ZONE_BYTES });

/** Weekly windows evaluated by the lock in `timeZone`, on its own clock. */
export const scheduleSchema = mapSchema('schedule', {
  timeZone: required(0, timeZoneType),
  windows: required(1, arrayOf(nested(weeklyWindowSchema), { min: 1, max: MAX_SCHEDULE_WINDOWS })),
});

export const credentialSchema = mapSchema(
  'credential',
  {
    id: required(0, idType),
    user: required(1, idType),
    /** The phone's Noise static key (X25519). */
    phoneKey: required(2, bytes(X25519_KEY_BYTES)),
    /** Lock ids. */
    doors: required(3, arrayOf(idType, { min: 1, max: MAX_CREDENTIAL_DOORS })),
    schedule: optional(4, nested(scheduleSchema)),
    notBefore: required(5, timeMs),
    expires: required(6, timeMs),
    /** The issuer's credential epoch for this user. */
    epoch: required(7, uint({ max: 0xffff_ffff })),
    role: required(8, enumeration(CREDENTIAL_ROLES)),
    /** For a guest: the resident who shared the key. */
    sharedBy: optional(9, idType),
  },
  (c) => {
    if (c.notBefore >= c.expires) return 'expires: must be after notBefore';
    if ((c.role === 'guest') !== (c.sharedBy !== undefined)) {
      return 'sharedBy: required for a guest, and only for a guest';
    }
    return undefined;
  },
);

export type Credential = Infer<typeof credentialSchema>;
export type Schedule = Infer<typeof scheduleSchema>;

const bodyCodec = codec(credentialSchema, MAX_CREDENTIAL_BODY_BYTES);
const envelope = signedCodec('signedCredential', MAX_CREDENTIAL_BODY_BYTES);
/** The largest signed credential. */
export const MAX_SIGNED_CREDENTIAL_BYTES = envelope.maxBytes;

/** The canonical body encoding; throws on an invalid credential. */
export function encodeCredential(credential: Credential): Uint8Array {
  return bodyCodec.encode(credential);
}

/** Decodes a credential body (not a signed credential). Never throws. */
export function decodeCredential(body: Uint8Array): Result<Credential> {
  return bodyCodec.decode(body);
}

/** The authority's side: the signed credential bytes the phone carries. */
export function signCredential(
  credential: Credential,
  issuerSeed: Uint8Array,
  crypto: CryptoProvider,
): Uint8Array {
  return signBody(envelope, CREDENTIAL_CONTEXT, encodeCredential(credential), issuerSeed, crypto);
}

/**
 * The lock's side: the credential, if signed by `issuerPublicKey` (`AUTH_FAILED` for another
 * issuer or a bad or non-canonical signature) and well-formed (`TOO_LARGE` / `DECODE` /
 * `SCHEMA`). Validity, door, phone key and revocation are separate checks. Never throws on
 * any `bytes`.
 */
export function verifyCredential(
  bytes: Uint8Array,
  issuerPublicKey: Uint8Array,
  crypto: CryptoProvider,
): Result<Credential> {
  const body = openSigned(envelope, CREDENTIAL_CONTEXT, bytes, issuerPublicKey, crypto);
  return body.ok ? decodeCredential(body.value) : body;
}

/**
 * The phone's side: the body of a signed credential without checking the signature, to list
 * its doors and dates. Never the basis of an access decision.
 */
export function peekCredential(bytes: Uint8Array): Result<Credential> {
  const decoded = envelope.decode(bytes);
  return decoded.ok ? decodeCredential(decoded.value.body) : decoded;
}

/**
 * SECURITY.md item 16: valid on `[notBefore, expires)` — `NOT_YET_VALID` strictly before
 * `notBefore`, `EXPIRED` from `expires` on. `nowMs` is the lock's own (valid) clock.
 */
export function checkCredentialValidity(credential: Credential, nowMs: number): Result<true> {
  if (nowMs < credential.notBefore) return fail(WIRE_ERRORS.NOT_YET_VALID);
  if (nowMs >= credential.expires) return fail(WIRE_ERRORS.EXPIRED);
  return ok(true);
}

/** SECURITY.md item 17: `WRONG_DOOR` unless `lockId` is one of the credential's doors. */
export function checkCredentialDoor(credential: Credential, lockId: Uint8Array): Result<true> {
  return credential.doors.some((door) => bytesEqual(door, lockId))
    ? ok(true)
    : fail(WIRE_ERRORS.WRONG_DOOR);
}

/**
 * SECURITY.md item 17: phone B presenting phone A's credential. `AUTH_FAILED` unless the
 * credential's phone key equals the static key the Noise handshake authenticated.
 */
export function checkCredentialPhoneKey(
  credential: Credential,
  handshakeStaticKey: Uint8Array,
): Result<true> {
  return bytesEqual(credential.phoneKey, handshakeStaticKey)
    ? ok(true)
    : fail(WIRE_ERRORS.AUTH_FAILED, 'credential: phone key differs from the session key');
}
