import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/sim/scheduler.js';
import { propertyRuns } from '../support/properties.js';

describe('Scheduler', () => {
  it('runs timers by time, then in insertion order', () => {
    const s = new Scheduler({ start: 1000 });
    const log: string[] = [];
    s.at(1030, () => log.push('c'));
    s.at(1010, () => log.push('a1'));
    s.at(1020, () => log.push('b'));
    s.at(1010, () => log.push('a2'));
    s.at(1000, () => log.push('now'));
    s.at(1010, () => log.push('a3'));
    expect(s.pending).toBe(6);
    expect(s.nextTime).toBe(1000);
    expect(s.runUntil(1030)).toBe(6);
    expect(log).toEqual(['now', 'a1', 'a2', 'a3', 'b', 'c']);
    expect(s.pending).toBe(0);
    expect(s.nextTime).toBeUndefined();
    expect(s.executed).toBe(6);
  });

  it('passes the due time to the callback and sets now() to it', () => {
    const s = new Scheduler({ start: 5 });
    const seen: [number, number][] = [];
    s.at(7, (t) => seen.push([t, s.now()]));
    s.at(9, (t) => seen.push([t, s.now()]));
    expect(s.runNext()).toBe(true);
    expect(s.now()).toBe(7);
    s.runUntil(20);
    expect(seen).toEqual([
      [7, 7],
      [9, 9],
    ]);
    expect(s.now()).toBe(20);
    expect(s.runNext()).toBe(false);
    expect(s.now()).toBe(20);
  });

  it('runUntil runs timers scheduled by callbacks when they fall inside the window', () => {
    const s = new Scheduler();
    const log: number[] = [];
    const tick = (t: number): void => {
      log.push(t);
      s.at(t + 10, tick);
    };
    s.at(0, tick);
    expect(s.runUntil(35)).toBe(4);
    expect(log).toEqual([0, 10, 20, 30]);
    expect(s.pending).toBe(1);
    expect(s.nextTime).toBe(40);
    // A timer at now() from inside a callback runs after those already due at that time.
    const order: string[] = [];
    s.at(50, () => {
      order.push('first');
      s.at(50, () => order.push('scheduled at now'));
    });
    s.at(50, () => order.push('second'));
    s.runUntil(50);
    expect(order).toEqual(['first', 'second', 'scheduled at now']);
  });

  it('cancels pending timers only, and stale ids never cancel a reused slot', () => {
    const s = new Scheduler({ capacity: 1 });
    const log: string[] = [];
    const a = s.at(10, () => log.push('a'));
    const b = s.at(20, () => log.push('b'));
    const c = s.at(30, () => log.push('c'));
    expect(new Set([a, b, c]).size).toBe(3);
    expect(s.cancel(b)).toBe(true);
    expect(s.cancel(b)).toBe(false);
    expect(s.pending).toBe(2);
    s.runUntil(10);
    expect(s.cancel(a)).toBe(false);
    // The freed slot is reused: the old id must not reach the new timer.
    const d = s.at(40, () => log.push('d'));
    expect(d).not.toBe(a);
    expect(s.cancel(a)).toBe(false);
    expect(s.cancel(b)).toBe(false);
    s.runUntil(100);
    expect(log).toEqual(['a', 'c', 'd']);
    for (const junk of [0, -1, 1.5, NaN, Infinity, 2 ** 60, d + 2 ** 24]) {
      expect(s.cancel(junk)).toBe(false);
    }
  });

  it('refuses time travel and bad arguments', () => {
    const s = new Scheduler({ start: 100 });
    expect(() => s.at(99, () => undefined)).toThrow(RangeError);
    expect(() => s.at(NaN, () => undefined)).toThrow(RangeError);
    expect(() => s.at(Infinity, () => undefined)).toThrow(RangeError);
    expect(() => s.runUntil(50)).toThrow(RangeError);
    expect(() => s.runUntil(NaN)).toThrow(RangeError);
    expect(() => s.at(100, 'x' as never)).toThrow(TypeError);
    expect(() => new Scheduler({ capacity: 0 })).toThrow(RangeError);
    expect(() => new Scheduler({ start: NaN })).toThrow(RangeError);
    expect(s.pending).toBe(0);
  });

  it('refuses to run from inside a callback, and survives a throwing callback', () => {
    const s = new Scheduler();
    let nested: unknown;
    s.at(1, () => {
      try {
        s.runUntil(2);
      } catch (error) {
        nested = error;
      }
    });
    s.at(2, () => {
      throw new Error('boom');
    });
    s.at(3, () => undefined);
    expect(() => s.runUntil(10)).toThrow('boom');
    expect(nested).toBeInstanceOf(Error);
    expect(s.now()).toBe(2);
    expect(s.pending).toBe(1);
    expect(s.runUntil(10)).toBe(1);
    expect(s.now()).toBe(10);
  });

  it('grows past its initial capacity', () => {
    const s = new Scheduler({ capacity: 2 });
    const log: number[] = [];
    for (let i = 999; i >= 0; i--) s.at(i, (t) => log.push(t));
    expect(s.pending).toBe(1000);
    s.runUntil(1000);
    expect(log).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  // A naive model: a list kept sorted by (time, seq), scanned linearly. `again` schedules at the
  // time of an earlier timer (or now, if that has passed), for ties that cross the scheduler's
  // wheels and heap.
  type Op =
    | { kind: 'at'; delay: number }
    | { kind: 'again'; pick: number }
    | { kind: 'cancel'; pick: number }
    | { kind: 'next' }
    | { kind: 'until'; delay: number };
  const ops = (delay: fc.Arbitrary<number>): fc.Arbitrary<Op[]> =>
    fc.array(
      fc.oneof(
        { weight: 5, arbitrary: fc.record({ kind: fc.constant('at'), delay }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('again'), pick: fc.nat() }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel'), pick: fc.nat() }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('next') }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('until'), delay }) },
      ),
      { maxLength: 300 },
    );

  /** Runs `ops` on a scheduler and on the model, checking that they agree after every step. */
  function agreesWithModel(ops: readonly Op[], start: number, capacity: number): void {
    const s = new Scheduler({ start, capacity });
    const model: { time: number; label: number; id: number }[] = [];
    const ids: number[] = [];
    const times: number[] = [];
    const ran: number[] = [];
    const expected: number[] = [];
    let modelNow = start;
    const runModelFirst = (): void => {
      const first = model.shift()!;
      modelNow = first.time;
      expected.push(first.label);
    };
    const schedule = (time: number): void => {
      const label = times.length;
      const id = s.at(time, (t) => {
        expect(t).toBe(time);
        expect(s.now()).toBe(time);
        ran.push(label);
      });
      expect(id).toBeGreaterThan(0);
      ids.push(id);
      times.push(time);
      // After every timer due no later: ties run in insertion order.
      const at = model.findIndex((e) => e.time > time);
      const entry = { time, label, id };
      if (at < 0) model.push(entry);
      else model.splice(at, 0, entry);
    };
    for (const o of ops) {
      switch (o.kind) {
        case 'at':
          schedule(s.now() + o.delay);
          break;
        case 'again':
          schedule(times.length === 0 ? s.now() : Math.max(s.now(), times[o.pick % times.length]!));
          break;
        case 'cancel': {
          if (ids.length === 0) break;
          const id = ids[o.pick % ids.length]!;
          const at = model.findIndex((e) => e.id === id);
          expect(s.cancel(id)).toBe(at >= 0);
          if (at >= 0) model.splice(at, 1);
          break;
        }
        case 'next':
          expect(s.runNext()).toBe(model.length > 0);
          if (model.length > 0) runModelFirst();
          break;
        case 'until': {
          const until = s.now() + o.delay;
          const count = s.runUntil(until);
          let modelCount = 0;
          while (model.length > 0 && model[0]!.time <= until) {
            runModelFirst();
            modelCount++;
          }
          modelNow = until;
          expect(count).toBe(modelCount);
          break;
        }
      }
      expect(ran).toEqual(expected);
      expect(s.now()).toBe(modelNow);
      expect(s.pending).toBe(model.length);
      expect(s.nextTime).toBe(model[0]?.time);
    }
    // Draining runs the rest in model order.
    s.runUntil(Math.max(s.now(), ...model.map((e) => e.time)));
    expect(ran).toEqual([...expected, ...model.map((e) => e.label)]);
    expect(s.pending).toBe(0);
  }

  it('agrees with a sorted-array model on random schedule / cancel / run sequences', () => {
    fc.assert(
      fc.property(
        ops(fc.integer({ min: 0, max: 50 })),
        fc.integer({ min: 1, max: 8 }),
        (list, capacity) => agreesWithModel(list, 0, capacity),
      ),
      { numRuns: propertyRuns(200, 5_000) },
    );
  });

  // The scheduler keeps timers of the next 16 s in 1 ms buckets, of the next 9.3 h in 8.192 s
  // buckets, and later ones in a heap: delays around and across those limits, fractional times,
  // and starts anywhere (the World's is an epoch time).
  const BLOCK = 8192;
  const wideDelay = fc.oneof(
    fc.integer({ min: 0, max: 50 }),
    fc.integer({ min: 0, max: 3 * BLOCK }),
    fc.integer({ min: 0, max: 2 ** 27 }),
    fc.constantFrom(BLOCK - 1, BLOCK, 2 * BLOCK - 1, 2 * BLOCK, 4096 * BLOCK - 1, 4097 * BLOCK),
    fc.double({ min: 0, max: 5 * BLOCK, noNaN: true }),
  );
  const start = fc.oneof(
    fc.constant(0),
    fc.integer({ min: -1e12, max: 2e12 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  );

  it('agrees with the model across its wheels and heap, ties and fractional times included', () => {
    fc.assert(
      fc.property(ops(wideDelay), start, fc.integer({ min: 1, max: 8 }), (list, from, capacity) =>
        agreesWithModel(list, from, capacity),
      ),
      { numRuns: propertyRuns(300, 10_000) },
    );
  });

  it('runs many timers far apart in order, jumping over empty time', () => {
    const s = new Scheduler({ start: 1_767_225_600_000 });
    const log: number[] = [];
    const delays = [5, 8191, 8192, 16_384, 3_600_000, 33_554_432, 86_400_000, 400 * 86_400_000];
    for (const delay of [...delays].reverse()) s.at(s.now() + delay, () => log.push(delay));
    s.at(s.now() + 8192, () => log.push(-8192));
    expect(s.nextTime).toBe(s.now() + 5);
    s.runUntil(s.now() + 1000 * 86_400_000);
    expect(log).toEqual([
      5,
      8191,
      8192,
      -8192,
      16_384,
      3_600_000,
      33_554_432,
      86_400_000,
      400 * 86_400_000,
    ]);
  });
});
