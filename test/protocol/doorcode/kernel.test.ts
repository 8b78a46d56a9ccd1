import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DoorcodeKernel, createDoorcodeKernel } from '../../../protocol/doorcode/kernel.js';
import { referenceDayCodes } from '../../../protocol/doorcode/reference.js';
import { formatCode, type DayCodesRequest } from '../../../protocol/doorcode/deriver.js';
import { totpCounter } from '../../../protocol/doorcode/otp.js';
import { propertyRuns } from '../../support/properties.js';

/** ARCHITECTURE.md §5 written directly against node:crypto, independent of both implementations. */
function nodeCode(
  doorKey: Uint8Array,
  day: string,
  keyVersion: number,
  slot: number,
  digits: number,
): number {
  const version = Buffer.from([keyVersion >> 8, keyVersion & 0xff]);
  const dayKey = createHmac('sha256', doorKey)
    .update(Buffer.concat([Buffer.from(`day${day}`), version]))
    .digest();
  const mac = createHmac('sha256', dayKey)
    .update(Buffer.concat([Buffer.from('code'), Buffer.from([slot >> 8, slot & 0xff])]))
    .digest();
  const offset = mac[31]! & 0x0f;
  return (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
}

function nodeHotp(
  hash: 'sha1' | 'sha256',
  key: Uint8Array,
  counter: number,
  digits: number,
): number {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(hash, key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  return (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
}

const dayArbitrary = fc
  .date({
    min: new Date('1970-01-01T00:00:00Z'),
    max: new Date('2199-12-31T00:00:00Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString().slice(0, 10).replaceAll('-', ''));

const requestArbitrary = fc
  .record({
    doorKey: fc.uint8Array({ minLength: 1, maxLength: 100 }),
    day: dayArbitrary,
    keyVersion: fc.integer({ min: 0, max: 0xffff }),
    firstSlot: fc.integer({ min: 0, max: 0xffff }),
    count: fc.integer({ min: 0, max: 70 }),
    digits: fc.integer({ min: 1, max: 9 }),
  })
  .map((r): DayCodesRequest => ({ ...r, count: Math.min(r.count, 0x10000 - r.firstSlot) }));

describe('fast doorcode kernel', () => {
  const kernel = new DoorcodeKernel();

  it('equals node:crypto and the reference on a default day of 256 slots', () => {
    const doorKey = Uint8Array.from({ length: 32 }, (_, i) => i * 11 + 3);
    const request = {
      doorKey,
      day: '20261121',
      keyVersion: 1,
      firstSlot: 0,
      count: 256,
      digits: 7,
    };
    const fast = new Uint32Array(256);
    const reference = new Uint32Array(256);
    kernel.deriveDayCodes(request, fast);
    referenceDayCodes(request, reference);
    expect(fast).toEqual(reference);
    for (let slot = 0; slot < 256; slot++) {
      expect(fast[slot]).toBe(nodeCode(doorKey, '20261121', 1, slot, 7));
    }
  });

  it('equals the reference for random keys, days, slot ranges and lengths', () => {
    fc.assert(
      fc.property(requestArbitrary, fc.integer({ min: 0, max: 5 }), (request, outOffset) => {
        const fast = new Uint32Array(request.count + outOffset + 3).fill(0xdeadbeef);
        const reference = new Uint32Array(request.count + outOffset + 3).fill(0xdeadbeef);
        kernel.deriveDayCodes(request, fast, outOffset);
        referenceDayCodes(request, reference, outOffset);
        expect(fast).toEqual(reference);
      }),
      { numRuns: propertyRuns(300, 30_000) },
    );
  });

  it('handles slot ranges that cross its internal chunks and schedule table refills', () => {
    const doorKey = new Uint8Array(32).fill(0x5a);
    const all = new Uint32Array(0x10000);
    kernel.deriveDayCodes(
      { doorKey, day: '20240229', keyVersion: 7, firstSlot: 0, count: 0x10000, digits: 9 },
      all,
    );
    for (const slot of [0, 1, 4095, 4096, 4097, 8191, 40_000, 65_534, 65_535]) {
      expect(all[slot]).toBe(nodeCode(doorKey, '20240229', 7, slot, 9));
    }
    // An unaligned range after a full one must not reuse misaligned table rows.
    const part = new Uint32Array(10);
    kernel.deriveDayCodes(
      { doorKey, day: '20240229', keyVersion: 7, firstSlot: 4093, count: 10, digits: 9 },
      part,
    );
    expect(part).toEqual(all.subarray(4093, 4103));
  });

  it('keeps separate instances independent', () => {
    const a = createDoorcodeKernel();
    const b = createDoorcodeKernel();
    const request = (doorKey: Uint8Array): DayCodesRequest => ({
      doorKey,
      day: '20261231',
      keyVersion: 1,
      firstSlot: 0,
      count: 8,
      digits: 7,
    });
    const first = new Uint32Array(8);
    const second = new Uint32Array(8);
    a(request(new Uint8Array(32).fill(1)), first);
    b(request(new Uint8Array(32).fill(2)), second);
    const again = new Uint32Array(8);
    a(request(new Uint8Array(32).fill(1)), again);
    expect(again).toEqual(first);
    expect(second).not.toEqual(first);
  });

  it('rejects bad requests with RangeErrors that name the parameter', () => {
    const base = {
      doorKey: new Uint8Array(32),
      day: '20261121',
      keyVersion: 1,
      firstSlot: 0,
      count: 4,
      digits: 7,
    };
    const out = new Uint32Array(4);
    expect(() => kernel.deriveDayCodes({ ...base, digits: 10 }, out)).toThrow(/digits/);
    expect(() => kernel.deriveDayCodes({ ...base, digits: 0 }, out)).toThrow(/digits/);
    expect(() => kernel.deriveDayCodes({ ...base, day: '2026112' }, out)).toThrow(/day/);
    expect(() => kernel.deriveDayCodes({ ...base, day: '20260230' }, out)).toThrow(/day/);
    expect(() => kernel.deriveDayCodes({ ...base, keyVersion: 0x10000 }, out)).toThrow(
      /keyVersion/,
    );
    expect(() => kernel.deriveDayCodes({ ...base, firstSlot: 0xfffe, count: 4 }, out)).toThrow(
      /request\.count/,
    );
    expect(() => kernel.deriveDayCodes({ ...base, count: 5 }, out)).toThrow(/out/);
  });

  describe('HOTP (RFC 4226 §5.3)', () => {
    it('reproduces RFC 4226 Appendix D with HMAC-SHA1', () => {
      const file = JSON.parse(
        readFileSync(new URL('../../vectors/otp/rfc4226-hotp.json', import.meta.url), 'utf8'),
      ) as { vectors: { counter: number; key_ascii: string; digits: number; code: string }[] };
      expect(file.vectors).toHaveLength(10);
      const out = new Uint32Array(1);
      for (const v of file.vectors) {
        const request = { counter: v.counter, count: 1, digits: v.digits, hash: 'sha1' } as const;
        kernel.hotp(Buffer.from(v.key_ascii), request, out);
        expect(formatCode(out[0]!, v.digits)).toBe(v.code);
      }
    });

    it('reproduces every SHA-1 and SHA-256 row of RFC 6238 Appendix B', () => {
      const file = JSON.parse(
        readFileSync(new URL('../../vectors/otp/rfc6238-totp.json', import.meta.url), 'utf8'),
      ) as {
        vectors: {
          time: number;
          algorithm: string;
          key_ascii: string;
          digits: number;
          code: string;
        }[];
      };
      const rows = file.vectors.filter((v) => v.algorithm === 'sha256' || v.algorithm === 'sha1');
      expect(rows).toHaveLength(12);
      const out = new Uint32Array(1);
      for (const row of rows) {
        kernel.hotp(
          Buffer.from(row.key_ascii),
          {
            counter: totpCounter(row.time),
            count: 1,
            digits: row.digits,
            hash: row.algorithm as 'sha1' | 'sha256',
          },
          out,
        );
        expect(formatCode(out[0]!, row.digits)).toBe(row.code);
      }
    });

    it('equals node:crypto for random keys and counters, including the 2^32 carry', () => {
      fc.assert(
        fc.property(
          fc.constantFrom('sha1' as const, 'sha256' as const),
          fc.uint8Array({ minLength: 1, maxLength: 80 }),
          fc.oneof(
            fc.integer({ min: 0, max: 2 ** 40 }),
            fc.integer({ min: 2 ** 32 - 20, max: 2 ** 32 + 5 }),
          ),
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 6, max: 9 }),
          (hash, key, counter, count, digits) => {
            const out = new Uint32Array(count);
            kernel.hotp(key, { counter, count, digits, hash }, out);
            for (let i = 0; i < count; i++) {
              expect(out[i]).toBe(nodeHotp(hash, key, counter + i, digits));
            }
          },
        ),
        { numRuns: propertyRuns(100, 10_000) },
      );
    });
  });
});
