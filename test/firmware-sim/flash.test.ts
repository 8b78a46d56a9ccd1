import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../firmware-sim/crc32.js';
import {
  FLASH_ERRORS,
  flashSize,
  openFlash,
  PAGE_BYTES,
  type FlashDevice,
  type FlashFault,
  type FlashStore,
  type FlashLayout,
  type TornTail,
} from '../../firmware-sim/flash.js';
import { propertyRuns } from '../support/properties.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const HEADER = 8;
const CRC = 4;

describe('CRC-32 (IEEE 802.3)', () => {
  it.each([
    // The catalogue check value (CRC-32/ISO-HDLC), then well-known strings.
    ['123456789', 0xcbf43926],
    ['', 0],
    ['a', 0xe8b7be43],
    ['abc', 0x352441c2],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('CRC-32(%j) = %i', (text, expected) => {
    expect(crc32(ascii(text))).toBe(expected);
  });

  it('agrees with zlib, continues across chunks, and honours a range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (data, i, j) => {
        expect(crc32(data)).toBe(zlibCrc32(data));
        const cut = data.length === 0 ? 0 : i % (data.length + 1);
        expect(crc32(data.subarray(cut), crc32(data.subarray(0, cut)))).toBe(crc32(data));
        const end = cut + (data.length === 0 ? 0 : j % (data.length - cut + 1));
        expect(crc32(data, 0, cut, end)).toBe(zlibCrc32(data.subarray(cut, end)));
      }),
      { numRuns: propertyRuns(200, 10_000) },
    );
  });
});

const LAYOUT: FlashLayout = [
  { key: 'credentials', capacity: 600 },
  { key: 'counters', capacity: 16 },
];

/** `readInto` leaves in a buffer what `read` returns, and the bytes after it untouched. */
function expectReadIntoAgrees(store: FlashStore, key: string): void {
  const read = store.read(key);
  const target = new Uint8Array((read?.length ?? 0) + 1).fill(0x5a);
  const length = store.readInto(key, target);
  if (read === undefined) {
    expect(length).toBeUndefined();
    return;
  }
  expect(length).toBe(read.length);
  expect(target.subarray(0, read.length)).toEqual(read);
  expect(target[read.length]).toBe(0x5a);
}

describe('flash store', () => {
  it('starts erased, with nothing committed', () => {
    const store = openFlash(LAYOUT);
    expect(store.bytes).toHaveLength(flashSize(LAYOUT));
    expect(store.bytes.every((b) => b === 0xff)).toBe(true);
    expect(store.read('credentials')).toBeUndefined();
    expect(store.generation('counters')).toBe(0);
  });

  it('alternates A/B slots with rising generations and keeps records apart', () => {
    const store = openFlash(LAYOUT);
    expect(store.commit('counters', Uint8Array.of(1))).toEqual({ ok: true, value: 1 });
    expect(store.commit('counters', Uint8Array.of(2))).toEqual({ ok: true, value: 2 });
    expect(store.commit('credentials', ascii('cache v1'))).toEqual({ ok: true, value: 1 });
    expect(store.commit('counters', new Uint8Array(0))).toEqual({ ok: true, value: 3 });
    expect(store.read('counters')).toEqual(new Uint8Array(0));
    expect(store.read('credentials')).toEqual(ascii('cache v1'));

    // Slot layout: credentials A, B, then counters A, B; generation and length little-endian.
    const counters = 2 * ((HEADER + 600 + CRC + 3) & ~3);
    const slot = (HEADER + 16 + CRC + 3) & ~3;
    const bytes = store.bytes;
    expect(Array.from(bytes.subarray(counters, counters + 8))).toEqual([3, 0, 0, 0, 0, 0, 0, 0]);
    const stored = new DataView(bytes.buffer).getUint32(counters + 8, true);
    expect(stored).toBe(crc32(bytes.subarray(counters, counters + 8)));
    expect(Array.from(bytes.subarray(counters + slot, counters + slot + 9))).toEqual([
      2, 0, 0, 0, 1, 0, 0, 0, 2,
    ]);

    const reopened = openFlash(LAYOUT, bytes.slice());
    expect(reopened.read('counters')).toEqual(new Uint8Array(0));
    expect(reopened.generation('counters')).toBe(3);
    expect(reopened.read('credentials')).toEqual(ascii('cache v1'));
    // A read is a copy: changing it changes nothing stored.
    reopened.read('credentials')!.fill(0);
    expect(reopened.read('credentials')).toEqual(ascii('cache v1'));
  });

  it("reads into a caller's buffer what read returns, and refuses a buffer too short", () => {
    const store = openFlash(LAYOUT);
    const target = new Uint8Array(16).fill(7);
    expect(store.readInto('counters', target)).toBeUndefined();
    expect(target.every((b) => b === 7)).toBe(true);
    store.commit('counters', ascii('abc'));
    expect(store.readInto('counters', target)).toBe(3);
    expect(Array.from(target.subarray(0, 4))).toEqual([0x61, 0x62, 0x63, 7]);
    store.commit('credentials', ascii('a payload of 21 bytes'));
    expect(() => store.readInto('credentials', target)).toThrow(RangeError);
    expect(() => store.readInto('nope', target)).toThrow(RangeError);
  });

  it('falls back to the other slot when the newest is corrupt', () => {
    const store = openFlash(LAYOUT);
    store.commit('counters', Uint8Array.of(1));
    store.commit('counters', Uint8Array.of(2));
    const bytes = store.bytes.slice();
    const counters = 2 * ((HEADER + 600 + CRC + 3) & ~3);
    const slot = (HEADER + 16 + CRC + 3) & ~3;
    bytes[counters + slot + HEADER]! ^= 0x01; // a flipped payload bit in slot B (generation 2)
    const reopened = openFlash(LAYOUT, bytes);
    expect(reopened.read('counters')).toEqual(Uint8Array.of(1));
    expect(reopened.generation('counters')).toBe(1);
    // The next commit overwrites the corrupt slot, not the good one.
    expect(reopened.commit('counters', Uint8Array.of(3))).toEqual({ ok: true, value: 2 });
    expect(openFlash(LAYOUT, bytes).read('counters')).toEqual(Uint8Array.of(3));
  });

  it('erases the whole target slot before programming it, and after a failed program', () => {
    const store = openFlash(LAYOUT);
    store.commit('counters', new Uint8Array(16).fill(1)); // slot A
    store.commit('counters', new Uint8Array(16).fill(2)); // slot B
    store.commit('counters', Uint8Array.of(3)); // slot A again, shorter
    const counters = 2 * ((HEADER + 600 + CRC + 3) & ~3);
    const slot = (HEADER + 16 + CRC + 3) & ~3;
    const erased = (from: number, to: number): boolean =>
      store.bytes.subarray(from, to).every((b) => b === 0xff);
    expect(erased(counters + HEADER + 1 + CRC, counters + slot)).toBe(true);
    expect(erased(counters + slot, counters + 2 * slot)).toBe(false);
    store.injectFault({ kind: 'write-failure', atWrite: 4 });
    store.commit('counters', Uint8Array.of(4)); // slot B, which the failure leaves erased
    expect(erased(counters + slot, counters + 2 * slot)).toBe(true);
  });

  it('reports a write failure as a value and keeps the previous state', () => {
    const store = openFlash(LAYOUT);
    store.commit('counters', Uint8Array.of(7));
    store.injectFault({ kind: 'write-failure', atWrite: 2 });
    expect(store.commit('counters', Uint8Array.of(8))).toEqual({
      ok: false,
      code: FLASH_ERRORS.WRITE_FAILED,
    });
    expect(store.alive).toBe(true);
    expect(store.read('counters')).toEqual(Uint8Array.of(7));
    expect(openFlash(LAYOUT, store.bytes.slice()).read('counters')).toEqual(Uint8Array.of(7));
    expect(store.commit('counters', Uint8Array.of(9))).toEqual({ ok: true, value: 2 });
    expect(store.writes).toBe(3);
  });

  it.each<TornTail>(['old', 'erased', 'partial', 'half-erased'])(
    'survives a power cut with a %s tail: old state if torn, new if complete',
    (tail) => {
      const payload = Uint8Array.from({ length: 600 }, (_, i) => i * 7);
      const image = HEADER + payload.length + CRC;
      for (const landed of [0, 1, 4, 8, 100, PAGE_BYTES, PAGE_BYTES + 1, image - 1, image]) {
        const store = openFlash(LAYOUT);
        store.commit('credentials', ascii('v1'));
        store.commit('credentials', ascii('v2'));
        store.commit('counters', Uint8Array.of(5));
        store.injectFault({ kind: 'power-cut', atWrite: 4, landed, tail, noise: landed });
        expect(store.commit('credentials', payload)).toEqual({
          ok: false,
          code: FLASH_ERRORS.POWER_LOST,
        });
        expect(store.alive).toBe(false);
        expect(() => store.read('counters')).toThrow(Error);
        const after = openFlash(LAYOUT, store.bytes);
        const complete = landed === image && tail !== 'half-erased';
        expect(after.read('credentials')).toEqual(complete ? payload : ascii('v2'));
        expect(after.generation('credentials')).toBe(complete ? 3 : 2);
        expect(after.read('counters')).toEqual(Uint8Array.of(5));
      }
    },
  );

  it('refuses bad layouts, oversized payloads, unknown keys and past faults', () => {
    expect(() =>
      openFlash([
        { key: 'a', capacity: 1 },
        { key: 'a', capacity: 2 },
      ]),
    ).toThrow(RangeError);
    expect(() => openFlash([{ key: 'a', capacity: 0 }])).toThrow(RangeError);
    expect(() => openFlash(LAYOUT, new Uint8Array(10))).toThrow(RangeError);
    const store = openFlash(LAYOUT);
    expect(() => store.commit('counters', new Uint8Array(17))).toThrow(RangeError);
    expect(() => store.read('nope')).toThrow(RangeError);
    store.commit('counters', Uint8Array.of(1));
    expect(() => store.injectFault({ kind: 'write-failure', atWrite: 1 })).toThrow(RangeError);
    expect(() =>
      store.injectFault({ kind: 'power-cut', atWrite: 2, landed: -1, tail: 'old' }),
    ).toThrow(RangeError);
    expect(store.writes).toBe(1);
  });

  // SECURITY.md item 24: a power cut at any write, then a restart from the raw bytes.
  type Step = {
    record: number;
    payload: Uint8Array;
    fault?:
      { kind: 'cut'; landedFraction: number; tail: TornTail; noise: number } | { kind: 'fail' };
  };
  const step: fc.Arbitrary<Step> = fc.record(
    {
      record: fc.nat(),
      payload: fc.uint8Array({ maxLength: 700 }),
      fault: fc.oneof(
        fc.record({
          kind: fc.constant('cut' as const),
          // Weighted to the ends, where an off-by-one would hide.
          landedFraction: fc.oneof(
            fc.constantFrom(0, 1, 0.999),
            fc.double({ min: 0, max: 1, noNaN: true }),
          ),
          tail: fc.constantFrom<TornTail>('old', 'erased', 'partial', 'half-erased'),
          noise: fc.nat(),
        }),
        fc.record({ kind: fc.constant('fail' as const) }),
      ),
    },
    { requiredKeys: ['record', 'payload'] },
  );
  const layout: fc.Arbitrary<FlashLayout> = fc
    .uniqueArray(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 3 })
    .map((capacities) => capacities.map((capacity, i) => ({ key: `r${i}`, capacity })));

  it('never mixes states, loses a commit, or rolls a generation back across power cuts', () => {
    fc.assert(
      fc.property(layout, fc.array(step, { maxLength: 40 }), (records, steps) => {
        let store = openFlash(records);
        const committed = records.map((): Uint8Array | undefined => undefined);
        const generations = records.map(() => 0);
        for (const { record: pick, payload: raw, fault } of steps) {
          const index = pick % records.length;
          const { key, capacity } = records[index]!;
          const payload = raw.subarray(0, capacity);
          const image = HEADER + payload.length + CRC;
          const landed = fault?.kind === 'cut' ? Math.round(fault.landedFraction * image) : 0;
          let armed: FlashFault | undefined;
          if (fault?.kind === 'cut') {
            armed = {
              kind: 'power-cut',
              atWrite: store.writes + 1,
              landed,
              tail: fault.tail,
              noise: fault.noise,
            };
          } else if (fault?.kind === 'fail') {
            armed = { kind: 'write-failure', atWrite: store.writes + 1 };
          }
          store.injectFault(armed);
          const result = store.commit(key, payload);

          if (result.ok) {
            expect(result.value).toBe(generations[index]! + 1);
            committed[index] = payload.slice();
            generations[index] = result.value;
          } else if (result.code === FLASH_ERRORS.POWER_LOST) {
            store = openFlash(records, store.bytes);
            const gen = store.generation(key);
            // Old or new, decided by whether the whole image landed; never anything else.
            if (landed === image && fault?.kind === 'cut' && fault.tail !== 'half-erased') {
              expect(gen).toBe(generations[index]! + 1);
              committed[index] = payload.slice();
              generations[index] = gen;
            } else {
              expect(gen).toBe(generations[index]);
            }
          } else {
            expect(result.code).toBe(FLASH_ERRORS.WRITE_FAILED);
          }
          records.forEach(({ key: other }, i) => {
            expect(store.generation(other)).toBe(generations[i]);
            expect(store.read(other)).toEqual(committed[i]);
          });
        }
        // A restart without a cut loses nothing either.
        const again = openFlash(records, store.bytes.slice());
        records.forEach(({ key }, i) => {
          expect(again.generation(key)).toBe(generations[i]);
          expect(again.read(key)).toEqual(committed[i]);
        });
      }),
      { numRuns: propertyRuns(200, 20_000) },
    );
  });

  // A lock's layout: a large sync record, an audit page, a small counter (ARCHITECTURE.md §8:
  // 100 k locks, most never written, at ≤ 2 KiB each).
  const LOCK: FlashLayout = [
    { key: 'sync', capacity: 64 * 1024 },
    { key: 'audit', capacity: 4096 },
    { key: 'counter', capacity: 16 },
  ];

  it('holds no slot bytes until written, then only what was programmed', () => {
    const store = openFlash(LOCK);
    expect(store.device.size).toBe(flashSize(LOCK));
    expect(store.device.allocatedBytes).toBe(0);
    expect(store.read('sync')).toBeUndefined();
    expect(store.bytes.every((b) => b === 0xff)).toBe(true);

    // A 10-byte payload: a 22-byte image (rounded up to a word) in slot A of the 64 KiB record.
    expect(store.commit('sync', new Uint8Array(10).fill(7))).toEqual({ ok: true, value: 1 });
    expect(store.device.allocatedBytes).toBe(24);
    expect(store.commit('sync', new Uint8Array(10).fill(8))).toEqual({ ok: true, value: 2 });
    expect(store.device.allocatedBytes).toBe(48);
    // The dense view: images at the start of slots A and B (generations 1, 2), erased elsewhere.
    const slot = (HEADER + 64 * 1024 + CRC + 3) & ~3;
    const bytes = store.bytes;
    expect([bytes[0], bytes[slot]]).toEqual([1, 2]);
    expect(bytes.subarray(22, slot).every((b) => b === 0xff)).toBe(true);
    expect(bytes.subarray(slot + 22).every((b) => b === 0xff)).toBe(true);

    // A cut while erasing a never-written slot sets only bits that are already set.
    store.injectFault({ kind: 'power-cut', atWrite: 3, landed: 0, tail: 'half-erased', noise: 9 });
    expect(store.commit('audit', new Uint8Array(4096))).toEqual({
      ok: false,
      code: FLASH_ERRORS.POWER_LOST,
    });
    const restarted = openFlash(LOCK, store.device);
    expect(restarted.device.allocatedBytes).toBe(48);
    expect(restarted.read('audit')).toBeUndefined();
    expect(restarted.read('sync')).toEqual(new Uint8Array(10).fill(8));
  });

  /**
   * Four bytes `v` such that CRC-32(prefix ‖ u32le(v) ‖ suffix) = `target`: CRC-32 is affine in
   * its input bits, so Gaussian elimination over GF(2) on the 32 columns solves it.
   */
  function forceCrc(prefix: Uint8Array, suffix: Uint8Array, target: number): Uint8Array {
    const withWord = (v: number): number => {
      const data = new Uint8Array(prefix.length + 4 + suffix.length);
      data.set(prefix);
      new DataView(data.buffer).setUint32(prefix.length, v, true);
      data.set(suffix, prefix.length + 4);
      return crc32(data);
    };
    const base = withWord(0);
    const basis: { pivot: number; value: number; combo: number }[] = [];
    const reduce = (value: number, combo: number): { value: number; combo: number } => {
      for (const b of basis) {
        if ((value & b.pivot) !== 0) {
          value = (value ^ b.value) >>> 0;
          combo = (combo ^ b.combo) >>> 0;
        }
      }
      return { value, combo };
    };
    for (let j = 0; j < 32; j++) {
      const bit = 2 ** j;
      const { value, combo } = reduce((withWord(bit) ^ base) >>> 0, bit);
      if (value !== 0) basis.push({ pivot: 2 ** (31 - Math.clz32(value)), value, combo });
    }
    const { value, combo } = reduce((target ^ base) >>> 0, 0);
    expect(value).toBe(0);
    const word = new Uint8Array(4);
    new DataView(word.buffer).setUint32(0, combo, true);
    expect(withWord(combo)).toBe(target);
    return word;
  }

  it('accepts a torn slot whose CRC happens to match (2^-32 by chance), as a dense device does', () => {
    // The cut lands the header (generation 1, length 16) and 4 payload bytes; the other 12 and
    // the CRC field stay erased. The 4 bytes are chosen so that the CRC over header, payload and
    // erased tail is 0xFFFFFFFF, the erased CRC field.
    const header = Uint8Array.of(1, 0, 0, 0, 16, 0, 0, 0);
    const tail = new Uint8Array(12).fill(0xff);
    const payload = new Uint8Array(16);
    payload.set(forceCrc(header, tail, 0xffffffff));
    const torn = Uint8Array.from([...payload.subarray(0, 4), ...tail]);
    for (const dense of [false, true]) {
      const store = dense
        ? openFlash(LOCK, new Uint8Array(flashSize(LOCK)).fill(0xff))
        : openFlash(LOCK);
      store.injectFault({ kind: 'power-cut', atWrite: 1, landed: 12, tail: 'erased' });
      expect(store.commit('counter', payload)).toEqual({
        ok: false,
        code: FLASH_ERRORS.POWER_LOST,
      });
      if (!dense) expect(store.device.allocatedBytes).toBe(12);
      const after = openFlash(LOCK, store.device);
      expect(after.generation('counter')).toBe(1);
      expect(after.read('counter')).toEqual(torn);
    }
  });

  it('restarts over the same device in place, and retires the store that had it', () => {
    const store = openFlash(LAYOUT);
    store.commit('counters', Uint8Array.of(1));
    const restarted = openFlash(LAYOUT, store.device);
    expect(restarted.device).toBe(store.device);
    expect(restarted.read('counters')).toEqual(Uint8Array.of(1));
    expect(store.alive).toBe(false);
    expect(restarted.alive).toBe(true);
    expect(() => store.read('counters')).toThrow(Error);
    expect(() => store.commit('counters', Uint8Array.of(9))).toThrow(Error);
    expect(restarted.commit('counters', Uint8Array.of(2))).toEqual({ ok: true, value: 2 });
    // A layout cut into the same slots (another object, as after a firmware update) opens it too.
    const copy = LAYOUT.map((record) => ({ ...record }));
    expect(openFlash(copy, restarted.device).read('counters')).toEqual(Uint8Array.of(2));
  });

  it('refuses a device cut into other slots, or not made by a store', () => {
    const device = openFlash(LAYOUT).device;
    expect(() => openFlash([{ key: 'counters', capacity: 16 }], device)).toThrow(RangeError);
    const forged: FlashDevice = {
      size: device.size,
      allocatedBytes: 0,
      toBytes: () => new Uint8Array(device.size).fill(0xff),
    };
    expect(() => openFlash(LAYOUT, forged)).toThrow(TypeError);
  });

  it('reads byte for byte as a dense device would, through faults, cuts and restarts', () => {
    fc.assert(
      fc.property(layout, fc.array(step, { maxLength: 40 }), (records, steps) => {
        let sparse = openFlash(records);
        const bytes = new Uint8Array(flashSize(records)).fill(0xff);
        let dense = openFlash(records, bytes);
        for (const { record: pick, payload: raw, fault } of steps) {
          const { key, capacity } = records[pick % records.length]!;
          const payload = raw.subarray(0, capacity);
          const image = HEADER + payload.length + CRC;
          const atWrite = sparse.writes + 1;
          let armed: FlashFault | undefined;
          if (fault?.kind === 'cut') {
            const landed = Math.round(fault.landedFraction * image);
            armed = { kind: 'power-cut', atWrite, landed, tail: fault.tail, noise: fault.noise };
          } else if (fault?.kind === 'fail') {
            armed = { kind: 'write-failure', atWrite };
          }
          sparse.injectFault(armed);
          dense.injectFault(armed);
          const result = sparse.commit(key, payload);
          expect(dense.commit(key, payload)).toEqual(result);
          if (!result.ok && result.code === FLASH_ERRORS.POWER_LOST) {
            sparse = openFlash(records, sparse.device);
            dense = openFlash(records, bytes);
          }
          const view = sparse.bytes;
          // toEqual on every step is slow; it runs only to report a difference.
          if (view.some((b, i) => b !== bytes[i])) expect(view).toEqual(bytes);
          records.forEach(({ key: other }) => {
            expect(sparse.generation(other)).toBe(dense.generation(other));
            expect(sparse.read(other)).toEqual(dense.read(other));
            expectReadIntoAgrees(sparse, other);
          });
        }
      }),
      { numRuns: propertyRuns(200, 20_000) },
    );
  });
});
