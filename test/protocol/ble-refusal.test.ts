// The lock's refusal before a session (protocol/spec/session.md §7.1): two bytes, three codes,
// told apart from every session message by length alone, and a decoder that never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRefusal,
  encodeRefusal,
  MIN_SESSION_MESSAGE_BYTES,
  REFUSAL_CODES,
} from '../../protocol/ble-refusal.js';
import type { RefusalCode } from '../../protocol/ble-refusal.js';
import { createNobleCrypto } from '../../protocol/crypto/noble-provider.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { fragment } from '../../protocol/frame-codec.js';
import { ATT_MTU_MIN } from '../../protocol/gatt.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import { LockSession, PhoneSession } from '../../protocol/noise/session.js';
import { fromHex, hex } from '../support/hex.js';
import { propertyRuns } from '../support/properties.js';

const seeded = (seed: number) => (length: number) =>
  Uint8Array.from({ length }, (_, i) => (seed * 131 + i * 29 + 7) & 0xff);

describe('encodeRefusal', () => {
  it.each([
    ['FAILED', WIRE_ERRORS.FAILED, 'ff01'],
    ['TIMEOUT', WIRE_ERRORS.TIMEOUT, 'ff07'],
    ['BUSY', WIRE_ERRORS.BUSY, 'ff09'],
  ] as const)('writes %s as %s', (_name, code, expected) => {
    expect(hex(encodeRefusal(code))).toBe(expected);
    expect(decodeRefusal(encodeRefusal(code))).toEqual({ ok: true, value: code });
  });

  it('fits one first fragment at the smallest MTU: 80 00 02 ff 09 for BUSY', () => {
    const pieces = fragment(encodeRefusal(WIRE_ERRORS.BUSY), ATT_MTU_MIN);
    expect(pieces.map(hex)).toEqual(['800002ff09']);
  });

  it('refuses, as a caller bug, any code but FAILED, TIMEOUT and BUSY', () => {
    for (const code of [0, WIRE_ERRORS.AUTH_FAILED, WIRE_ERRORS.REVOKED, WIRE_ERRORS.BAD_FRAME]) {
      expect(() => encodeRefusal(code as RefusalCode)).toThrow(RangeError);
    }
  });
});

describe('decodeRefusal', () => {
  it('passes real session messages on: message 2 and an empty transport message', () => {
    const lockCrypto = createNobleCrypto(seeded(1));
    const phoneCrypto = createNobleCrypto(seeded(2));
    const lockKey = generateKeyPair(lockCrypto);
    const lockId = fromHex('00112233445566778899aabbccddeeff');
    const lock = new LockSession({ crypto: lockCrypto, lockStaticKey: lockKey, lockId, now: 0 });
    const phone = new PhoneSession({
      crypto: phoneCrypto,
      phoneStaticKey: generateKeyPair(phoneCrypto),
      lockStaticKey: lockKey.publicKey,
      lockId,
      lockVersions: [1],
      now: 0,
    });
    const message1 = phone.writeMessage1(0);
    if (!message1.ok) throw new Error('message 1');
    expect(lock.readMessage1(message1.value, 0).ok).toBe(true);
    const message2 = lock.writeMessage2(new Uint8Array(0), 0);
    if (!message2.ok) throw new Error('message 2');
    expect(message2.value).toHaveLength(48);
    expect(decodeRefusal(message2.value)).toEqual({ ok: true, value: undefined });
    expect(phone.readMessage2(message2.value, 0).ok).toBe(true);
    const message3 = phone.writeMessage3(new Uint8Array(1), 0);
    if (!message3.ok) throw new Error('message 3');
    expect(lock.readMessage3(message3.value, 0).ok).toBe(true);
    const empty = lock.encrypt(new Uint8Array(0), 0);
    if (!empty.ok) throw new Error('transport');
    expect(empty.value).toHaveLength(MIN_SESSION_MESSAGE_BYTES);
    expect(decodeRefusal(empty.value)).toEqual({ ok: true, value: undefined });
  });

  it.each([
    ['empty', ''],
    ['one byte', 'ff'],
    ['the marker with a code no refusal carries (AUTH_FAILED)', 'ff20'],
    ['the marker with code 0', 'ff00'],
    ['another marker', 'fe09'],
    ['a refusal with a trailing byte', 'ff0900'],
    ['15 bytes', 'ff09' + '00'.repeat(13)],
  ])('is DECODE for a short message that is no refusal: %s', (_name, text) => {
    expect(decodeRefusal(fromHex(text))).toMatchObject({ ok: false, code: WIRE_ERRORS.DECODE });
  });

  it('never throws, and names a code exactly for ff ‖ FAILED / TIMEOUT / BUSY', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          // Two-byte messages with the marker or near it, so the refusal branch is well covered.
          fc.tuple(fc.constantFrom(0xfe, 0xff), fc.nat(0xff)).map((pair) => Uint8Array.from(pair)),
        ),
        (bytes) => {
          const decoded = decodeRefusal(bytes);
          const isRefusal =
            bytes.length === 2 &&
            bytes[0] === 0xff &&
            (REFUSAL_CODES as readonly number[]).includes(bytes[1] ?? -1);
          if (bytes.length >= MIN_SESSION_MESSAGE_BYTES) {
            expect(decoded).toEqual({ ok: true, value: undefined });
          } else if (isRefusal) {
            expect(decoded).toEqual({ ok: true, value: bytes[1] });
          } else {
            expect(decoded).toMatchObject({ ok: false, code: WIRE_ERRORS.DECODE });
          }
        },
      ),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});
