// Time anchors (protocol/formats/time-anchor.ts), SECURITY.md item 20: forged, replayed,
// another lock's, and backwards time syncs are refused; window edges to the millisecond.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import {
  anchorTime,
  decodeTimeAnchor,
  encodeTimeAnchor,
  MAX_ANCHOR_WINDOW_MS,
  MAX_SIGNED_TIME_ANCHOR_BYTES,
  MAX_TIME_ANCHOR_BODY_BYTES,
  signTimeAnchor,
  timeAnchorSchema,
  verifyTimeAnchor,
} from '../../../protocol/formats/time-anchor.js';
import type { TimeAnchor } from '../../../protocol/formats/time-anchor.js';
import { CREDENTIAL_CONTEXT } from '../../../protocol/formats/credential.js';
import { signBody, signedCodec } from '../../../protocol/formats/signed.js';
import { propertyRuns } from '../../support/properties.js';
import { node, PROVIDERS } from '../crypto/both-providers.js';
import {
  DECODER_CODES,
  hostileInputs,
  integerIn,
  looseCbor,
  validPool,
} from '../cbor/arbitraries.js';
import { ISSUER_KEY, ISSUER_SEED, LOCK_A, LOCK_B, OTHER_ISSUER_SEED, T0 } from './fixtures.js';

const { AUTH_FAILED, EXPIRED, NOT_YET_VALID, REPLAY, SCHEMA, STALE, WRONG_DOOR } = WIRE_ERRORS;

const NONCE = new Uint8Array(16).fill(0x4e);
const OLD_NONCE = new Uint8Array(16).fill(0x4f);
const online: TimeAnchor = { lockId: LOCK_A, time: T0, nonce: NONCE };
const FROM = T0 + 3_600_000;
const UNTIL = FROM + 24 * 3_600_000;
const offline: TimeAnchor = { lockId: LOCK_A, time: T0, validFrom: FROM, validUntil: UNTIL };

const anchors: fc.Arbitrary<TimeAnchor> = fc.oneof(
  fc.record({
    lockId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    time: integerIn(0, Number.MAX_SAFE_INTEGER),
    nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  }),
  fc
    .tuple(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      integerIn(0, Number.MAX_SAFE_INTEGER),
      integerIn(0, Number.MAX_SAFE_INTEGER - MAX_ANCHOR_WINDOW_MS),
      integerIn(1, MAX_ANCHOR_WINDOW_MS),
    )
    .map(([lockId, time, validFrom, length]) => ({
      lockId,
      time,
      validFrom,
      validUntil: validFrom + length,
    })),
);

describe('time anchor: encoding', () => {
  it('decode(encode(a)) = a', () => {
    fc.assert(
      fc.property(anchors, (value) => {
        expect(decodeTimeAnchor(encodeTimeAnchor(value))).toEqual({ ok: true, value });
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });

  it('fits the signed limit at its largest', () => {
    const largest = {
      ...offline,
      time: Number.MAX_SAFE_INTEGER,
      validFrom: Number.MAX_SAFE_INTEGER - 1,
      validUntil: Number.MAX_SAFE_INTEGER,
    };
    expect(signTimeAnchor(largest, ISSUER_SEED, node).length).toBeLessThanOrEqual(
      MAX_SIGNED_TIME_ANCHOR_BYTES,
    );
  });

  it.each<[string, object, string]>([
    [
      'both a nonce and a window',
      { ...offline, nonce: NONCE },
      'timeAnchor.nonce: expected a nonce or a window, not both',
    ],
    [
      'neither a nonce nor a window',
      { lockId: LOCK_A, time: T0 },
      'timeAnchor.nonce: expected a nonce or a window, not both',
    ],
    [
      'a window without its end',
      { lockId: LOCK_A, time: T0, validFrom: FROM },
      'timeAnchor.validUntil: missing from the window',
    ],
    [
      'a window without its start',
      { lockId: LOCK_A, time: T0, validUntil: UNTIL },
      'timeAnchor.validFrom: missing from the window',
    ],
    [
      'an empty window',
      { ...offline, validUntil: FROM },
      'timeAnchor.validUntil: must be after validFrom',
    ],
    [
      'a window of 72 h + 1 ms',
      { ...offline, validUntil: FROM + MAX_ANCHOR_WINDOW_MS + 1 },
      'timeAnchor.validUntil: window over 72 h',
    ],
    [
      'a nonce of 15 bytes',
      { ...online, nonce: new Uint8Array(15) },
      'timeAnchor.nonce: expected bytes(16)',
    ],
  ])('refuses %s with SCHEMA', (_, value, detail) => {
    expect(decodeTimeAnchor(encodeCbor(looseCbor(timeAnchorSchema, value)))).toEqual({
      ok: false,
      code: SCHEMA,
      detail,
    });
  });

  it('accepts a window of exactly 72 h', () => {
    const widest = { ...offline, validUntil: FROM + MAX_ANCHOR_WINDOW_MS };
    expect(decodeTimeAnchor(encodeTimeAnchor(widest))).toEqual({ ok: true, value: widest });
  });
});

describe.each(PROVIDERS)('time anchor: verification ($name)', (crypto) => {
  const signedOnline = signTimeAnchor(online, ISSUER_SEED, crypto);
  const signedOffline = signTimeAnchor(offline, ISSUER_SEED, crypto);

  it('accepts an anchor bound to this lock and this session nonce', () => {
    expect(verifyTimeAnchor(signedOnline, ISSUER_KEY, LOCK_A, NONCE, crypto)).toEqual({
      ok: true,
      value: online,
    });
    expect(verifyTimeAnchor(signedOffline, ISSUER_KEY, LOCK_A, NONCE, crypto)).toEqual({
      ok: true,
      value: offline,
    });
    expect(verifyTimeAnchor(signedOffline, ISSUER_KEY, LOCK_A, undefined, crypto)).toEqual({
      ok: true,
      value: offline,
    });
  });

  it('WRONG_DOOR for an authentic anchor of another lock', () => {
    expect(verifyTimeAnchor(signedOnline, ISSUER_KEY, LOCK_B, NONCE, crypto)).toMatchObject({
      code: WRONG_DOOR,
    });
    expect(verifyTimeAnchor(signedOffline, ISSUER_KEY, LOCK_B, undefined, crypto)).toMatchObject({
      code: WRONG_DOOR,
    });
  });

  it('REPLAY for an anchor bound to an old nonce, or when the lock issued none', () => {
    expect(verifyTimeAnchor(signedOnline, ISSUER_KEY, LOCK_A, OLD_NONCE, crypto)).toEqual({
      ok: false,
      code: REPLAY,
      detail: 'timeAnchor: not bound to this session nonce',
    });
    expect(verifyTimeAnchor(signedOnline, ISSUER_KEY, LOCK_A, undefined, crypto)).toMatchObject({
      code: REPLAY,
    });
  });

  it('AUTH_FAILED for a forged anchor, even one naming another lock', () => {
    const forged = signTimeAnchor({ ...online, lockId: LOCK_B }, OTHER_ISSUER_SEED, crypto);
    expect(verifyTimeAnchor(forged, ISSUER_KEY, LOCK_A, NONCE, crypto)).toMatchObject({
      code: AUTH_FAILED,
    });
    const flipped = Uint8Array.from(signedOnline);
    flipped[20] = (flipped[20] ?? 0) ^ 0x01;
    expect(verifyTimeAnchor(flipped, ISSUER_KEY, LOCK_A, NONCE, crypto)).toMatchObject({
      code: AUTH_FAILED,
    });
  });

  it('AUTH_FAILED for an anchor body signed in the credential context', () => {
    const envelope = signedCodec('signedTimeAnchor', MAX_TIME_ANCHOR_BODY_BYTES);
    const body = encodeTimeAnchor(online);
    const crossed = signBody(envelope, CREDENTIAL_CONTEXT, body, ISSUER_SEED, crypto);
    expect(verifyTimeAnchor(crossed, ISSUER_KEY, LOCK_A, NONCE, crypto)).toEqual({
      ok: false,
      code: AUTH_FAILED,
      detail: 'signedTimeAnchor: bad signature',
    });
  });
});

describe('time anchor: the time the lock sets', () => {
  it('takes the time of a nonce anchor, even below the high-water mark', () => {
    expect(anchorTime(online, undefined, 0)).toEqual({ ok: true, value: T0 });
    expect(anchorTime(online, T0 + 5, T0 + 10)).toEqual({ ok: true, value: T0 });
  });

  it('takes the phone reading inside [validFrom, validUntil), to the millisecond', () => {
    expect(anchorTime(offline, FROM - 1, 0)).toEqual({ ok: false, code: NOT_YET_VALID });
    expect(anchorTime(offline, FROM, 0)).toEqual({ ok: true, value: FROM });
    expect(anchorTime(offline, UNTIL - 1, 0)).toEqual({ ok: true, value: UNTIL - 1 });
    expect(anchorTime(offline, UNTIL, 0)).toEqual({ ok: false, code: EXPIRED });
  });

  it('STALE for a reading below the high-water mark: the clock never goes back', () => {
    const mark = FROM + 1_000;
    expect(anchorTime(offline, mark - 1, mark)).toMatchObject({ ok: false, code: STALE });
    expect(anchorTime(offline, mark, mark)).toEqual({ ok: true, value: mark });
  });

  it('SCHEMA when a window anchor comes without a phone reading', () => {
    expect(anchorTime(offline, undefined, 0)).toMatchObject({ ok: false, code: SCHEMA });
  });
});

describe('time anchor: hostile bytes (SECURITY.md item 26)', () => {
  const signed = validPool(anchors, (a) => signTimeAnchor(a, ISSUER_SEED, node));
  const bodies = validPool(anchors, encodeTimeAnchor);

  it.each([
    [
      'verifyTimeAnchor',
      (b: Uint8Array) => verifyTimeAnchor(b, ISSUER_KEY, LOCK_A, NONCE, node),
      signed,
      [AUTH_FAILED, WRONG_DOOR, REPLAY],
    ],
    ['decodeTimeAnchor', decodeTimeAnchor, bodies, []],
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
