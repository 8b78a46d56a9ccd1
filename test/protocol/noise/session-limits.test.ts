// SECURITY.md 5 and 14: every time and message limit of a session, on injected time, at its exact
// boundary, for both providers.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import { MAX_NONCE } from '../../../protocol/noise/cipher-state.js';
import {
  DEFAULT_SESSION_LIMITS,
  MAX_MESSAGES_PER_DIRECTION,
  resolveSessionLimits,
} from '../../../protocol/noise/session-limits.js';
import {
  CREDENTIAL,
  failureOf,
  KINDS,
  LOCK_STATUS,
  newLock,
  newPhone,
  openPair,
  provider,
  T0,
  unwrap,
} from './fixtures.js';

const LIMITS = {
  handshakeTimeoutMs: 1_000,
  idleTimeoutMs: 5_000,
  maxSessionMs: 60_000,
  maxMessagesPerDirection: 4,
} as const;

const PING = Uint8Array.of(1);

describe('limits', () => {
  it('defaults to 10 s handshake, 30 s idle, 2 min lifetime, 1024 messages each way', () => {
    expect(DEFAULT_SESSION_LIMITS).toEqual({
      handshakeTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      maxSessionMs: 120_000,
      maxMessagesPerDirection: 1024,
    });
    expect(resolveSessionLimits()).toEqual(DEFAULT_SESSION_LIMITS);
    expect(resolveSessionLimits({ idleTimeoutMs: 7 })).toEqual({
      ...DEFAULT_SESSION_LIMITS,
      idleTimeoutMs: 7,
    });
  });

  it('keeps every counter far from wrapping: the message limit is at most 2^32', () => {
    expect(MAX_MESSAGES_PER_DIRECTION).toBe(2 ** 32);
    expect(MAX_MESSAGES_PER_DIRECTION).toBeLessThan(MAX_NONCE);
    expect(resolveSessionLimits({ maxMessagesPerDirection: 2 ** 32 }).maxMessagesPerDirection).toBe(
      2 ** 32,
    );
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32 + 1])(
    'refuses %s as any limit with RangeError',
    (value) => {
      for (const key of Object.keys(DEFAULT_SESSION_LIMITS)) {
        expect(() => resolveSessionLimits({ [key]: value })).toThrow(RangeError);
      }
    },
  );
});

describe.each(KINDS)('SECURITY 14 on the %s provider', (kind) => {
  // The same seeds every time: two pairs built with fresh() hold the same keys.
  const fresh = () => ({
    phoneCrypto: provider(kind, 1),
    lockCrypto: provider(kind, 2),
    limits: LIMITS,
  });

  describe('handshake timeout (SECURITY 5)', () => {
    it('lets a lock that hears nothing time out exactly at its deadline', () => {
      const lock = newLock(fresh());
      expect(lock.deadline).toBe(T0 + 1_000);
      expect(unwrap(lock.tick(T0 + 999))).toBeUndefined();
      expect(lock.state).toBe('awaitingMessage1');
      expect(failureOf(lock.tick(T0 + 1_000))).toEqual({
        code: WIRE_ERRORS.TIMEOUT,
        detail: 'session: handshake timeout',
      });
      expect([lock.state, lock.closedWith, lock.deadline]).toEqual([
        'closed',
        WIRE_ERRORS.TIMEOUT,
        undefined,
      ]);
    });

    it('times out a handshake step 1 ms late on either side, not 1 ms early', () => {
      const phone = newPhone(fresh());
      const lock = newLock(fresh());
      unwrap(lock.readMessage1(unwrap(phone.writeMessage1(T0 + 998)), T0 + 999));
      expect(failureOf(lock.writeMessage2(LOCK_STATUS, T0 + 1_000)).code).toBe(WIRE_ERRORS.TIMEOUT);
      expect(lock.state).toBe('closed');

      const late = newLock(fresh());
      unwrap(late.readMessage1(unwrap(newPhone(fresh()).writeMessage1(T0)), T0));
      const message2 = unwrap(late.writeMessage2(LOCK_STATUS, T0 + 999));
      const phone2 = newPhone(fresh());
      unwrap(phone2.writeMessage1(T0));
      unwrap(phone2.readMessage2(message2, T0 + 999));
      expect(failureOf(phone2.writeMessage3(CREDENTIAL, T0 + 1_000)).code).toBe(
        WIRE_ERRORS.TIMEOUT,
      );
      expect(phone2.state).toBe('closed');
    });

    it('does not let a clock that steps back extend the deadline', () => {
      const lock = newLock(fresh());
      unwrap(lock.tick(T0 + 900));
      unwrap(lock.tick(T0 - 50_000));
      expect(failureOf(lock.tick(T0 + 1_000)).code).toBe(WIRE_ERRORS.TIMEOUT);
    });
  });

  describe('once open', () => {
    it('closes with TIMEOUT after idleTimeoutMs without a message, counted from the last one', () => {
      const pair = openPair({ ...fresh(), now: T0 });
      expect(pair.lock.deadline).toBe(T0 + 5_000);
      const frame = unwrap(pair.phone.encrypt(PING, T0 + 4_999));
      unwrap(pair.lock.decrypt(frame, T0 + 4_999));
      expect(pair.lock.deadline).toBe(T0 + 9_999);
      expect(unwrap(pair.lock.tick(T0 + 9_998))).toBeUndefined();
      expect(failureOf(pair.lock.encrypt(PING, T0 + 9_999))).toEqual({
        code: WIRE_ERRORS.TIMEOUT,
        detail: 'session: idle timeout',
      });
      expect([pair.lock.state, pair.lock.closedWith]).toEqual(['closed', WIRE_ERRORS.TIMEOUT]);
      expect(failureOf(pair.phone.tick(T0 + 9_999)).code).toBe(WIRE_ERRORS.TIMEOUT);
    });

    it('closes with SESSION_LIMIT at maxSessionMs after creation, however busy', () => {
      const pair = openPair({ ...fresh(), limits: { ...LIMITS, maxMessagesPerDirection: 1_000 } });
      for (let t = T0 + 4_000; t < T0 + 60_000; t += 4_000) {
        unwrap(pair.lock.decrypt(unwrap(pair.phone.encrypt(PING, t)), t));
      }
      expect(pair.lock.deadline).toBe(T0 + 60_000);
      expect(
        failureOf(pair.lock.decrypt(unwrap(pair.phone.encrypt(PING, T0 + 59_999)), T0 + 60_000)),
      ).toEqual({
        code: WIRE_ERRORS.SESSION_LIMIT,
        detail: 'session: lifetime over',
      });
      expect(pair.lock.closedWith).toBe(WIRE_ERRORS.SESSION_LIMIT);
    });

    it('counts the lifetime from creation, the handshake included', () => {
      const limits = { ...LIMITS, handshakeTimeoutMs: 60_000, maxSessionMs: 2_000 };
      const lock = newLock({ ...fresh(), limits });
      expect(lock.deadline).toBe(T0 + 2_000);
      expect(failureOf(lock.tick(T0 + 2_000)).code).toBe(WIRE_ERRORS.SESSION_LIMIT);
    });

    it('seals maxMessagesPerDirection messages, then closes with SESSION_LIMIT', () => {
      const pair = openPair(fresh());
      for (let i = 0; i < 4; i++)
        unwrap(pair.lock.decrypt(unwrap(pair.phone.encrypt(PING, T0)), T0));
      expect(failureOf(pair.phone.encrypt(PING, T0))).toEqual({
        code: WIRE_ERRORS.SESSION_LIMIT,
        detail: 'session: message limit',
      });
      expect([pair.phone.state, pair.phone.closedWith]).toEqual([
        'closed',
        WIRE_ERRORS.SESSION_LIMIT,
      ]);
    });

    it('opens maxMessagesPerDirection messages, then closes with SESSION_LIMIT', () => {
      const pair = openPair(fresh());
      // A twin of `pair` (same seeds, so same keys) whose lock may send more.
      const sender = openPair({ ...fresh(), limits: { ...LIMITS, maxMessagesPerDirection: 10 } });
      for (let i = 0; i < 4; i++)
        unwrap(pair.phone.decrypt(unwrap(sender.lock.encrypt(PING, T0)), T0));
      const fifth = unwrap(sender.lock.encrypt(PING, T0));
      expect(failureOf(pair.phone.decrypt(fifth, T0)).code).toBe(WIRE_ERRORS.SESSION_LIMIT);
      expect(pair.phone.state).toBe('closed');
    });
  });
});
