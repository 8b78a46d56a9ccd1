import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAdStructures,
  decodeAdvertisement,
  decodeScanResponse,
  encodeAdvertisement,
  encodeScanResponse,
  LEGACY_AD_MAX_BYTES,
} from '../../protocol/advertisement.js';
import type { LockAdvertisement } from '../../protocol/advertisement.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { propertyRuns } from '../support/properties.js';
import { fromHex, hex } from '../support/hex.js';

const h = (text: string): Uint8Array => fromHex(text.replaceAll(' ', ''));

const FLAGS = '02 01 06';
const UUIDS = '11 07 e73f7262a9fcd8aa464a5c640100ffa9';
const EXAMPLE: LockAdvertisement = {
  protocolVersion: 1,
  status: { needsUpdate: true, lowBattery: false, syncPending: true },
  lockId: h('00112233445566778899aabbccddeeff'),
};
// company 0xFFFF (little-endian) | version 1 | status 0x05 | id prefix or id
const ADVERT_HEX = `${FLAGS} ${UUIDS} 09 ff ffff 01 05 00112233`;
const SCAN_HEX = '15 ff ffff 01 05 00112233445566778899aabbccddeeff';

const advertisement: fc.Arbitrary<LockAdvertisement> = fc.record({
  protocolVersion: fc.integer({ min: 1, max: 255 }),
  status: fc.record({
    needsUpdate: fc.boolean(),
    lowBattery: fc.boolean(),
    syncPending: fc.boolean(),
  }),
  lockId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
});

const expectDecodeFailure = (result: { ok: boolean }, detail: string): void => {
  expect(result).toMatchObject({ ok: false, code: WIRE_ERRORS.DECODE, detail });
};

describe('encodeAdvertisement / encodeScanResponse', () => {
  it('encode the documented layouts, within the legacy 31 bytes', () => {
    const advert = encodeAdvertisement(EXAMPLE);
    const scan = encodeScanResponse(EXAMPLE);
    expect(hex(advert)).toBe(ADVERT_HEX.replaceAll(' ', ''));
    expect(hex(scan)).toBe(SCAN_HEX.replaceAll(' ', ''));
    expect(advert.length).toBe(LEGACY_AD_MAX_BYTES);
    expect(scan.length).toBeLessThanOrEqual(LEGACY_AD_MAX_BYTES);
  });

  it('decode what they encode', () => {
    fc.assert(
      fc.property(advertisement, ({ protocolVersion, status, lockId }) => {
        const advert = { protocolVersion, status, lockId };
        expect(decodeAdvertisement(encodeAdvertisement(advert))).toEqual({
          ok: true,
          value: { protocolVersion, status, lockIdPrefix: lockId.slice(0, 4) },
        });
        expect(decodeScanResponse(encodeScanResponse(advert))).toEqual({
          ok: true,
          value: { protocolVersion, status, lockId },
        });
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });

  it('SECURITY 21: carry nothing but constants, version, status and the public lock id', () => {
    fc.assert(
      fc.property(advertisement, (advert) => {
        const status =
          (advert.status.needsUpdate ? 1 : 0) |
          (advert.status.lowBattery ? 2 : 0) |
          (advert.status.syncPending ? 4 : 0);
        const fields = [advert.protocolVersion, status];
        expect(hex(encodeAdvertisement(advert))).toBe(
          hex(h(`${FLAGS} ${UUIDS} 09ffffff`)) +
            hex(Uint8Array.from([...fields, ...advert.lockId.subarray(0, 4)])),
        );
        expect(hex(encodeScanResponse(advert))).toBe(
          `15ffffff${hex(Uint8Array.from([...fields, ...advert.lockId]))}`,
        );
      }),
    );
  });

  it.each([
    ['protocol version 0', { ...EXAMPLE, protocolVersion: 0 }],
    ['protocol version 256', { ...EXAMPLE, protocolVersion: 256 }],
    ['a fractional protocol version', { ...EXAMPLE, protocolVersion: 1.5 }],
    ['a 15-byte lock id', { ...EXAMPLE, lockId: new Uint8Array(15) }],
    ['a 17-byte lock id', { ...EXAMPLE, lockId: new Uint8Array(17) }],
  ])('throw RangeError on %s', (_, advert) => {
    expect(() => encodeAdvertisement(advert)).toThrow(RangeError);
    expect(() => encodeScanResponse(advert)).toThrow(RangeError);
  });
});

describe('decodeAdStructures', () => {
  it('splits data into length-type-data structures', () => {
    const parsed = decodeAdStructures(h(ADVERT_HEX));
    expect(parsed.ok && parsed.value.map(({ type, data }) => [type, hex(data)])).toEqual([
      [0x01, '06'],
      [0x07, 'e73f7262a9fcd8aa464a5c640100ffa9'],
      [0xff, 'ffff010500112233'],
    ]);
  });

  it('stops at a zero length followed by zero padding', () => {
    const parsed = decodeAdStructures(h(`${SCAN_HEX} ${'00'.repeat(9)}`));
    expect(parsed.ok && parsed.value.length).toBe(1);
    expect(decodeAdStructures(new Uint8Array(0))).toEqual({ ok: true, value: [] });
  });

  it.each([
    ['over 31 bytes', `${SCAN_HEX} ${'00'.repeat(10)}`, 'ad: over 31 bytes'],
    ['a structure past the end', '02 01 06 05 ff ffff', 'ad: structure runs past the end'],
    ['a length byte with nothing after it', '02 01 06 01', 'ad: structure runs past the end'],
    [
      'nonzero bytes after the terminator',
      `${SCAN_HEX} 00 00 07`,
      'ad: nonzero bytes after the significant part',
    ],
    ['a repeated type', '02 01 06 02 01 06', 'ad: repeated type'],
  ])('rejects %s with DECODE', (_, text, detail) => {
    expectDecodeFailure(decodeAdStructures(h(text)), detail);
  });
});

describe('decodeAdvertisement', () => {
  const NOT_KEYWAY = 'ad: not a keyway lock';
  const WRONG_LENGTH = 'ad.manufacturerData: wrong length';
  it.each([
    ['another service', `${FLAGS} 11 07 ${'00'.repeat(16)} 09 ff ffff 01 05 00112233`, NOT_KEYWAY],
    [
      'a 128-bit UUID list cut short',
      `${FLAGS} 10 07 e73f7262a9fcd8aa464a5c640100ff 09 ff ffff 0105 00112233`,
      NOT_KEYWAY,
    ],
    ['no manufacturer data', `${FLAGS} ${UUIDS}`, NOT_KEYWAY],
    ['another company', `${FLAGS} ${UUIDS} 09 ff 5900 01 05 00112233`, NOT_KEYWAY],
    ['a 6-byte id prefix', `${UUIDS} 0b ff ffff 01 05 001122334455`, WRONG_LENGTH],
    ['a 3-byte id prefix', `${FLAGS} ${UUIDS} 08 ff ffff 01 05 001122`, WRONG_LENGTH],
    [
      'protocol version 0',
      `${FLAGS} ${UUIDS} 09 ff ffff 00 05 00112233`,
      'ad.protocolVersion: zero',
    ],
    [
      'two manufacturer data structures',
      `${UUIDS} 05 ff ffff 0105 05 ff ffff 0105`,
      'ad: repeated type',
    ],
  ])('rejects %s with DECODE', (_, text, detail) => {
    expectDecodeFailure(decodeAdvertisement(h(text)), detail);
  });

  it('ignores reserved status bits and AD types it does not use', () => {
    expect(decodeAdvertisement(h(`${UUIDS} 09 ff ffff 01 f8 00112233 02 0a 00`))).toEqual({
      ok: true,
      value: {
        protocolVersion: 1,
        status: { needsUpdate: false, lowBattery: false, syncPending: false },
        lockIdPrefix: h('00112233'),
      },
    });
  });
});

describe('decodeScanResponse', () => {
  it('accepts a scan response with a local name besides', () => {
    const named = h(`${SCAN_HEX} 05 09 446f6f72`);
    expect(decodeScanResponse(named)).toEqual(decodeScanResponse(h(SCAN_HEX)));
  });

  it.each([
    ['the advertising data', ADVERT_HEX, 'ad.manufacturerData: wrong length'],
    [
      'another company',
      '15 ff 5900 01 05 00112233445566778899aabbccddeeff',
      'ad: not a keyway lock',
    ],
    [
      'a 15-byte lock id',
      '14 ff ffff 01 05 00112233445566778899aabbccddee',
      'ad.manufacturerData: wrong length',
    ],
    [
      'protocol version 0',
      '15 ff ffff 00 05 00112233445566778899aabbccddeeff',
      'ad.protocolVersion: zero',
    ],
    ['a truncated structure', SCAN_HEX.slice(0, -2), 'ad: structure runs past the end'],
  ])('rejects %s with DECODE', (_, text, detail) => {
    expectDecodeFailure(decodeScanResponse(h(text)), detail);
  });
});

describe('SECURITY 26: hostile advertising data', () => {
  const valid = advertisement.chain((advert) =>
    fc.constantFrom(encodeAdvertisement(advert), encodeScanResponse(advert)),
  );
  const mutated = fc
    .tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }))
    .map(([bytes, at, value]) => {
      const copy = bytes.slice();
      copy[at % copy.length] = value;
      return copy;
    });
  const hostile = fc.oneof(fc.uint8Array({ maxLength: 40 }), mutated);

  it.each([
    ['decodeAdStructures', decodeAdStructures],
    ['decodeAdvertisement', decodeAdvertisement],
    ['decodeScanResponse', decodeScanResponse],
  ] as const)('%s never throws on arbitrary bytes', (_, decode) => {
    fc.assert(
      fc.property(hostile, (bytes) => {
        const decoded = decode(bytes);
        if (!decoded.ok) expect(decoded.code).toBe(WIRE_ERRORS.DECODE);
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});
