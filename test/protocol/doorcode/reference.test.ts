import { createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCode } from '../../../protocol/doorcode/deriver.js';
import type { DayCodesRequest } from '../../../protocol/doorcode/deriver.js';
import {
  deriveCodeReference,
  deriveDayKey,
  deriveDoorKey,
  referenceDayCodes,
} from '../../../protocol/doorcode/reference.js';
import { propertyRuns } from '../../support/properties.js';

/** ARCHITECTURE.md §5 again, written independently over node:crypto. */
const node = {
  doorKey(propertyKey: Uint8Array, doorId: string): Uint8Array {
    const info = Buffer.concat([Buffer.from('keyway dc v1', 'ascii'), Buffer.from(doorId, 'utf8')]);
    return new Uint8Array(hkdfSync('sha256', propertyKey, Buffer.alloc(0), info, 32));
  },
  dayKey(doorKey: Uint8Array, day: string, keyVersion: number): Buffer {
    const version = Buffer.alloc(2);
    version.writeUInt16BE(keyVersion);
    return createHmac('sha256', doorKey)
      .update('day', 'ascii')
      .update(day, 'ascii')
      .update(version)
      .digest();
  },
  code(dayKey: Uint8Array, slot: number, digits: number): string {
    const message = Buffer.alloc(6);
    message.write('code', 'ascii');
    message.writeUInt16BE(slot, 4);
    const mac = createHmac('sha256', dayKey).update(message).digest();
    const offset = (mac[31] ?? 0) & 0x0f;
    return ((mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits)
      .toString()
      .padStart(digits, '0');
  },
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const PROPERTY_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);

/**
 * Pinned values, computed once with Python's hmac/hashlib (a third implementation), so that any
 * change to the byte layout of §5 shows as a failing literal.
 */
interface GoldenDay {
  readonly day: string;
  readonly keyVersion: number;
  readonly dayKey: string;
  readonly codes: readonly string[];
}

interface GoldenDoor {
  readonly doorId: string;
  readonly doorKey: string;
  readonly days: readonly GoldenDay[];
}

const GOLDEN: readonly GoldenDoor[] = [
  {
    doorId: 'door-1',
    doorKey: '92ae4ccc2ac54c7ae17784b57272db4bc99f9426d62a29b6072436d5a269eaa2',
    days: [
      {
        day: '20261121',
        keyVersion: 1,
        dayKey: '84b596acac8403af85a9059626def3910c2753082a7e182e67d5b198608ba989',
        codes: ['5805551', '2481076', '9836078', '1730617', '2591695', '1922242'],
      },
      {
        day: '20261122',
        keyVersion: 1,
        dayKey: '00c9049bd3791df767b1c29da4537aa34ed888f1c62c5a7556870a27a23a62c0',
        codes: ['0540740', '4381605', '6875396', '2587163', '4511230', '7593365'],
      },
      {
        day: '20261121',
        keyVersion: 2,
        dayKey: '42c78b9b626e5d1bda1f38b179eff666cff11ec8b96e4e276ce954a0a1a52b92',
        codes: ['8930873', '5445183', '1476066', '2065883', '4692439', '1058278'],
      },
    ],
  },
  {
    doorId: 'Tür 3 ☃',
    doorKey: '3af4006fdec63a628157f58158c9cd92ae89a56634c87248b6e9993c5d092f1c',
    days: [
      {
        day: '20261121',
        keyVersion: 1,
        dayKey: '7a5f1459c654bd8d5aeb9a61c12aa7b47e22e8e1bdf7fa1599d475da4edca506',
        codes: ['6366141', '7441236', '5860475', '4239579', '1817078', '8261428'],
      },
      {
        day: '20261122',
        keyVersion: 1,
        dayKey: '256b448b26d27bf42934bac3ca7ed20599783c2108df4e5df40b2e769b464e2b',
        codes: ['6155159', '8985539', '6362301', '0489681', '5868057', '2735402'],
      },
      {
        day: '20261121',
        keyVersion: 2,
        dayKey: 'dd2878d0714d14752345937a42870f8674c8c4777839b25cf456147dcd9da02d',
        codes: ['5616888', '8957594', '2872050', '3788328', '0438817', '0758805'],
      },
    ],
  },
];
const GOLDEN_SLOTS = [0, 1, 2, 191, 192, 255] as const;

describe('reference doorcodes: hand-checked values (ARCHITECTURE.md §5)', () => {
  describe.each(GOLDEN)('door $doorId', (door) => {
    it('K_door matches the pinned value and node:crypto HKDF', () => {
      const doorKey = deriveDoorKey(PROPERTY_KEY, door.doorId);
      expect(hex(doorKey)).toBe(door.doorKey);
      expect(hex(doorKey)).toBe(hex(node.doorKey(PROPERTY_KEY, door.doorId)));
    });

    it.each(door.days)(
      'day $day, key version $keyVersion',
      ({ day, keyVersion, dayKey, codes }) => {
        const doorKey = deriveDoorKey(PROPERTY_KEY, door.doorId);
        const reference = deriveDayKey(doorKey, day, keyVersion);
        expect(hex(reference)).toBe(dayKey);
        expect(hex(reference)).toBe(hex(node.dayKey(doorKey, day, keyVersion)));
        const derived = GOLDEN_SLOTS.map((slot) =>
          formatCode(deriveCodeReference(reference, slot, 7), 7),
        );
        expect(derived).toEqual(codes);
        expect(derived).toEqual(GOLDEN_SLOTS.map((slot) => node.code(reference, slot, 7)));
      },
    );
  });

  it('uses the §5 defaults: key version 1, 7 digits', () => {
    const doorKey = deriveDoorKey(PROPERTY_KEY, 'door-1');
    const dayKey = deriveDayKey(doorKey, '20261122');
    expect(formatCode(deriveCodeReference(dayKey, 0), 7)).toBe('0540740');
  });

  it('referenceDayCodes fills only its range of the output, at the offset', () => {
    const doorKey = deriveDoorKey(PROPERTY_KEY, 'door-1');
    const out = new Uint32Array(10).fill(0xdeadbeef);
    referenceDayCodes(
      { doorKey, day: '20261121', keyVersion: 1, firstSlot: 190, count: 3, digits: 7 },
      out,
      4,
    );
    const dayKey = node.dayKey(doorKey, '20261121', 1);
    expect([...out]).toEqual([
      0xdeadbeef,
      0xdeadbeef,
      0xdeadbeef,
      0xdeadbeef,
      Number(node.code(dayKey, 190, 7)),
      1730617,
      2591695,
      0xdeadbeef,
      0xdeadbeef,
      0xdeadbeef,
    ]);
  });
});

describe('reference doorcodes: property against node:crypto', () => {
  const day = fc
    .date({
      min: new Date(Date.UTC(1970, 0, 1)),
      max: new Date(Date.UTC(2200, 11, 31)),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString().slice(0, 10).replaceAll('-', ''));
  const u16 = fc.integer({ min: 0, max: 0xffff });

  it('every slot code equals the independent implementation', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }),
        day,
        u16,
        u16,
        fc.integer({ min: 1, max: 9 }),
        (propertyKey, doorId, label, keyVersion, slot, digits) => {
          const doorKey = deriveDoorKey(propertyKey, doorId);
          expect(hex(doorKey)).toBe(hex(node.doorKey(propertyKey, doorId)));
          const code = deriveCodeReference(deriveDayKey(doorKey, label, keyVersion), slot, digits);
          expect(formatCode(code, digits)).toBe(
            node.code(node.dayKey(doorKey, label, keyVersion), slot, digits),
          );
        },
      ),
      { numRuns: propertyRuns(300, 10_000) },
    );
  });

  it('referenceDayCodes equals the independent implementation over a run of slots', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        day,
        u16,
        fc.integer({ min: 0, max: 0xffff - 8 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 9 }),
        (doorKey, label, keyVersion, firstSlot, count, digits) => {
          const out = new Uint32Array(count);
          referenceDayCodes({ doorKey, day: label, keyVersion, firstSlot, count, digits }, out);
          const dayKey = node.dayKey(doorKey, label, keyVersion);
          const expected = Array.from({ length: count }, (_, i) =>
            node.code(dayKey, firstSlot + i, digits),
          );
          expect([...out].map((code) => formatCode(code, digits))).toEqual(expected);
        },
      ),
      { numRuns: propertyRuns(100, 2000) },
    );
  });
});

describe('reference doorcodes: argument checks name the parameter', () => {
  const doorKey = new Uint8Array(32).fill(7);
  const request: DayCodesRequest = {
    doorKey,
    day: '20261121',
    keyVersion: 1,
    firstSlot: 0,
    count: 4,
    digits: 7,
  };

  it.each([
    '2026112',
    '202611211',
    '2026-11-',
    '20260230',
    '20261301',
    '20261100',
    '00000101',
    '２０２６１１２１',
  ])('rejects the day label %s', (day) => {
    expect(() => deriveDayKey(doorKey, day)).toThrow(RangeError);
    expect(() => deriveDayKey(doorKey, day)).toThrow(/^day:/);
  });

  it('accepts 29 February only in leap years', () => {
    expect(() => deriveDayKey(doorKey, '20240229')).not.toThrow();
    expect(() => deriveDayKey(doorKey, '20000229')).not.toThrow();
    expect(() => deriveDayKey(doorKey, '21000229')).toThrow(RangeError);
  });

  it('checks slots, key versions, digits and keys', () => {
    const dayKey = deriveDayKey(doorKey, '20261121');
    expect(() => deriveCodeReference(dayKey, 0x10000)).toThrow(/slot/);
    expect(() => deriveCodeReference(dayKey, -1)).toThrow(/slot/);
    expect(() => deriveCodeReference(dayKey, 1.5)).toThrow(/slot/);
    expect(() => deriveCodeReference(dayKey, 0, 0)).toThrow(/digits/);
    expect(() => deriveCodeReference(dayKey, 0, 10)).toThrow(/digits/);
    expect(() => deriveDayKey(doorKey, '20261121', 0x10000)).toThrow(/keyVersion/);
    expect(() => deriveDayKey(new Uint8Array(0), '20261121')).toThrow(/doorKey/);
    expect(() => deriveDayKey('key' as unknown as Uint8Array, '20261121')).toThrow(TypeError);
    expect(() => deriveDayKey(doorKey, 20261121 as unknown as string)).toThrow(TypeError);
    expect(() => deriveDoorKey(PROPERTY_KEY, '')).toThrow(/doorId/);
    expect(() => deriveDoorKey(PROPERTY_KEY, 'door-\uD800')).toThrow(/doorId/);
    expect(() => deriveDoorKey(new Uint8Array(0), 'door-1')).toThrow(/propertyKey/);
  });

  it('checks the request and the output of referenceDayCodes', () => {
    const out = new Uint32Array(4);
    expect(() => referenceDayCodes({ ...request, firstSlot: 0xffff, count: 2 }, out)).toThrow(
      /request\.count/,
    );
    expect(() => referenceDayCodes({ ...request, day: '20261131' }, out)).toThrow(/request\.day/);
    expect(() => referenceDayCodes({ ...request, digits: 10 }, out)).toThrow(/request\.digits/);
    expect(() => referenceDayCodes({ ...request, keyVersion: -1 }, out)).toThrow(
      /request\.keyVersion/,
    );
    expect(() => referenceDayCodes(request, new Uint32Array(3))).toThrow(/out/);
    expect(() => referenceDayCodes(request, out, 1)).toThrow(/out/);
    expect(() => referenceDayCodes(request, [] as unknown as Uint32Array)).toThrow(TypeError);
  });
});
