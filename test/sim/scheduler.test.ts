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

  // A naive model: a list kept sorted by (time, seq), scanned linearly.
  type Op =
    | { kind: 'at'; delay: number }
    | { kind: 'cancel'; pick: number }
    | { kind: 'next' }
    | { kind: 'until'; delay: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('at'), delay: fc.integer({ min: 0, max: 50 }) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel'), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('next') }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('until'), delay: fc.integer({ min: 0, max: 30 }) }),
    },
  );

  it('agrees with a sorted-array model on random schedule / cancel / run sequences', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 300 }),
        fc.integer({ min: 1, max: 8 }),
        (ops, capacity) => {
          const s = new Scheduler({ start: 0, capacity });
          const model: { time: number; seq: number; label: number; id: number }[] = [];
          const ids: number[] = [];
          const ran: number[] = [];
          const expected: number[] = [];
          let modelNow = 0;
          let seq = 0;
          const runModelFirst = (): void => {
            const first = model.shift()!;
            modelNow = first.time;
            expected.push(first.label);
          };
          for (const o of ops) {
            switch (o.kind) {
              case 'at': {
                const label = seq++;
                const time = s.now() + o.delay;
                const id = s.at(time, (t) => {
                  expect(t).toBe(time);
                  ran.push(label);
                });
                ids.push(id);
                const at = model.findIndex((e) => e.time > time);
                const entry = { time, seq: label, label, id };
                if (at < 0) model.push(entry);
                else model.splice(at, 0, entry);
                break;
              }
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
        },
      ),
      { numRuns: propertyRuns(200, 5_000) },
    );
  });
});
