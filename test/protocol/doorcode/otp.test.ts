import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { HOTP, Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { dynamicTruncate, hotp, totp, totpCounter } from '../../../protocol/doorcode/otp.js';
import type { OtpHash } from '../../../protocol/doorcode/otp.js';
import { propertyRuns } from '../../support/properties.js';

interface OtpVector {
  readonly counter: number;
  readonly algorithm: OtpHash;
  readonly key_ascii: string;
  readonly digits: number;
  readonly code: string;
  readonly time?: number;
  readonly step?: number;
  readonly t0?: number;
}

function readVectors(file: string): readonly OtpVector[] {
  const url = new URL(`../../vectors/otp/${file}`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { vectors: OtpVector[] }).vectors;
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('RFC 4226 Appendix D (test/vectors/otp/rfc4226-hotp.json)', () => {
  const vectors = readVectors('rfc4226-hotp.json');
  it('has the ten vectors of the RFC', () => expect(vectors).toHaveLength(10));
  it.each(vectors)('HOTP counter $counter = $code', (vector) => {
    expect(
      hotp(ascii(vector.key_ascii), vector.counter, {
        digits: vector.digits,
        hash: vector.algorithm,
      }),
    ).toBe(vector.code);
  });
});

describe('RFC 6238 Appendix B (test/vectors/otp/rfc6238-totp.json)', () => {
  const vectors = readVectors('rfc6238-totp.json');
  it('has the eighteen vectors of the RFC', () => expect(vectors).toHaveLength(18));
  it.each(vectors)('TOTP $algorithm at $time s = $code', (vector) => {
    const options = {
      digits: vector.digits,
      hash: vector.algorithm,
      step: vector.step ?? 30,
      t0: vector.t0 ?? 0,
    };
    expect(totpCounter(vector.time ?? Number.NaN, options.step, options.t0)).toBe(vector.counter);
    expect(totp(ascii(vector.key_ascii), vector.time ?? Number.NaN, options)).toBe(vector.code);
  });
});

describe('dynamicTruncate (RFC 4226 §5.3)', () => {
  it('reproduces the worked example of RFC 4226 §5.4', () => {
    const mac = Uint8Array.from(Buffer.from('1f8698690e02ca16618550ef7f19da8e945b555a', 'hex'));
    expect(dynamicTruncate(mac)).toBe(0x50ef7f19);
    expect(dynamicTruncate(mac) % 1e6).toBe(872921);
  });

  it('masks the top bit and reads at the offset of the last byte', () => {
    const mac = new Uint8Array(32).fill(0xff);
    mac[31] = 0xf0;
    expect(dynamicTruncate(mac)).toBe(0x7fffffff);
    mac[31] = 0x0a;
    mac.set([0x80, 0x01, 0x02, 0x03], 10);
    expect(dynamicTruncate(mac)).toBe(0x00010203);
  });

  it('rejects MACs shorter than 20 bytes and non-bytes', () => {
    expect(() => dynamicTruncate(new Uint8Array(19))).toThrow(RangeError);
    expect(() => dynamicTruncate([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('HOTP and TOTP argument checks', () => {
  const key = ascii('12345678901234567890');
  it('names the bad parameter', () => {
    expect(() => hotp(key, -1)).toThrow(/counter/);
    expect(() => hotp(key, 1.5)).toThrow(/counter/);
    expect(() => hotp(key, 1n << 64n)).toThrow(/counter/);
    expect(() => hotp(key, 0, { digits: 10 })).toThrow(/digits/);
    expect(() => hotp(key, 0, { hash: 'md5' as OtpHash })).toThrow(/hash/);
    expect(() => hotp('key' as unknown as Uint8Array, 0)).toThrow(TypeError);
    expect(() => totp(key, 10, { t0: 20 })).toThrow(/timeSeconds/);
    expect(() => totp(key, 10, { step: 0 })).toThrow(/step/);
  });

  it('takes 64-bit counters as bigint', () => {
    expect(hotp(key, 5n)).toBe(hotp(key, 5));
    expect(hotp(key, (1n << 64n) - 1n)).toMatch(/^[0-9]{6}$/);
  });
});

describe('against the otpauth package', () => {
  const hashes = fc.constantFrom<OtpHash>('sha1', 'sha256', 'sha512');
  const names = { sha1: 'SHA1', sha256: 'SHA256', sha512: 'SHA512' } as const;
  const key = fc.uint8Array({ minLength: 1, maxLength: 80 });

  it('HOTP agrees for random keys, counters, digits and hashes', () => {
    fc.assert(
      fc.property(
        key,
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 6, max: 9 }),
        hashes,
        (bytes, counter, digits, hash) => {
          const secret = Secret.fromHex(hex(bytes));
          const expected = HOTP.generate({ secret, algorithm: names[hash], digits, counter });
          expect(hotp(bytes, counter, { digits, hash })).toBe(expected);
        },
      ),
      { numRuns: propertyRuns(200, 5000) },
    );
  });

  it('TOTP agrees for random keys, times and periods', () => {
    fc.assert(
      fc.property(
        key,
        fc.nat({ max: 4_000_000_000 }),
        fc.integer({ min: 1, max: 300 }),
        hashes,
        (bytes, time, step, hash) => {
          const secret = Secret.fromHex(hex(bytes));
          const expected = TOTP.generate({
            secret,
            algorithm: names[hash],
            digits: 8,
            period: step,
            timestamp: time * 1000,
          });
          expect(totp(bytes, time, { digits: 8, hash, step })).toBe(expected);
        },
      ),
      { numRuns: propertyRuns(200, 5000) },
    );
  });
});
