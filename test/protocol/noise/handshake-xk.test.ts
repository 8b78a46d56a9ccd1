// The raw Noise XK layer (rev 34 §5.3, §7.5) beyond the vectors: fresh ephemerals from the
// injected randomness, the pre-message and prologue binding, message lengths, the spent-after-use
// rule, and how misuse is reported (throws) versus what a peer can cause (a Result).
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../../protocol/errors.js';
import {
  generateKeyPair,
  NOISE_MAX_MESSAGE_BYTES,
  XK_MAX_PAYLOAD_BYTES,
  XkInitiator,
  XkResponder,
} from '../../../protocol/noise/handshake-xk.js';
import type { CryptoProvider } from '../../../protocol/crypto/provider.js';
import {
  failureOf,
  fromHex,
  hex,
  KINDS,
  LOCK_KEY,
  PHONE_KEY,
  provider,
  unwrap,
} from './fixtures.js';

const PROLOGUE = new TextEncoder().encode('test prologue');
const EMPTY = new Uint8Array(0);

function sides(phone: CryptoProvider, lock: CryptoProvider, prologue = PROLOGUE) {
  return {
    initiator: new XkInitiator({
      crypto: phone,
      prologue,
      staticKeyPair: PHONE_KEY,
      remoteStaticKey: LOCK_KEY.publicKey,
    }),
    responder: new XkResponder({ crypto: lock, prologue, staticKeyPair: LOCK_KEY }),
  };
}

describe.each(KINDS)('%s provider', (kind) => {
  it('runs XK with ephemerals drawn from the injected randomness', () => {
    const phone = provider(kind, 41);
    const lock = provider(kind, 42);
    const { initiator, responder } = sides(phone, lock);
    const message1 = unwrap(initiator.writeMessage1(EMPTY));
    const expectedEphemeral = generateKeyPair(provider(kind, 41)).publicKey;
    expect(hex(message1.subarray(0, 32))).toBe(hex(expectedEphemeral));
    expect(message1).toHaveLength(48);
    expect(unwrap(responder.readMessage1(message1))).toHaveLength(0);
    const message2 = unwrap(responder.writeMessage2(Uint8Array.of(1, 2, 3)));
    expect(hex(message2.subarray(0, 32))).toBe(hex(generateKeyPair(provider(kind, 42)).publicKey));
    expect(hex(unwrap(initiator.readMessage2(message2)))).toBe('010203');
    const phoneSide = unwrap(initiator.writeMessage3(EMPTY));
    const lockSide = unwrap(responder.readMessage3(phoneSide.message));
    expect(hex(lockSide.remoteStaticKey)).toBe(hex(PHONE_KEY.publicKey));
    expect(hex(lockSide.handshakeHash)).toBe(hex(phoneSide.handshakeHash));
    const sealed = phoneSide.send.encryptWithAd(EMPTY, Uint8Array.of(9));
    expect(hex(lockSide.receive.decryptWithAd(EMPTY, sealed) ?? EMPTY)).toBe('09');
    const back = lockSide.send.encryptWithAd(EMPTY, Uint8Array.of(8));
    expect(hex(phoneSide.receive.decryptWithAd(EMPTY, back) ?? EMPTY)).toBe('08');
  });

  it('binds the prologue and the responder key from message 1 on', () => {
    const other = sides(provider(kind, 1), provider(kind, 2), Uint8Array.of(1));
    const message1 = unwrap(other.initiator.writeMessage1(EMPTY));
    const responder = new XkResponder({
      crypto: provider(kind, 2),
      prologue: Uint8Array.of(2),
      staticKeyPair: LOCK_KEY,
    });
    expect(failureOf(responder.readMessage1(message1)).code).toBe(WIRE_ERRORS.AUTH_FAILED);
  });

  it('fails messages shorter than their keys and tags, or over 65535 bytes, with FAILED', () => {
    const { initiator, responder } = sides(provider(kind, 1), provider(kind, 2));
    expect(failureOf(responder.readMessage1(new Uint8Array(47))).code).toBe(WIRE_ERRORS.FAILED);
    expect(
      failureOf(
        new XkResponder({
          crypto: provider(kind, 2),
          prologue: PROLOGUE,
          staticKeyPair: LOCK_KEY,
        }).readMessage1(new Uint8Array(NOISE_MAX_MESSAGE_BYTES + 1)),
      ).code,
    ).toBe(WIRE_ERRORS.FAILED);
    unwrap(initiator.writeMessage1(EMPTY));
    expect(failureOf(initiator.readMessage2(new Uint8Array(47))).code).toBe(WIRE_ERRORS.FAILED);
  });

  it('is spent after a failure or at the end: any further call throws', () => {
    const { initiator, responder } = sides(provider(kind, 1), provider(kind, 2));
    failureOf(responder.readMessage1(new Uint8Array(10)));
    expect(() => responder.writeMessage2(EMPTY)).toThrow(Error);
    expect(() => responder.readMessage1(new Uint8Array(48))).toThrow(Error);
    expect(() => initiator.readMessage2(new Uint8Array(48))).toThrow('out of order');
    unwrap(initiator.writeMessage1(EMPTY));
    expect(() => initiator.writeMessage1(EMPTY)).toThrow('out of order');
  });

  it('throws RangeError on a payload over the Noise limit or keys of the wrong size', () => {
    const { initiator } = sides(provider(kind, 1), provider(kind, 2));
    expect(() =>
      initiator.writeMessage1(new Uint8Array(XK_MAX_PAYLOAD_BYTES.message1 + 1)),
    ).toThrow(RangeError);
    expect(
      unwrap(initiator.writeMessage1(new Uint8Array(XK_MAX_PAYLOAD_BYTES.message1))),
    ).toHaveLength(NOISE_MAX_MESSAGE_BYTES);
    const crypto = provider(kind, 1);
    expect(
      () =>
        new XkInitiator({
          crypto,
          prologue: EMPTY,
          staticKeyPair: PHONE_KEY,
          remoteStaticKey: new Uint8Array(33),
        }),
    ).toThrow(RangeError);
    expect(
      () =>
        new XkResponder({
          crypto,
          prologue: EMPTY,
          staticKeyPair: { ...LOCK_KEY, secretKey: new Uint8Array(16) },
        }),
    ).toThrow(RangeError);
    expect(
      () =>
        new XkResponder({
          crypto,
          prologue: EMPTY,
          staticKeyPair: LOCK_KEY,
          ephemeralSecretKey: fromHex('00'),
        }),
    ).toThrow(RangeError);
  });
});
