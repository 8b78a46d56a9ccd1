// The keyway session end to end (protocol/spec/session.md): the handshake and the transport in
// both directions for every pairing of providers (the cross ones too), then SECURITY.md items 9,
// 10, 13, 15 and 21 and the state machine's rules.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import { XkInitiator } from '../../../protocol/noise/handshake-xk.js';
import { encodePrologue } from '../../../protocol/noise/prologue.js';
import { LockSession, PhoneSession } from '../../../protocol/noise/session.js';
import {
  CREDENTIAL,
  failureOf,
  fromHex,
  hex,
  KINDS,
  LOCK_ID,
  LOCK_KEY,
  LOCK_STATUS,
  LOW_ORDER_POINTS,
  newLock,
  newPhone,
  openPair,
  OTHER_KEY,
  PAIRINGS,
  PHONE_KEY,
  provider,
  T0,
  unwrap,
} from './fixtures.js';

const text = (value: string) => new TextEncoder().encode(value);

describe.each(PAIRINGS)(
  'phone on $phone, lock on $lock',
  ({ phone: phoneKind, lock: lockKind }) => {
    const sides = () => ({
      phoneCrypto: provider(phoneKind, 1),
      lockCrypto: provider(lockKind, 2),
    });

    it('walks both state machines through the handshake, then carries messages both ways', () => {
      const phone = newPhone(sides());
      const lock = newLock(sides());
      expect([phone.state, lock.state]).toEqual(['start', 'awaitingMessage1']);

      const message1 = unwrap(phone.writeMessage1(T0 + 1));
      expect(message1).toHaveLength(32 + 1 + 16);
      expect(phone.state).toBe('awaitingMessage2');
      expect(unwrap(lock.readMessage1(message1, T0 + 2))).toBe(1);
      expect([lock.state, lock.version]).toEqual(['readyForMessage2', 1]);

      const message2 = unwrap(lock.writeMessage2(LOCK_STATUS, T0 + 3));
      expect(message2).toHaveLength(32 + LOCK_STATUS.length + 16);
      expect(lock.state).toBe('awaitingMessage3');
      expect(hex(unwrap(phone.readMessage2(message2, T0 + 4)))).toBe(hex(LOCK_STATUS));
      expect(phone.state).toBe('readyForMessage3');

      const message3 = unwrap(phone.writeMessage3(CREDENTIAL, T0 + 5));
      expect(message3).toHaveLength(48 + CREDENTIAL.length + 16);
      expect(phone.state).toBe('open');
      const hello = unwrap(lock.readMessage3(message3, T0 + 6));
      expect(hex(hello.phoneStaticKey)).toBe(hex(PHONE_KEY.publicKey));
      expect(hex(hello.credential)).toBe(hex(CREDENTIAL));
      expect(lock.phone).toBe(hello);
      expect(lock.state).toBe('open');
      expect(hex(lock.handshakeHash ?? new Uint8Array())).toBe(
        hex(phone.handshakeHash ?? new Uint8Array(1)),
      );

      const conversation = [
        { from: 'phone', body: text('unlock') },
        { from: 'lock', body: text('ok') },
        { from: 'phone', body: new Uint8Array(0) },
        { from: 'phone', body: new Uint8Array(300).fill(7) },
        { from: 'lock', body: text('audit records') },
        { from: 'lock', body: new Uint8Array(0) },
      ] as const;
      conversation.forEach(({ from, body }, i) => {
        const [sender, receiver] = from === 'phone' ? [phone, lock] : [lock, phone];
        const frame = unwrap(sender.encrypt(body, T0 + 10 + i));
        expect(frame).toHaveLength(body.length + 16);
        expect(hex(unwrap(receiver.decrypt(frame, T0 + 10 + i)))).toBe(hex(body));
      });
      expect([phone.state, lock.state]).toEqual(['open', 'open']);
      expect([phone.closedWith, lock.closedWith]).toEqual([undefined, undefined]);
    });
  },
);

describe.each(KINDS)('%s provider', (kind) => {
  const sides = (phoneSeed = 1, lockSeed = 2) => ({
    phoneCrypto: provider(kind, phoneSeed),
    lockCrypto: provider(kind, lockSeed),
  });

  describe('SECURITY 9: invalid public keys', () => {
    it.each(LOW_ORDER_POINTS)(
      'fails a message 1 whose ephemeral key is %s with FAILED',
      (point) => {
        const lock = newLock(sides());
        const message = new Uint8Array(49);
        message.set(fromHex(point));
        const failure = failureOf(lock.readMessage1(message, T0));
        expect(failure.code).toBe(WIRE_ERRORS.FAILED);
        expect([lock.state, lock.closedWith]).toEqual(['closed', WIRE_ERRORS.FAILED]);
      },
    );

    it.each(LOW_ORDER_POINTS)(
      'fails a message 2 whose ephemeral key is %s with FAILED',
      (point) => {
        const phone = newPhone(sides());
        unwrap(phone.writeMessage1(T0));
        const message = new Uint8Array(48 + LOCK_STATUS.length);
        message.set(fromHex(point));
        expect(failureOf(phone.readMessage2(message, T0)).code).toBe(WIRE_ERRORS.FAILED);
        expect(phone.state).toBe('closed');
      },
    );

    it.each(LOW_ORDER_POINTS)('fails a phone whose static key is %s at message 3', (point) => {
      const options = { ...sides(), phoneKey: { ...PHONE_KEY, publicKey: fromHex(point) } };
      const phone = newPhone(options);
      const lock = newLock(options);
      unwrap(lock.readMessage1(unwrap(phone.writeMessage1(T0)), T0));
      unwrap(phone.readMessage2(unwrap(lock.writeMessage2(LOCK_STATUS, T0)), T0));
      const message3 = unwrap(phone.writeMessage3(CREDENTIAL, T0));
      expect(failureOf(lock.readMessage3(message3, T0)).code).toBe(WIRE_ERRORS.FAILED);
      expect([lock.state, lock.phone]).toEqual(['closed', undefined]);
    });

    it('fails a phone given a low-order lock key before anything is sent', () => {
      for (const point of LOW_ORDER_POINTS) {
        const phone = newPhone({ ...sides(), lockKey: { ...LOCK_KEY, publicKey: fromHex(point) } });
        expect(failureOf(phone.writeMessage1(T0)).code).toBe(WIRE_ERRORS.FAILED);
        expect(phone.state).toBe('closed');
      }
    });

    it('fails truncated handshake messages (keys cut short) with FAILED', () => {
      const pair = openPair(sides());
      for (let length = 0; length < 48; length++) {
        const lock = newLock(sides());
        expect(failureOf(lock.readMessage1(pair.message1.subarray(0, length), T0)).code).toBe(
          WIRE_ERRORS.FAILED,
        );
      }
      for (let length = 0; length < 48; length++) {
        const phone = newPhone(sides());
        unwrap(phone.writeMessage1(T0));
        expect(failureOf(phone.readMessage2(pair.message2.subarray(0, length), T0)).code).toBe(
          WIRE_ERRORS.FAILED,
        );
      }
      const lock = newLock(sides());
      unwrap(lock.readMessage1(pair.message1, T0));
      unwrap(lock.writeMessage2(LOCK_STATUS, T0));
      expect(failureOf(lock.readMessage3(pair.message3.subarray(0, 63), T0)).code).toBe(
        WIRE_ERRORS.FAILED,
      );
    });
  });

  describe('SECURITY 10: replayed and reflected handshakes', () => {
    it('answers a replayed message 1, but the old message 3 then fails against the fresh ephemeral', () => {
      const old = openPair(sides());
      const lock = newLock(sides(7, 8));
      expect(unwrap(lock.readMessage1(old.message1, T0))).toBe(1);
      const message2 = unwrap(lock.writeMessage2(LOCK_STATUS, T0));
      expect(hex(message2)).not.toBe(hex(old.message2));
      expect(failureOf(lock.readMessage3(old.message3, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      expect([lock.state, lock.phone]).toEqual(['closed', undefined]);
    });

    it('rejects a whole old session replayed against a fresh lock, transport included', () => {
      const old = openPair(sides());
      const frame = unwrap(old.phone.encrypt(text('unlock'), T0));
      const lock = newLock(sides(9, 10));
      unwrap(lock.readMessage1(old.message1, T0));
      unwrap(lock.writeMessage2(LOCK_STATUS, T0));
      expect(failureOf(lock.readMessage3(old.message3, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      expect(failureOf(lock.decrypt(frame, T0)).code).toBe(WIRE_ERRORS.UNEXPECTED);
    });

    it('rejects an old transport frame in a new session of the same keys', () => {
      const old = openPair(sides());
      const frame = unwrap(old.phone.encrypt(text('unlock'), T0));
      const fresh = openPair(sides(11, 12));
      expect(failureOf(fresh.lock.decrypt(frame, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      expect(fresh.lock.state).toBe('closed');
    });

    it("rejects the lock's message 2 reflected to a lock as message 1 or message 3", () => {
      const pair = openPair(sides());
      const lock = newLock(sides(13, 14));
      expect(failureOf(lock.readMessage1(pair.message2, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      const waiting = newLock(sides());
      unwrap(waiting.readMessage1(pair.message1, T0));
      // A status of 16 bytes or more makes message 2 as long as a message 3 can be.
      const message2 = unwrap(waiting.writeMessage2(new Uint8Array(24).fill(1), T0));
      expect(failureOf(waiting.readMessage3(message2, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
    });

    it("rejects a lock's transport frame reflected back to the lock, and a phone's to the phone", () => {
      const pair = openPair(sides());
      const fromLock = unwrap(pair.lock.encrypt(text('ok'), T0));
      expect(failureOf(pair.lock.decrypt(fromLock, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      expect(pair.lock.state).toBe('closed');
      const fromPhone = unwrap(pair.phone.encrypt(text('unlock'), T0));
      expect(failureOf(pair.phone.decrypt(fromPhone, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      expect(pair.phone.state).toBe('closed');
    });
  });

  describe('SECURITY 13: replayed and reordered transport frames', () => {
    it('delivers a frame once: its replay fails and ends the session', () => {
      const pair = openPair(sides());
      const frame = unwrap(pair.phone.encrypt(text('unlock'), T0));
      expect(hex(unwrap(pair.lock.decrypt(frame, T0)))).toBe(hex(text('unlock')));
      expect(failureOf(pair.lock.decrypt(frame, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      expect(failureOf(pair.lock.decrypt(frame, T0)).code).toBe(WIRE_ERRORS.UNEXPECTED);
      expect(pair.lock.closedWith).toBe(WIRE_ERRORS.AUTH_FAILED);
    });

    it('rejects frames out of order, and a gap, delivering none of them', () => {
      const pair = openPair(sides());
      const first = unwrap(pair.phone.encrypt(text('one'), T0));
      const second = unwrap(pair.phone.encrypt(text('two'), T0));
      expect(failureOf(pair.lock.decrypt(second, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      expect(failureOf(pair.lock.decrypt(first, T0)).code).toBe(WIRE_ERRORS.UNEXPECTED);

      const other = openPair(sides());
      unwrap(other.lock.encrypt(text('dropped'), T0));
      const after = unwrap(other.lock.encrypt(text('after'), T0));
      expect(failureOf(other.phone.decrypt(after, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
    });
  });

  describe('SECURITY 15: what the prologue binds', () => {
    const versioned = (phoneSees: number[], lockSpeaks: number[]) => {
      const phone = new PhoneSession({
        crypto: provider(kind, 1),
        phoneStaticKey: PHONE_KEY,
        lockStaticKey: LOCK_KEY.publicKey,
        lockId: LOCK_ID,
        lockVersions: phoneSees,
        versions: [1, 2],
        now: T0,
      });
      const lock = new LockSession({
        crypto: provider(kind, 2),
        lockStaticKey: LOCK_KEY,
        lockId: LOCK_ID,
        versions: lockSpeaks,
        now: T0,
      });
      return { phone, lock };
    };

    it('agrees on the highest common version when nobody interferes', () => {
      const { phone, lock } = versioned([1, 2], [1, 2]);
      expect(unwrap(lock.readMessage1(unwrap(phone.writeMessage1(T0)), T0))).toBe(2);
      expect([phone.version, lock.version]).toEqual([2, 2]);
    });

    it('fails a downgraded version list (the phone read [1], the lock speaks [1, 2])', () => {
      const { phone, lock } = versioned([1], [1, 2]);
      const message1 = unwrap(phone.writeMessage1(T0));
      expect(phone.version).toBe(1);
      expect(failureOf(lock.readMessage1(message1, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      expect([lock.state, lock.version]).toEqual(['closed', undefined]);
    });

    it('fails any other edit of the list: a version added, replaced or dropped', () => {
      for (const seen of [[1, 2, 3], [2], [1, 3]]) {
        const { phone, lock } = versioned(seen, [1, 2]);
        const message1 = unwrap(phone.writeMessage1(T0));
        expect(failureOf(lock.readMessage1(message1, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
      }
    });

    it('fails a handshake aimed at another lock id', () => {
      const phone = new PhoneSession({
        crypto: provider(kind, 1),
        phoneStaticKey: PHONE_KEY,
        lockStaticKey: LOCK_KEY.publicKey,
        lockId: fromHex('00112233445566778899aabbccddeefe'),
        lockVersions: [1],
        now: T0,
      });
      const lock = newLock(sides());
      expect(failureOf(lock.readMessage1(unwrap(phone.writeMessage1(T0)), T0)).code).toBe(
        WIRE_ERRORS.AUTH_FAILED,
      );
    });

    it('refuses, with UNSUPPORTED_VERSION, a proposal outside the lock list even under a valid prologue', () => {
      for (const payload of [[], [3], [0], [1, 1]]) {
        const lock = new LockSession({
          crypto: provider(kind, 2),
          lockStaticKey: LOCK_KEY,
          lockId: LOCK_ID,
          versions: [1, 2],
          now: T0,
        });
        const initiator = new XkInitiator({
          crypto: provider(kind, 3),
          prologue: encodePrologue([1, 2], LOCK_ID),
          staticKeyPair: PHONE_KEY,
          remoteStaticKey: LOCK_KEY.publicKey,
        });
        const message1 = unwrap(initiator.writeMessage1(Uint8Array.from(payload)));
        expect(failureOf(lock.readMessage1(message1, T0)).code).toBe(
          WIRE_ERRORS.UNSUPPORTED_VERSION,
        );
        expect(lock.state).toBe('closed');
      }
    });

    it('fails the phone, with UNSUPPORTED_VERSION, on a malformed list or no common version', () => {
      for (const seen of [
        [],
        [0],
        [2, 1],
        [1, 1],
        [256],
        [1.5],
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        [3],
      ]) {
        const { phone } = versioned(seen, [1]);
        expect(failureOf(phone.writeMessage1(T0)).code).toBe(WIRE_ERRORS.UNSUPPORTED_VERSION);
        expect(phone.state).toBe('closed');
      }
    });
  });

  describe('SECURITY 21: sessions share nothing; nothing follows from public data', () => {
    const sameBytesAtSameOffsets = (a: Uint8Array, b: Uint8Array) =>
      a.reduce((count, byte, i) => count + (byte === b[i] ? 1 : 0), 0);

    it('two sessions of the same static keys share no handshake or transport bytes', () => {
      const first = openPair(sides(21, 22));
      const second = openPair(sides(23, 24));
      for (const [a, b] of [
        [first.message1, second.message1],
        [first.message2, second.message2],
        [first.message3, second.message3],
        [first.phone.handshakeHash, second.phone.handshakeHash],
        [unwrap(first.phone.encrypt(CREDENTIAL, T0)), unwrap(second.phone.encrypt(CREDENTIAL, T0))],
        [unwrap(first.lock.encrypt(CREDENTIAL, T0)), unwrap(second.lock.encrypt(CREDENTIAL, T0))],
      ] as const) {
        if (a === undefined || b === undefined) throw new Error('missing');
        expect(sameBytesAtSameOffsets(a, b)).toBeLessThanOrEqual(4);
      }
      const frame = unwrap(first.phone.encrypt(text('unlock'), T0));
      expect(failureOf(second.lock.decrypt(frame, T0)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
    });

    it("cannot be answered by anyone who knows only the lock's id and public key", () => {
      const phone = newPhone(sides());
      const impostor = new LockSession({
        crypto: provider(kind, 2),
        lockStaticKey: { publicKey: LOCK_KEY.publicKey, secretKey: OTHER_KEY.secretKey },
        lockId: LOCK_ID,
        now: T0,
      });
      expect(failureOf(impostor.readMessage1(unwrap(phone.writeMessage1(T0)), T0)).code).toBe(
        WIRE_ERRORS.AUTH_FAILED,
      );
    });

    it('gives two locks with the same id but different keys unrelated sessions', () => {
      const real = openPair(sides(31, 32));
      const twin = openPair({ ...sides(31, 32), lockKey: OTHER_KEY });
      expect(hex(real.message1)).not.toBe(hex(twin.message1));
      expect(
        sameBytesAtSameOffsets(real.message1.subarray(32), twin.message1.subarray(32)),
      ).toBeLessThanOrEqual(2);
      expect(hex(real.phone.handshakeHash ?? new Uint8Array())).not.toBe(
        hex(twin.phone.handshakeHash ?? new Uint8Array()),
      );
    });
  });

  describe('state machine', () => {
    it('fails a step called in the wrong state with UNEXPECTED and closes', () => {
      const phone = newPhone(sides());
      expect(failureOf(phone.readMessage2(new Uint8Array(64), T0)).code).toBe(
        WIRE_ERRORS.UNEXPECTED,
      );
      expect([phone.state, phone.closedWith]).toEqual(['closed', WIRE_ERRORS.UNEXPECTED]);

      const lock = newLock(sides());
      expect(failureOf(lock.encrypt(text('early'), T0)).code).toBe(WIRE_ERRORS.UNEXPECTED);
      expect(lock.state).toBe('closed');

      const pair = openPair(sides());
      expect(failureOf(pair.lock.readMessage1(pair.message1, T0)).code).toBe(
        WIRE_ERRORS.UNEXPECTED,
      );
      expect([pair.lock.state, pair.lock.closedWith]).toEqual(['closed', WIRE_ERRORS.UNEXPECTED]);
      expect(failureOf(pair.phone.writeMessage1(T0)).code).toBe(WIRE_ERRORS.UNEXPECTED);
    });

    it('answers every call on a closed session with UNEXPECTED and keeps the first reason', () => {
      const pair = openPair(sides());
      expect(failureOf(pair.lock.decrypt(new Uint8Array(20), T0)).code).toBe(
        WIRE_ERRORS.AUTH_FAILED,
      );
      const lock = pair.lock;
      for (const result of [
        lock.readMessage1(pair.message1, T0),
        lock.writeMessage2(LOCK_STATUS, T0),
        lock.readMessage3(pair.message3, T0),
        lock.encrypt(text('x'), T0),
        lock.decrypt(new Uint8Array(20), T0),
        lock.tick(T0),
      ]) {
        expect(failureOf(result)).toEqual({
          code: WIRE_ERRORS.UNEXPECTED,
          detail: 'session: closed',
        });
      }
      expect([lock.state, lock.closedWith, lock.deadline]).toEqual([
        'closed',
        WIRE_ERRORS.AUTH_FAILED,
        undefined,
      ]);
    });

    it('closes on close(), with no code, from any state', () => {
      const phone = newPhone(sides());
      phone.close();
      expect([phone.state, phone.closedWith]).toEqual(['closed', undefined]);
      const pair = openPair(sides());
      pair.lock.close();
      expect([pair.lock.state, pair.lock.closedWith]).toEqual(['closed', undefined]);
      expect(failureOf(pair.lock.encrypt(text('x'), T0)).code).toBe(WIRE_ERRORS.UNEXPECTED);
    });

    it('throws on caller bugs without changing state: key sizes, oversized payloads, a bad now', () => {
      const crypto = provider(kind, 1);
      expect(
        () =>
          new LockSession({ crypto, lockStaticKey: LOCK_KEY, lockId: new Uint8Array(15), now: T0 }),
      ).toThrow(RangeError);
      expect(
        () =>
          new LockSession({
            crypto,
            lockStaticKey: LOCK_KEY,
            lockId: LOCK_ID,
            versions: [2, 1],
            now: T0,
          }),
      ).toThrow(RangeError);
      expect(() =>
        newPhone({ ...sides(), lockKey: { ...LOCK_KEY, publicKey: new Uint8Array(31) } }),
      ).toThrow(RangeError);
      expect(() => newPhone({ ...sides(), now: Number.NaN })).toThrow(RangeError);
      const pair = openPair(sides());
      expect(() => pair.phone.encrypt(new Uint8Array(65520), T0)).toThrow(RangeError);
      expect(() => pair.phone.decrypt(new Uint8Array(20), Number.POSITIVE_INFINITY)).toThrow(
        RangeError,
      );
      expect(pair.phone.state).toBe('open');
      expect(unwrap(pair.phone.encrypt(new Uint8Array(65519), T0))).toHaveLength(65535);
    });
  });
});
