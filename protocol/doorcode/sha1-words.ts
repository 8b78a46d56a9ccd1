/**
 * SHA-1 on 32-bit words, scalar (FIPS 180-4 §6.1.2), only to precompute the HMAC key states of
 * RFC 4226 HOTP for the kernel; the lanes do the per-counter work.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { loadPaddedKey } from './sha256-words.js';

/** FIPS 180-4 §5.3.1: the initial hash value. */
const SHA1_IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0] as const;
/** FIPS 180-4 §4.2.1. */
const SHA1_K = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6] as const;
const BLOCK_BYTES = 64;

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

/** FIPS 180-4 §6.1.2 steps 1–4 on `state` (five words) in place; `schedule` is 80 words of scratch. */
function compressSha1(state: Uint32Array, block: Uint32Array, schedule: Uint32Array): void {
  for (let t = 0; t < 80; t++) {
    schedule[t] =
      t < 16
        ? block[t]!
        : rotl(schedule[t - 3]! ^ schedule[t - 8]! ^ schedule[t - 14]! ^ schedule[t - 16]!, 1);
  }
  let a = state[0]!,
    b = state[1]!,
    c = state[2]!,
    d = state[3]!,
    e = state[4]!;
  for (let t = 0; t < 80; t++) {
    const f =
      t < 20 ? (b & c) | (~b & d) : t >= 40 && t < 60 ? (b & c) | (b & d) | (c & d) : b ^ c ^ d;
    const temp = (rotl(a, 5) + f + e + SHA1_K[Math.floor(t / 20)]! + schedule[t]!) | 0;
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = temp;
  }
  state[0] = state[0]! + a;
  state[1] = state[1]! + b;
  state[2] = state[2]! + c;
  state[3] = state[3]! + d;
  state[4] = state[4]! + e;
}

/**
 * RFC 2104 §2 key states for HMAC-SHA1: `inner = compress(IV, K ⊕ ipad)`,
 * `outer = compress(IV, K ⊕ opad)`, five words each; keys over 64 bytes are hashed first.
 */
export function sha1HmacStates(key: Uint8Array, inner: Uint32Array, outer: Uint32Array): void {
  const keyBlock = new Uint8Array(BLOCK_BYTES);
  keyBlock.set(key.length > BLOCK_BYTES ? sha1(key) : key);
  const block = new Uint32Array(16);
  const schedule = new Uint32Array(80);
  for (const [state, pad] of [
    [inner, 0x36],
    [outer, 0x5c],
  ] as const) {
    loadPaddedKey(keyBlock, pad, block);
    state.set(SHA1_IV);
    compressSha1(state, block, schedule);
  }
}
