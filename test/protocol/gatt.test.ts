import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import {
  ATT_MTU_MAX,
  ATT_MTU_MIN,
  attPayloadBytes,
  CHARACTERISTICS,
  decodeLockInfo,
  encodeLockInfo,
  encodeUuid128,
  INFO_MAX_BYTES,
  LOCK_MODELS,
  MAX_FIRMWARE_VERSION_BYTES,
  MAX_PROTOCOL_VERSIONS,
  SERVICE_UUID,
} from '../../protocol/gatt.js';
import type { LockInfo, LockModel } from '../../protocol/gatt.js';
import { propertyRuns } from '../support/properties.js';
import { fromHex, hex } from '../support/hex.js';

const h = (text: string): Uint8Array => fromHex(text.replaceAll(' ', ''));

const LOCK_ID = h('00112233445566778899aabbccddeeff');
const EXAMPLE: LockInfo = {
  model: 'C2',
  firmwareVersion: '1.02',
  lockId: LOCK_ID,
  protocolVersions: [1, 2],
};
// layout 1 | model C2 | lock id | 2 versions: 1, 2 | 4 bytes "1.02"
const EXAMPLE_HEX = '01 05 00112233445566778899aabbccddeeff 02 0102 04 312e3032';

const lockInfo: fc.Arbitrary<LockInfo> = fc.record({
  model: fc.constantFrom(...(Object.keys(LOCK_MODELS) as LockModel[])),
  firmwareVersion: fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    minLength: 1,
    maxLength: MAX_FIRMWARE_VERSION_BYTES,
  }),
  lockId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  protocolVersions: fc
    .uniqueArray(fc.integer({ min: 1, max: 255 }), {
      minLength: 1,
      maxLength: MAX_PROTOCOL_VERSIONS,
    })
    .map((versions) => versions.sort((a, b) => a - b)),
});

describe('GATT profile', () => {
  it('has one 128-bit service and rx / tx / info characteristics on its base', () => {
    expect(SERVICE_UUID).toBe('a9ff0001-645c-4a46-aad8-fca962723fe7');
    expect(CHARACTERISTICS).toEqual({
      rx: { uuid: 'a9ff0002-645c-4a46-aad8-fca962723fe7', properties: 0x04 },
      tx: { uuid: 'a9ff0003-645c-4a46-aad8-fca962723fe7', properties: 0x10 },
      info: { uuid: 'a9ff0004-645c-4a46-aad8-fca962723fe7', properties: 0x02 },
    });
  });

  it('puts UUIDs on the air least significant octet first', () => {
    expect(hex(encodeUuid128(SERVICE_UUID))).toBe('e73f7262a9fcd8aa464a5c640100ffa9');
  });

  it('refuses UUID text that is not lowercase canonical', () => {
    for (const bad of [
      'A9FF0001-645C-4A46-AAD8-FCA962723FE7',
      'a9ff0001645c4a46aad8fca962723fe7',
      '',
    ]) {
      expect(() => encodeUuid128(bad)).toThrow(TypeError);
    }
  });
});

describe('attPayloadBytes', () => {
  it('is ATT_MTU − 3, capped at the 512-byte attribute value', () => {
    expect(
      [23, 24, 185, 247, 514, 515, 516, 517].map((mtu) => [mtu, attPayloadBytes(mtu)]),
    ).toEqual([
      [23, 20],
      [24, 21],
      [185, 182],
      [247, 244],
      [514, 511],
      [515, 512],
      [516, 512],
      [517, 512],
    ]);
  });

  it('throws RangeError outside 23..517', () => {
    for (const mtu of [ATT_MTU_MIN - 1, ATT_MTU_MAX + 1, 0, -23, 100.5, Number.NaN, Infinity]) {
      expect(() => attPayloadBytes(mtu)).toThrow(RangeError);
    }
  });
});

describe('info value', () => {
  it('encodes the documented layout', () => {
    expect(hex(encodeLockInfo(EXAMPLE))).toBe(EXAMPLE_HEX.replaceAll(' ', ''));
    expect(decodeLockInfo(h(EXAMPLE_HEX))).toEqual({ ok: true, value: EXAMPLE });
  });

  it('decode(encode(info)) = info, within INFO_MAX_BYTES', () => {
    fc.assert(
      fc.property(lockInfo, (info) => {
        const bytes = encodeLockInfo(info);
        expect(bytes.length).toBeLessThanOrEqual(INFO_MAX_BYTES);
        expect(decodeLockInfo(bytes)).toEqual({ ok: true, value: info });
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });

  it('rejects every truncation and a trailing byte with DECODE', () => {
    const bytes = h(EXAMPLE_HEX);
    for (let length = 0; length < bytes.length; length++) {
      const decoded = decodeLockInfo(bytes.subarray(0, length));
      expect(decoded, `length ${length}`).toMatchObject({ ok: false, code: WIRE_ERRORS.DECODE });
    }
    expect(decodeLockInfo(h(`${EXAMPLE_HEX} 00`))).toMatchObject({ code: WIRE_ERRORS.DECODE });
  });

  it('rejects an unknown layout with UNSUPPORTED_VERSION', () => {
    for (const layout of ['00', '02', 'ff']) {
      const bytes = h(`${layout}${EXAMPLE_HEX.slice(2)}`);
      expect(decodeLockInfo(bytes)).toMatchObject({ code: WIRE_ERRORS.UNSUPPORTED_VERSION });
    }
  });

  it.each([
    ['unknown model 0x00', '01 00 00112233445566778899aabbccddeeff 02 0102 04 312e3032'],
    ['unknown model 0x07', '01 07 00112233445566778899aabbccddeeff 02 0102 04 312e3032'],
    ['no protocol version', '01 05 00112233445566778899aabbccddeeff 00 04 312e3032'],
    [
      'nine protocol versions',
      '01 05 00112233445566778899aabbccddeeff 09 010203040506070809 01 31',
    ],
    ['versions descending', '01 05 00112233445566778899aabbccddeeff 02 0201 04 312e3032'],
    ['a repeated version', '01 05 00112233445566778899aabbccddeeff 02 0101 04 312e3032'],
    ['version 0', '01 05 00112233445566778899aabbccddeeff 02 0001 04 312e3032'],
    ['empty firmware version', '01 05 00112233445566778899aabbccddeeff 02 0102 00'],
    [
      'firmware version of 33 bytes',
      `01 05 00112233445566778899aabbccddeeff 01 01 21 ${'31'.repeat(33)}`,
    ],
    ['firmware version with DEL', '01 05 00112233445566778899aabbccddeeff 02 0102 04 312e307f'],
    [
      'firmware version with a control byte',
      '01 05 00112233445566778899aabbccddeeff 02 0102 04 1b2e3032',
    ],
    [
      'firmware version with a non-ASCII byte',
      '01 05 00112233445566778899aabbccddeeff 02 0102 04 c32e3032',
    ],
    ['firmware length past the end', '01 05 00112233445566778899aabbccddeeff 02 0102 05 312e3032'],
  ])('rejects %s with DECODE', (_, text) => {
    expect(decodeLockInfo(h(text))).toMatchObject({ ok: false, code: WIRE_ERRORS.DECODE });
  });

  it('SECURITY 26: never throws on arbitrary bytes, and accepts only canonical encodings', () => {
    const valid = lockInfo.map(encodeLockInfo);
    const mutated = fc
      .tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([bytes, at, value]) => {
        const copy = bytes.slice();
        copy[at % copy.length] = value;
        return copy;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), mutated), (bytes) => {
        const decoded = decodeLockInfo(bytes);
        if (decoded.ok) expect(hex(encodeLockInfo(decoded.value))).toBe(hex(bytes));
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });

  it.each([
    ['an unknown model', { ...EXAMPLE, model: 'toString' as LockModel }, TypeError],
    ['a 15-byte lock id', { ...EXAMPLE, lockId: LOCK_ID.subarray(1) }, RangeError],
    ['no protocol version', { ...EXAMPLE, protocolVersions: [] }, RangeError],
    ['versions out of order', { ...EXAMPLE, protocolVersions: [2, 1] }, RangeError],
    ['version 256', { ...EXAMPLE, protocolVersions: [256] }, RangeError],
    ['an empty firmware version', { ...EXAMPLE, firmwareVersion: '' }, RangeError],
    ['a non-ASCII firmware version', { ...EXAMPLE, firmwareVersion: '1.0é' }, RangeError],
    ['a long firmware version', { ...EXAMPLE, firmwareVersion: '1'.repeat(33) }, RangeError],
  ])('encode throws on %s', (_, info, error) => {
    expect(() => encodeLockInfo(info)).toThrow(error);
  });
});
