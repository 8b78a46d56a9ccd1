/**
 * Noise Protocol Framework rev 34 §5.2 SymmetricState for HASH = SHA-256: the chaining key `ck`,
 * the handshake hash `h`, and a CipherState. HKDF is the one of §4.3.
 */
import { SHA256_BYTES } from '../crypto/provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CipherState } from './cipher-state.js';

const EMPTY = new Uint8Array(0);

/**
 * §4.3 HKDF(chaining_key, input_key_material, 2): `temp = HMAC(ck, ikm)`,
 * `out1 = HMAC(temp, 0x01)`, `out2 = HMAC(temp, out1 ‖ 0x02)` — which is exactly RFC 5869
 * HKDF-SHA256 with salt `ck`, empty info and 64 bytes of output, so it is one provider call
 * (`test/protocol/noise/symmetric-state.test.ts` checks it against the three HMACs).
 */
export function noiseHkdf2(
  crypto: CryptoProvider,
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
): readonly [Uint8Array, Uint8Array] {
  const okm = crypto.hkdfSha256(inputKeyMaterial, chainingKey, EMPTY, 2 * SHA256_BYTES);
  return [okm.subarray(0, SHA256_BYTES), okm.subarray(SHA256_BYTES)];
}

export class SymmetricState {
  readonly #crypto: CryptoProvider;
  readonly #cipher: CipherState;
  #ck: Uint8Array;
  #h: Uint8Array;

  /**
   * §5.2 InitializeSymmetric(protocol_name): `h` is the name padded with zeros to HASHLEN if it
   * fits, else HASH(name); `ck = h`; no cipher key.
   */
  constructor(crypto: CryptoProvider, protocolName: Uint8Array) {
    this.#crypto = crypto;
    this.#cipher = new CipherState(crypto);
    if (protocolName.length <= SHA256_BYTES) {
      this.#h = new Uint8Array(SHA256_BYTES);
      this.#h.set(protocolName);
    } else {
      this.#h = crypto.sha256(protocolName);
    }
    this.#ck = this.#h.slice();
  }

  /** The handshake hash `h` (§5.2 GetHandshakeHash() once the handshake is over). */
  get handshakeHash(): Uint8Array {
    return this.#h;
  }

  /** §5.2 MixKey(ikm): `ck, tempK = HKDF(ck, ikm, 2)`; InitializeKey(tempK). */
  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, tempK] = noiseHkdf2(this.#crypto, this.#ck, inputKeyMaterial);
    this.#ck = ck;
    this.#cipher.initializeKey(tempK);
  }

  /** §5.2 MixHash(data): `h = HASH(h ‖ data)`. */
  mixHash(data: Uint8Array): void {
    const input = new Uint8Array(SHA256_BYTES + data.length);
    input.set(this.#h);
    input.set(data, SHA256_BYTES);
    this.#h = this.#crypto.sha256(input);
  }

  /** §5.2 EncryptAndHash(plaintext): encrypt with `h` as associated data, then MixHash. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /**
   * §5.2 DecryptAndHash(ciphertext): decrypt with `h` as associated data, then MixHash of the
   * ciphertext; `undefined` when the tag fails, with `h` unchanged.
   */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array | undefined {
    const plaintext = this.#cipher.decryptWithAd(this.#h, ciphertext);
    if (plaintext !== undefined) this.mixHash(ciphertext);
    return plaintext;
  }

  /**
   * §5.2 Split(): `k1, k2 = HKDF(ck, empty, 2)`, two CipherStates keyed with them: the first
   * for initiator → responder, the second for responder → initiator.
   */
  split(): readonly [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf2(this.#crypto, this.#ck, EMPTY);
    return [new CipherState(this.#crypto, k1), new CipherState(this.#crypto, k2)];
  }
}
