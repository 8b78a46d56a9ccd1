/**
 * Noise Protocol Framework rev 34 §5.1 CipherState, for the ChaChaPoly cipher of §12.3: a key
 * `k` (or none) and a 64-bit nonce counter `n`. The AEAD itself is the injected provider's
 * ChaCha20-Poly1305; this file only orders nonces and keys.
 */
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from '../crypto/provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { assertSize } from '../crypto/input-checks.js';

/**
 * §5.1 reserves n = 2^64 − 1; a JavaScript number counts exactly only up to 2^53 − 1, so that
 * is where this CipherState stops. Sessions end long before (`session-limits.ts`).
 */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;

const TWO_POW_32 = 2 ** 32;

export class CipherState {
  readonly #crypto: CryptoProvider;
  #k: Uint8Array | undefined;
  #n = 0;
  /** One nonce buffer per CipherState, rewritten before each AEAD call (no allocation). */
  readonly #nonce = new Uint8Array(AEAD_NONCE_BYTES);
  readonly #nonceView = new DataView(this.#nonce.buffer);

  constructor(crypto: CryptoProvider, key?: Uint8Array) {
    this.#crypto = crypto;
    if (key !== undefined) this.initializeKey(key);
  }

  /** §5.1 InitializeKey(key): sets `k` and resets `n` to 0. */
  initializeKey(key: Uint8Array): void {
    assertSize(key, AEAD_KEY_BYTES, 'CipherState key');
    this.#k = key;
    this.#n = 0;
  }

  /** §5.1 HasKey(). */
  hasKey(): boolean {
    return this.#k !== undefined;
  }

  /** The next nonce `n`: the number of messages this CipherState has sealed or opened. */
  get nonce(): number {
    return this.#n;
  }

  /**
   * §5.1 EncryptWithAd(ad, plaintext): ENCRYPT(k, n++, ad, plaintext), or the plaintext itself
   * when there is no key yet.
   */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const k = this.#k;
    if (k === undefined) return plaintext.slice();
    const sealed = this.#crypto.aeadSeal(k, this.#nextNonce(), ad, plaintext);
    this.#n++;
    return sealed;
  }

  /**
   * §5.1 DecryptWithAd(ad, ciphertext): DECRYPT(k, n, ad, ciphertext), or the ciphertext itself
   * when there is no key. On a failed tag returns `undefined` and leaves `n` unchanged, as §5.1
   * requires.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
    const k = this.#k;
    if (k === undefined) return ciphertext.slice();
    if (ciphertext.length < AEAD_TAG_BYTES) return undefined;
    const plaintext = this.#crypto.aeadOpen(k, this.#nextNonce(), ad, ciphertext);
    if (plaintext !== undefined) this.#n++;
    return plaintext;
  }

  /** §12.3 ChaChaPoly nonce: 32 bits of zeros, then `n` as a 64-bit little-endian integer. */
  #nextNonce(): Uint8Array {
    const n = this.#n;
    if (n >= MAX_NONCE) throw new RangeError('CipherState: nonce exhausted');
    this.#nonceView.setUint32(4, n % TWO_POW_32, true);
    this.#nonceView.setUint32(8, Math.floor(n / TWO_POW_32), true);
    return this.#nonce;
  }
}
