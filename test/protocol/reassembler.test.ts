import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { fragment, MAX_MESSAGE_BYTES } from '../../protocol/frame-codec.js';
import {
  DEFAULT_MAX_CONSECUTIVE_ERRORS,
  DEFAULT_MESSAGE_TIMEOUT_MS,
  Reassembler,
} from '../../protocol/reassembler.js';
import { propertyRuns } from '../support/properties.js';
import { fromHex } from '../support/hex.js';

const h = (text: string): Uint8Array => fromHex(text.replaceAll(' ', ''));

// A 40-byte message at MTU 23: three fragments (see frame-codec.test.ts).
const MESSAGE = Uint8Array.from({ length: 40 }, (_, i) => i);
const FIRST = h('800028 000102030405060708090a0b0c0d0e0f10');
const SECOND = h('0001 1112131415161718191a1b1c1d1e1f202122');
const THIRD = h('0002 2324252627');

/** Pushes the honest message at `now` and checks it comes out whole. */
function expectHonestMessage(reassembler: Reassembler, now = 0): void {
  expect(reassembler.push(FIRST, now)).toEqual({ ok: true, value: undefined });
  expect(reassembler.push(SECOND, now)).toEqual({ ok: true, value: undefined });
  expect(reassembler.push(THIRD, now)).toEqual({ ok: true, value: MESSAGE });
  expect(reassembler.idle).toBe(true);
}

/**
 * Pushes `writes` in order: all but the last are accepted, the last fails with `code`. Then the
 * reassembler is idle, holds no memory, has counted one failure, and takes an honest message.
 */
function expectRejected(writes: readonly string[], code: number): void {
  const reassembler = new Reassembler();
  const last = writes.length - 1;
  for (const [i, text] of writes.entries()) {
    const result = reassembler.push(h(text), 0);
    if (i < last) expect(result, `write ${i}`).toMatchObject({ ok: true });
    else expect(result).toMatchObject({ ok: false, code });
  }
  expect(reassembler.idle).toBe(true);
  expect(reassembler.bufferedCapacity).toBe(0);
  expect(reassembler.consecutiveErrors).toBe(1);
  expect(reassembler.shouldClose).toBe(false);
  expectHonestMessage(reassembler);
  expect(reassembler.consecutiveErrors).toBe(0);
}

describe('Reassembler', () => {
  it('gives back a message from its fragments, and the message is the caller’s', () => {
    const reassembler = new Reassembler();
    expect(reassembler.idle).toBe(true);
    expect(reassembler.push(FIRST, 0)).toEqual({ ok: true, value: undefined });
    expect(reassembler.idle).toBe(false);
    expect(reassembler.push(SECOND, 0)).toEqual({ ok: true, value: undefined });
    const done = reassembler.push(THIRD, 0);
    expect(done).toEqual({ ok: true, value: MESSAGE });
    expectHonestMessage(reassembler);
    // The next message did not reuse the buffer handed over.
    expect(done.ok && done.value).toEqual(MESSAGE);
  });

  it('takes the empty message and one-fragment messages', () => {
    const reassembler = new Reassembler();
    expect(reassembler.push(h('800000'), 0)).toEqual({ ok: true, value: new Uint8Array(0) });
    expect(reassembler.push(h('800002 abcd'), 0)).toEqual({ ok: true, value: h('abcd') });
    expect(reassembler.idle).toBe(true);
  });

  it('counts continuation sequence numbers modulo 256', () => {
    // 300 continuations of 1 byte each: past 255 the sequence number wraps to 0.
    const reassembler = new Reassembler();
    expect(reassembler.push(h('80 012d aa'), 0)).toMatchObject({ ok: true });
    for (let k = 1; k < 300; k++) {
      const result = reassembler.push(Uint8Array.of(0, k % 256, k & 0xff), 0);
      expect(result.ok, `continuation ${k}`).toBe(true);
    }
    const last = reassembler.push(Uint8Array.of(0, 300 % 256, 0x2c), 0);
    expect(last.ok && last.value?.length).toBe(0x12d);
  });

  it('throws RangeError on bad options', () => {
    for (const options of [
      { messageTimeoutMs: 0 },
      { messageTimeoutMs: 1.5 },
      { maxConsecutiveErrors: 0 },
      { maxConsecutiveErrors: Number.NaN },
    ]) {
      expect(() => new Reassembler(options)).toThrow(RangeError);
    }
  });
});

describe('SECURITY 1: short writes and truncated headers', () => {
  it.each([
    ['an empty write', ['']],
    ['a 1-byte write', ['80']],
    ['a 2-byte first header', ['80 00']],
    ['a 2-byte continuation while idle', ['00 01']],
    ['an empty write mid-message', ['800028 0001', '']],
    ['a 1-byte write mid-message', ['800028 0001', '00']],
    ['a 2-byte continuation mid-message', ['800028 0001', '00 01']],
    ['a first header declaring bytes and carrying none', ['80 0028']],
  ])('rejects %s with BAD_FRAME', (_, writes) => {
    expectRejected(writes, WIRE_ERRORS.BAD_FRAME);
  });
});

describe('SECURITY 2: declared lengths', () => {
  it.each([
    ['4097', '80 1001 aa'],
    ['65535', '80 ffff aa'],
  ])('rejects a declared length of %s with TOO_LARGE, allocating nothing', (_, write) => {
    expectRejected([write], WIRE_ERRORS.TOO_LARGE);
  });

  it('sizes its buffer from the bytes received, not from the declared length', () => {
    const reassembler = new Reassembler();
    expect(reassembler.push(h('80 1000 aa'), 0)).toMatchObject({ ok: true });
    expect(reassembler.bufferedCapacity).toBe(2);
    expect(reassembler.push(h('00 01 bbcc'), 0)).toMatchObject({ ok: true });
    expect(reassembler.bufferedCapacity).toBe(6);
  });

  it.each([
    ['a first fragment over its declared length', ['80 0001 aabb']],
    ['a continuation past the declared length', ['80 0003 aabb', '00 01 ccdd']],
  ])('rejects %s with BAD_FRAME', (_, writes) => {
    expectRejected(writes, WIRE_ERRORS.BAD_FRAME);
  });

  it('rejects a continuation after the declared length is complete with BAD_FRAME', () => {
    const reassembler = new Reassembler();
    reassembler.push(h('80 0004 aabb'), 0);
    reassembler.push(h('00 01 cc'), 0);
    expect(reassembler.push(h('00 02 dd'), 0)).toEqual({ ok: true, value: h('aabbccdd') });
    expect(reassembler.push(h('00 03 ee'), 0)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.BAD_FRAME,
    });
  });
});

describe('SECURITY 3: order', () => {
  it.each([
    ['a continuation without a first fragment', ['0001 1112']],
    ['a duplicate continuation', ['800028 0001', '0001 02', '0001 02']],
    ['a skipped sequence number', ['800028 0001', '0002 02']],
    ['a reordered pair', ['800028 0001', '0001 02', '0003 03']],
    ['a continuation numbered 0', ['800028 0001', '0000 02']],
    ['a new first fragment mid-message', ['800028 0001', '800002 abcd']],
    ['reserved control bits', ['800028 0001', '4001 02']],
  ])('rejects %s with BAD_FRAME', (_, writes) => {
    expectRejected(writes, WIRE_ERRORS.BAD_FRAME);
  });

  it(`reports that the connection should close after ${DEFAULT_MAX_CONSECUTIVE_ERRORS} failures in a row, and then refuses everything`, () => {
    const reassembler = new Reassembler();
    for (let i = 0; i < DEFAULT_MAX_CONSECUTIVE_ERRORS; i++) {
      expect(reassembler.shouldClose).toBe(false);
      expect(reassembler.push(h('0001 aa'), 0)).toMatchObject({ ok: false });
    }
    expect(reassembler.shouldClose).toBe(true);
    expect(reassembler.push(FIRST, 0)).toMatchObject({ ok: false, code: WIRE_ERRORS.BAD_FRAME });
    expect(reassembler.idle).toBe(true);
    expect(reassembler.bufferedCapacity).toBe(0);
  });

  it('counts only failures in a row: a completed message resets the count', () => {
    const reassembler = new Reassembler();
    reassembler.push(h('0001 aa'), 0);
    reassembler.push(h('0001 aa'), 0);
    expectHonestMessage(reassembler);
    reassembler.push(h('0001 aa'), 0);
    reassembler.push(h('0001 aa'), 0);
    expect(reassembler.consecutiveErrors).toBe(2);
    expect(reassembler.shouldClose).toBe(false);
  });

  it('does not reset the count on a first fragment alone', () => {
    const reassembler = new Reassembler();
    for (let i = 0; i < DEFAULT_MAX_CONSECUTIVE_ERRORS; i++) {
      expect(reassembler.push(FIRST, 0)).toMatchObject({ ok: true });
      expect(reassembler.push(FIRST, 0)).toMatchObject({ ok: false });
    }
    expect(reassembler.shouldClose).toBe(true);
  });

  it('closes after the configured number of failures', () => {
    const reassembler = new Reassembler({ maxConsecutiveErrors: 1 });
    reassembler.push(h(''), 0);
    expect(reassembler.shouldClose).toBe(true);
  });
});

describe('SECURITY 4: oversized writes and floods', () => {
  it('rejects a write over 512 bytes with BAD_FRAME', () => {
    expectRejected([`00 01 ${'aa'.repeat(511)}`], WIRE_ERRORS.BAD_FRAME);
    expectRejected(['800028 0001', `00 01 ${'aa'.repeat(511)}`], WIRE_ERRORS.BAD_FRAME);
  });

  it('never holds more than min(declared, 2 × received) ≤ MAX_MESSAGE_BYTES bytes', () => {
    const honest = fc
      .tuple(fc.integer({ min: 0, max: MAX_MESSAGE_BYTES }), fc.integer({ min: 23, max: 517 }))
      .map(([size, mtu]) => fragment(new Uint8Array(size), mtu));
    fc.assert(
      fc.property(honest, (fragments) => {
        const reassembler = new Reassembler();
        const declared = ((fragments[0]?.[1] ?? 0) << 8) | (fragments[0]?.[2] ?? 0);
        let received = 0;
        for (const [k, bytes] of fragments.entries()) {
          reassembler.push(bytes, 0);
          received += bytes.length - (k === 0 ? 3 : 2);
          if (k === fragments.length - 1) break;
          expect(reassembler.bufferedCapacity).toBeLessThanOrEqual(
            Math.min(declared, 2 * received),
          );
        }
        expect(reassembler.bufferedCapacity).toBe(0);
      }),
      { numRuns: propertyRuns(1_000, 100_000) },
    );
  });
});

describe('SECURITY 5: timeouts (injected time)', () => {
  const start = 1_000;
  const deadline = start + DEFAULT_MESSAGE_TIMEOUT_MS;

  it('takes a fragment up to 1 ms before the deadline', () => {
    const reassembler = new Reassembler();
    reassembler.push(FIRST, start);
    expect(reassembler.deadline).toBe(deadline);
    reassembler.push(SECOND, start);
    expect(reassembler.push(THIRD, deadline - 1)).toEqual({ ok: true, value: MESSAGE });
    expect(reassembler.deadline).toBeUndefined();
  });

  it('drops the message with TIMEOUT at the deadline, frees it, and takes the next one', () => {
    const reassembler = new Reassembler();
    reassembler.push(FIRST, start);
    reassembler.push(SECOND, start);
    expect(reassembler.push(THIRD, deadline)).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.TIMEOUT,
    });
    expect(reassembler.idle).toBe(true);
    expect(reassembler.bufferedCapacity).toBe(0);
    expect(reassembler.consecutiveErrors).toBe(1);
    expectHonestMessage(reassembler, deadline);
  });

  it('expire frees a message whose deadline has come, and nothing else', () => {
    const reassembler = new Reassembler({ messageTimeoutMs: 500 });
    expect(reassembler.expire(start)).toEqual({ ok: true, value: undefined });
    reassembler.push(FIRST, start);
    expect(reassembler.expire(start + 499)).toEqual({ ok: true, value: undefined });
    expect(reassembler.idle).toBe(false);
    expect(reassembler.expire(start + 500)).toMatchObject({ ok: false, code: WIRE_ERRORS.TIMEOUT });
    expect(reassembler.idle).toBe(true);
    expect(reassembler.bufferedCapacity).toBe(0);
    expect(reassembler.deadline).toBeUndefined();
    expectHonestMessage(reassembler, start + 500);
  });

  it('starts the clock at the first fragment, not at the last one', () => {
    const reassembler = new Reassembler({ messageTimeoutMs: 500 });
    reassembler.push(FIRST, start);
    reassembler.push(SECOND, start + 400);
    expect(reassembler.deadline).toBe(start + 500);
  });
});

describe('SECURITY 26: hostile writes', () => {
  it('never throws, and after every failure is idle with no memory held', () => {
    const honest = fc
      .tuple(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 23, max: 517 }))
      .map(([size, mtu]) => fragment(new Uint8Array(size).fill(7), mtu));
    const write = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      honest.chain((fragments) => fc.constantFrom(...fragments)),
      fc.tuple(honest, fc.nat(), fc.nat(255)).map(([fragments, at, value]) => {
        const copy = (fragments[at % fragments.length] ?? new Uint8Array(0)).slice();
        if (copy.length > 0) copy[at % copy.length] = value;
        return copy;
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(write, fc.nat(20_000)), { maxLength: 12 }), (writes) => {
        const reassembler = new Reassembler({ maxConsecutiveErrors: 1_000 });
        let now = 0;
        // Plain checks rather than expect(): this loop runs a hundred thousand times.
        for (const [bytes, step] of writes) {
          now += step;
          const result = reassembler.push(bytes, now);
          if (reassembler.bufferedCapacity > MAX_MESSAGE_BYTES) return false;
          if (!result.ok && (!reassembler.idle || reassembler.bufferedCapacity !== 0)) return false;
        }
        return true;
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});
