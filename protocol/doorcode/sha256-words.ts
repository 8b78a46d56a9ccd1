/**
 * SHA-256 on 32-bit words, scalar: the compression function of FIPS 180-4, and the
 * HMAC (RFC 2104) key states built from them. The fast kernel precomputes these states once per
 * key — the "inner/outer midstate" — so each code then costs two compressions (ARCHITECTURE.md §5).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SHA256_BLOCK_BYTES, SHA256_IV, SHA256_K } from '../crypto/sha256-constants.js';

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/**
 * FIPS 180-4 §6.2.2 steps 1–4: compresses one 16-word block into `state` in place. `schedule` is
 * a 64-word scratch array the caller owns, so nothing is allocated here.
 */
export function compress(state: Uint32Array, block: Uint32Array, schedule: Uint32Array): void {
  for (let t = 0; t < 16; t++) schedule[t] = block[t]!;
  for (let t = 16; t < 64; t++) {
    const w15 = schedule[t - 15]!;
    const w2 = schedule[t - 2]!;
    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
    schedule[t] = (s1 + schedule[t - 7]! + s0 + schedule[t - 16]!) | 0;
  }
  let a = state[0]!,
    b = state[1]!,
    c = state[2]!,
    d = state[3]!;
  let e = state[4]!,
    f = state[5]!,
    g = state[6]!,
    h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const sigma1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const choose = (e & f) ^ (~e & g);
    const t1 = (h + sigma1 + choose + SHA256_K[t]! + schedule[t]!) | 0;
    const sigma0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const majority = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (sigma0 + majority) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = state[0]! + a;
  state[1] = state[1]! + b;
  state[2] = state[2]! + c;
  state[3] = state[3]! + d;
  state[4] = state[4]! + e;
  state[5] = state[5]! + f;
  state[6] = state[6]! + g;
  state[7] = state[7]! + h;
}

/** RFC 2104 §2: the 64-byte key block XORed with `ipad` (0x36) or `opad` (0x5c), as 16 words. */
export function loadPaddedKey(keyBlock: Uint8Array, pad: number, block: Uint32Array): void {
  for (let i = 0; i < 16; i++) {
    block[i] =
      ((keyBlock[4 * i]! ^ pad) << 24) |
      ((keyBlock[4 * i + 1]! ^ pad) << 16) |
      ((keyBlock[4 * i + 2]! ^ pad) << 8) |
      (keyBlock[4 * i + 3]! ^ pad);
  }
}

/**
 * HMAC-SHA256 with the key's inner and outer states precomputed (RFC 2104 §2 with FIPS 180-4):
 * `inner = compress(IV, K ⊕ ipad)`, `outer = compress(IV, K ⊕ opad)`. Messages of at most 55
 * bytes fit the one block left after the key block, which is all the doorcode scheme needs.
 */
export class HmacSha256Words {
  readonly inner = new Uint32Array(8);
  readonly outer = new Uint32Array(8);
  private readonly block = new Uint32Array(16);
  private readonly schedule = new Uint32Array(64);

  /** Sets the key; keys longer than a block are first hashed (RFC 2104 §2). */
  setKey(key: Uint8Array): void {
    const keyBlock = new Uint8Array(SHA256_BLOCK_BYTES);
    keyBlock.set(key.length > SHA256_BLOCK_BYTES ? sha256(key) : key);
    this.padState(this.inner, keyBlock, 0x36);
    this.padState(this.outer, keyBlock, 0x5c);
  }

  /** Sets the key from a 32-byte digest in words, as produced by `macWords`. */
  setKeyWords(keyWords: Uint32Array): void {
    const keyBlock = new Uint8Array(SHA256_BLOCK_BYTES);
    for (let i = 0; i < 32; i++) keyBlock[i] = keyWords[i >> 2]! >>> (24 - 8 * (i & 3));
    this.padState(this.inner, keyBlock, 0x36);
    this.padState(this.outer, keyBlock, 0x5c);
  }

  /** HMAC of a message of at most 55 bytes, as eight big-endian words into `out`. */
  macWords(message: Uint8Array, out: Uint32Array): void {
    if (message.length > 55) throw new RangeError('HmacSha256Words: message longer than 55 bytes');
    out.set(this.inner);
    this.loadPaddedBlock(message, SHA256_BLOCK_BYTES + message.length);
    compress(out, this.block, this.schedule);
    this.block.fill(0);
    this.block.set(out.subarray(0, 8));
    this.block[8] = 0x80000000;
    this.block[15] = (SHA256_BLOCK_BYTES + 32) * 8;
    out.set(this.outer);
    compress(out, this.block, this.schedule);
  }

  private padState(state: Uint32Array, keyBlock: Uint8Array, pad: number): void {
    loadPaddedKey(keyBlock, pad, this.block);
    state.set(SHA256_IV);
    compress(state, this.block, this.schedule);
  }

  /** FIPS 180-4 §5.1.1 padding of the final (here: only) block of a message. */
  private loadPaddedBlock(tail: Uint8Array, totalBytes: number): void {
    this.block.fill(0);
    for (let i = 0; i < tail.length; i++) this.block[i >> 2]! |= tail[i]! << (24 - 8 * (i & 3));
    this.block[tail.length >> 2]! |= 0x80 << (24 - 8 * (tail.length & 3));
    this.block[14] = Math.floor(totalBytes / 0x20000000);
    this.block[15] = (totalBytes * 8) >>> 0;
  }
}
