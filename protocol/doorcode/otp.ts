/**
 * The readable reference of HOTP (RFC 4226) and TOTP (RFC 6238), over @noble/hashes. The daily
 * doorcodes of ARCHITECTURE.md §5 reuse RFC 4226 dynamic truncation (`dynamicTruncate`); the
 * fast kernel is checked against these functions and the RFC vectors.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { MAX_DIGITS, MIN_DIGITS } from './deriver.js';

/** The HMAC hash functions RFC 6238 §1.2 allows. */
export type OtpHash = 'sha1' | 'sha256' | 'sha512';

export interface HotpOptions {
  /** Code length, default 6 (RFC 4226 §5.3 asks for at least 6; 1..9 are accepted). */
  readonly digits?: number;
  /** Default `sha1`, the only hash of RFC 4226. */
  readonly hash?: OtpHash;
}

export interface TotpOptions extends HotpOptions {
  /** The time step `X` in seconds, default 30 (RFC 6238 §4.1). */
  readonly step?: number;
  /** The Unix time `T0` in seconds to start counting steps from, default 0 (RFC 6238 §4.1). */
  readonly t0?: number;
}

const HASHES = { sha1, sha256, sha512 } as const;

/** RFC 4226 §5.3: the truncation reads 4 bytes at an offset of up to 15 in a ≥ 20-byte HMAC. */
const MIN_MAC_BYTES = 20;
const COUNTER_BYTES = 8;
const MAX_COUNTER = (1n << 64n) - 1n;

/**
 * RFC 4226 §5.3 dynamic truncation: the offset is the low 4 bits of the last byte of the MAC
 * (RFC 6238 §1.2 keeps "last byte" for SHA-256 and SHA-512), and the result is the 31 bits
 * read big-endian at that offset.
 */
export function dynamicTruncate(mac: Uint8Array): number {
  if (!(mac instanceof Uint8Array)) throw new TypeError('mac: expected a Uint8Array');
  if (mac.length < MIN_MAC_BYTES) {
    throw new RangeError(`mac: expected at least ${MIN_MAC_BYTES} bytes, got ${mac.length}`);
  }
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  // The top bit is masked so that signed and unsigned implementations agree (RFC 4226 §5.3).
  return (
    (((mac[offset] ?? 0) & 0x7f) << 24) |
    ((mac[offset + 1] ?? 0) << 16) |
    ((mac[offset + 2] ?? 0) << 8) |
    (mac[offset + 3] ?? 0)
  );
}

/** RFC 4226 §5.3 step 3 plus zero padding: `Snum mod 10^digits` as `digits` ASCII digits. */
function toDigits(snum: number, digits: number): string {
  return (snum % 10 ** digits).toString().padStart(digits, '0');
}

function assertDigits(digits: number): void {
  if (!Number.isInteger(digits) || digits < MIN_DIGITS || digits > MAX_DIGITS) {
    throw new RangeError(
      `digits: expected an integer in ${MIN_DIGITS}..${MAX_DIGITS}, got ${digits}`,
    );
  }
}

function hashOf(hash: OtpHash): (typeof HASHES)[OtpHash] {
  if (!Object.hasOwn(HASHES, hash)) throw new RangeError('hash: expected sha1, sha256 or sha512');
  return HASHES[hash];
}

/** The 8-byte big-endian moving factor `C` of RFC 4226 §5.1. */
function encodeCounter(counter: number | bigint): Uint8Array {
  let value: bigint;
  if (typeof counter === 'bigint') {
    value = counter;
  } else if (Number.isSafeInteger(counter)) {
    value = BigInt(counter);
  } else {
    throw new RangeError('counter: expected a non-negative safe integer or a bigint');
  }
  if (value < 0n || value > MAX_COUNTER)
    throw new RangeError('counter: expected a value in 0..2^64-1');
  const bytes = new Uint8Array(COUNTER_BYTES);
  new DataView(bytes.buffer).setBigUint64(0, value);
  return bytes;
}

/** RFC 4226 §5.3: `HOTP(K, C) = Truncate(HMAC(K, C)) mod 10^digits`, zero-padded. */
export function hotp(key: Uint8Array, counter: number | bigint, options: HotpOptions = {}): string {
  if (!(key instanceof Uint8Array)) throw new TypeError('key: expected a Uint8Array');
  const digits = options.digits ?? 6;
  assertDigits(digits);
  const mac = hmac(hashOf(options.hash ?? 'sha1'), key, encodeCounter(counter));
  return toDigits(dynamicTruncate(mac), digits);
}

/** RFC 6238 §4.2: the step counter `T = floor((time − T0) / X)` for a Unix time in seconds. */
export function totpCounter(timeSeconds: number, step = 30, t0 = 0): number {
  if (!Number.isFinite(timeSeconds)) throw new RangeError('timeSeconds: expected a finite number');
  if (!Number.isFinite(step) || step <= 0) throw new RangeError('step: expected a positive number');
  if (!Number.isFinite(t0)) throw new RangeError('t0: expected a finite number');
  if (timeSeconds < t0) throw new RangeError('timeSeconds: expected a time at or after t0');
  return Math.floor((timeSeconds - t0) / step);
}

/** RFC 6238 §4: `TOTP = HOTP(K, T)` at a Unix time given in seconds (never read from a clock). */
export function totp(key: Uint8Array, timeSeconds: number, options: TotpOptions = {}): string {
  return hotp(key, totpCounter(timeSeconds, options.step, options.t0), options);
}
