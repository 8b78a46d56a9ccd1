// The worked example of protocol/spec/session.md §8, byte for byte, with both providers: fixed
// keys (those of the cacophony XK vector) and fixed ephemerals through the keyway session API.
// The expected bytes were also reproduced by an independent transcription of Noise rev 34 over
// another crypto library (pyca/cryptography), not by this code alone.
import { describe, expect, it } from 'vitest';
import type { RandomSource } from '../../../protocol/crypto/provider.js';
import { createNobleCrypto } from '../../../protocol/crypto/noble-provider.js';
import { encodePrologue } from '../../../protocol/noise/prologue.js';
import { LockSession, PhoneSession } from '../../../protocol/noise/session.js';
import { createNodeCrypto } from '../../../src/core/node-crypto-provider.js';
import { fromHex, hex, unwrap } from './fixtures.js';

const PHONE_STATIC = 'e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1';
const LOCK_STATIC = '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893';
const PHONE_EPHEMERAL = '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a';
const LOCK_EPHEMERAL = 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b';
const LOCK_ID = '00112233445566778899aabbccddeeff';
const STATUS = '6e6f6e63652d303031'; // "nonce-001"
const CREDENTIAL = '63726564656e7469616c'; // "credential"
const UNLOCK = '756e6c6f636b'; // "unlock"
const OK = '6f6b'; // "ok"

/** A random source that yields `bytes` once: the one ephemeral a side draws. */
function once(bytes: string): RandomSource {
  let used = false;
  return (length) => {
    if (used || length !== 32) throw new Error('the example draws one 32-byte ephemeral per side');
    used = true;
    return fromHex(bytes);
  };
}

const EXPECTED = {
  prologue: '6b65797761792f31010100112233445566778899aabbccddeeff',
  message1:
    'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944' +
    'ee2b1f24f6e43ef89e9ce9bfef2b65dedc',
  message2:
    '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843' +
    '195f28915bfdee2ce61e07228121bddb852b2228fd4f7024a6',
  message3:
    '5d8e67b9c1b8e36f5dc674bc5cd2ce243fb5d1710fa57de0370da7cc97901539' +
    'cb0dd095f2e8e160b17799d7126b251f' +
    '8f33910dc6b3b178ec10cc88bd55e65a771ee0e1ec55cb340c79',
  handshakeHash: '4287d91bdaf0a38841b03de1685f01135c4bdae091f88a172ba6c9206500c7ac',
  unlock: '7800c61baeb08bc4512993af202db8b9d3c8cfdd09d7',
  ok: '1e0ff29f5df16aa92a5c8574d13b3182c2ec',
};

describe.each([
  { name: 'noble', create: createNobleCrypto },
  { name: 'node', create: createNodeCrypto },
])('$name provider', ({ create }) => {
  it('reproduces the worked example (spec §8) byte for byte', () => {
    const phoneCrypto = create(once(PHONE_EPHEMERAL));
    const lockCrypto = create(once(LOCK_EPHEMERAL));
    const pair = (secret: string) => ({
      secretKey: fromHex(secret),
      publicKey: phoneCrypto.x25519PublicKey(fromHex(secret)),
    });
    const phone = new PhoneSession({
      crypto: phoneCrypto,
      phoneStaticKey: pair(PHONE_STATIC),
      lockStaticKey: pair(LOCK_STATIC).publicKey,
      lockId: fromHex(LOCK_ID),
      lockVersions: [1],
      now: 0,
    });
    const lock = new LockSession({
      crypto: lockCrypto,
      lockStaticKey: pair(LOCK_STATIC),
      lockId: fromHex(LOCK_ID),
      now: 0,
    });
    const message1 = unwrap(phone.writeMessage1(0));
    unwrap(lock.readMessage1(message1, 0));
    const message2 = unwrap(lock.writeMessage2(fromHex(STATUS), 0));
    unwrap(phone.readMessage2(message2, 0));
    const message3 = unwrap(phone.writeMessage3(fromHex(CREDENTIAL), 0));
    unwrap(lock.readMessage3(message3, 0));
    const unlock = unwrap(phone.encrypt(fromHex(UNLOCK), 0));
    expect(hex(unwrap(lock.decrypt(unlock, 0)))).toBe(UNLOCK);
    const ok = unwrap(lock.encrypt(fromHex(OK), 0));
    expect(hex(unwrap(phone.decrypt(ok, 0)))).toBe(OK);
    expect({
      prologue: hex(encodePrologue([1], fromHex(LOCK_ID))),
      message1: hex(message1),
      message2: hex(message2),
      message3: hex(message3),
      handshakeHash: hex(phone.handshakeHash ?? new Uint8Array()),
      unlock: hex(unlock),
      ok: hex(ok),
    }).toEqual(EXPECTED);
    expect(hex(lock.phone?.credential ?? new Uint8Array())).toBe(CREDENTIAL);
  });
});
