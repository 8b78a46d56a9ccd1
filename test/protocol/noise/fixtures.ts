// Shared set-up for the Noise tests: seeded providers of both kinds, fixed keys, a complete
// keyway handshake, and two provider wrappers that keep the expensive X25519 out of long loops.
import { createNobleCrypto } from '../../../protocol/crypto/noble-provider.js';
import type { CryptoProvider, RandomSource } from '../../../protocol/crypto/provider.js';
import type { KeyPair } from '../../../protocol/noise/handshake-xk.js';
import { LockSession, PhoneSession } from '../../../protocol/noise/session.js';
import type { SessionLimits } from '../../../protocol/noise/session-limits.js';
import type { Result } from '../../../protocol/result.js';
import { createNodeCrypto } from '../../../src/core/node-crypto-provider.js';
import { fromHex, hex } from '../../support/hex.js';

export { fromHex, hex };

/** A deterministic byte stream (mulberry32 per 4 bytes) so every run sees the same keys. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      const word = next();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  };
}

export type ProviderKind = 'noble' | 'node';
export const KINDS: readonly ProviderKind[] = ['noble', 'node'];

/** A provider of `kind` whose random source is seeded with `seed`. */
export function provider(kind: ProviderKind, seed: number): CryptoProvider {
  return kind === 'noble'
    ? createNobleCrypto(seededRandom(seed))
    : createNodeCrypto(seededRandom(seed));
}

/** Every (phone, lock) pairing of providers, the cross ones included. */
export const PAIRINGS = KINDS.flatMap((phone) => KINDS.map((lock) => ({ phone, lock })));

function keyPair(crypto: CryptoProvider, secretHex: string): KeyPair {
  const secretKey = fromHex(secretHex);
  return { secretKey, publicKey: crypto.x25519PublicKey(secretKey) };
}

const anyProvider = createNobleCrypto(seededRandom(0));
export const LOCK_KEY = keyPair(
  anyProvider,
  '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893',
);
export const PHONE_KEY = keyPair(
  anyProvider,
  'e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1',
);
export const OTHER_KEY = keyPair(
  anyProvider,
  '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809',
);
export const LOCK_ID = fromHex('00112233445566778899aabbccddeeff');
export const LOCK_STATUS = fromHex('6e6f6e63652d303031');
export const CREDENTIAL = new TextEncoder().encode('credential of phone 1');
export const T0 = 1_800_000_000_000;

/**
 * RFC 7748 §6.1: the u-coordinates that X25519 maps to zero whatever the secret (points of order
 * 1, 2, 4 and 8, the non-canonical encodings p and p + 1), each also with bit 255 set.
 */
export const LOW_ORDER_POINTS: readonly string[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].flatMap((point) => [
  point,
  point.slice(0, 62) + (Number.parseInt(point.slice(62), 16) | 0x80).toString(16),
]);

export interface Pair {
  readonly phone: PhoneSession;
  readonly lock: LockSession;
  readonly message1: Uint8Array;
  readonly message2: Uint8Array;
  readonly message3: Uint8Array;
}

export interface PairOptions {
  readonly phoneCrypto: CryptoProvider;
  readonly lockCrypto: CryptoProvider;
  readonly limits?: Partial<SessionLimits>;
  readonly now?: number;
  readonly phoneKey?: KeyPair;
  readonly lockKey?: KeyPair;
  readonly credential?: Uint8Array;
  readonly status?: Uint8Array;
}

export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`unexpected failure 0x${result.code.toString(16)}`);
  return result.value;
}

export function newPhone(options: PairOptions): PhoneSession {
  return new PhoneSession({
    crypto: options.phoneCrypto,
    phoneStaticKey: options.phoneKey ?? PHONE_KEY,
    lockStaticKey: (options.lockKey ?? LOCK_KEY).publicKey,
    lockId: LOCK_ID,
    lockVersions: [1],
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    now: options.now ?? T0,
  });
}

export function newLock(options: PairOptions): LockSession {
  return new LockSession({
    crypto: options.lockCrypto,
    lockStaticKey: options.lockKey ?? LOCK_KEY,
    lockId: LOCK_ID,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    now: options.now ?? T0,
  });
}

/** A complete keyway handshake at `now`, both sessions open. */
export function openPair(options: PairOptions): Pair {
  const now = options.now ?? T0;
  const phone = newPhone(options);
  const lock = newLock(options);
  const message1 = unwrap(phone.writeMessage1(now));
  unwrap(lock.readMessage1(message1, now));
  const message2 = unwrap(lock.writeMessage2(options.status ?? LOCK_STATUS, now));
  unwrap(phone.readMessage2(message2, now));
  const message3 = unwrap(phone.writeMessage3(options.credential ?? CREDENTIAL, now));
  unwrap(lock.readMessage3(message3, now));
  return { phone, lock, message1, message2, message3 };
}

/** Flips bit `bit` (0 = least significant bit of byte 0) of a copy of `bytes`. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >>> 3] = (copy[bit >>> 3] ?? 0) ^ (1 << (bit & 7));
  return copy;
}

/** Where `memoisedDh` keeps X25519 results, shared by the providers of one test. */
export interface DhCache {
  readonly shared: Map<string, Uint8Array | undefined>;
  readonly publics: Map<string, Uint8Array>;
}

export function dhCache(): DhCache {
  return { shared: new Map(), publics: new Map() };
}

/**
 * `crypto` with its X25519 results memoised in `cache`: tests that rebuild the same deterministic
 * handshake hundreds of times pay for each distinct scalar multiplication once. Every output is
 * still the provider's own.
 */
export function memoisedDh(crypto: CryptoProvider, cache: DhCache): CryptoProvider {
  return {
    ...crypto,
    x25519PublicKey(secretKey) {
      const key = hex(secretKey);
      let value = cache.publics.get(key);
      if (value === undefined) {
        value = crypto.x25519PublicKey(secretKey);
        cache.publics.set(key, value);
      }
      return value.slice();
    },
    x25519(secretKey, publicKey) {
      const key = `${hex(secretKey)}:${hex(publicKey)}`;
      if (!cache.shared.has(key)) cache.shared.set(key, crypto.x25519(secretKey, publicKey));
      return cache.shared.get(key)?.slice();
    },
  };
}

/**
 * `crypto` with X25519 replaced by a cheap stand-in for the 10 000-run fuzz campaigns, where a
 * real scalar multiplication per run (about 2 ms with noble) would not fit: the public key is the
 * secret itself, the shared secret SHA-256 of the two keys in sorted order (so both sides agree),
 * and the low-order points still give `undefined`. AEAD, hash and HMAC stay the provider's own;
 * the real X25519 runs in the smaller campaigns beside each of these.
 */
export function standInDh(crypto: CryptoProvider): CryptoProvider {
  const lowOrder = new Set(LOW_ORDER_POINTS);
  return {
    ...crypto,
    name: `${crypto.name}+stand-in-dh`,
    x25519PublicKey: (secretKey) => secretKey.slice(),
    x25519(secretKey, publicKey) {
      if (secretKey.length !== 32 || publicKey.length !== 32) throw new RangeError('size');
      if (lowOrder.has(hex(publicKey))) return undefined;
      const [a, b] = [hex(secretKey), hex(publicKey)].sort();
      return crypto.sha256(fromHex(`${a ?? ''}${b ?? ''}`));
    },
  };
}

/** A fixed, short, printable detail: never key material or message bytes. */
const SAFE_DETAIL = /^[a-z0-9 :]{1,48}$/;

/** Asserts that `result` failed with `code` and a safe detail; returns the detail. */
export function failureOf(result: Result<unknown>): { code: number; detail: string } {
  if (result.ok) throw new Error('expected a failure');
  const detail = result.detail ?? '';
  if (!SAFE_DETAIL.test(detail)) throw new Error(`unsafe failure detail: ${detail}`);
  return { code: result.code, detail };
}
