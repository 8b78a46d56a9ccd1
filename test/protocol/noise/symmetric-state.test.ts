// Noise rev 34 §4.3, §5.1, §5.2 and §12.3 piece by piece, with both providers: the nonce layout,
// the CipherState rules, Noise's HKDF (checked against RFC 5869 HKDF, which it equals), and the
// SymmetricState operations against a direct transcription of their definitions.
import { describe, expect, it } from 'vitest';
import { CipherState } from '../../../protocol/noise/cipher-state.js';
import { noiseHkdf2, SymmetricState } from '../../../protocol/noise/symmetric-state.js';
import { PROVIDERS } from '../crypto/both-providers.js';
import { fromHex, hex } from '../../support/hex.js';

const KEY = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const AD = fromHex('a0a1a2');
const EMPTY = new Uint8Array(0);
const text = (value: string) => new TextEncoder().encode(value);

/** §12.3: 4 zero bytes, then n as 64-bit little-endian. */
function nonce(n: number): Uint8Array {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setBigUint64(4, BigInt(n), true);
  return out;
}

describe.each(PROVIDERS)('$name provider', (crypto) => {
  describe('CipherState (§5.1, §12.3)', () => {
    it('seals message n under the nonce 0x00000000 ‖ u64le(n)', () => {
      const cipher = new CipherState(crypto, KEY);
      for (let n = 0; n < 300; n++) {
        const sealed = cipher.encryptWithAd(AD, text(`m${n}`));
        expect(hex(sealed)).toBe(hex(crypto.aeadSeal(KEY, nonce(n), AD, text(`m${n}`))));
      }
      expect(cipher.nonce).toBe(300);
      expect(hex(nonce(258))).toBe('000000000201000000000000');
    });

    it('opens in order, and leaves n unchanged when a tag fails', () => {
      const sender = new CipherState(crypto, KEY);
      const receiver = new CipherState(crypto, KEY);
      const first = sender.encryptWithAd(AD, text('one'));
      const second = sender.encryptWithAd(AD, text('two'));
      expect(receiver.decryptWithAd(AD, second)).toBeUndefined();
      expect(receiver.decryptWithAd(EMPTY, first)).toBeUndefined();
      expect(receiver.decryptWithAd(AD, first.subarray(0, 15))).toBeUndefined();
      expect(receiver.nonce).toBe(0);
      expect(hex(receiver.decryptWithAd(AD, first) ?? EMPTY)).toBe(hex(text('one')));
      expect(hex(receiver.decryptWithAd(AD, second) ?? EMPTY)).toBe(hex(text('two')));
      expect(receiver.nonce).toBe(2);
    });

    it('passes data through while it has no key, and InitializeKey resets n', () => {
      const cipher = new CipherState(crypto);
      expect(cipher.hasKey()).toBe(false);
      expect(hex(cipher.encryptWithAd(AD, text('clear')))).toBe(hex(text('clear')));
      expect(hex(cipher.decryptWithAd(AD, text('clear')) ?? EMPTY)).toBe(hex(text('clear')));
      cipher.initializeKey(KEY);
      cipher.encryptWithAd(AD, EMPTY);
      cipher.initializeKey(KEY);
      expect([cipher.hasKey(), cipher.nonce]).toEqual([true, 0]);
      expect(() => cipher.initializeKey(new Uint8Array(31))).toThrow(RangeError);
    });
  });

  describe('SymmetricState (§4.3, §5.2)', () => {
    it('computes §4.3 HKDF as Noise spells it out: three HMACs', () => {
      for (const ikm of [EMPTY, KEY, new Uint8Array(100).fill(9)]) {
        const [a, b] = noiseHkdf2(crypto, KEY, ikm);
        const temp = crypto.hmacSha256(KEY, ikm);
        const out1 = crypto.hmacSha256(temp, Uint8Array.of(1));
        const out2 = crypto.hmacSha256(temp, Uint8Array.of(...out1, 2));
        expect([hex(a), hex(b)]).toEqual([hex(out1), hex(out2)]);
      }
    });

    it('pads a short protocol name to h, and hashes a long one', () => {
      const short = new SymmetricState(crypto, text('Noise_XK'));
      expect(hex(short.handshakeHash)).toBe(hex(text('Noise_XK')) + '00'.repeat(24));
      const longName = text('Noise_XK_25519_ChaChaPoly_BLAKE2s_extra');
      expect(hex(new SymmetricState(crypto, longName).handshakeHash)).toBe(
        hex(crypto.sha256(longName)),
      );
    });

    it('follows the §5.2 definitions of MixHash, MixKey, EncryptAndHash and Split', () => {
      const name = text('Noise_XK_25519_ChaChaPoly_SHA256');
      const state = new SymmetricState(crypto, name);
      let h: Uint8Array = name.slice();
      let ck: Uint8Array = name.slice();
      const mixHash = (data: Uint8Array) => {
        h = crypto.sha256(Uint8Array.from([...h, ...data]));
      };

      state.mixHash(text('prologue'));
      mixHash(text('prologue'));
      expect(hex(state.handshakeHash)).toBe(hex(h));

      state.mixKey(KEY);
      const temp = crypto.hmacSha256(ck, KEY);
      ck = crypto.hmacSha256(temp, Uint8Array.of(1));
      const k = crypto.hmacSha256(temp, Uint8Array.from([...ck, 2]));

      const ciphertext = state.encryptAndHash(text('payload'));
      expect(hex(ciphertext)).toBe(hex(crypto.aeadSeal(k, nonce(0), h, text('payload'))));
      mixHash(ciphertext);
      expect(hex(state.handshakeHash)).toBe(hex(h));

      const [c1, c2] = state.split();
      const splitTemp = crypto.hmacSha256(ck, EMPTY);
      const k1 = crypto.hmacSha256(splitTemp, Uint8Array.of(1));
      const k2 = crypto.hmacSha256(splitTemp, Uint8Array.from([...k1, 2]));
      expect(hex(c1.encryptWithAd(EMPTY, text('x')))).toBe(
        hex(crypto.aeadSeal(k1, nonce(0), EMPTY, text('x'))),
      );
      expect(hex(c2.encryptWithAd(EMPTY, text('x')))).toBe(
        hex(crypto.aeadSeal(k2, nonce(0), EMPTY, text('x'))),
      );
    });

    it('leaves h unchanged when DecryptAndHash fails', () => {
      const state = new SymmetricState(crypto, text('Noise_XK_25519_ChaChaPoly_SHA256'));
      state.mixKey(KEY);
      const before = hex(state.handshakeHash);
      expect(state.decryptAndHash(new Uint8Array(20))).toBeUndefined();
      expect(hex(state.handshakeHash)).toBe(before);
    });
  });
});
