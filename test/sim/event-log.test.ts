// The World's event log in columns (src/sim/event-log.ts): its records are the ones eventRecord
// builds at logging time, byte for byte once serialised.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accessCode, EVENT, eventRecord } from '../../firmware-sim/events.js';
import { EventLog } from '../../src/sim/event-log.js';
import { propertyRuns } from '../support/properties.js';

const T0 = Date.UTC(2026, 0, 1);
const LOCKS = ['entrance', 'gym', 'unit-1'];

/** Events whose fields decode: field codes small enough for every event type's tables. */
const event = fc.record({
  t: fc.integer({ min: T0, max: T0 + 400 * 86_400_000 }),
  lock: fc.nat({ max: LOCKS.length - 1 }),
  code: fc.constantFrom(
    ...Object.values(EVENT).filter(
      (code) =>
        code !== EVENT.ACCESS && code !== EVENT.SYNC_REFUSED && code !== EVENT.TIME_SYNC_REFUSED,
    ),
  ),
  a: fc.nat({ max: 1 }),
  b: fc.nat({ max: 100_000 }),
  idA: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }), { nil: undefined }),
  idB: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }), { nil: undefined }),
});

function newLog(): EventLog {
  const log = new EventLog();
  for (const [i, name] of LOCKS.entries()) expect(log.addLock(name)).toBe(i);
  return log;
}

describe('event log', () => {
  it('reads back the records eventRecord builds, in order, across growth and partial reads', () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 3_000 }),
        fc.nat(),
        fc.boolean(),
        (events, cut, access) => {
          const log = newLog();
          // A read part-way through, then the rest: the same array, grown.
          const part = cut % (events.length + 1);
          let first: readonly unknown[] = [];
          const expected = events.map((e, i) => {
            if (i === part) first = log.records();
            // ACCESS with ids half the time: its field codes differ from the other events'.
            const code = access && e.idA !== undefined ? EVENT.ACCESS : e.code;
            const a = code === EVENT.ACCESS ? accessCode('BLE', 'SUCCESS') : e.a;
            const b = code === EVENT.ACCESS ? 0 : e.b;
            log.push(e.t, e.lock, code, a, b, e.idA, e.idB);
            return eventRecord(e.t, LOCKS[e.lock]!, code, a, b, e.idA, e.idB);
          });
          expect(log.length).toBe(events.length);
          const records = log.records();
          if (part < events.length) expect(records).toBe(first);
          expect(JSON.stringify(records)).toBe(JSON.stringify(expected));
        },
      ),
      { numRuns: propertyRuns(30, 1_000) },
    );
  });

  it('keeps the records it built and builds only the events logged since', () => {
    const log = newLog();
    log.push(T0, 0, EVENT.REX, 0, 0, undefined, undefined);
    const records = log.records();
    const rex = records[0];
    log.push(T0 + 1, 1, EVENT.DOOR_AJAR, 30_000, 0, undefined, undefined);
    expect(records).toHaveLength(1);
    expect(log.records()).toBe(records);
    expect(records[0]).toBe(rex);
    expect(records).toEqual([
      { t: T0, lock: 'entrance', type: 'REX' },
      { t: T0 + 1, lock: 'gym', type: 'DOOR_AJAR', openMs: 30_000 },
    ]);
  });

  it('reads events across its chunks of columns', () => {
    const log = newLog();
    const events = 70_000;
    const id = new Uint8Array(16);
    for (let i = 0; i < events; i++) {
      id[0] = i & 0xff;
      if (i % 2 === 0) log.push(T0 + i, i % 3, EVENT.DOOR_AJAR, i, 0, undefined, undefined);
      else log.push(T0 + i, i % 3, EVENT.ACCESS, accessCode('BLE', 'SUCCESS'), 0, id, undefined);
    }
    const records = log.records();
    expect(records).toHaveLength(events);
    for (const i of [0, 65_534, 65_535, 65_536, 65_537, events - 1]) {
      id[0] = i & 0xff;
      const expected =
        i % 2 === 0
          ? eventRecord(T0 + i, LOCKS[i % 3]!, EVENT.DOOR_AJAR, i, 0)
          : eventRecord(T0 + i, LOCKS[i % 3]!, EVENT.ACCESS, accessCode('BLE', 'SUCCESS'), 0, id);
      expect(records[i]).toEqual(expected);
    }
  });

  it('copies the ids when an event is logged', () => {
    const log = newLog();
    const credential = new Uint8Array(16).fill(0xab);
    const user = new Uint8Array(16).fill(0x01);
    log.push(T0, 2, EVENT.ACCESS, accessCode('BLE', 'SUCCESS'), 0, credential, user);
    credential.fill(0);
    user.fill(0);
    expect(log.records()[0]).toEqual({
      t: T0,
      lock: 'unit-1',
      type: 'ACCESS',
      method: 'BLE',
      result: 'SUCCESS',
      credential: 'ab'.repeat(16),
      user: '01'.repeat(16),
    });
  });

  it('refuses an unknown event code or lock when the event is logged', () => {
    const log = newLog();
    expect(() => log.push(T0, 0, 99, 0, 0, undefined, undefined)).toThrow(RangeError);
    expect(() => log.push(T0, 0, -1, 0, 0, undefined, undefined)).toThrow(RangeError);
    expect(() => log.push(T0, 3, EVENT.REX, 0, 0, undefined, undefined)).toThrow(RangeError);
    expect(log.length).toBe(0);
  });
});
