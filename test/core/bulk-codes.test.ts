import { availableParallelism } from 'node:os';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays } from '../../protocol/doorcode/day-label.js';
import { formatCode } from '../../protocol/doorcode/deriver.js';
import { deriveDoorKey, referenceDayCodes } from '../../protocol/doorcode/reference.js';
import { bulkCodes, deriveCodes, MAX_SYNC_CODES } from '../../src/core/bulk-codes.js';
import type { BulkCodesOptions, CodeRecord } from '../../src/core/bulk-codes.js';
import { InputError } from '../../src/core/errors.js';
import { propertyRuns } from '../support/properties.js';

const propertyKey = Uint8Array.from({ length: 32 }, (_, i) => i);
const doorKey = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);
const KEY_HEX = Buffer.from(doorKey).toString('hex');

async function collect(options: BulkCodesOptions): Promise<{ text: string; chunks: Uint8Array[] }> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of bulkCodes(options)) chunks.push(chunk);
  return { text: Buffer.concat(chunks).toString('utf8'), chunks };
}

/** The codes of one door and day from the readable reference, zero-padded. */
function referenceCodes(key: Uint8Array, day: string, slots: number, digits = 7, keyVersion = 1) {
  const out = new Uint32Array(slots);
  referenceDayCodes({ doorKey: key, day, keyVersion, firstSlot: 0, count: slots, digits }, out);
  return Array.from(out, (code) => formatCode(code, digits));
}

function jsonLines(records: readonly CodeRecord[]): string {
  return records.map((record) => `${JSON.stringify(record)}\n`).join('');
}

describe('bulkCodes in the calling thread', () => {
  it('writes JSON lines in order (day, then slot), across a month end, matching the reference', async () => {
    const { text } = await collect({ doorKey, from: '2028-02-28', days: 3, slots: 5, workers: 0 });
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(15);
    const expected = ['20280228', '20280229', '20280301'].flatMap((day) =>
      referenceCodes(doorKey, day, 5).map((code, slot) => ({ door: null, day, slot, code })),
    );
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(expected);
    expect(lines[0]).toBe(JSON.stringify(expected[0]));
  });

  it('writes CSV with a header, and the door id when given', async () => {
    const { text } = await collect({
      propertyKey,
      doorId: 'lobby',
      from: '2026-11-21',
      days: 2,
      slots: 3,
      format: 'csv',
      workers: 0,
    });
    const key = deriveDoorKey(propertyKey, 'lobby');
    const rows = ['20261121', '20261122'].flatMap((day) =>
      referenceCodes(key, day, 3).map((code, slot) => `lobby,${day},${slot},${code}`),
    );
    expect(text).toBe(['door,day,slot,code', ...rows, ''].join('\n'));
  });

  it('honours digits and key version', async () => {
    const { text } = await collect({
      doorKey,
      from: '2026-01-01',
      days: 1,
      slots: 4,
      digits: 9,
      keyVersion: 7,
      format: 'csv',
      workers: 0,
    });
    const codes = referenceCodes(doorKey, '20260101', 4, 9, 7);
    expect(text.split('\n').slice(1, 5)).toEqual(codes.map((code, s) => `,20260101,${s},${code}`));
  });

  it('escapes door ids for JSON and CSV', async () => {
    const doorId = 'Gate "B", 2nd floor\nnorth ✓';
    const options = { propertyKey, doorId, from: '2026-05-01', days: 1, slots: 1, workers: 0 };
    const jsonl = await collect(options);
    expect((JSON.parse(jsonl.text) as { door: string }).door).toBe(doorId);
    const csv = await collect({ ...options, format: 'csv' });
    expect(csv.text.split('\n').slice(1).join('\n')).toMatch(
      /^"Gate ""B"", 2nd floor\nnorth ✓",20260501,0,\d{7}\n$/,
    );
  });

  it('splits large jobs into chunks that end on line boundaries, mid-day included', async () => {
    const slots = 40_000;
    const { text, chunks } = await collect({
      doorKey,
      from: '2026-06-30',
      days: 2,
      slots,
      workers: 0,
    });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.at(-1)).toBe(0x0a);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2 * slots);
    const records = deriveCodes({ doorKey, from: '2026-06-30', days: 2, slots });
    expect(text).toBe(jsonLines(records));
    // Spot checks against the reference around the chunk and day boundaries.
    const july = referenceCodes(doorKey, '20260701', 3);
    expect(
      lines.slice(slots, slots + 3).map((line) => (JSON.parse(line) as CodeRecord).code),
    ).toEqual(july);
  });

  it('gives the same bytes with workers 0 and 1 (both in the calling thread)', async () => {
    const options = { doorKey, from: '2026-01-01', days: 3, slots: 20_000 } as const;
    const zero = await collect({ ...options, workers: 0 });
    const one = await collect({ ...options, workers: 1 });
    expect(one.text).toBe(zero.text);
    expect(bulkCodes({ ...options, workers: 1 }).workers).toBe(0);
  });

  it('reports progress up to the total', async () => {
    const seen: Array<[number, number]> = [];
    const job = bulkCodes({
      doorKey,
      from: '2026-01-01',
      days: 2,
      slots: 30_000,
      workers: 0,
      onProgress: (done, total) => seen.push([done, total]),
    });
    expect(job.total).toBe(60_000);
    for await (const chunk of job) expect(chunk.length).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every(([, total]) => total === 60_000)).toBe(true);
    expect(seen.map(([done]) => done)).toEqual(
      [...seen.map(([done]) => done)].sort((a, b) => a - b),
    );
    expect(seen.at(-1)).toEqual([60_000, 60_000]);
  });

  it('stops cleanly when the consumer breaks early, and runs afresh on each iteration', async () => {
    const job = bulkCodes({ doorKey, from: '2026-01-01', days: 10, slots: 65_536, workers: 0 });
    const seen: Uint8Array[] = [];
    for await (const chunk of job) if (seen.push(chunk) === 2) break;
    expect(seen).toHaveLength(2);
    const first = await job[Symbol.asyncIterator]().next();
    expect(first.done).toBe(false);
  });

  it('formats exactly what deriveCodes returns, for any small job (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.date({ min: new Date('1900-01-01'), max: new Date('2100-12-31'), noInvalidDate: true }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 0xffff }),
        async (key, date, days, slots, digits, keyVersion) => {
          const from = date.toISOString().slice(0, 10);
          const options = { doorKey: key, from, days, slots, digits, keyVersion };
          const records = deriveCodes(options);
          expect(records[0]?.day).toBe(from.replaceAll('-', ''));
          expect(records.at(-1)?.day).toBe(addDays(from.replaceAll('-', ''), days - 1));
          expect((await collect({ ...options, workers: 0 })).text).toBe(jsonLines(records));
          const csv = records.map((r) => `,${r.day},${r.slot},${r.code}\n`).join('');
          expect((await collect({ ...options, workers: 0, format: 'csv' })).text).toBe(
            `door,day,slot,code\n${csv}`,
          );
        },
      ),
      { numRuns: propertyRuns(25, 500) },
    );
  });
});

describe('deriveCodes', () => {
  it('returns records in order, the door id included', () => {
    const records = deriveCodes({
      propertyKey,
      doorId: 'gym',
      from: '2026-12-31',
      days: 2,
      slots: 2,
    });
    const key = deriveDoorKey(propertyKey, 'gym');
    expect(records).toEqual([
      ...referenceCodes(key, '20261231', 2).map((code, slot) => ({
        door: 'gym',
        day: '20261231',
        slot,
        code,
      })),
      ...referenceCodes(key, '20270101', 2).map((code, slot) => ({
        door: 'gym',
        day: '20270101',
        slot,
        code,
      })),
    ]);
  });

  it('refuses jobs beyond MAX_SYNC_CODES', () => {
    expect(() => deriveCodes({ doorKey, from: '2026-01-01', days: 17, slots: 65_536 })).toThrow(
      InputError,
    );
    expect(17 * 65_536).toBeGreaterThan(MAX_SYNC_CODES);
  });
});

describe('validation', () => {
  const base = { doorKey, from: '2026-01-01', days: 1, slots: 1 };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['no door', { from: '2026-01-01', days: 1, slots: 1 }, 'doorKey'],
    ['both keys', { ...base, propertyKey }, 'propertyKey'],
    ['door id with door key', { ...base, doorId: 'x' }, 'doorId'],
    ['door id alone', { from: '2026-01-01', days: 1, slots: 1, doorId: 'x' }, 'propertyKey'],
    ['short door key', { ...base, doorKey: doorKey.subarray(1) }, 'doorKey'],
    ['door key not bytes', { ...base, doorKey: KEY_HEX }, 'doorKey'],
    [
      'long property key',
      { ...base, doorKey: undefined, propertyKey: new Uint8Array(33), doorId: 'x' },
      'propertyKey',
    ],
    ['property key without door id', { ...base, doorKey: undefined, propertyKey }, 'doorId'],
    ['empty door id', { ...base, doorKey: undefined, propertyKey, doorId: '' }, 'doorId'],
    ['lone surrogate', { ...base, doorKey: undefined, propertyKey, doorId: 'a\uD800' }, 'doorId'],
    ['not a date', { ...base, from: '2026-02-30' }, 'from'],
    ['not ISO', { ...base, from: '20260101' }, 'from'],
    ['year 0', { ...base, from: '0000-01-01' }, 'from'],
    ['from missing', { ...base, from: undefined }, 'from'],
    ['zero days', { ...base, days: 0 }, 'days'],
    ['fractional days', { ...base, days: 1.5 }, 'days'],
    ['too many days', { ...base, days: 40_000 }, 'days'],
    ['past year 9999', { ...base, from: '9999-12-30', days: 3 }, 'days'],
    ['zero slots', { ...base, slots: 0 }, 'slots'],
    ['too many slots', { ...base, slots: 65_537 }, 'slots'],
    ['digits 0', { ...base, digits: 0 }, 'digits'],
    ['digits 10', { ...base, digits: 10 }, 'digits'],
    ['key version', { ...base, keyVersion: 0x10000 }, 'keyVersion'],
    ['negative workers', { ...base, workers: -1 }, 'workers'],
    ['too many workers', { ...base, workers: 257 }, 'workers'],
    ['format', { ...base, format: 'xml' }, 'format'],
    ['progress', { ...base, onProgress: 'yes' }, 'onProgress'],
  ];

  it.each(cases)('%s: InputError naming %s, before any work', (_name, options, field) => {
    let caught: unknown;
    try {
      bulkCodes(options as unknown as BulkCodesOptions);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).field).toBe(field);
    expect((caught as InputError).message).toBe(`${field}: ${(caught as InputError).problem}`);
    expect((caught as InputError).message).not.toContain(KEY_HEX.slice(0, 16));
  });

  it('accepts the edges of every range', () => {
    expect(() =>
      bulkCodes({
        doorKey,
        from: '9999-12-31',
        days: 1,
        slots: 65_536,
        digits: 9,
        keyVersion: 0xffff,
        workers: 256,
      }),
    ).not.toThrow();
    expect(() =>
      bulkCodes({
        doorKey,
        from: '0001-01-01',
        days: 36_525,
        slots: 1,
        digits: 1,
        keyVersion: 0,
        workers: 0,
      }),
    ).not.toThrow();
    expect(() => bulkCodes({ doorKey, from: '2024-02-29', days: 1, slots: 1 })).not.toThrow();
    expect(() => bulkCodes({ doorKey, from: '2100-02-29', days: 1, slots: 1 })).toThrow(InputError);
  });
});

describe('bulkCodes default worker count', () => {
  const doorKey = new Uint8Array(32).fill(4);
  it('derives small jobs in the calling thread, where a worker would only add its start-up', () => {
    expect(bulkCodes({ doorKey, from: '2026-01-01', days: 365, slots: 256 }).workers).toBe(0);
  });

  it('gives large jobs one worker per million codes, up to the cores', () => {
    // 36,500 days × 256 slots = 9.3 M codes: nine workers' worth, capped at the cores.
    const big = bulkCodes({ doorKey, from: '2026-01-01', days: 36_500, slots: 256 });
    const expected = Math.min(availableParallelism(), 9);
    expect(big.workers).toBe(expected <= 1 ? 0 : expected);
  });
});
