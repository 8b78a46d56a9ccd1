// SECURITY.md 12: every single-bit flip of every handshake message and of a transport message in
// each direction, plus truncation and extension, for both providers. Each flip meets a fresh
// session rebuilt from the same seeds (X25519 results memoised, so only new inputs cost a scalar
// multiplication). The receiver must fail with AUTH_FAILED, close, and deliver nothing.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import {
  dhCache,
  failureOf,
  flipBit,
  hex,
  KINDS,
  LOCK_STATUS,
  memoisedDh,
  newLock,
  newPhone,
  openPair,
  provider,
  T0,
  unwrap,
} from './fixtures.js';
import type { ProviderKind } from './fixtures.js';

function rig(kind: ProviderKind) {
  const cache = dhCache();
  const sides = () => ({
    phoneCrypto: memoisedDh(provider(kind, 1), cache),
    lockCrypto: memoisedDh(provider(kind, 2), cache),
  });
  return { sides, honest: openPair(sides()) };
}

const bits = (bytes: Uint8Array) => Array.from({ length: bytes.length * 8 }, (_, bit) => bit);

describe.each(KINDS)('SECURITY 12 on the %s provider', (kind) => {
  const { sides, honest } = rig(kind);

  it(`fails every bit flip of message 1 (${honest.message1.length * 8} bits) at the lock`, () => {
    for (const bit of bits(honest.message1)) {
      const lock = newLock(sides());
      expect(failureOf(lock.readMessage1(flipBit(honest.message1, bit), T0)).code).toBe(
        WIRE_ERRORS.AUTH_FAILED,
      );
      expect([lock.state, lock.version, lock.closedWith]).toEqual([
        'closed',
        undefined,
        WIRE_ERRORS.AUTH_FAILED,
      ]);
    }
  });

  it(`fails every bit flip of message 2 (${honest.message2.length * 8} bits) at the phone`, () => {
    for (const bit of bits(honest.message2)) {
      const phone = newPhone(sides());
      expect(hex(unwrap(phone.writeMessage1(T0)))).toBe(hex(honest.message1));
      expect(failureOf(phone.readMessage2(flipBit(honest.message2, bit), T0)).code).toBe(
        WIRE_ERRORS.AUTH_FAILED,
      );
      expect([phone.state, phone.handshakeHash]).toEqual(['closed', undefined]);
    }
  });

  it(`fails every bit flip of message 3 (${honest.message3.length * 8} bits) at the lock`, () => {
    for (const bit of bits(honest.message3)) {
      const lock = newLock(sides());
      unwrap(lock.readMessage1(honest.message1, T0));
      expect(hex(unwrap(lock.writeMessage2(LOCK_STATUS, T0)))).toBe(hex(honest.message2));
      expect(failureOf(lock.readMessage3(flipBit(honest.message3, bit), T0)).code).toBe(
        WIRE_ERRORS.AUTH_FAILED,
      );
      expect([lock.state, lock.phone, lock.handshakeHash]).toEqual([
        'closed',
        undefined,
        undefined,
      ]);
    }
  });

  it('fails every truncation and an extension of each handshake message', () => {
    const cut = (message: Uint8Array) => [
      ...Array.from({ length: message.length }, (_, n) => message.subarray(0, n)),
      Uint8Array.from([...message, 0]),
    ];
    for (const message of cut(honest.message1)) {
      expect(failureOf(newLock(sides()).readMessage1(message, T0)).code).toBeOneOf([
        WIRE_ERRORS.AUTH_FAILED,
        WIRE_ERRORS.FAILED,
      ]);
    }
    for (const message of cut(honest.message3)) {
      const lock = newLock(sides());
      unwrap(lock.readMessage1(honest.message1, T0));
      unwrap(lock.writeMessage2(LOCK_STATUS, T0));
      expect(failureOf(lock.readMessage3(message, T0)).code).toBeOneOf([
        WIRE_ERRORS.AUTH_FAILED,
        WIRE_ERRORS.FAILED,
      ]);
    }
  });

  it.each(['phone', 'lock'] as const)(
    'fails every bit flip, truncation and extension of a transport frame from the %s',
    (from) => {
      const body = new TextEncoder().encode('unlock door 1');
      const frameOf = (pair: ReturnType<typeof openPair>) =>
        unwrap((from === 'phone' ? pair.phone : pair.lock).encrypt(body, T0));
      const frame = frameOf(openPair(sides()));
      const tampered = [
        ...bits(frame).map((bit) => flipBit(frame, bit)),
        ...Array.from({ length: frame.length }, (_, n) => frame.slice(0, n)),
        Uint8Array.from([...frame, 0]),
      ];
      for (const bad of tampered) {
        const pair = openPair(sides());
        expect(hex(frameOf(pair))).toBe(hex(frame));
        const receiver = from === 'phone' ? pair.lock : pair.phone;
        expect(failureOf(receiver.decrypt(bad, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
        expect([receiver.state, receiver.closedWith]).toEqual(['closed', WIRE_ERRORS.AUTH_FAILED]);
        // The honest frame now finds the session closed: the tampering cost the session, and
        // nothing was delivered.
        expect(failureOf(receiver.decrypt(frame, T0)).code).toBe(WIRE_ERRORS.UNEXPECTED);
      }
    },
  );
});
