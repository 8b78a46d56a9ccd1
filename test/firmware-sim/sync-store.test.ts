// The lock's synced state (firmware-sim/sync-store.ts; ARCHITECTURE.md §3 "Mobile keys",
// "Passive sync"; SECURITY.md items 18 and 24): full and delta bundles of credential ids, stale
// and mismatched ones, revocation, doorcodes for other locks, the limits, persistence, and a
// power cut at a random write.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openFlash } from '../../firmware-sim/flash.js';
import type { FlashStore, TornTail } from '../../firmware-sim/flash.js';
import { FLASH_ERRORS } from '../../firmware-sim/flash.js';
import {
  SYNC_FLASH_KEY,
  SYNC_STATE_MAX_BYTES,
  syncFlashLayout,
  SyncStore,
} from '../../firmware-sim/sync-store.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import type { DoorcodeRecord } from '../../protocol/formats/doorcode-record.js';
import type { RevocationList } from '../../protocol/formats/revocation.js';
import type { DoorConfig, SyncBundle } from '../../protocol/formats/sync-bundle.js';
import { hex } from '../support/hex.js';
import { propertyRuns } from '../support/properties.js';
import { MAX_BUNDLE_CREDENTIALS } from '../../protocol/formats/sync-bundle.js';
import { id, LOCK_A, LOCK_B } from '../protocol/formats/fixtures.js';

const { DELTA_BASE_MISMATCH, INTERNAL, STALE, TOO_LARGE, WRONG_DOOR } = WIRE_ERRORS;

/** `n` distinct ids after `from`, tagged by their first byte. */
function ids(tag: number, n: number, from = 0): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    Uint8Array.of(tag, (from + i) >> 8, from + i, ...new Uint8Array(13)),
  );
}
const credentialId = (n: number): Uint8Array => id(0xc0, n);
const doorcodeId = (n: number): Uint8Array => id(0xdc, n);

function doorcode(n: number, pin: string, door = LOCK_A): DoorcodeRecord {
  return { door, id: doorcodeId(n), pin, user: id(0xd0, n) };
}

function revocations(version: number, parts: Partial<RevocationList> = {}): RevocationList {
  return { version, credentials: [], dailySlots: [], doorcodes: [], ...parts };
}

type BundleParts = Partial<Omit<SyncBundle, 'lockId' | 'version' | 'baseVersion' | 'kind'>>;

function full(version: number, parts: BundleParts = {}): SyncBundle {
  return {
    lockId: LOCK_A,
    version,
    baseVersion: 0,
    kind: 'full',
    credentials: [],
    doorcodes: [],
    ...parts,
  };
}

function delta(baseVersion: number, version: number, parts: BundleParts = {}): SyncBundle {
  return { ...full(version, parts), baseVersion, kind: 'delta' };
}

const freshStore = (): SyncStore => SyncStore.open(openFlash(syncFlashLayout()), LOCK_A);

/** A store and its flash, so a test can inject faults and reopen from the bytes. */
function storeWithFlash(): { flash: FlashStore; store: SyncStore } {
  const flash = openFlash(syncFlashLayout());
  return { flash, store: SyncStore.open(flash, LOCK_A) };
}

/** Everything a store shows, for ids of the given ranges, as plain comparable data. */
function observe(store: SyncStore, ids = 16) {
  const range = (f: (n: number) => boolean): number[] =>
    Array.from({ length: ids }, (_, n) => n).filter(f);
  return {
    version: store.version,
    revocationVersion: store.revocationVersion,
    timeZone: store.timeZone,
    config: store.config,
    auditAck: store.auditAck,
    doorcodes: store.doorcodes.map((r) => `${hex(r.id)}:${r.pin}`).sort(),
    revokedSlots: store.revokedSlots().map(({ day, slot }) => `${day}/${slot}`),
    credentials: range((n) => store.hasCredential(credentialId(n))),
    revokedCredentials: range((n) => store.isCredentialRevoked(credentialId(n))),
    revokedDoorcodes: range((n) => store.isDoorcodeRevoked(doorcodeId(n))),
  };
}

describe('sync store: bundles', () => {
  it('starts never synced, with nothing cached', () => {
    const store = freshStore();
    expect(observe(store)).toEqual({
      version: 0,
      revocationVersion: 0,
      timeZone: undefined,
      config: {},
      auditAck: 0,
      doorcodes: [],
      revokedSlots: [],
      credentials: [],
      revokedCredentials: [],
      revokedDoorcodes: [],
    });
  });

  it('installs a full bundle, skipping doorcodes for other locks', () => {
    const store = freshStore();
    const config: DoorConfig = {
      ajarSeconds: 60,
      relockSeconds: 5,
      doorSchedules: [{ days: 0x1f, start: 480, end: 1080 }],
    };
    const applied = store.apply(
      full(3, {
        credentials: [credentialId(3), credentialId(1), credentialId(4)],
        doorcodes: [doorcode(1, '0042917'), doorcode(2, '1234567', LOCK_B)],
        revocations: revocations(9, {
          credentials: [credentialId(4), credentialId(7)],
          dailySlots: [{ day: '20260301', slots: [3, 200] }],
          doorcodes: [doorcodeId(5)],
        }),
        config,
        timeZone: 'America/New_York',
        auditAck: 120,
      }),
    );
    expect(applied).toEqual({
      ok: true,
      value: { version: 3, skippedDoorcodes: 1 },
    });
    expect(observe(store)).toEqual({
      version: 3,
      revocationVersion: 9,
      timeZone: 'America/New_York',
      config,
      auditAck: 120,
      doorcodes: [`${hex(doorcodeId(1))}:0042917`],
      revokedSlots: ['20260301/3', '20260301/200'],
      // 4 is in the bundle and revoked by it: revocation wins.
      credentials: [1, 3],
      revokedCredentials: [4, 7],
      revokedDoorcodes: [5],
    });
  });

  it('replaces everything with a full bundle; the audit acknowledgement only moves forward', () => {
    const store = freshStore();
    store.apply(
      full(1, {
        credentials: [credentialId(1)],
        doorcodes: [doorcode(1, '0042917')],
        revocations: revocations(2, { credentials: [credentialId(9)] }),
        config: { ajarSeconds: 90 },
        timeZone: 'Europe/Paris',
        auditAck: 50,
      }),
    );
    expect(store.apply(full(2, { credentials: [credentialId(2)], auditAck: 10 })).ok).toBe(true);
    expect(observe(store)).toMatchObject({
      version: 2,
      revocationVersion: 0,
      timeZone: undefined,
      config: {},
      auditAck: 50,
      doorcodes: [],
      credentials: [2],
      revokedCredentials: [],
    });
  });

  it('merges a delta: adds, replaces by id, unions revocations, keeps absent fields', () => {
    const store = freshStore();
    store.apply(
      full(4, {
        credentials: [credentialId(1), credentialId(2)],
        doorcodes: [doorcode(1, '1111111'), doorcode(2, '2222222')],
        revocations: revocations(3, {
          credentials: [credentialId(9)],
          dailySlots: [{ day: '20260301', slots: [3, 7] }],
        }),
        config: { ajarSeconds: 30, stillAjarMinutes: 5 },
        timeZone: 'Europe/Paris',
        auditAck: 7,
      }),
    );
    const applied = store.apply(
      delta(4, 6, {
        credentials: [credentialId(3), credentialId(1)],
        doorcodes: [doorcode(2, '2020202'), doorcode(3, '3333333')],
        revocations: revocations(4, {
          credentials: [credentialId(2)],
          dailySlots: [
            { day: '20260301', slots: [5, 7] },
            { day: '20260228', slots: [1] },
          ],
          doorcodes: [doorcodeId(1)],
        }),
        config: { stillAjarMinutes: 15, relockSeconds: 8 },
        auditAck: 9,
      }),
    );
    expect(applied.ok && applied.value.version).toBe(6);
    expect(observe(store)).toEqual({
      version: 6,
      revocationVersion: 4,
      timeZone: 'Europe/Paris',
      config: { ajarSeconds: 30, stillAjarMinutes: 15, relockSeconds: 8 },
      auditAck: 9,
      doorcodes: [`${hex(doorcodeId(2))}:2020202`, `${hex(doorcodeId(3))}:3333333`],
      revokedSlots: ['20260228/1', '20260301/3', '20260301/5', '20260301/7'],
      credentials: [1, 3],
      revokedCredentials: [2, 9],
      revokedDoorcodes: [1],
    });
  });

  it('never lets a delta bring back a revoked credential or doorcode', () => {
    const store = freshStore();
    store.apply(
      full(1, {
        revocations: revocations(1, {
          credentials: [credentialId(1)],
          doorcodes: [doorcodeId(1)],
        }),
      }),
    );
    expect(
      store.apply(
        delta(1, 2, { credentials: [credentialId(1)], doorcodes: [doorcode(1, '0042917')] }),
      ).ok,
    ).toBe(true);
    expect(store.hasCredential(credentialId(1))).toBe(false);
    expect(store.isCredentialRevoked(credentialId(1))).toBe(true);
    expect(store.doorcodes).toEqual([]);
  });

  describe('refusals change nothing and write nothing', () => {
    function synced(): { flash: FlashStore; store: SyncStore } {
      const { flash, store } = storeWithFlash();
      store.apply(full(5, { credentials: [credentialId(1)], timeZone: 'Europe/Paris' }));
      return { flash, store };
    }

    it.each([
      ['the same version again (full)', full(5, { credentials: [credentialId(2)] }), STALE],
      ['an older full bundle', full(4, { credentials: [credentialId(2)] }), STALE],
      ['an older delta', delta(3, 4, { credentials: [credentialId(2)] }), STALE],
      [
        'a delta on another base',
        delta(4, 6, { credentials: [credentialId(2)] }),
        DELTA_BASE_MISMATCH,
      ],
      ['another lock’s bundle', { ...full(6), lockId: LOCK_B }, WRONG_DOOR],
    ])('%s', (_name, bundle, code) => {
      const { flash, store } = synced();
      const before = observe(store);
      const writes = flash.writes;
      const result = store.apply(bundle);
      expect(result.ok ? undefined : result.code).toBe(code);
      expect(observe(store)).toEqual(before);
      expect(flash.writes).toBe(writes);
    });

    it('a delta before any full bundle is on the wrong base', () => {
      const result = freshStore().apply(delta(1, 2, { credentials: [credentialId(1)] }));
      expect(result.ok ? undefined : result.code).toBe(DELTA_BASE_MISMATCH);
    });
  });

  it('caches each listed id once, whatever the order and repetition', () => {
    const store = freshStore();
    const listed = [credentialId(9), credentialId(2), credentialId(9), credentialId(5)];
    expect(store.apply(full(1, { credentials: listed })).ok).toBe(true);
    expect(store.apply(delta(1, 2, { credentials: [credentialId(2), credentialId(1)] })).ok).toBe(
      true,
    );
    expect(observe(store).credentials).toEqual([1, 2, 5, 9]);
  });

  it(`holds ${MAX_BUNDLE_CREDENTIALS} credential ids; a delta passing that is TOO_LARGE`, () => {
    const store = freshStore();
    const all = ids(0xc2, MAX_BUNDLE_CREDENTIALS);
    expect(store.apply(full(1, { credentials: all.slice(0, 1500) })).ok).toBe(true);
    expect(store.apply(delta(1, 2, { credentials: all.slice(1000) })).ok).toBe(true);
    expect(all.every((x) => store.hasCredential(x))).toBe(true);
    // Ids the lock already holds add nothing; one new id passes the limit.
    expect(store.apply(delta(2, 3, { credentials: all.slice(0, 10) })).ok).toBe(true);
    const over = store.apply(delta(3, 4, { credentials: ids(0xc3, 1) }));
    expect(over.ok ? undefined : over.code).toBe(TOO_LARGE);
    expect(store.version).toBe(3);
    expect(store.hasCredential(ids(0xc3, 1)[0]!)).toBe(false);
    // A revocation makes room: revocation wins, and the freed place takes the new id.
    const revoke = revocations(1, { credentials: [all[0]!] });
    expect(store.apply(delta(3, 4, { credentials: ids(0xc3, 1), revocations: revoke })).ok).toBe(
      true,
    );
    expect(store.hasCredential(all[0]!)).toBe(false);
    expect(store.hasCredential(ids(0xc3, 1)[0]!)).toBe(true);
  });

  it('rejects a delta whose state would pass the limits of a full bundle', () => {
    const store = freshStore();
    expect(
      store.apply(full(1, { revocations: revocations(1, { credentials: ids(0xee, 1000) }) })).ok,
    ).toBe(true);
    const over = store.apply(
      delta(1, 2, { revocations: revocations(2, { credentials: ids(0xee, 25, 1000) }) }),
    );
    expect(over.ok ? undefined : over.code).toBe(TOO_LARGE);
    expect(store.version).toBe(1);

    const slots = (from: number, n: number): number[] =>
      Array.from({ length: n }, (_, i) => from + i);
    store.apply(
      full(3, {
        revocations: revocations(1, { dailySlots: [{ day: '20260301', slots: slots(0, 200) }] }),
      }),
    );
    const overDay = store.apply(
      delta(3, 4, {
        revocations: revocations(2, { dailySlots: [{ day: '20260301', slots: slots(200, 57) }] }),
      }),
    );
    expect(overDay.ok ? undefined : overDay.code).toBe(TOO_LARGE);
    expect(store.revokedSlots()).toHaveLength(200);
  });

  it('keeps the newest 16 days of revoked slots', () => {
    const store = freshStore();
    const day = (n: number): string => `202603${String(n).padStart(2, '0')}`;
    const days = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ day: day(from + i), slots: [from + i] }));
    store.apply(full(1, { revocations: revocations(1, { dailySlots: days(1, 12) }) }));
    store.apply(delta(1, 2, { revocations: revocations(2, { dailySlots: days(13, 20) }) }));
    expect(store.revokedSlots().map((s) => s.day)).toEqual(
      Array.from({ length: 16 }, (_, i) => day(5 + i)),
    );
  });
});

describe('sync store: flash', () => {
  it('restores the committed state after a restart', () => {
    const { flash, store } = storeWithFlash();
    store.apply(
      full(2, {
        credentials: [credentialId(1), credentialId(2)],
        doorcodes: [doorcode(1, '0042917')],
        revocations: revocations(1, { dailySlots: [{ day: '20260301', slots: [4] }] }),
        config: { relockSeconds: 3 },
        timeZone: 'Europe/Paris',
        auditAck: 3,
      }),
    );
    store.apply(delta(2, 3, { revocations: revocations(2, { credentials: [credentialId(2)] }) }));
    const reopened = SyncStore.open(openFlash(syncFlashLayout(), flash.bytes), LOCK_A);
    expect(observe(reopened)).toEqual(observe(store));
    expect(reopened.doorcodes).toEqual(store.doorcodes);
  });

  it('keeps the old state on a write failure, and applies the bundle on the next try', () => {
    const { flash, store } = storeWithFlash();
    store.apply(full(1, { credentials: [credentialId(1)] }));
    flash.injectFault({ kind: 'write-failure', atWrite: flash.writes + 1 });
    const bundle = delta(1, 2, { credentials: [credentialId(2)] });
    expect(store.apply(bundle)).toMatchObject({
      ok: false,
      code: INTERNAL,
      flash: FLASH_ERRORS.WRITE_FAILED,
    });
    expect(observe(store)).toMatchObject({ version: 1, credentials: [1] });
    expect(observe(SyncStore.open(openFlash(syncFlashLayout(), flash.bytes), LOCK_A))).toEqual(
      observe(store),
    );
    expect(store.apply(bundle).ok).toBe(true);
    expect(observe(store)).toMatchObject({ version: 2, credentials: [1, 2] });
  });

  it('holds the largest state the limits allow', () => {
    const { flash, store } = storeWithFlash();
    const credentials = ids(0xc1, MAX_BUNDLE_CREDENTIALS);
    const far = Number.MAX_SAFE_INTEGER;
    const steps: SyncBundle[] = [
      full(1, { credentials: credentials.slice(0, 1024) }),
      delta(1, 2, { credentials: credentials.slice(1024) }),
      delta(2, 3, {
        doorcodes: ids(0xd1, 256).map((x) => ({
          door: LOCK_A,
          id: x,
          pin: '9999999',
          user: x,
          notBefore: far - 1,
          expires: far,
        })),
      }),
      delta(3, 4, {
        revocations: revocations(far, {
          credentials: ids(0xe1, 1024),
          doorcodes: ids(0xe2, 256),
          dailySlots: Array.from({ length: 16 }, (_, d) => ({
            day: `209901${String(d + 1).padStart(2, '0')}`,
            slots: Array.from({ length: 256 }, (_, i) => 0xff00 + i),
          })),
        }),
        config: {
          ajarSeconds: 90,
          stillAjarMinutes: 15,
          relockSeconds: 3600,
          doorSchedules: Array.from({ length: 16 }, () => ({ days: 0x7f, start: 1000, end: 1440 })),
        },
        timeZone: 'America/Argentina/ComodRivadavia',
        auditAck: far,
      }),
    ];
    for (const bundle of steps) expect(store.apply(bundle).ok).toBe(true);
    const stored = flash.read(SYNC_FLASH_KEY)!;
    expect(stored.length).toBeLessThanOrEqual(SYNC_STATE_MAX_BYTES);
    expect(stored.length).toBeGreaterThan(0.95 * SYNC_STATE_MAX_BYTES);
    expect(syncFlashLayout()).toEqual([{ key: SYNC_FLASH_KEY, capacity: SYNC_STATE_MAX_BYTES }]);
    const reopened = SyncStore.open(openFlash(syncFlashLayout(), flash.bytes), LOCK_A);
    expect(reopened.revokedSlots()).toHaveLength(16 * 256);
    expect(credentials.every((x) => reopened.hasCredential(x))).toBe(true);
  });
});

describe('sync store: id lookups', () => {
  it('finds exactly the revoked ids, whatever their order and number', () => {
    const anId = fc.uint8Array({ minLength: 16, maxLength: 16 });
    fc.assert(
      fc.property(
        fc.uniqueArray(anId, { maxLength: 60, selector: hex }),
        fc.array(anId, { maxLength: 20 }),
        (revoked, probes) => {
          const store = freshStore();
          store.apply(full(1, { revocations: revocations(1, { credentials: revoked }) }));
          const set = new Set(revoked.map(hex));
          for (const probe of [...revoked, ...probes]) {
            expect(store.isCredentialRevoked(probe)).toBe(set.has(hex(probe)));
            expect(store.isDoorcodeRevoked(probe)).toBe(false);
          }
        },
      ),
      { numRuns: propertyRuns(100, 5_000) },
    );
  });

  it('caches exactly the ids the bundles listed, less the revoked ones', () => {
    // A small id space, so lists repeat ids and revocations hit listed ones.
    const anId = fc.nat(40).map((n) => credentialId(n));
    const step = fc.record({
      listed: fc.array(anId, { maxLength: 30 }),
      revoked: fc.array(anId, { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
        const store = freshStore();
        const cached = new Set<string>();
        const revoked = new Set<string>();
        steps.forEach(({ listed, revoked: revokedNow }, i) => {
          const bundle =
            i === 0
              ? full(1, {
                  credentials: listed,
                  revocations: revocations(1, { credentials: revokedNow }),
                })
              : delta(i, i + 1, {
                  credentials: listed,
                  revocations: revocations(i + 1, { credentials: revokedNow }),
                });
          expect(store.apply(bundle).ok).toBe(true);
          for (const x of revokedNow) revoked.add(hex(x));
          for (const x of listed) cached.add(hex(x));
          for (const x of revoked) cached.delete(x);
        });
        for (let n = 0; n <= 40; n++) {
          const probe = credentialId(n);
          expect(store.hasCredential(probe)).toBe(cached.has(hex(probe)));
          expect(store.isCredentialRevoked(probe)).toBe(revoked.has(hex(probe)));
        }
      }),
      { numRuns: propertyRuns(100, 5_000) },
    );
  });

  it('treats an id of the wrong length as a bug', () => {
    expect(() => freshStore().hasCredential(new Uint8Array(15))).toThrow(RangeError);
  });
});

describe('sync store: power cut at a random write (SECURITY.md items 18, 24)', () => {
  // A small cloud: credentials 0..9, doorcodes 0..5 (5 is for lock B), daily slots on three days. Each effective change makes a version;
  // the lock receives full bundles, deltas, replays of anything sent before, and deltas on a
  // wrong base, with a power cut or a write failure armed at the write of any apply.
  const POOL = 10;
  const pool = Array.from({ length: POOL }, (_, k) => credentialId(k));
  const doorOf = (k: number): Uint8Array => (k === 5 ? LOCK_B : LOCK_A);
  const DAYS = ['20260301', '20260302', '20260303'];
  /** Slot header and CRC around a record's payload (`flash.ts` slot format). */
  const SLOT_OVERHEAD = 8 + 4;

  type Change =
    | { readonly kind: 'issue' | 'revoke' | 'revoke-doorcode'; readonly k: number }
    | { readonly kind: 'doorcode'; readonly k: number; readonly pin: string }
    | { readonly kind: 'revoke-slot'; readonly day: string; readonly slot: number }
    | { readonly kind: 'config'; readonly config: DoorConfig }
    | { readonly kind: 'time-zone'; readonly timeZone: string }
    | { readonly kind: 'ack'; readonly by: number };

  interface Cloud {
    readonly version: number;
    readonly issued: ReadonlySet<number>;
    readonly revoked: ReadonlySet<number>;
    readonly doorcodes: ReadonlyMap<number, string>;
    readonly revokedDoorcodes: ReadonlySet<number>;
    readonly slots: ReadonlyMap<string, ReadonlySet<number>>;
    readonly revocationVersion: number;
    readonly config: DoorConfig;
    readonly timeZone: string | undefined;
    readonly auditAck: number;
  }

  const NOTHING: Cloud = {
    version: 0,
    issued: new Set(),
    revoked: new Set(),
    doorcodes: new Map(),
    revokedDoorcodes: new Set(),
    slots: new Map(),
    revocationVersion: 0,
    config: {},
    timeZone: undefined,
    auditAck: 0,
  };

  /** The cloud after `change`, or `undefined` when it changes nothing (a revoked id stays so). */
  function after(c: Cloud, change: Change): Cloud | undefined {
    const revoking = { revocationVersion: c.revocationVersion + 1 };
    switch (change.kind) {
      case 'issue':
        if (c.issued.has(change.k) || c.revoked.has(change.k)) return undefined;
        return { ...c, issued: new Set([...c.issued, change.k]) };
      case 'revoke': {
        if (c.revoked.has(change.k)) return undefined;
        const issued = new Set(c.issued);
        issued.delete(change.k);
        return { ...c, ...revoking, issued, revoked: new Set([...c.revoked, change.k]) };
      }
      case 'doorcode':
        if (c.revokedDoorcodes.has(change.k)) return undefined;
        return { ...c, doorcodes: new Map([...c.doorcodes, [change.k, change.pin]]) };
      case 'revoke-doorcode': {
        if (c.revokedDoorcodes.has(change.k)) return undefined;
        const doorcodes = new Map(c.doorcodes);
        doorcodes.delete(change.k);
        const revokedDoorcodes = new Set([...c.revokedDoorcodes, change.k]);
        return { ...c, ...revoking, doorcodes, revokedDoorcodes };
      }
      case 'revoke-slot': {
        const day = c.slots.get(change.day) ?? new Set<number>();
        if (day.has(change.slot)) return undefined;
        const slots = new Map([...c.slots, [change.day, new Set([...day, change.slot])]]);
        return { ...c, ...revoking, slots };
      }
      case 'config':
        return { ...c, config: { ...c.config, ...change.config } };
      case 'time-zone':
        return { ...c, timeZone: change.timeZone };
      case 'ack':
        return { ...c, auditAck: c.auditAck + change.by };
    }
  }

  const sortedNumbers = (values: Iterable<number>): number[] => [...values].sort((a, b) => a - b);
  const dailySlotsOf = (slots: ReadonlyMap<string, ReadonlySet<number>>) =>
    DAYS.filter((day) => slots.has(day)).map((day) => ({
      day,
      slots: sortedNumbers(slots.get(day)!),
    }));

  function fullBundle(c: Cloud): SyncBundle {
    return full(c.version, {
      credentials: sortedNumbers(c.issued).map((k) => pool[k]!),
      doorcodes: [...c.doorcodes].map(([k, pin]) => doorcode(k, pin, doorOf(k))),
      revocations: revocations(c.revocationVersion, {
        credentials: sortedNumbers(c.revoked).map(credentialId),
        dailySlots: dailySlotsOf(c.slots),
        doorcodes: sortedNumbers(c.revokedDoorcodes).map(doorcodeId),
      }),
      config: c.config,
      ...(c.timeZone === undefined ? {} : { timeZone: c.timeZone }),
      auditAck: c.auditAck,
    });
  }

  /** The delta from `base` to the newest version: only what changed in between. */
  function deltaBundle(
    history: readonly Cloud[],
    log: readonly Change[][],
    base: number,
  ): SyncBundle {
    const top = history[history.length - 1]!;
    const changes = log.slice(base + 1).flat();
    const of = <K extends Change['kind']>(kind: K) =>
      changes.filter((c): c is Extract<Change, { kind: K }> => c.kind === kind);
    const revokedSlots = new Map<string, Set<number>>();
    for (const { day, slot } of of('revoke-slot')) {
      revokedSlots.set(day, new Set([...(revokedSlots.get(day) ?? []), slot]));
    }
    const revokes = of('revoke').length + of('revoke-doorcode').length + of('revoke-slot').length;
    const configs = of('config');
    const zones = of('time-zone');
    return delta(base, top.version, {
      credentials: of('issue').map(({ k }) => pool[k]!),
      doorcodes: [...new Map(of('doorcode').map(({ k, pin }) => [k, pin]))].map(([k, pin]) =>
        doorcode(k, pin, doorOf(k)),
      ),
      ...(revokes === 0
        ? {}
        : {
            revocations: revocations(top.revocationVersion, {
              credentials: of('revoke').map(({ k }) => credentialId(k)),
              dailySlots: dailySlotsOf(revokedSlots),
              doorcodes: of('revoke-doorcode').map(({ k }) => doorcodeId(k)),
            }),
          }),
      ...(configs.length === 0
        ? {}
        : { config: configs.reduce<DoorConfig>((all, c) => ({ ...all, ...c.config }), {}) }),
      ...(zones.length === 0 ? {} : { timeZone: zones[zones.length - 1]!.timeZone }),
      ...(of('ack').length === 0 ? {} : { auditAck: top.auditAck }),
    });
  }

  /** What a lock that holds the cloud's version `c` shows. */
  function expectedView(c: Cloud): ReturnType<typeof observe> {
    return {
      version: c.version,
      revocationVersion: c.revocationVersion,
      timeZone: c.timeZone,
      config: c.config,
      auditAck: c.auditAck,
      doorcodes: [...c.doorcodes]
        .filter(([k]) => k !== 5)
        .map(([k, pin]) => `${hex(doorcodeId(k))}:${pin}`)
        .sort(),
      revokedSlots: dailySlotsOf(c.slots).flatMap(({ day, slots }) =>
        slots.map((s) => `${day}/${s}`),
      ),
      credentials: sortedNumbers(c.issued),
      revokedCredentials: sortedNumbers(c.revoked),
      revokedDoorcodes: sortedNumbers(c.revokedDoorcodes),
    };
  }

  const k = fc.nat(POOL - 1);
  const change: fc.Arbitrary<Change> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('issue' as const), k }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), k }) },
    fc.record({
      kind: fc.constant('doorcode' as const),
      k: fc.nat(5),
      pin: fc.stringMatching(/^[0-9]{7}$/),
    }),
    fc.record({ kind: fc.constant('revoke-doorcode' as const), k: fc.nat(5) }),
    fc.record({
      kind: fc.constant('revoke-slot' as const),
      day: fc.constantFrom(...DAYS),
      slot: fc.nat(20),
    }),
    fc.record({
      kind: fc.constant('config' as const),
      config: fc.record(
        {
          ajarSeconds: fc.constantFrom(30 as const, 60 as const, 90 as const),
          relockSeconds: fc.integer({ min: 1, max: 3600 }),
        },
        { requiredKeys: [] },
      ),
    }),
    fc.record({
      kind: fc.constant('time-zone' as const),
      timeZone: fc.constantFrom('Europe/Paris', 'America/New_York'),
    }),
    fc.record({ kind: fc.constant('ack' as const), by: fc.integer({ min: 1, max: 50 }) }),
  );
  type Push = 'full' | 'delta' | 'replay' | 'wrong-base';
  const fault = fc.oneof(
    fc.record({
      kind: fc.constant('power-cut' as const),
      landed: fc.oneof(fc.nat(64), fc.nat(1500)),
      tail: fc.constantFrom<TornTail>('old', 'erased', 'partial', 'half-erased'),
      noise: fc.nat(),
    }),
    fc.record({ kind: fc.constant('write-failure' as const) }),
  );
  const step = fc.record({
    changes: fc.array(change, { maxLength: 3 }),
    push: fc.constantFrom<Push>('full', 'delta', 'delta', 'replay', 'wrong-base'),
    pick: fc.nat(),
    fault: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fault },
    ),
  });

  it('leaves exactly the last committed state; versions never go back; revoked stays revoked', () => {
    const layout = syncFlashLayout();
    fc.assert(
      fc.property(fc.array(step, { minLength: 4, maxLength: 24 }), (steps) => {
        const history: Cloud[] = [NOTHING];
        const log: Change[][] = [[]];
        const sent: SyncBundle[] = [];
        let flash = openFlash(layout);
        let store = SyncStore.open(flash, LOCK_A);
        let committed = history[0]!;

        for (const { changes, push, pick, fault: armed } of steps) {
          let cloud = history[history.length - 1]!;
          const effective: Change[] = [];
          for (const c of changes) {
            const next = after(cloud, c);
            if (next !== undefined) {
              cloud = next;
              effective.push(c);
            }
          }
          if (effective.length > 0) {
            cloud = { ...cloud, version: history.length };
            history.push(cloud);
            log.push(effective);
          }
          const top = history.length - 1;
          let bundle: SyncBundle | undefined;
          if (push === 'replay') bundle = sent[pick % Math.max(1, sent.length)];
          else if (top === 0) bundle = undefined;
          else if (push === 'full') bundle = fullBundle(cloud);
          else if (push === 'delta' && store.version > 0 && store.version < top) {
            bundle = deltaBundle(history, log, store.version);
          } else if (push === 'wrong-base' && top > 1) {
            const base = 1 + (pick % (top - 1));
            if (base !== store.version) bundle = deltaBundle(history, log, base);
          }
          if (bundle === undefined) continue;
          sent.push(bundle);

          const refusal =
            bundle.version <= committed.version
              ? STALE
              : bundle.kind === 'delta' && bundle.baseVersion !== committed.version
                ? DELTA_BASE_MISMATCH
                : undefined;
          const target = refusal === undefined ? history[bundle.version]! : committed;
          const payload =
            refusal === undefined && armed?.kind === 'power-cut'
              ? (() => {
                  const twin = openFlash(layout, flash.bytes.slice());
                  SyncStore.open(twin, LOCK_A).apply(bundle);
                  return twin.read(SYNC_FLASH_KEY)!.length;
                })()
              : 0;
          const atWrite = flash.writes + 1;
          flash.injectFault(armed === undefined ? undefined : { ...armed, atWrite });

          const result = store.apply(bundle);
          if (refusal !== undefined) {
            expect(result.ok ? undefined : result.code).toBe(refusal);
          } else if (armed === undefined) {
            expect(result.ok).toBe(true);
            committed = target;
          } else if (armed.kind === 'write-failure') {
            expect(result).toMatchObject({
              ok: false,
              code: INTERNAL,
              flash: FLASH_ERRORS.WRITE_FAILED,
            });
          } else {
            expect(result).toMatchObject({
              ok: false,
              code: INTERNAL,
              flash: FLASH_ERRORS.POWER_LOST,
            });
            const landed = armed.tail !== 'half-erased' && armed.landed >= payload + SLOT_OVERHEAD;
            if (landed) committed = target;
            flash = openFlash(layout, flash.bytes);
            const restarted = SyncStore.open(flash, LOCK_A);
            expect(restarted.version).toBeGreaterThanOrEqual(store.version);
            store = restarted;
          }
          if (flash.writes < atWrite) flash.injectFault(undefined);

          expect(observe(store)).toEqual(expectedView(committed));
          for (const revoked of committed.revoked) {
            expect(store.hasCredential(credentialId(revoked))).toBe(false);
          }
        }
        const restarted = SyncStore.open(openFlash(layout, flash.bytes), LOCK_A);
        expect(observe(restarted)).toEqual(expectedView(committed));
      }),
      { numRuns: propertyRuns(150, 10_000) },
    );
  });
});
