// Mobile-key credentials (protocol/formats/credential.ts): round trips, the signature over the
// exact body bytes, SECURITY.md items 11, 16 and 17, and decoders that never throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import {
  checkCredentialDoor,
  checkCredentialPhoneKey,
  checkCredentialValidity,
  credentialSchema,
  decodeCredential,
  encodeCredential,
  MAX_CREDENTIAL_BODY_BYTES,
  MAX_CREDENTIAL_DOORS,
  MAX_SCHEDULE_WINDOWS,
  MAX_SIGNED_CREDENTIAL_BYTES,
  MAX_TIME_ZONE_BYTES,
  peekCredential,
  signCredential,
  verifyCredential,
} from '../../../protocol/formats/credential.js';
import type { Credential } from '../../../protocol/formats/credential.js';
import { signBody, signedCodec } from '../../../protocol/formats/signed.js';
import { propertyRuns } from '../../support/properties.js';
import { node, PROVIDERS } from '../crypto/both-providers.js';
import {
  arbitraryFor,
  DECODER_CODES,
  hostileInputs,
  looseCbor,
  validPool,
} from '../cbor/arbitraries.js';
import {
  credential,
  id,
  ISSUER_KEY,
  ISSUER_SEED,
  LOCK_A,
  LOCK_B,
  malleate,
  OTHER_ISSUER_KEY,
  OTHER_ISSUER_SEED,
  OTHER_PHONE_KEY,
  PHONE_KEY,
  WINDOW_OVERRIDES,
} from './fixtures.js';

const { AUTH_FAILED, DECODE, EXPIRED, NOT_YET_VALID, SCHEMA, WRONG_DOOR } = WIRE_ERRORS;
const credentials = arbitraryFor(credentialSchema, WINDOW_OVERRIDES);
const envelope = signedCodec('signedCredential', MAX_CREDENTIAL_BODY_BYTES);

describe('credential: encoding', () => {
  it('decode(encode(c)) = c', () => {
    fc.assert(
      fc.property(credentials, (value) => {
        expect(decodeCredential(encodeCredential(value))).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });

  it('fits the limits with every field at its maximum', () => {
    const largest: Credential = {
      ...credential,
      role: 'guest',
      sharedBy: id(0xd0, 2),
      doors: Array.from({ length: MAX_CREDENTIAL_DOORS }, (_, i) => id(0xe0, i)),
      schedule: {
        timeZone: 'x'.repeat(MAX_TIME_ZONE_BYTES),
        windows: Array.from({ length: MAX_SCHEDULE_WINDOWS }, () => ({
          days: 0x7f,
          start: 1439,
          end: 1440,
        })),
      },
      notBefore: Number.MAX_SAFE_INTEGER - 1,
      expires: Number.MAX_SAFE_INTEGER,
      epoch: 0xffff_ffff,
    };
    const signed = signCredential(largest, ISSUER_SEED, node);
    expect(encodeCredential(largest).length).toBeLessThanOrEqual(MAX_CREDENTIAL_BODY_BYTES);
    expect(signed.length).toBeLessThanOrEqual(MAX_SIGNED_CREDENTIAL_BYTES);
    expect(verifyCredential(signed, ISSUER_KEY, node)).toEqual({ ok: true, value: largest });
  });

  it.each<[string, Partial<Credential>, string]>([
    ['a guest without sharedBy', { role: 'guest' }, 'credential.sharedBy: required for a guest'],
    ['a resident with sharedBy', { sharedBy: id(1) }, 'credential.sharedBy: required for a guest'],
    ['expires = notBefore', { expires: credential.notBefore }, 'credential.expires: must be after'],
    [
      'a door of 15 bytes',
      { doors: [LOCK_A, LOCK_B, new Uint8Array(15)] },
      'credential.doors[2]: expected bytes(16)',
    ],
    [
      'an empty window',
      { schedule: { timeZone: 'UTC', windows: [{ days: 1, start: 60, end: 60 }] } },
      'credential.schedule.windows[0].end: must be after start',
    ],
    [
      'no day in a window',
      { schedule: { timeZone: 'UTC', windows: [{ days: 0, start: 0, end: 60 }] } },
      'credential.schedule.windows[0].days: expected uint 1..127',
    ],
    ['no doors', { doors: [] }, 'credential.doors: expected array(1..32)'],
  ])('refuses %s with SCHEMA naming the path', (_, change, detail) => {
    const value = { ...credential, ...change } as Credential;
    expect(() => encodeCredential(value)).toThrow(detail);
    const body = encodeCbor(looseCbor(credentialSchema, value));
    expect(decodeCredential(body)).toMatchObject({
      ok: false,
      code: SCHEMA,
      detail: expect.stringContaining(detail) as unknown,
    });
  });
});

describe.each(PROVIDERS)('credential: signature ($name)', (crypto) => {
  const signed = signCredential(credential, ISSUER_SEED, crypto);

  it('verifies what the issuer signed', () => {
    expect(verifyCredential(signed, ISSUER_KEY, crypto)).toEqual({ ok: true, value: credential });
  });

  it('signs deterministically: both providers produce the same bytes', () => {
    expect(signCredential(credential, ISSUER_SEED, node)).toEqual(signed);
  });

  it('AUTH_FAILED for a credential signed by another issuer', () => {
    const foreign = signCredential(credential, OTHER_ISSUER_SEED, crypto);
    expect(verifyCredential(foreign, ISSUER_KEY, crypto)).toEqual({
      ok: false,
      code: AUTH_FAILED,
      detail: "signedCredential: another issuer's key id",
    });
    expect(verifyCredential(signed, OTHER_ISSUER_KEY, crypto)).toMatchObject({ code: AUTH_FAILED });
  });

  it("AUTH_FAILED for another issuer's signature under our key id", () => {
    const decoded = envelope.decode(signed);
    if (!decoded.ok) throw new Error('fixture');
    const forged = signCredential(credential, OTHER_ISSUER_SEED, crypto);
    const other = envelope.decode(forged);
    if (!other.ok) throw new Error('fixture');
    const mixed = envelope.encode({ ...decoded.value, signature: other.value.signature });
    expect(verifyCredential(mixed, ISSUER_KEY, crypto)).toEqual({
      ok: false,
      code: AUTH_FAILED,
      detail: 'signedCredential: bad signature',
    });
  });

  it('AUTH_FAILED for a non-canonical signature (S + L), SECURITY.md item 11', () => {
    const decoded = envelope.decode(signed);
    if (!decoded.ok) throw new Error('fixture');
    const malleated = envelope.encode({
      ...decoded.value,
      signature: malleate(decoded.value.signature),
    });
    expect(malleated).not.toEqual(signed);
    expect(verifyCredential(malleated, ISSUER_KEY, crypto)).toMatchObject({ code: AUTH_FAILED });
  });

  it('AUTH_FAILED for any flipped bit in the body or the signature', () => {
    const decoded = envelope.decode(signed);
    if (!decoded.ok) throw new Error('fixture');
    const { body, signature } = decoded.value;
    for (const bit of [0, 7, 8 * 20 + 3, 8 * body.length - 1]) {
      const flipped = Uint8Array.from(body);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const bytes = envelope.encode({ ...decoded.value, body: flipped });
      expect(verifyCredential(bytes, ISSUER_KEY, crypto)).toMatchObject({ code: AUTH_FAILED });
    }
    const badSignature = Uint8Array.from(signature);
    badSignature[10] = (badSignature[10] ?? 0) ^ 1;
    const bytes = envelope.encode({ ...decoded.value, signature: badSignature });
    expect(verifyCredential(bytes, ISSUER_KEY, crypto)).toMatchObject({ code: AUTH_FAILED });
  });

  it('checks the signature over the exact received bytes, never a re-encoding', () => {
    // A validly signed body with a non-shortest integer: the signature holds on these bytes, so
    // the failure comes from the strict decoder, and a re-encoding would have given other bytes.
    const canonical = encodeCredential(credential);
    const epochAt = canonical.indexOf(0x07) + 1;
    expect(canonical[epochAt]).toBe(3);
    const lax = Uint8Array.from([
      ...canonical.subarray(0, epochAt),
      0x18,
      3,
      ...canonical.subarray(epochAt + 1),
    ]);
    const laxSigned = signBody(envelope, 'keyway credential v1', lax, ISSUER_SEED, crypto);
    expect(verifyCredential(laxSigned, ISSUER_KEY, crypto)).toMatchObject({
      ok: false,
      code: DECODE,
      detail: expect.stringContaining('non-shortest') as unknown,
    });
  });

  it('keeps signatures to their format: a time-anchor context does not verify', () => {
    const other = signBody(
      envelope,
      'keyway time anchor v1',
      encodeCredential(credential),
      ISSUER_SEED,
      crypto,
    );
    expect(verifyCredential(other, ISSUER_KEY, crypto)).toMatchObject({ code: AUTH_FAILED });
  });

  it('decode(verify(sign(c))) = c for generated credentials', () => {
    fc.assert(
      fc.property(credentials, (value) => {
        const bytes = signCredential(value, ISSUER_SEED, crypto);
        expect(verifyCredential(bytes, ISSUER_KEY, crypto)).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(50, 5_000) },
    );
  });
});

describe('credential: checks on the lock', () => {
  it('is valid on [notBefore, expires), to the millisecond (SECURITY.md item 16)', () => {
    const { notBefore, expires } = credential;
    expect(checkCredentialValidity(credential, notBefore - 1)).toEqual({
      ok: false,
      code: NOT_YET_VALID,
    });
    expect(checkCredentialValidity(credential, notBefore)).toEqual({ ok: true, value: true });
    expect(checkCredentialValidity(credential, expires - 1)).toEqual({ ok: true, value: true });
    expect(checkCredentialValidity(credential, expires)).toEqual({ ok: false, code: EXPIRED });
  });

  it('WRONG_DOOR for a lock that is not listed (SECURITY.md item 17)', () => {
    expect(checkCredentialDoor(credential, LOCK_A)).toEqual({ ok: true, value: true });
    expect(checkCredentialDoor(credential, LOCK_B)).toEqual({ ok: false, code: WRONG_DOOR });
  });

  it("AUTH_FAILED when phone B presents phone A's credential (SECURITY.md item 17)", () => {
    expect(checkCredentialPhoneKey(credential, PHONE_KEY)).toEqual({ ok: true, value: true });
    expect(checkCredentialPhoneKey(credential, OTHER_PHONE_KEY)).toMatchObject({
      ok: false,
      code: AUTH_FAILED,
    });
  });

  it('lets the phone read its credential without the issuer key', () => {
    const signed = signCredential(credential, ISSUER_SEED, node);
    expect(peekCredential(signed)).toEqual({ ok: true, value: credential });
  });
});

describe('credential: hostile bytes (SECURITY.md item 26)', () => {
  const signed = validPool(credentials, (c) => signCredential(c, ISSUER_SEED, node));
  const bodies = validPool(credentials, encodeCredential);

  it.each([
    [
      'verifyCredential',
      (b: Uint8Array) => verifyCredential(b, ISSUER_KEY, node),
      signed,
      [AUTH_FAILED],
    ],
    ['peekCredential', peekCredential, signed, []],
    ['decodeCredential', decodeCredential, bodies, []],
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
