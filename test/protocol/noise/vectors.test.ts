// The cacophony Noise_XK_25519_ChaChaPoly_SHA256 vectors (test/vectors/noise/) at the raw Noise
// layer, with both providers: every handshake message, the handshake hash, and every transport
// message. The vectors use their own prologue and payloads, not keyway's. Messages alternate
// initiator → responder, responder → initiator, ..., through the handshake and after it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CipherState } from '../../../protocol/noise/cipher-state.js';
import {
  NOISE_XK_PROTOCOL_NAME,
  XkInitiator,
  XkResponder,
} from '../../../protocol/noise/handshake-xk.js';
import type { CryptoProvider } from '../../../protocol/crypto/provider.js';
import { PROVIDERS } from '../crypto/both-providers.js';
import { fromHex, hex } from '../../support/hex.js';

interface NoiseVector {
  readonly protocol_name: string;
  readonly init_prologue: string;
  readonly init_static: string;
  readonly init_ephemeral: string;
  readonly init_remote_static: string;
  readonly resp_prologue: string;
  readonly resp_static: string;
  readonly resp_ephemeral: string;
  readonly handshake_hash: string;
  readonly init_psks?: readonly string[];
  readonly messages: readonly { readonly payload: string; readonly ciphertext: string }[];
}

const FILE = new URL('../../vectors/noise/noise-xk-25519-chachapoly-sha256.json', import.meta.url);
const ALL: readonly NoiseVector[] = (
  JSON.parse(readFileSync(FILE, 'utf8')) as { vectors: NoiseVector[] }
).vectors;
/** The psk variants belong to another pattern (XKpsk3); keyway uses plain XK. */
const VECTORS = ALL.filter((v) => v.protocol_name === NOISE_XK_PROTOCOL_NAME);

function keyPair(crypto: CryptoProvider, secretHex: string) {
  const secretKey = fromHex(secretHex);
  return { secretKey, publicKey: crypto.x25519PublicKey(secretKey) };
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; code: number }): T {
  if (!result.ok) throw new Error(`unexpected failure ${result.code}`);
  return result.value;
}

describe('Noise XK vectors', () => {
  it('holds the one plain XK vector, with three handshake and three transport messages', () => {
    expect(ALL).toHaveLength(2);
    expect(VECTORS).toHaveLength(1);
    expect(VECTORS[0]?.messages).toHaveLength(6);
    expect(VECTORS[0]?.init_psks).toBeUndefined();
  });

  describe.each(PROVIDERS)('$name provider', (crypto) => {
    it.each(VECTORS)('$protocol_name: every message and the handshake hash', (v) => {
      const initiator = new XkInitiator({
        crypto,
        prologue: fromHex(v.init_prologue),
        staticKeyPair: keyPair(crypto, v.init_static),
        remoteStaticKey: fromHex(v.init_remote_static),
        ephemeralSecretKey: fromHex(v.init_ephemeral),
      });
      const responder = new XkResponder({
        crypto,
        prologue: fromHex(v.resp_prologue),
        staticKeyPair: keyPair(crypto, v.resp_static),
        ephemeralSecretKey: fromHex(v.resp_ephemeral),
      });
      const [m1, m2, m3, ...transport] = v.messages;
      if (m1 === undefined || m2 === undefined || m3 === undefined) throw new Error('short');

      const message1 = unwrap(initiator.writeMessage1(fromHex(m1.payload)));
      expect(hex(message1)).toBe(m1.ciphertext);
      expect(hex(unwrap(responder.readMessage1(message1)))).toBe(m1.payload);

      const message2 = unwrap(responder.writeMessage2(fromHex(m2.payload)));
      expect(hex(message2)).toBe(m2.ciphertext);
      expect(hex(unwrap(initiator.readMessage2(message2)))).toBe(m2.payload);

      const phone = unwrap(initiator.writeMessage3(fromHex(m3.payload)));
      expect(hex(phone.message)).toBe(m3.ciphertext);
      const lock = unwrap(responder.readMessage3(phone.message));
      expect(hex(lock.payload)).toBe(m3.payload);
      expect(hex(lock.remoteStaticKey)).toBe(hex(keyPair(crypto, v.init_static).publicKey));

      expect(hex(phone.handshakeHash)).toBe(v.handshake_hash);
      expect(hex(lock.handshakeHash)).toBe(v.handshake_hash);

      // Message 3 was the initiator's, so the first transport message is the responder's.
      transport.forEach((m, i) => {
        const fromResponder = i % 2 === 0;
        const sender: CipherState = fromResponder ? lock.send : phone.send;
        const receiver: CipherState = fromResponder ? phone.receive : lock.receive;
        const ciphertext = sender.encryptWithAd(new Uint8Array(0), fromHex(m.payload));
        expect(hex(ciphertext)).toBe(m.ciphertext);
        expect(hex(receiver.decryptWithAd(new Uint8Array(0), ciphertext) ?? new Uint8Array())).toBe(
          m.payload,
        );
      });
      expect(transport).toHaveLength(3);
    });
  });
});
