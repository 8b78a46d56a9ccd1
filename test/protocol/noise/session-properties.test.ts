// Properties of the keyway session (SECURITY.md 26): random payloads round-trip through a real
// handshake and transport; arbitrary bytes fed as any handshake or transport message never throw,
// always fail, and leave the receiver closed; arbitrary call sequences never throw and never leave
// a closed session. Decoder campaigns run 10 000 times per provider in CI.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import { CipherState } from '../../../protocol/noise/cipher-state.js';
import { resolveSessionLimits } from '../../../protocol/noise/session-limits.js';
import { TransportChannel } from '../../../protocol/noise/transport.js';
import { propertyRuns } from '../../support/properties.js';
import {
  dhCache,
  flipBit,
  hex,
  KINDS,
  LOCK_KEY,
  LOCK_STATUS,
  memoisedDh,
  newLock,
  newPhone,
  openPair,
  PAIRINGS,
  PHONE_KEY,
  provider,
  standInDh,
  T0,
  unwrap,
} from './fixtures.js';
import type { PairOptions, ProviderKind } from './fixtures.js';

const DECODER_RUNS = { numRuns: propertyRuns(10_000, 100_000) };
/** Campaigns where each run costs a real X25519 on a new point (about 1–2 ms). */
const REAL_DH_RUNS = { numRuns: propertyRuns(200, 20_000) };
const ROUND_TRIP_RUNS = { numRuns: propertyRuns(30, 3_000) };
const SEQUENCE_RUNS = { numRuns: propertyRuns(1_000, 100_000) };

const HANDSHAKE_FAILURES: number[] = [WIRE_ERRORS.FAILED, WIRE_ERRORS.AUTH_FAILED];

/** Arbitrary bytes, biased towards `honest`'s length, and `honest` with a few bits flipped. */
function hostile(honest: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = honest.length;
  return fc.oneof(
    fc.uint8Array({ maxLength: 2 * n }),
    fc.uint8Array({ minLength: n, maxLength: n }),
    fc
      .uniqueArray(fc.nat({ max: 8 * n - 1 }), { minLength: 1, maxLength: 4 })
      .map((flips) => flips.reduce(flipBit, honest)),
  );
}

describe('random payloads', () => {
  it('round-trip through the handshake and the transport, on every pairing of providers', () => {
    const payload = (max: number) => fc.uint8Array({ maxLength: max });
    fc.assert(
      fc.property(
        fc.constantFrom(...PAIRINGS),
        fc.nat(),
        payload(64),
        payload(400),
        fc.array(fc.record({ fromPhone: fc.boolean(), body: payload(200) }), { maxLength: 8 }),
        (pairing, seed, status, credential, conversation) => {
          const pair = openPair({
            phoneCrypto: provider(pairing.phone, seed),
            lockCrypto: provider(pairing.lock, seed + 1),
            status,
            credential,
          });
          expect(hex(pair.lock.phone?.credential ?? new Uint8Array(1))).toBe(hex(credential));
          for (const { fromPhone, body } of conversation) {
            const [sender, receiver] = fromPhone
              ? [pair.phone, pair.lock]
              : [pair.lock, pair.phone];
            expect(hex(unwrap(receiver.decrypt(unwrap(sender.encrypt(body, T0)), T0)))).toBe(
              hex(body),
            );
          }
        },
      ),
      ROUND_TRIP_RUNS,
    );
  });
});

describe.each(KINDS)('hostile bytes on the %s provider', (kind: ProviderKind) => {
  const cache = dhCache();
  const real = () => ({
    phoneCrypto: memoisedDh(provider(kind, 1), cache),
    lockCrypto: memoisedDh(provider(kind, 2), cache),
  });
  // Under the stand-in a public key is its secret, so the static pairs are rebuilt that way.
  const standIn = () => ({
    phoneCrypto: standInDh(provider(kind, 1)),
    lockCrypto: standInDh(provider(kind, 2)),
    phoneKey: { publicKey: PHONE_KEY.secretKey, secretKey: PHONE_KEY.secretKey },
    lockKey: { publicKey: LOCK_KEY.secretKey, secretKey: LOCK_KEY.secretKey },
  });
  const honest = openPair(real());
  const standInHonest = openPair(standIn());
  const standInFrame = unwrap(standInHonest.phone.encrypt(LOCK_STATUS, T0));

  /** A message 1 at a fresh lock: a failure, and the lock closed. */
  const message1Fails = (sides: () => PairOptions) =>
    fc.property(hostile(honest.message1), (bytes) => {
      const lock = newLock(sides());
      const result = lock.readMessage1(bytes, T0);
      expect(result.ok ? 0 : result.code).toBeOneOf(HANDSHAKE_FAILURES);
      expect(lock.state).toBe('closed');
    });

  /** A message 2 at a phone awaiting it: a failure, and the phone closed. */
  const message2Fails = (sides: () => PairOptions) =>
    fc.property(hostile(honest.message2), (bytes) => {
      const phone = newPhone(sides());
      unwrap(phone.writeMessage1(T0));
      const result = phone.readMessage2(bytes, T0);
      expect(result.ok ? 0 : result.code).toBeOneOf(HANDSHAKE_FAILURES);
      expect(phone.state).toBe('closed');
    });

  it('message 1: never throws, always fails (X25519 stand-in, 10 000 runs)', () => {
    fc.assert(message1Fails(standIn), DECODER_RUNS);
  });

  it('message 1: never throws, always fails (real X25519)', () => {
    fc.assert(message1Fails(real), REAL_DH_RUNS);
  });

  it('message 2: never throws, always fails (X25519 stand-in, 10 000 runs)', () => {
    fc.assert(message2Fails(standIn), DECODER_RUNS);
  });

  it('message 2: never throws, always fails (real X25519)', () => {
    fc.assert(message2Fails(real), REAL_DH_RUNS);
  });

  it('message 3: never throws, always fails (real X25519, memoised; 10 000 runs)', () => {
    fc.assert(
      fc.property(hostile(honest.message3), (bytes) => {
        const lock = newLock(real());
        unwrap(lock.readMessage1(honest.message1, T0));
        unwrap(lock.writeMessage2(LOCK_STATUS, T0));
        const result = lock.readMessage3(bytes, T0);
        expect(result.ok ? 0 : result.code).toBeOneOf(HANDSHAKE_FAILURES);
        expect([lock.state, lock.phone]).toEqual(['closed', undefined]);
      }),
      DECODER_RUNS,
    );
  });

  it('transport channel: never throws; anything but the next honest frame closes it (10 000 runs)', () => {
    const crypto = provider(kind, 3);
    const key = crypto.randomBytes(32);
    const limits = resolveSessionLimits();
    const frame = new CipherState(crypto, key).encryptWithAd(new Uint8Array(0), LOCK_STATUS);
    fc.assert(
      fc.property(fc.array(hostile(frame), { minLength: 1, maxLength: 3 }), (frames) => {
        const channel = new TransportChannel(
          { send: new CipherState(crypto, key), receive: new CipherState(crypto, key) },
          limits,
          T0,
          T0,
        );
        for (const bytes of frames) {
          const next = channel.isOpen && channel.counts.received === 0 && hex(bytes) === hex(frame);
          const result = channel.decrypt(bytes, T0);
          expect(result.ok).toBe(next);
          expect(channel.isOpen).toBe(result.ok);
        }
      }),
      DECODER_RUNS,
    );
  });

  it('session transport: never throws, fails, and closes either side', () => {
    const frame = unwrap(openPair(real()).phone.encrypt(LOCK_STATUS, T0));
    fc.assert(
      fc.property(hostile(frame), fc.boolean(), (bytes, atLock) => {
        fc.pre(hex(bytes) !== hex(frame));
        const pair = openPair(real());
        const receiver = atLock ? pair.lock : pair.phone;
        const result = receiver.decrypt(bytes, T0);
        expect(result.ok ? 0 : result.code).toBeOneOf([
          WIRE_ERRORS.AUTH_FAILED,
          WIRE_ERRORS.TOO_LARGE,
        ]);
        expect(receiver.state).toBe('closed');
      }),
      SEQUENCE_RUNS,
    );
  });

  it('arbitrary call sequences with arbitrary bytes and times never throw; closed stays closed', () => {
    const step = fc.record({
      op: fc.constantFrom('m1', 'm2', 'm3', 'encrypt', 'decrypt', 'tick'),
      bytes: fc.oneof(
        fc.uint8Array({ maxLength: 120 }),
        fc.constantFrom(standInHonest.message1, LOCK_STATUS, standInHonest.message3, standInFrame),
      ),
      dt: fc.nat({ max: 12_000 }),
    });
    // An honest prefix of any length (this lock's seeds answer `standInHonest`), so that the
    // random steps start from every state.
    const honestSteps = [
      { op: 'm1', bytes: standInHonest.message1, dt: 0 },
      { op: 'm2', bytes: LOCK_STATUS, dt: 0 },
      { op: 'm3', bytes: standInHonest.message3, dt: 0 },
      { op: 'decrypt', bytes: standInFrame, dt: 0 },
    ] as const;
    const sequence = fc
      .tuple(fc.nat({ max: honestSteps.length }), fc.array(step, { maxLength: 8 }))
      .map(([prefix, rest]) => [...honestSteps.slice(0, prefix), ...rest]);
    const reached = new Set<string>();
    fc.assert(
      fc.property(sequence, (steps) => {
        const lock = newLock(standIn());
        let now = T0;
        let closed = false;
        for (const { op, bytes, dt } of steps) {
          now += dt;
          const result =
            op === 'm1'
              ? lock.readMessage1(bytes, now)
              : op === 'm2'
                ? lock.writeMessage2(bytes, now)
                : op === 'm3'
                  ? lock.readMessage3(bytes, now)
                  : op === 'encrypt'
                    ? lock.encrypt(bytes, now)
                    : op === 'decrypt'
                      ? lock.decrypt(bytes, now)
                      : lock.tick(now);
          if (closed)
            expect(result).toEqual({
              ok: false,
              code: WIRE_ERRORS.UNEXPECTED,
              detail: 'session: closed',
            });
          closed = lock.state === 'closed';
          if (!result.ok) expect(closed).toBe(true);
          reached.add(lock.state);
        }
      }),
      SEQUENCE_RUNS,
    );
    expect([...reached].sort()).toEqual([
      'awaitingMessage1',
      'awaitingMessage3',
      'closed',
      'open',
      'readyForMessage2',
    ]);
  });
});
