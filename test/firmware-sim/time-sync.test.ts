// Setting the lock's clock from a signed time anchor (firmware-sim/time-sync.ts; SECURITY.md
// items 20 and 24): nonce anchors serve once, window anchors take the phone's reading inside the
// window and never below the high-water mark or the running clock; forged, another lock's,
// replayed and backwards anchors are refused; the mark survives power cuts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLASH_ERRORS, openFlash } from '../../firmware-sim/flash.js';
import type { FlashStore, TornTail } from '../../firmware-sim/flash.js';
import {
  TIME_SYNC_FLASH_KEY,
  TimeSync,
  timeSyncFlashLayout,
} from '../../firmware-sim/time-sync.js';
import type { TimeSyncIdentity } from '../../firmware-sim/time-sync.js';
import { createNobleCrypto } from '../../protocol/crypto/noble-provider.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { MAX_ANCHOR_WINDOW_MS, signTimeAnchor } from '../../protocol/formats/time-anchor.js';
import type { TimeAnchor } from '../../protocol/formats/time-anchor.js';
import { propertyRuns } from '../support/properties.js';
import {
  ISSUER_KEY,
  ISSUER_SEED,
  LOCK_A,
  LOCK_B,
  OTHER_ISSUER_SEED,
  T0,
} from '../protocol/formats/fixtures.js';

const { AUTH_FAILED, EXPIRED, INTERNAL, NOT_YET_VALID, REPLAY, SCHEMA, STALE, WRONG_DOOR } =
  WIRE_ERRORS;
const HOUR = 3_600_000;

const crypto = createNobleCrypto((length) =>
  Uint8Array.from({ length }, (_, i) => (i * 151 + 17) & 0xff),
);
const IDENTITY: TimeSyncIdentity = { lockId: LOCK_A, issuerKey: ISSUER_KEY, crypto };
const NONCE = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);
const OTHER_NONCE = Uint8Array.from({ length: 16 }, (_, i) => 0x80 + i);

const sign = (anchor: TimeAnchor, seed = ISSUER_SEED): Uint8Array =>
  signTimeAnchor(anchor, seed, crypto);
const nonceAnchor = (time: number, nonce = NONCE, lockId = LOCK_A): Uint8Array =>
  sign({ lockId, time, nonce });
/** A window anchor issued at `from` for 72 h. */
const windowAnchor = (from: number, lockId = LOCK_A): Uint8Array =>
  sign({ lockId, time: from, validFrom: from, validUntil: from + MAX_ANCHOR_WINDOW_MS });

function fresh(): { flash: FlashStore; sync: TimeSync } {
  const flash = openFlash(timeSyncFlashLayout());
  return { flash, sync: TimeSync.open(flash, IDENTITY) };
}

const reopen = (flash: FlashStore): TimeSync =>
  TimeSync.open(openFlash(timeSyncFlashLayout(), flash.bytes), IDENTITY);

const codeOf = (result: { ok: boolean; code?: number }): number | undefined =>
  result.ok ? undefined : result.code;

describe('time sync: nonce anchors', () => {
  it('sets the time once, with the session nonce, and persists the high-water mark', () => {
    const { flash, sync } = fresh();
    expect(sync.highWaterMs).toBe(0);
    sync.setSessionNonce(NONCE);
    const anchor = nonceAnchor(T0);
    expect(sync.accept(anchor, undefined, undefined)).toEqual({
      ok: true,
      value: { timeMs: T0, binding: 'nonce' },
    });
    expect(sync.highWaterMs).toBe(T0);
    expect(reopen(flash).highWaterMs).toBe(T0);

    const writes = flash.writes;
    expect(codeOf(sync.accept(anchor, undefined, T0))).toBe(REPLAY);
    expect(flash.writes).toBe(writes);
  });

  it('refuses another nonce, and any nonce anchor when the lock issued none', () => {
    const { sync } = fresh();
    expect(codeOf(sync.accept(nonceAnchor(T0), undefined, undefined))).toBe(REPLAY);
    sync.setSessionNonce(OTHER_NONCE);
    expect(codeOf(sync.accept(nonceAnchor(T0), undefined, undefined))).toBe(REPLAY);
    sync.setSessionNonce(NONCE);
    sync.setSessionNonce(undefined);
    expect(codeOf(sync.accept(nonceAnchor(T0), undefined, undefined))).toBe(REPLAY);
    expect(sync.highWaterMs).toBe(0);
  });

  it('refuses a forgery and another lock’s anchor without spending the nonce', () => {
    const { flash, sync } = fresh();
    sync.setSessionNonce(NONCE);
    const forged = sign({ lockId: LOCK_A, time: T0, nonce: NONCE }, OTHER_ISSUER_SEED);
    const flipped = nonceAnchor(T0).map((b, i) => (i === 30 ? b ^ 0x01 : b));
    expect(codeOf(sync.accept(forged, undefined, undefined))).toBe(AUTH_FAILED);
    expect(codeOf(sync.accept(flipped, undefined, undefined))).toBe(AUTH_FAILED);
    expect(codeOf(sync.accept(nonceAnchor(T0, NONCE, LOCK_B), undefined, undefined))).toBe(
      WRONG_DOOR,
    );
    expect(flash.writes).toBe(0);
    expect(sync.accept(nonceAnchor(T0 + 5), undefined, undefined).ok).toBe(true);
  });

  it('corrects a clock that ran ahead: the mark may go down', () => {
    const { flash, sync } = fresh();
    expect(sync.accept(windowAnchor(T0), T0 + 2 * HOUR, undefined).ok).toBe(true);
    sync.setSessionNonce(NONCE);
    expect(sync.accept(nonceAnchor(T0 + HOUR), undefined, T0 + 2 * HOUR)).toEqual({
      ok: true,
      value: { timeMs: T0 + HOUR, binding: 'nonce' },
    });
    expect(reopen(flash).highWaterMs).toBe(T0 + HOUR);
  });
});

describe('time sync: window anchors', () => {
  it('takes the phone’s reading inside the window only', () => {
    const { sync } = fresh();
    const anchor = windowAnchor(T0);
    expect(codeOf(sync.accept(anchor, T0 - 1, undefined))).toBe(NOT_YET_VALID);
    expect(codeOf(sync.accept(anchor, T0 + MAX_ANCHOR_WINDOW_MS, undefined))).toBe(EXPIRED);
    expect(codeOf(sync.accept(anchor, undefined, undefined))).toBe(SCHEMA);
    expect(sync.highWaterMs).toBe(0);
    expect(sync.accept(anchor, T0 + MAX_ANCHOR_WINDOW_MS - 1, undefined)).toEqual({
      ok: true,
      value: { timeMs: T0 + MAX_ANCHOR_WINDOW_MS - 1, binding: 'window' },
    });
  });

  it('never goes below the persisted high-water mark, across a restart', () => {
    const { flash, sync } = fresh();
    const anchor = windowAnchor(T0);
    expect(sync.accept(anchor, T0 + 10 * HOUR, undefined).ok).toBe(true);
    const restarted = reopen(flash);
    expect(codeOf(restarted.accept(anchor, T0 + 10 * HOUR - 1, undefined))).toBe(STALE);
    const writes = flash.writes;
    expect(restarted.accept(anchor, T0 + 10 * HOUR, undefined).ok).toBe(true);
    expect(flash.writes).toBe(writes);
  });

  it('never turns a running clock back, even above the mark (a replay inside the window)', () => {
    const { sync } = fresh();
    const anchor = windowAnchor(T0);
    expect(sync.accept(anchor, T0 + HOUR, undefined).ok).toBe(true);
    const running = T0 + 48 * HOUR;
    expect(codeOf(sync.accept(anchor, T0 + 2 * HOUR, running))).toBe(STALE);
    expect(sync.highWaterMs).toBe(T0 + HOUR);
    expect(sync.accept(anchor, running + 1, running).ok).toBe(true);
  });

  it('is refused when signed by another issuer or for another lock', () => {
    const { sync } = fresh();
    const forged = sign(
      { lockId: LOCK_A, time: T0, validFrom: T0, validUntil: T0 + HOUR },
      OTHER_ISSUER_SEED,
    );
    expect(codeOf(sync.accept(forged, T0, undefined))).toBe(AUTH_FAILED);
    expect(codeOf(sync.accept(windowAnchor(T0, LOCK_B), T0, undefined))).toBe(WRONG_DOOR);
  });
});

describe('time sync: flash', () => {
  it('returns no time when the mark cannot be committed', () => {
    const { flash, sync } = fresh();
    sync.accept(windowAnchor(T0), T0, undefined);
    flash.injectFault({ kind: 'write-failure', atWrite: flash.writes + 1 });
    expect(sync.accept(windowAnchor(T0), T0 + HOUR, undefined)).toMatchObject({
      ok: false,
      code: INTERNAL,
      flash: FLASH_ERRORS.WRITE_FAILED,
    });
    expect(sync.highWaterMs).toBe(T0);
    expect(reopen(flash).highWaterMs).toBe(T0);

    // A nonce anchor spends its nonce even when the commit fails: it never serves twice.
    sync.setSessionNonce(NONCE);
    flash.injectFault({ kind: 'write-failure', atWrite: flash.writes + 1 });
    const anchor = nonceAnchor(T0 + HOUR);
    expect(codeOf(sync.accept(anchor, undefined, undefined))).toBe(INTERNAL);
    expect(codeOf(sync.accept(anchor, undefined, undefined))).toBe(REPLAY);
    expect(sync.highWaterMs).toBe(T0);
  });

  it('lays out one 8-byte record and refuses a record of another size', () => {
    expect(timeSyncFlashLayout()).toEqual([{ key: TIME_SYNC_FLASH_KEY, capacity: 8 }]);
    const flash = openFlash(timeSyncFlashLayout());
    flash.commit(TIME_SYNC_FLASH_KEY, new Uint8Array(4));
    expect(() => TimeSync.open(flash, IDENTITY)).toThrow(RangeError);
    expect(() => fresh().sync.setSessionNonce(new Uint8Array(8))).toThrow(RangeError);
  });

  it('keeps the last committed mark through a power cut at a random write', () => {
    const anchor = windowAnchor(T0);
    /** Slot header, the 8-byte mark, CRC (`flash.ts` slot format). */
    const IMAGE_BYTES = 8 + 8 + 4;
    const cut = fc.record({
      landed: fc.nat(IMAGE_BYTES + 4),
      tail: fc.constantFrom<TornTail>('old', 'erased', 'partial', 'half-erased'),
      noise: fc.nat(),
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(MAX_ANCHOR_WINDOW_MS - 1), fc.option(cut, { freq: 3 })), {
          maxLength: 12,
        }),
        (steps) => {
          let flash = openFlash(timeSyncFlashLayout());
          let sync = TimeSync.open(flash, IDENTITY);
          let committed = 0;
          for (const [offset, fault] of steps) {
            const phoneTime = T0 + offset;
            const advances = phoneTime > committed;
            if (fault !== null) {
              flash.injectFault({ kind: 'power-cut', atWrite: flash.writes + 1, ...fault });
            }
            const result = sync.accept(anchor, phoneTime, undefined);
            if (phoneTime < committed) {
              expect(codeOf(result)).toBe(STALE);
            } else if (!advances || fault === null) {
              expect(result).toEqual({ ok: true, value: { timeMs: phoneTime, binding: 'window' } });
              committed = phoneTime;
            } else {
              expect(result).toMatchObject({ ok: false, flash: FLASH_ERRORS.POWER_LOST });
              const before = committed;
              if (fault.tail !== 'half-erased' && fault.landed >= IMAGE_BYTES) {
                committed = phoneTime;
              }
              flash = openFlash(timeSyncFlashLayout(), flash.bytes);
              sync = TimeSync.open(flash, IDENTITY);
              // A page cut while programming may still end with every bit of the image right
              // (`flash.ts` 'partial': a bit only stays 1 where noise sets it): then the whole
              // new mark landed, which is a commit, never a mix.
              if (fault.tail === 'partial' && sync.highWaterMs === phoneTime) committed = phoneTime;
              expect([before, phoneTime]).toContain(sync.highWaterMs);
            }
            if (flash.alive) flash.injectFault(undefined);
            expect(sync.highWaterMs).toBe(committed);
          }
        },
      ),
      { numRuns: propertyRuns(60, 5_000) },
    );
  });
});
