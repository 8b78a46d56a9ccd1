// The audit ring (firmware-sim/audit-ring.ts): records round-trip through flash and sealed
// uploads, the ring wraps by pages and counts what it drops unacknowledged, boot restores it, and
// a power cut or a failed write at any append loses nothing committed (SECURITY.md item 24).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_CAPACITY,
  AUDIT_FLASH_KEYS,
  AUDIT_PAGE_BYTES,
  AUDIT_PAGE_HEADER_BYTES,
  AUDIT_PAGES,
  AUDIT_RECORD_BYTES,
  AUDIT_RECORDS_PER_PAGE,
  auditFlashLayout,
  AuditRing,
} from '../../firmware-sim/audit-ring.js';
import type { AuditEntry } from '../../firmware-sim/audit-ring.js';
import { FLASH_ERRORS, openFlash } from '../../firmware-sim/flash.js';
import type { FlashStore, TornTail } from '../../firmware-sim/flash.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import {
  AUDIT_METHODS,
  AUDIT_RESULTS,
  MAX_AUDIT_RECORDS,
  openAuditUpload,
} from '../../protocol/formats/audit-upload.js';
import type { AuditMethod, AuditRecord, AuditResult } from '../../protocol/formats/audit-upload.js';
import { noble } from '../protocol/crypto/both-providers.js';
import { id, LOCK_A, LOCK_SECRET_A, T0 } from '../protocol/formats/fixtures.js';
import { hex } from '../support/hex.js';
import { propertyRuns } from '../support/properties.js';

const LAYOUT = auditFlashLayout();

interface Rig {
  readonly flash: FlashStore;
  readonly ring: AuditRing;
}

function fresh(): Rig {
  const flash = openFlash(LAYOUT);
  return { flash, ring: AuditRing.open(flash) };
}

/** The lock restarting over the bytes its flash kept, with the sync store's persisted ack. */
function reboot(old: FlashStore, ack = 0): Rig {
  const flash = openFlash(LAYOUT, old.bytes.slice());
  return { flash, ring: AuditRing.open(flash, ack) };
}

/** The protocol record the ring should return for `entry` at `seq`. */
function recordOf(seq: number, entry: AuditEntry): AuditRecord {
  const { time, method, result, reason, credential, user } = entry;
  return {
    seq,
    method,
    result,
    ...(time !== undefined && { time }),
    ...(reason !== undefined && { reason }),
    ...(credential !== undefined && { credential }),
    ...(user !== undefined && { user }),
  };
}

/** A different, deterministic entry for each `n`, cycling through the optional fields. */
function entryFor(n: number): AuditEntry {
  return {
    time: n % 5 === 4 ? undefined : T0 + n * 1000,
    method: n % 2 === 0 ? 'BLE' : 'PASSCODE',
    result: n % 3 === 0 ? 'INCORRECT' : 'SUCCESS',
    ...(n % 3 === 0 && { reason: 1 + (n % 255) }),
    ...(n % 2 === 0 && { credential: id(0xc0, n & 0xff) }),
    ...(n % 4 === 0 && { user: id(0xd0, n & 0xff) }),
  };
}

function appendAll(ring: AuditRing, from: number, to: number): void {
  for (let n = from; n < to; n++) expect(ring.append(entryFor(n))).toEqual({ ok: true, value: n });
}

/** Every record the ring serves. */
const allRecords = (ring: AuditRing): AuditRecord[] => ring.records(0, AUDIT_CAPACITY);

/** Records as one line each: compared as a string, hundreds of them stay quick to check. */
const lines = (records: readonly AuditRecord[]): string =>
  records
    .map(({ seq, time, method, result, reason, credential, user }) =>
      [seq, time, method, result, reason, credential && hex(credential), user && hex(user)].join(
        ' ',
      ),
    )
    .join('\n');

const id16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const anyEntry: fc.Arbitrary<AuditEntry> = fc.record(
  {
    time: fc.option(fc.maxSafeNat(), { nil: undefined }),
    method: fc.constantFrom(...(Object.keys(AUDIT_METHODS) as AuditMethod[])),
    result: fc.constantFrom(...(Object.keys(AUDIT_RESULTS) as AuditResult[])),
    reason: fc.integer({ min: 1, max: 255 }),
    credential: id16,
    user: id16,
  },
  { requiredKeys: ['time', 'method', 'result'] },
);

describe('audit ring layout', () => {
  it('is 16 pages of 16 records of 44 bytes, one flash record per page', () => {
    expect(AUDIT_RECORD_BYTES).toBe(44);
    expect(AUDIT_PAGE_BYTES).toBe(AUDIT_PAGE_HEADER_BYTES + 16 * 44);
    expect(AUDIT_PAGE_BYTES).toBe(720);
    expect(AUDIT_CAPACITY).toBe(256);
    expect(LAYOUT).toEqual(
      Array.from({ length: 16 }, (_, page) => ({ key: `audit-${page}`, capacity: 720 })),
    );
  });
});

describe('append and read', () => {
  it('numbers records from 0 and returns them as protocol records', () => {
    const { ring } = fresh();
    expect([ring.head, ring.tail, ring.overflow]).toEqual([0, 0, 0]);
    const entries: AuditEntry[] = [
      {
        time: T0,
        method: 'BLE',
        result: 'SUCCESS',
        credential: id(0xc0, 1),
        user: id(0xd0, 1),
      },
      { time: T0 + 5, method: 'PASSCODE', result: 'INCORRECT', reason: 0x43 },
      { time: undefined, method: 'BLE', result: 'UNKNOWN_TIME_FAILURE', reason: 0xff },
      { time: Number.MAX_SAFE_INTEGER, method: 'UNKNOWN', result: 'UNKNOWN', user: id(0xd0, 2) },
      { time: 0, method: 'MKO', result: 'LOCK_SUCCESS', credential: id(0xc0, 3) },
    ];
    entries.forEach((entry, seq) => expect(ring.append(entry)).toEqual({ ok: true, value: seq }));
    const expected = entries.map((entry, seq) => recordOf(seq, entry));
    expect(ring.records(0, 10)).toEqual(expected);
    expect(ring.records(2, 2)).toEqual(expected.slice(2, 4));
    expect(ring.records(5, 3)).toEqual([]);
    expect([ring.head, ring.tail, ring.overflow]).toEqual([5, 0, 0]);
  });

  it('keeps any entry exactly, across a restart', () => {
    fc.assert(
      fc.property(fc.array(anyEntry, { minLength: 1, maxLength: 40 }), (entries) => {
        const { flash, ring } = fresh();
        for (const entry of entries) expect(ring.append(entry).ok).toBe(true);
        const expected = entries.map((entry, seq) => recordOf(seq, entry));
        expect(allRecords(ring)).toEqual(expected);
        expect(allRecords(reboot(flash).ring)).toEqual(expected);
      }),
      { numRuns: propertyRuns(100, 5_000) },
    );
  });

  it('refuses a malformed entry as a bug and writes nothing', () => {
    const { flash, ring } = fresh();
    const base: AuditEntry = { time: T0, method: 'BLE', result: 'SUCCESS' };
    const bad: [AuditEntry, typeof TypeError | typeof RangeError][] = [
      [{ ...base, method: 'OPEN_SESAME' as AuditMethod }, TypeError],
      [{ ...base, method: 'toString' as AuditMethod }, TypeError],
      [{ ...base, result: 'MAYBE' as AuditResult }, TypeError],
      [{ ...base, time: -1 }, RangeError],
      [{ ...base, time: 1.5 }, RangeError],
      [{ ...base, time: Number.NaN }, RangeError],
      [{ ...base, time: 2 ** 53 }, RangeError],
      [{ ...base, reason: 0 }, RangeError],
      [{ ...base, reason: 256 }, RangeError],
      [{ ...base, credential: new Uint8Array(15) }, RangeError],
      [{ ...base, user: new Uint8Array(17) }, RangeError],
    ];
    for (const [entry, error] of bad) expect(() => ring.append(entry)).toThrow(error);
    expect(flash.writes).toBe(0);
    expect(ring.head).toBe(0);
    expect(() => ring.records(-1, 1)).toThrow(RangeError);
    expect(() => ring.records(0, 0)).toThrow(RangeError);
  });

  it('commits only the current page, at its filled size', () => {
    const { flash, ring } = fresh();
    appendAll(ring, 0, 20);
    const generations = AUDIT_FLASH_KEYS.map((key) => flash.generation(key));
    expect(generations.slice(0, 2)).toEqual([16, 4]);
    expect(ring.append(entryFor(20)).ok).toBe(true);
    expect(AUDIT_FLASH_KEYS.map((key) => flash.generation(key))).toEqual([
      16,
      5,
      ...generations.slice(2),
    ]);
    expect(flash.read('audit-1')!.length).toBe(AUDIT_PAGE_HEADER_BYTES + 5 * AUDIT_RECORD_BYTES);
  });
});

describe('sealed chunks', () => {
  const open = (upload: Uint8Array) => openAuditUpload(upload, LOCK_SECRET_A, LOCK_A, noble);

  it('seals records the cloud opens, with more while records remain', () => {
    const { ring } = fresh();
    appendAll(ring, 0, 40);
    const first = ring.sealChunk(0, MAX_AUDIT_RECORDS, LOCK_A, LOCK_SECRET_A, noble);
    expect(first.more).toBe(true);
    expect(open(first.upload)).toEqual({
      ok: true,
      value: { lockId: LOCK_A, firstSeq: 0, records: ring.records(0, 32), overflow: 0 },
    });
    const second = ring.sealChunk(32, MAX_AUDIT_RECORDS, LOCK_A, LOCK_SECRET_A, noble);
    expect(second.more).toBe(false);
    const opened = open(second.upload);
    expect(opened.ok && opened.value.records.map((r) => r.seq)).toEqual(
      Array.from({ length: 8 }, (_, i) => 32 + i),
    );
    expect(opened.ok && opened.value.records).toEqual(
      Array.from({ length: 8 }, (_, i) => recordOf(32 + i, entryFor(32 + i))),
    );
  });

  it('starts at the tail, carries the overflow, and is empty at the head', () => {
    const { ring } = fresh();
    appendAll(ring, 0, AUDIT_CAPACITY + 1);
    const chunk = ring.sealChunk(0, 3, LOCK_A, LOCK_SECRET_A, noble);
    expect(chunk.more).toBe(true);
    const opened = open(chunk.upload);
    expect(opened.ok && opened.value.firstSeq).toBe(16);
    expect(opened.ok && opened.value.overflow).toBe(16);
    expect(opened.ok && opened.value.records.length).toBe(3);
    const empty = ring.sealChunk(5_000, 32, LOCK_A, LOCK_SECRET_A, noble);
    expect(empty.more).toBe(false);
    expect(open(empty.upload)).toEqual({
      ok: true,
      value: { lockId: LOCK_A, firstSeq: ring.head, records: [], overflow: 16 },
    });
  });

  it('does not open for another lock, and refuses a chunk size outside 1..32', () => {
    const { ring } = fresh();
    appendAll(ring, 0, 2);
    const { upload } = ring.sealChunk(0, 2, LOCK_A, LOCK_SECRET_A, noble);
    const other = openAuditUpload(upload, new Uint8Array(32).fill(1), LOCK_A, noble);
    expect(other.ok || other.code).toBe(WIRE_ERRORS.AUTH_FAILED);
    expect(() => ring.sealChunk(0, 0, LOCK_A, LOCK_SECRET_A, noble)).toThrow(RangeError);
    expect(() => ring.sealChunk(0, 33, LOCK_A, LOCK_SECRET_A, noble)).toThrow(RangeError);
  });
});

describe('wrap-around and acknowledgement', () => {
  it('without an ack, drops the oldest page whole and counts every record of it', () => {
    const { ring } = fresh();
    appendAll(ring, 0, AUDIT_CAPACITY);
    expect([ring.head, ring.tail, ring.overflow]).toEqual([256, 0, 0]);
    appendAll(ring, AUDIT_CAPACITY, AUDIT_CAPACITY + 1);
    expect([ring.head, ring.tail, ring.overflow]).toEqual([257, 16, 16]);
    appendAll(ring, AUDIT_CAPACITY + 1, 300);
    // Seqs 272 and 288 started pages 1 and 2 again.
    expect([ring.head, ring.tail, ring.overflow]).toEqual([300, 48, 48]);
    const held = allRecords(ring);
    expect(held.map((r) => r.seq)).toEqual(Array.from({ length: 252 }, (_, i) => 48 + i));
    expect(held).toEqual(held.map((r) => recordOf(r.seq, entryFor(r.seq))));
    expect(ring.records(10, 1)[0]?.seq).toBe(48);
  });

  it('counts only the unacknowledged records it drops', () => {
    for (const [ack, overflow] of [
      [16, 0],
      [10, 6],
      [0, 16],
      [200, 0],
    ] as const) {
      const { ring } = fresh();
      appendAll(ring, 0, AUDIT_CAPACITY);
      ring.acknowledge(ack);
      expect(ring.tail).toBe(ack);
      appendAll(ring, AUDIT_CAPACITY, AUDIT_CAPACITY + 1);
      expect(ring.overflow).toBe(overflow);
      expect(ring.tail).toBe(Math.max(ack, 16));
    }
  });

  it('keeps the highest ack and refuses one that is not a safe uint', () => {
    const { ring } = fresh();
    appendAll(ring, 0, 10);
    ring.acknowledge(6);
    ring.acknowledge(3);
    expect([ring.acknowledged, ring.tail, ring.head]).toEqual([6, 6, 10]);
    expect(ring.records(0, 32).map((r) => r.seq)).toEqual([6, 7, 8, 9]);
    ring.acknowledge(10);
    expect([ring.tail, ring.head]).toEqual([10, 10]);
    expect(ring.records(0, 32)).toEqual([]);
    expect(() => ring.acknowledge(-1)).toThrow(RangeError);
    expect(() => ring.acknowledge(1.5)).toThrow(RangeError);
  });

  it('moves the head past an ack beyond it, so the cloud never sees a sequence twice', () => {
    const { flash, ring } = fresh();
    appendAll(ring, 0, 5);
    ring.acknowledge(100);
    expect([ring.head, ring.tail]).toEqual([100, 100]);
    expect(ring.append(entryFor(100))).toEqual({ ok: true, value: 100 });
    expect(ring.records(0, 32)).toEqual([recordOf(100, entryFor(100))]);
    // Seq 100 started page 1; page 0 keeps 0..4, which the ack covers.
    expect(flash.generation('audit-1')).toBe(1);
    const restarted = reboot(flash, 100).ring;
    expect([restarted.head, restarted.tail, restarted.overflow]).toEqual([101, 100, 0]);
    expect(allRecords(restarted)).toEqual([recordOf(100, entryFor(100))]);
    // A ring that is empty on flash takes its head from the ack alone.
    const empty = AuditRing.open(openFlash(LAYOUT), 42);
    expect([empty.head, empty.tail]).toEqual([42, 42]);
    expect(empty.append(entryFor(0))).toEqual({ ok: true, value: 42 });
  });
});

describe('boot', () => {
  it('restores head, tail and overflow from the pages', () => {
    const { flash, ring } = fresh();
    appendAll(ring, 0, 300);
    const restarted = reboot(flash).ring;
    expect([restarted.head, restarted.tail, restarted.overflow]).toEqual([300, 48, 48]);
    expect(allRecords(restarted)).toEqual(allRecords(ring));
    expect(restarted.append(entryFor(300))).toEqual({ ok: true, value: 300 });
    const acked = reboot(flash, 280).ring;
    expect([acked.head, acked.tail, acked.overflow]).toEqual([300, 280, 48]);
  });

  it('restores the ring after every append through three laps', () => {
    const { flash, ring } = fresh();
    for (let n = 0; n < 3 * AUDIT_CAPACITY; n++) {
      appendAll(ring, n, n + 1);
      const restarted = reboot(flash).ring;
      expect([restarted.head, restarted.tail, restarted.overflow]).toEqual([
        ring.head,
        ring.tail,
        ring.overflow,
      ]);
    }
    // Without an ack, every record below the tail was dropped unacknowledged.
    expect(ring.overflow).toBe(ring.tail);
    expect(ring.tail).toBe(2 * AUDIT_CAPACITY);
  });

  it('refuses a committed page it did not write', () => {
    const flash = openFlash(LAYOUT);
    expect(flash.commit('audit-3', new Uint8Array(AUDIT_PAGE_HEADER_BYTES + 1)).ok).toBe(true);
    expect(() => AuditRing.open(flash)).toThrow(RangeError);
  });
});

describe('write failures', () => {
  // Mid-page (seq 5) and at a page start that drops a full page (seq 256).
  it.each([5, AUDIT_CAPACITY])('leave the previous state when appending seq %i', (seq) => {
    const { flash, ring } = fresh();
    appendAll(ring, 0, seq);
    const before = { head: ring.head, tail: ring.tail, overflow: ring.overflow };
    const records = allRecords(ring);
    flash.injectFault({ kind: 'write-failure', atWrite: flash.writes + 1 });
    expect(ring.append(entryFor(seq))).toEqual({ ok: false, code: FLASH_ERRORS.WRITE_FAILED });
    expect({ head: ring.head, tail: ring.tail, overflow: ring.overflow }).toEqual(before);
    expect(allRecords(ring)).toEqual(records);
    const restarted = reboot(flash).ring;
    expect({
      head: restarted.head,
      tail: restarted.tail,
      overflow: restarted.overflow,
    }).toEqual(before);
    expect(allRecords(restarted)).toEqual(records);
    // The same record goes in at the next attempt, with the same sequence.
    expect(ring.append(entryFor(seq))).toEqual({ ok: true, value: seq });
    expect(allRecords(reboot(flash).ring)).toEqual(allRecords(ring));
  });
});

/**
 * A readable reference: the ring as a queue of blocks of consecutive sequences, at most
 * `AUDIT_PAGES` blocks of `AUDIT_RECORDS_PER_PAGE`, the oldest dropped whole when a new one starts.
 */
class ModelRing {
  blocks: { first: number; entries: AuditEntry[] }[] = [];
  head = 0;
  ack = 0;
  overflow = 0;

  append(entry: AuditEntry): number {
    const last = this.blocks.at(-1);
    if (
      last !== undefined &&
      last.entries.length < AUDIT_RECORDS_PER_PAGE &&
      last.first + last.entries.length === this.head
    ) {
      last.entries.push(entry);
    } else {
      this.blocks.push({ first: this.head, entries: [entry] });
      if (this.blocks.length > AUDIT_PAGES) {
        const dropped = this.blocks.shift()!;
        this.overflow += dropped.entries.filter((_, i) => dropped.first + i >= this.ack).length;
      }
    }
    return this.head++;
  }

  acknowledge(ack: number): void {
    this.ack = Math.max(this.ack, ack);
    this.head = Math.max(this.head, ack);
  }

  get tail(): number {
    const oldest = this.blocks[0]?.first ?? this.head;
    return Math.min(Math.max(this.ack, oldest), this.head);
  }

  records(): AuditRecord[] {
    return this.blocks
      .flatMap((block) => block.entries.map((entry, i) => recordOf(block.first + i, entry)))
      .filter((record) => record.seq >= this.tail);
  }

  clone(): ModelRing {
    const copy = new ModelRing();
    copy.blocks = this.blocks.map((block) => ({ first: block.first, entries: [...block.entries] }));
    Object.assign(copy, { head: this.head, ack: this.ack, overflow: this.overflow });
    return copy;
  }
}

const summary = (ring: AuditRing | ModelRing) => [ring.head, ring.tail, ring.overflow];

describe('power cuts and write failures at any append (SECURITY.md item 24)', () => {
  type Step =
    | { readonly kind: 'append'; readonly entry: AuditEntry }
    | { readonly kind: 'ack'; readonly below: number };
  interface Fault {
    readonly after: number;
    readonly cut: boolean;
    readonly landed: number;
    readonly tail: TornTail;
    readonly noise: number;
  }

  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('append' as const), entry: anyEntry }) },
    {
      weight: 1,
      // Mostly below the head; a few beyond it, as after a unit swap.
      arbitrary: fc.record({
        kind: fc.constant('ack' as const),
        below: fc.integer({ min: -8, max: 300 }),
      }),
    },
  );
  // A full page image is 8 + 720 + 4 bytes: landed covers torn and completed writes.
  const fault: fc.Arbitrary<Fault> = fc.record({
    after: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 12 })),
    cut: fc.boolean(),
    landed: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 760 })),
    tail: fc.constantFrom<TornTail>('old', 'erased', 'partial', 'half-erased'),
    noise: fc.nat(),
  });

  it('keeps every committed record, never rolls a sequence back, never loses an overflow', () => {
    fc.assert(
      fc.property(
        // Half the runs start at a page boundary, so that cuts often hit a write that drops a page.
        fc.oneof(
          fc.integer({ min: 0, max: 2 * AUDIT_CAPACITY }),
          fc
            .integer({ min: 0, max: 2 * AUDIT_PAGES })
            .map((pages) => pages * AUDIT_RECORDS_PER_PAGE),
        ),
        fc.array(step, { minLength: 10, maxLength: 80, size: 'max' }),
        fc.array(fault, { maxLength: 10, size: 'max' }),
        (prefill, steps, faults) => {
          let { flash, ring } = fresh();
          let model = new ModelRing();
          /** Every record whose append returned ok, by sequence. */
          const committed = new Map<number, AuditEntry>();
          for (let n = 0; n < prefill; n++) {
            expect(ring.append(entryFor(n)).ok).toBe(true);
            committed.set(model.append(entryFor(n)), entryFor(n));
          }
          const pending = [...faults];
          let armedAt = 0;
          const arm = (): void => {
            const next = pending.shift();
            if (next === undefined) return;
            armedAt = flash.writes + next.after;
            flash.injectFault(
              next.cut
                ? {
                    kind: 'power-cut',
                    atWrite: armedAt,
                    landed: next.landed,
                    tail: next.tail,
                    noise: next.noise,
                  }
                : { kind: 'write-failure', atWrite: armedAt },
            );
          };
          arm();
          for (const action of steps) {
            if (action.kind === 'ack') {
              const ack = Math.max(0, model.head - action.below);
              ring.acknowledge(ack);
              model.acknowledge(ack);
            } else {
              const result = ring.append(action.entry);
              if (result.ok) {
                expect(result.value).toBe(model.append(action.entry));
                committed.set(result.value, action.entry);
              } else if (result.code === FLASH_ERRORS.POWER_LOST) {
                const lastHead = model.head;
                const lastOverflow = model.overflow;
                ({ flash, ring } = reboot(flash, model.ack));
                // The cut append is there whole or not at all, and nothing else changed.
                const landed = model.clone();
                landed.append(action.entry);
                if (ring.head === landed.head) model = landed;
                expect(ring.head).toBeGreaterThanOrEqual(lastHead);
                expect(ring.overflow).toBeGreaterThanOrEqual(lastOverflow);
                expect(summary(ring)).toEqual(summary(model));
                const held = allRecords(ring);
                expect(lines(held)).toBe(lines(model.records()));
                const bySeq = new Map(held.map((record) => [record.seq, record]));
                for (const [seq, entry] of committed) {
                  if (seq >= ring.tail) {
                    expect(lines([bySeq.get(seq)!])).toBe(lines([recordOf(seq, entry)]));
                  }
                }
                arm();
              } else {
                expect(result.code).toBe(FLASH_ERRORS.WRITE_FAILED);
              }
            }
            if (flash.writes >= armedAt) arm();
            expect(summary(ring)).toEqual(summary(model));
          }
          expect(lines(allRecords(ring))).toBe(lines(model.records()));
          const restarted = reboot(flash, model.ack).ring;
          expect(summary(restarted)).toEqual(summary(model));
          expect(lines(allRecords(restarted))).toBe(lines(model.records()));
        },
      ),
      { numRuns: propertyRuns(150, 20_000) },
    );
  });
});
