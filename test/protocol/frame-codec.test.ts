import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { decodeFragment, fragment, MAX_MESSAGE_BYTES } from '../../protocol/frame-codec.js';
import { ATT_MTU_MAX, ATT_MTU_MIN, attPayloadBytes } from '../../protocol/gatt.js';
import { Reassembler } from '../../protocol/reassembler.js';
import { propertyRuns } from '../support/properties.js';
import { fromHex, hex } from '../support/hex.js';

const h = (text: string): Uint8Array => fromHex(text.replaceAll(' ', ''));
/** Bytes 00 01 02 ..., so a misplaced byte shows in the hex. */
const counting = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i & 0xff);

/**
 * Checks the layout of every fragment and that a fresh reassembler gives the message back:
 * `'identity'`, or what went wrong (compared by hand: deep equality of kilobytes is slow).
 */
function roundTrip(message: Uint8Array, mtu: number): string {
  const payload = attPayloadBytes(mtu);
  const fragments = fragment(message, mtu);
  const reassembler = new Reassembler();
  for (const [k, bytes] of fragments.entries()) {
    const last = k === fragments.length - 1;
    if (bytes.length < 3 || bytes.length > payload) return `fragment ${k}: ${bytes.length} bytes`;
    if (!last && bytes.length !== payload) return `fragment ${k}: not full`;
    const header = k === 0 ? [0x80, message.length >> 8, message.length & 0xff] : [0, k % 256];
    if (header.some((byte, i) => bytes[i] !== byte)) return `fragment ${k}: header`;
    const pushed = reassembler.push(bytes, 0);
    if (!pushed.ok) return `fragment ${k}: code ${pushed.code}`;
    if (last) {
      const out = pushed.value;
      if (out === undefined) return 'no message after the last fragment';
      const same = out.length === message.length && out.every((byte, i) => byte === message[i]);
      return same ? 'identity' : `got ${hex(out)}`;
    }
    if (pushed.value !== undefined) return `fragment ${k}: message before the last fragment`;
  }
  return 'no fragment';
}

describe('fragment', () => {
  it('sends a short message in one fragment: 80, u16be length, bytes', () => {
    expect(fragment(h('0102030405'), 23).map(hex)).toEqual(['8000050102030405']);
  });

  it('sends the empty message as a bare first header', () => {
    expect(fragment(new Uint8Array(0), 247).map(hex)).toEqual(['800000']);
  });

  it('numbers continuations 1, 2, ... after a first fragment of P − 3 bytes (MTU 23)', () => {
    expect(fragment(counting(40), 23).map(hex)).toEqual([
      '800028 000102030405060708090a0b0c0d0e0f10'.replaceAll(' ', ''),
      '0001 1112131415161718191a1b1c1d1e1f202122'.replaceAll(' ', ''),
      '0002 2324252627'.replaceAll(' ', ''),
    ]);
  });

  it('never writes more than 512 bytes, even at MTU 516 and 517', () => {
    for (const mtu of [515, 516, 517]) {
      const lengths = fragment(counting(2000), mtu).map((bytes) => bytes.length);
      expect(lengths).toEqual([512, 512, 512, 473]);
    }
  });

  it('takes MAX_MESSAGE_BYTES in 228 fragments at the minimum MTU', () => {
    expect(fragment(counting(MAX_MESSAGE_BYTES), ATT_MTU_MIN)).toHaveLength(228);
  });

  it('throws RangeError on a bad MTU or an oversized message', () => {
    for (const mtu of [22, 518, 100.5, Number.NaN]) {
      expect(() => fragment(new Uint8Array(1), mtu)).toThrow(RangeError);
    }
    expect(() => fragment(new Uint8Array(MAX_MESSAGE_BYTES + 1), 247)).toThrow(RangeError);
  });
});

describe('decodeFragment', () => {
  it('reads first fragments and continuations', () => {
    expect(decodeFragment(h('800005 0102'))).toEqual({
      ok: true,
      value: { first: true, length: 5, payload: h('0102') },
    });
    expect(decodeFragment(h('00 07 030405'))).toEqual({
      ok: true,
      value: { first: false, seq: 7, payload: h('030405') },
    });
  });

  it.each([
    ['an empty write', '', WIRE_ERRORS.BAD_FRAME],
    ['a 1-byte first header', '80', WIRE_ERRORS.BAD_FRAME],
    ['a 2-byte first header', '80 00', WIRE_ERRORS.BAD_FRAME],
    ['a continuation header alone', '00 01', WIRE_ERRORS.BAD_FRAME],
    ['reserved control bits', '81 0001 aa', WIRE_ERRORS.BAD_FRAME],
    ['reserved bits in a continuation', '40 01 aa', WIRE_ERRORS.BAD_FRAME],
    ['a declared length of 4097', '80 1001 aa', WIRE_ERRORS.TOO_LARGE],
    ['a declared length of 65535', '80 ffff aa', WIRE_ERRORS.TOO_LARGE],
    ['more payload than declared', '80 0001 aabb', WIRE_ERRORS.BAD_FRAME],
    ['a first fragment of a non-empty message with no payload', '80 0001', WIRE_ERRORS.BAD_FRAME],
    ['a write over 512 bytes', `00 01 ${'aa'.repeat(511)}`, WIRE_ERRORS.BAD_FRAME],
  ])('rejects %s', (_, text, code) => {
    expect(decodeFragment(h(text))).toMatchObject({ ok: false, code });
  });

  it('SECURITY 26: never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const decoded = decodeFragment(bytes);
        if (decoded.ok) expect(decoded.value.payload.length).toBeGreaterThan(-1);
        else expect([WIRE_ERRORS.BAD_FRAME, WIRE_ERRORS.TOO_LARGE]).toContain(decoded.code);
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});

describe('fragment then reassemble', () => {
  it('is the identity for every MTU 23..517 (sizes sampled up to the maximum)', () => {
    const mtus = Array.from({ length: ATT_MTU_MAX - ATT_MTU_MIN + 1 }, (_, i) => ATT_MTU_MIN + i);
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: MAX_MESSAGE_BYTES })
          .chain((size) => fc.uint8Array({ minLength: size, maxLength: size })),
        (message) => {
          for (const mtu of mtus) expect(roundTrip(message, mtu), `MTU ${mtu}`).toBe('identity');
        },
      ),
      { numRuns: propertyRuns(30, 3_000) },
    );
  });

  it.each([23, 24, 247, 517])(
    'is the identity at MTU %i for every size at a fragment edge ±1, and 0, 1, max',
    (mtu) => {
      const payload = attPayloadBytes(mtu);
      const sizes = new Set([0, 1, 2, MAX_MESSAGE_BYTES - 1, MAX_MESSAGE_BYTES]);
      for (let edge = payload - 3; edge <= MAX_MESSAGE_BYTES; edge += payload - 2) {
        for (const size of [edge - 1, edge, edge + 1]) {
          if (size <= MAX_MESSAGE_BYTES) sizes.add(size);
        }
      }
      for (const size of sizes) {
        expect(roundTrip(counting(size), mtu), `size ${size}`).toBe('identity');
      }
    },
  );
});
