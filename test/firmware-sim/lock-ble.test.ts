// A Lock's BLE server role at full fidelity (ARCHITECTURE.md §3 "Mobile keys", §4, §7), end to end
// in a World: real phones (Noise XK, fragments at the MTU, refusals of protocol/spec/session.md
// §7.1) reach firmware-sim/lock.ts through `world.withLock`, and the lock's one authorization
// function, sync store, time sync, audit ring and actuator answer. Each scenario checks the wire
// results, the World's event log and the audit ring (SECURITY.md items 5, 17–20, 24), and that
// the same seed gives the same log (ARCHITECTURE.md §2).
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { openAuditUpload } from '../../protocol/formats/audit-upload.js';
import { peekCredential, signCredential } from '../../protocol/formats/credential.js';
import type { Credential } from '../../protocol/formats/credential.js';
import { sealSyncBundle } from '../../protocol/formats/sync-bundle.js';
import type { SyncBundle } from '../../protocol/formats/sync-bundle.js';
import { signTimeAnchor } from '../../protocol/formats/time-anchor.js';
import { attPayloadBytes } from '../../protocol/gatt.js';
import { RESULT_OK, STATUS_FLAGS, SYNC_PUSH_CHUNK_BYTES } from '../../protocol/messages.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import { DEFAULT_SESSION_LIMITS } from '../../protocol/noise/session-limits.js';
import type { Result } from '../../protocol/result.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import { MODELS } from '../../firmware-sim/models.js';
import type { LockOptions } from '../../src/sim/world.js';
import { World } from '../../src/sim/world.js';
import { hex } from '../support/hex.js';
import { PhoneLink } from '../support/phone-link.js';
import type { PhoneLinkOptions } from '../support/phone-link.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 86_400_000;
/** Monday 2026-03-02 15:00 UTC. */
const START = Date.UTC(2026, 2, 2, 15);
const DOOR = 'door';

const id = (tag: number, n = 0): Uint8Array =>
  Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? tag : i === 15 ? n : 0));
const RESIDENT_ID = id(0xc0, 1);
const RESIDENT_USER = id(0x05, 1);
const GUEST_ID = id(0xc0, 2);
const GUEST_USER = id(0x05, 2);

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got code ${result.code}: ${result.detail ?? ''}`);
  return result.value;
}

function worldWith(
  model: 'M' | 'R',
  crypto: 'node' | 'noble' = 'node',
): { world: World; lockId: Uint8Array } {
  const world = new World({ seed: `lock-ble-${model}`, start: START, crypto });
  const options: LockOptions =
    model === 'R' ? { id: DOOR, model, wiring: 'fail-secure' } : { id: DOOR, model };
  world.addLock(options);
  return { world, lockId: world.lock(DOOR).identity.lockId };
}

/** A phone's key pair and its credential, signed by the World's authority unless `issuerSeed`. */
function phoneWith(
  world: World,
  overrides: Partial<Credential> = {},
  issuerSeed: Uint8Array = world.authority.seed,
): { key: KeyPair; credential: Credential; signed: Uint8Array } {
  const key = generateKeyPair(world.crypto);
  const credential: Credential = {
    id: RESIDENT_ID,
    user: RESIDENT_USER,
    phoneKey: key.publicKey,
    doors: [world.lock(DOOR).identity.lockId],
    notBefore: START - DAY,
    expires: START + 365 * DAY,
    epoch: 1,
    role: 'resident',
    ...overrides,
  };
  return { key, credential, signed: signCredential(credential, issuerSeed, world.crypto) };
}

/** A full bundle for the door, sealed with its secret. */
function sealedBundle(world: World, version: number, extra: Partial<SyncBundle> = {}): Uint8Array {
  const { lockId, lockSecret } = world.lock(DOOR).identity;
  const bundle: SyncBundle = {
    lockId,
    version,
    baseVersion: 0,
    kind: 'full',
    credentials: [],
    doorcodes: [],
    ...extra,
  };
  return sealSyncBundle(bundle, lockSecret, world.crypto);
}

function link(
  world: World,
  phone: { key: KeyPair; signed: Uint8Array },
  options: Partial<PhoneLinkOptions> = {},
): PhoneLink {
  return new PhoneLink(world, DOOR, { key: phone.key, credential: phone.signed, ...options });
}

/** The door's events of the given types, without their time and lock. */
function eventsOf(world: World, ...types: LockEvent['type'][]): object[] {
  return world
    .eventsOf(DOOR)
    .filter((event) => types.length === 0 || types.includes(event.type))
    .map(({ t: _t, lock: _lock, ...rest }) => rest);
}

describe('a new resident at an M, over BLE', () => {
  it.each([
    { mtu: 23, crypto: 'node' },
    { mtu: 247, crypto: 'node' },
    { mtu: 247, crypto: 'noble' },
  ] as const)(
    'is NOT_PROVISIONED, pushes the bundle, unlocks, pulls the audit (MTU $mtu, $crypto)',
    ({ mtu, crypto }) => {
      const { world, lockId } = worldWith('M', crypto);
      const resident = phoneWith(world);
      // Neighbours' credential ids make the bundle span more than one sync-push chunk.
      const neighbours = Array.from({ length: 200 }, (_, n) => id(0xc1, n));
      const sealed = sealedBundle(world, 1, {
        credentials: [...neighbours, resident.credential.id],
      });
      expect(sealed.length).toBeGreaterThan(SYNC_PUSH_CHUNK_BYTES);

      const phone = link(world, resident, { mtu });
      const status = unwrap(phone.handshake());
      expect(status).toMatchObject({ model: 'M', clockValid: true, flags: 0, syncVersion: 0 });
      expect(eventsOf(world)).toEqual([{ type: 'BLE_CONNECTED' }]);

      // The credential is authentic but no sync has delivered it yet.
      expect(unwrap(phone.request('unlock-request', {}))).toEqual({
        result: WIRE_ERRORS.NOT_PROVISIONED,
        auditSeq: 0,
      });
      expect(world.batteryLockState(DOOR).bolt.position).toBe('locked');

      const pushed = unwrap(phone.syncPush(sealed));
      expect(pushed).toEqual([
        { result: RESULT_OK, received: SYNC_PUSH_CHUNK_BYTES, syncVersion: 0 },
        { result: RESULT_OK, received: sealed.length, syncVersion: 1 },
      ]);
      expect(world.lock(DOOR).sync.version).toBe(1);

      expect(unwrap(phone.request('unlock-request', {}))).toEqual({
        result: RESULT_OK,
        auditSeq: 1,
      });
      world.advance(MODELS.M.boltTravelMs);
      expect(world.batteryLockState(DOOR).bolt.position).toBe('unlocked');

      const pulled = unwrap(phone.request('audit-pull-request', { from: 0 }));
      expect(pulled.more).toBe(false);
      const upload = unwrap(
        openAuditUpload(pulled.upload, world.lock(DOOR).identity.lockSecret, lockId, world.crypto),
      );
      const who = { credential: RESIDENT_ID, user: RESIDENT_USER };
      expect(upload.records).toEqual([
        { seq: 0, time: START, method: 'BLE', result: 'INCORRECT', reason: 0x2a, ...who },
        { seq: 1, time: START, method: 'BLE', result: 'SUCCESS', ...who },
      ]);
      expect(upload.records).toEqual(world.lock(DOOR).audit.records(0, 32));

      // Held for a while, then the phone leaves: the pack pays for the connection time.
      world.advance(4 * SECOND);
      const { battery } = MODELS.M;
      const before = (world.batteryPercent(DOOR) * battery.capacityUah) / 100;
      phone.disconnect();
      const held = world.now() - START;
      const drawn = before - world.batteryLockState(DOOR).battery.charge;
      expect(drawn).toBeCloseTo((battery.connectionUahPerSecond * held) / SECOND, 6);

      const ids = { credential: hex(RESIDENT_ID), user: hex(RESIDENT_USER) };
      expect(eventsOf(world)).toEqual([
        { type: 'BLE_CONNECTED' },
        { type: 'ACCESS', method: 'BLE', result: 'INCORRECT', reason: 'NOT_PROVISIONED', ...ids },
        { type: 'SYNC_APPLIED', version: 1 },
        { type: 'ACCESS', method: 'BLE', result: 'SUCCESS', ...ids },
        { type: 'BOLT', bolt: 'unlocking' },
        { type: 'BOLT', bolt: 'unlocked' },
        { type: 'UNLOCKED', by: 'grant', holdMs: MODELS.M.defaultAutoRelockMs },
        { type: 'BLE_DISCONNECTED' },
      ]);
      // Every fragment fit one notification at this MTU, and large messages took several.
      const payload = attPayloadBytes(mtu);
      expect(Math.max(...phone.fragments.map((f) => f.length))).toBeLessThanOrEqual(payload);
      expect(phone.fragments.length).toBeGreaterThan(5);
      expect(world.lock(DOOR).advertisement(world.now()).connectable).toBe(true);
    },
  );
});

describe('time sync over BLE after a battery swap (SECURITY.md item 20)', () => {
  it('reports NEEDS_UPDATE, takes a nonce anchor once, and lets a guest in only after it', () => {
    const { world, lockId } = worldWith('M');
    const guest = phoneWith(world, {
      id: GUEST_ID,
      user: GUEST_USER,
      role: 'guest',
      sharedBy: RESIDENT_USER,
    });
    unwrap(
      world.pushSealedBundle(DOOR, sealedBundle(world, 1, { credentials: [guest.credential.id] })),
    );
    world.advance(10 * MINUTE);
    world.swapBattery(DOOR);
    expect(world.lock(DOOR).clockReading(world.now())).toBeUndefined();

    const phone = link(world, guest);
    const status = unwrap(phone.handshake());
    expect(status.flags).toBe(STATUS_FLAGS.NEEDS_UPDATE);
    expect(status.clockValid).toBe(false);
    expect(status.syncVersion).toBe(1);

    // A guest's key is time-limited access: without a clock it fails closed.
    expect(unwrap(phone.request('unlock-request', {})).result).toBe(WIRE_ERRORS.CLOCK_INVALID);

    world.advance(2 * SECOND);
    const cloudTime = world.now();
    const anchor = signTimeAnchor(
      { lockId, time: cloudTime, nonce: status.nonce },
      world.authority.seed,
      world.crypto,
    );
    expect(unwrap(phone.request('time-sync-request', { anchor }))).toEqual({
      result: RESULT_OK,
      lockTime: cloudTime,
    });
    expect(world.lock(DOOR).clockReading(world.now())).toBe(cloudTime);
    // The nonce is spent: the same anchor again, in the same session, is a replay.
    expect(unwrap(phone.request('time-sync-request', { anchor }))).toEqual({
      result: WIRE_ERRORS.REPLAY,
    });
    // The session keeps its nonce; the status now says the clock is good.
    const after = unwrap(phone.request('status-request', {}));
    expect(after).toMatchObject({ flags: 0, clockValid: true, nonce: status.nonce });

    expect(unwrap(phone.request('unlock-request', {}))).toEqual({ result: RESULT_OK, auditSeq: 1 });
    world.advance(MODELS.M.boltTravelMs);
    expect(world.batteryLockState(DOOR).bolt.position).toBe('unlocked');

    const ids = { credential: hex(GUEST_ID), user: hex(GUEST_USER) };
    expect(
      eventsOf(world, 'NEEDS_UPDATE', 'TIME_SYNCED', 'TIME_SYNC_REFUSED', 'ACCESS', 'UNLOCKED'),
    ).toEqual([
      { type: 'NEEDS_UPDATE' },
      {
        type: 'ACCESS',
        method: 'BLE',
        result: 'UNKNOWN_TIME_FAILURE',
        reason: 'CLOCK_INVALID',
        ...ids,
      },
      { type: 'TIME_SYNCED' },
      { type: 'TIME_SYNC_REFUSED', reason: 'REPLAY' },
      { type: 'ACCESS', method: 'BLE', result: 'GUEST_SUCCESS', ...ids },
      { type: 'UNLOCKED', by: 'grant', holdMs: MODELS.M.defaultAutoRelockMs },
    ]);
    const who = { credential: GUEST_ID, user: GUEST_USER };
    expect(world.lock(DOOR).audit.records(0, 32)).toEqual([
      { seq: 0, method: 'BLE', result: 'UNKNOWN_TIME_FAILURE', reason: 0x51, ...who },
      { seq: 1, time: cloudTime, method: 'BLE', result: 'GUEST_SUCCESS', ...who },
    ]);
  });
});

describe('revocation over BLE (SECURITY.md item 18)', () => {
  it('refuses a revoked key, and an older bundle pushed again cannot bring it back', () => {
    const { world } = worldWith('M');
    const resident = phoneWith(world);
    const v1 = sealedBundle(world, 1, { credentials: [resident.credential.id] });
    const v2 = sealedBundle(world, 2, {
      credentials: [resident.credential.id],
      revocations: { version: 1, credentials: [RESIDENT_ID], dailySlots: [], doorcodes: [] },
    });
    const phone = link(world, resident);
    unwrap(phone.handshake());
    expect(unwrap(phone.syncPush(v1))).toEqual([
      { result: RESULT_OK, received: v1.length, syncVersion: 1 },
    ]);
    expect(unwrap(phone.request('unlock-request', {})).result).toBe(RESULT_OK);

    expect(unwrap(phone.syncPush(v2))).toEqual([
      { result: RESULT_OK, received: v2.length, syncVersion: 2 },
    ]);
    expect(unwrap(phone.request('unlock-request', {})).result).toBe(WIRE_ERRORS.REVOKED);

    // The old bundle, still authentic, is stale: the revocation stands.
    for (const again of [v1, v2]) {
      expect(unwrap(phone.syncPush(again))).toEqual([
        { result: WIRE_ERRORS.STALE, received: again.length, syncVersion: 2 },
      ]);
    }
    expect(unwrap(phone.request('unlock-request', {})).result).toBe(WIRE_ERRORS.REVOKED);
    expect(world.lock(DOOR).sync.version).toBe(2);

    expect(eventsOf(world, 'SYNC_APPLIED', 'SYNC_REFUSED', 'ACCESS')).toEqual([
      { type: 'SYNC_APPLIED', version: 1 },
      expect.objectContaining({ type: 'ACCESS', result: 'SUCCESS' }),
      { type: 'SYNC_APPLIED', version: 2 },
      expect.objectContaining({ type: 'ACCESS', result: 'INCORRECT', reason: 'REVOKED' }),
      { type: 'SYNC_REFUSED', reason: 'STALE' },
      { type: 'SYNC_REFUSED', reason: 'STALE' },
      expect.objectContaining({ type: 'ACCESS', result: 'INCORRECT', reason: 'REVOKED' }),
    ]);
    expect(
      world
        .lock(DOOR)
        .audit.records(0, 32)
        .map((r) => r.reason),
    ).toEqual([undefined, WIRE_ERRORS.REVOKED, WIRE_ERRORS.REVOKED]);
  });
});

describe('one connection at a time (SECURITY.md item 5, session.md §7.1)', () => {
  it('answers a second phone BUSY while one is held, and takes it once the first has left', () => {
    const { world } = worldWith('M');
    const first = phoneWith(world);
    const second = phoneWith(world, { id: GUEST_ID, user: GUEST_USER });
    unwrap(
      world.pushSealedBundle(
        DOOR,
        sealedBundle(world, 1, { credentials: [first.credential.id, second.credential.id] }),
      ),
    );
    const held = link(world, first);
    unwrap(held.handshake());
    expect(world.lock(DOOR).advertisement(world.now()).connectable).toBe(false);

    const busy = link(world, second);
    expect(busy.connect()).toBe(false);
    const refused = busy.startHandshake();
    expect(refused).toMatchObject({ ok: false, code: WIRE_ERRORS.BUSY });
    // The two-byte refusal, alone in one fragment, then the link is closed.
    expect(busy.fragments.map(hex)).toEqual(['800002ff09']);
    expect(busy.refusal).toBe(WIRE_ERRORS.BUSY);
    expect(busy.closedWith).toBe(WIRE_ERRORS.BUSY);

    // The held phone never noticed.
    expect(unwrap(held.request('unlock-request', {})).result).toBe(RESULT_OK);
    held.disconnect();
    expect(world.lock(DOOR).advertisement(world.now()).connectable).toBe(true);

    const retry = link(world, second);
    unwrap(retry.handshake());
    expect(unwrap(retry.request('unlock-request', {})).result).toBe(RESULT_OK);
    retry.disconnect();

    expect(eventsOf(world, 'BLE_CONNECTED', 'BLE_DISCONNECTED', 'ACCESS')).toEqual([
      { type: 'BLE_CONNECTED' },
      expect.objectContaining({ type: 'ACCESS', result: 'SUCCESS', credential: hex(RESIDENT_ID) }),
      { type: 'BLE_DISCONNECTED' },
      { type: 'BLE_CONNECTED' },
      expect.objectContaining({ type: 'ACCESS', result: 'SUCCESS', credential: hex(GUEST_ID) }),
      { type: 'BLE_DISCONNECTED' },
    ]);
  });
});

describe('credentials that are not the phone’s (SECURITY.md item 17)', () => {
  it('refuses a credential of another issuer with FAILED at admission: no access is decided', () => {
    const { world } = worldWith('M');
    const genuine = phoneWith(world);
    unwrap(
      world.pushSealedBundle(
        DOOR,
        sealedBundle(world, 1, { credentials: [genuine.credential.id] }),
      ),
    );
    // The same credential, re-signed by another authority with a longer life.
    const forged = {
      key: genuine.key,
      signed: signCredential(
        { ...genuine.credential, expires: START + 3650 * DAY },
        new Uint8Array(32).fill(0x42),
        world.crypto,
      ),
    };
    const phone = link(world, forged);
    const refused = phone.handshake();
    expect(refused).toMatchObject({ ok: false, code: WIRE_ERRORS.FAILED });
    expect(phone.refusal).toBe(WIRE_ERRORS.FAILED);
    expect(phone.closedWith).toBe(WIRE_ERRORS.AUTH_FAILED);
    expect(phone.request('unlock-request', {})).toMatchObject({ ok: false });

    expect(eventsOf(world, 'BLE_CONNECTED', 'BLE_DISCONNECTED', 'ACCESS', 'BOLT')).toEqual([
      { type: 'BLE_CONNECTED' },
      { type: 'BLE_DISCONNECTED', reason: 'AUTH_FAILED' },
    ]);
    expect(world.lock(DOOR).audit.head).toBe(0);
    expect(world.batteryLockState(DOOR).bolt.position).toBe('locked');
  });

  it('never admits on a listed id alone: the listed credential with a forged signature is refused', () => {
    const { world } = worldWith('M');
    const genuine = phoneWith(world);
    unwrap(
      world.pushSealedBundle(
        DOOR,
        sealedBundle(world, 1, { credentials: [genuine.credential.id] }),
      ),
    );
    expect(world.lock(DOOR).sync.hasCredential(genuine.credential.id)).toBe(true);
    // The genuine bytes with the signature's last byte changed: the same id, the same body.
    const signed = genuine.signed.map((b, i) => (i === genuine.signed.length - 1 ? b ^ 1 : b));
    expect(peekCredential(signed)).toEqual({ ok: true, value: genuine.credential });
    const phone = link(world, { key: genuine.key, signed });
    expect(phone.handshake()).toMatchObject({ ok: false, code: WIRE_ERRORS.FAILED });
    expect(phone.closedWith).toBe(WIRE_ERRORS.AUTH_FAILED);
    expect(eventsOf(world, 'ACCESS', 'BOLT')).toEqual([]);
    expect(world.lock(DOOR).audit.head).toBe(0);

    // The genuine credential, presented by its phone, still opens: only the signature differed.
    const owner = link(world, genuine);
    unwrap(owner.handshake());
    expect(unwrap(owner.request('unlock-request', {})).result).toBe(RESULT_OK);
  });

  it("refuses phone B presenting phone A's credential with AUTH_FAILED on unlock", () => {
    const { world } = worldWith('M');
    const owner = phoneWith(world);
    unwrap(
      world.pushSealedBundle(DOOR, sealedBundle(world, 1, { credentials: [owner.credential.id] })),
    );
    const thief = { key: generateKeyPair(world.crypto), signed: owner.signed };
    const phone = link(world, thief);
    unwrap(phone.handshake());
    expect(unwrap(phone.request('unlock-request', {}))).toEqual({
      result: WIRE_ERRORS.AUTH_FAILED,
      auditSeq: 0,
    });
    world.advance(MODELS.M.boltTravelMs);
    expect(world.batteryLockState(DOOR).bolt.position).toBe('locked');
    expect(eventsOf(world, 'ACCESS', 'BOLT', 'UNLOCKED')).toEqual([
      {
        type: 'ACCESS',
        method: 'BLE',
        result: 'INCORRECT',
        reason: 'AUTH_FAILED',
        credential: hex(RESIDENT_ID),
        user: hex(RESIDENT_USER),
      },
    ]);
    expect(world.lock(DOOR).audit.records(0, 32)).toEqual([
      {
        seq: 0,
        time: START,
        method: 'BLE',
        result: 'INCORRECT',
        reason: WIRE_ERRORS.AUTH_FAILED,
        credential: RESIDENT_ID,
        user: RESIDENT_USER,
      },
    ]);
  });
});

describe('BLE deadlines on the World scheduler', () => {
  const { handshakeTimeoutMs, idleTimeoutMs } = DEFAULT_SESSION_LIMITS;

  it('refuses a handshake left unfinished with TIMEOUT at its deadline', () => {
    const { world } = worldWith('M');
    const phone = link(world, phoneWith(world));
    expect(phone.connect()).toBe(true);
    unwrap(phone.startHandshake());
    world.advance(handshakeTimeoutMs - 1);
    expect(phone.closed).toBe(false);
    world.advance(1);
    expect(phone.refusal).toBe(WIRE_ERRORS.TIMEOUT);
    expect(phone.closedWith).toBe(WIRE_ERRORS.TIMEOUT);
    expect(phone.finishHandshake()).toMatchObject({ ok: false, code: WIRE_ERRORS.TIMEOUT });
    const disconnected = world.eventsOf(DOOR).filter((e) => e.type === 'BLE_DISCONNECTED');
    expect(disconnected).toEqual([
      { t: START + handshakeTimeoutMs, lock: DOOR, type: 'BLE_DISCONNECTED', reason: 'TIMEOUT' },
    ]);
    expect(world.lock(DOOR).advertisement(world.now()).connectable).toBe(true);
  });

  it('frees a phone that leaves mid-handshake at once; its deadline then does nothing', () => {
    const { world } = worldWith('M');
    const phone = link(world, phoneWith(world));
    expect(phone.connect()).toBe(true);
    unwrap(phone.startHandshake());
    phone.disconnect();
    expect(world.lock(DOOR).advertisement(world.now()).connectable).toBe(true);
    world.advance(handshakeTimeoutMs + idleTimeoutMs);
    expect(phone.refusal).toBeUndefined();
    expect(eventsOf(world, 'BLE_CONNECTED', 'BLE_DISCONNECTED')).toEqual([
      { type: 'BLE_CONNECTED' },
      { type: 'BLE_DISCONNECTED' },
    ]);
  });

  it('closes an idle session at its deadline without a word, and the pack pays for it', () => {
    const { world } = worldWith('M');
    const phone = link(world, phoneWith(world));
    unwrap(phone.handshake());
    unwrap(phone.request('status-request', {}));
    const notified = phone.fragments.length;
    const { battery } = MODELS.M;
    world.advance(idleTimeoutMs - 1);
    expect(phone.closed).toBe(false);
    const before = (world.batteryPercent(DOOR) * battery.capacityUah) / 100;
    world.advance(1);
    expect(phone.closedWith).toBe(WIRE_ERRORS.TIMEOUT);
    // Once admitted, nothing unauthenticated is sent: no refusal, not a byte.
    expect(phone.refusal).toBeUndefined();
    expect(phone.fragments.length).toBe(notified);
    expect(phone.request('unlock-request', {})).toMatchObject({ ok: false });
    expect(eventsOf(world, 'BLE_CONNECTED', 'BLE_DISCONNECTED', 'ACCESS')).toEqual([
      { type: 'BLE_CONNECTED' },
      { type: 'BLE_DISCONNECTED', reason: 'TIMEOUT' },
    ]);
    // The last millisecond's idle drain, then the connection's whole time.
    const idle = (battery.idleUahPerHour + battery.advertisingUahPerHour) / 3_600_000;
    const drawn = before - idle - world.batteryLockState(DOOR).battery.charge;
    expect(drawn).toBeCloseTo((battery.connectionUahPerSecond * idleTimeoutMs) / SECOND, 6);
  });
});

describe('a power cut on an R during a connection', () => {
  it('drops the link, refuses connections while dark, and serves the synced key after boot', () => {
    const { world } = worldWith('R');
    const resident = phoneWith(world);
    unwrap(
      world.pushSealedBundle(
        DOOR,
        sealedBundle(world, 1, { credentials: [resident.credential.id] }),
      ),
    );
    const phone = link(world, resident);
    unwrap(phone.handshake());
    expect(unwrap(phone.request('unlock-request', {})).result).toBe(RESULT_OK);
    expect(world.controllerState(DOOR).relay).toBe('unlocked');

    world.advance(SECOND);
    world.cutPower(DOOR);
    // The radio went dark: the phone's transport sees the link drop, so its next request fails.
    world.advance(0);
    expect(phone.closed).toBe(true);
    expect(phone.request('unlock-request', {})).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.FAILED,
    });
    const dark = link(world, resident);
    expect(dark.connect()).toBe(false);
    expect(dark.closedWith).toBe(WIRE_ERRORS.FAILED);
    expect(dark.fragments).toEqual([]);

    world.advance(MINUTE);
    world.restorePower(DOOR);
    const next = link(world, resident);
    const status = unwrap(next.handshake());
    expect(status).toMatchObject({ clockValid: false, flags: STATUS_FLAGS.NEEDS_UPDATE });
    // The stale link going away now changes nothing for the one held.
    phone.disconnect();
    // A resident's key is permanent access (§3): the cache survived the outage in flash.
    expect(unwrap(next.request('unlock-request', {})).result).toBe(RESULT_OK);
    expect(world.controllerState(DOOR).relay).toBe('unlocked');

    expect(
      eventsOf(world, 'BLE_CONNECTED', 'BLE_DISCONNECTED', 'POWER_LOST', 'POWER_RESTORED'),
    ).toEqual([
      { type: 'BLE_CONNECTED' },
      { type: 'POWER_LOST', relay: 'locked' },
      { type: 'BLE_DISCONNECTED', reason: 'FAILED' },
      { type: 'POWER_RESTORED' },
      { type: 'BLE_CONNECTED' },
    ]);
  });
});

describe('a power cut in a flash write during a request (ARCHITECTURE.md §3 "Power")', () => {
  it('on an R: the unlock whose audit write is cut is never answered, and the relay stays locked', () => {
    const { world } = worldWith('R');
    const resident = phoneWith(world);
    unwrap(
      world.pushSealedBundle(
        DOOR,
        sealedBundle(world, 1, { credentials: [resident.credential.id] }),
      ),
    );
    const phone = link(world, resident);
    unwrap(phone.handshake());
    const { flash } = world.lock(DOOR);
    world.injectFlashFault(DOOR, {
      kind: 'power-cut',
      atWrite: flash.writes + 1,
      landed: 0,
      tail: 'erased',
    });
    const notified = phone.fragments.length;
    // The lock went dark in the write: the link dropped and not a byte went on the air after it.
    expect(phone.request('unlock-request', {})).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.FAILED,
    });
    expect(phone.fragments.length).toBe(notified);
    expect(world.lock(DOOR).powered).toBe(false);
    expect(world.controllerState(DOOR).relay).toBe('locked');
    expect(eventsOf(world, 'BLE_CONNECTED', 'BLE_DISCONNECTED', 'POWER_LOST', 'RELAY')).toEqual([
      { type: 'BLE_CONNECTED' },
      { type: 'POWER_LOST', relay: 'locked' },
      { type: 'BLE_DISCONNECTED', reason: 'FAILED' },
    ]);
  });

  it('on an M: a pushed bundle whose commit is cut reboots the lock, unanswered and unapplied', () => {
    const { world } = worldWith('M');
    const resident = phoneWith(world);
    const phone = link(world, resident);
    unwrap(phone.handshake());
    const { flash } = world.lock(DOOR);
    world.injectFlashFault(DOOR, {
      kind: 'power-cut',
      atWrite: flash.writes + 1,
      landed: 0,
      tail: 'old',
    });
    const notified = phone.fragments.length;
    const sealed = sealedBundle(world, 1, { credentials: [resident.credential.id] });
    expect(phone.syncPush(sealed)).toMatchObject({ ok: false, code: WIRE_ERRORS.FAILED });
    expect(phone.fragments.length).toBe(notified);
    expect(world.lock(DOOR).sync.version).toBe(0);
    expect(world.lock(DOOR).powered).toBe(true);
    expect(
      eventsOf(world, 'BLE_CONNECTED', 'BLE_DISCONNECTED', 'SYNC_APPLIED', 'POWER_RESTORED'),
    ).toEqual([
      { type: 'BLE_CONNECTED' },
      { type: 'BLE_DISCONNECTED', reason: 'FAILED' },
      { type: 'POWER_RESTORED' },
    ]);
    // The rebooted lock takes the next phone, and the bundle.
    const next = link(world, resident);
    unwrap(next.handshake());
    expect(unwrap(next.syncPush(sealed))).toEqual([
      { result: RESULT_OK, received: sealed.length, syncVersion: 1 },
    ]);
  });
});

describe('passage mode over BLE (SECURITY.md item 19)', () => {
  it("is a manager's: a resident is FORBIDDEN, the manager holds the R's relay open and ends it", () => {
    const { world } = worldWith('R');
    const resident = phoneWith(world);
    const manager = phoneWith(world, { id: GUEST_ID, user: GUEST_USER, role: 'manager' });
    unwrap(
      world.pushSealedBundle(
        DOOR,
        sealedBundle(world, 1, { credentials: [resident.credential.id, manager.credential.id] }),
      ),
    );
    const residentPhone = link(world, resident);
    unwrap(residentPhone.handshake());
    expect(unwrap(residentPhone.request('passage-request', { on: true })).result).toBe(
      WIRE_ERRORS.FORBIDDEN,
    );
    residentPhone.disconnect();
    expect(world.controllerState(DOOR).relay).toBe('locked');

    const managerPhone = link(world, manager);
    unwrap(managerPhone.handshake());
    expect(unwrap(managerPhone.request('passage-request', { on: true })).result).toBe(RESULT_OK);
    managerPhone.disconnect();
    // Held open well past any unlock's hold time, with no phone near.
    world.advance(10 * MINUTE);
    expect(world.controllerState(DOOR).relay).toBe('unlocked');
    const again = link(world, manager);
    unwrap(again.handshake());
    expect(unwrap(again.request('passage-request', { on: false })).result).toBe(RESULT_OK);
    expect(world.controllerState(DOOR).relay).toBe('locked');

    expect(eventsOf(world, 'ACCESS', 'PASSAGE_STARTED', 'PASSAGE_ENDED')).toEqual([
      expect.objectContaining({ type: 'ACCESS', result: 'INCORRECT', reason: 'FORBIDDEN' }),
      expect.objectContaining({ type: 'ACCESS', result: 'SUCCESS', credential: hex(GUEST_ID) }),
      { type: 'PASSAGE_STARTED', by: 'manager' },
      expect.objectContaining({ type: 'ACCESS', credential: hex(GUEST_ID) }),
      { type: 'PASSAGE_ENDED', by: 'manager' },
    ]);
  });
});

describe('determinism (ARCHITECTURE.md §2)', () => {
  it('gives the same log, byte for byte, for the same seed and the same phone actions', () => {
    const run = (): string => {
      const { world } = worldWith('M');
      const resident = phoneWith(world);
      const phone = link(world, resident);
      unwrap(phone.handshake());
      unwrap(phone.syncPush(sealedBundle(world, 1, { credentials: [resident.credential.id] })));
      unwrap(phone.request('unlock-request', {}));
      world.advance(5 * SECOND);
      unwrap(phone.request('audit-pull-request', { from: 0 }));
      phone.disconnect();
      world.advance(MINUTE);
      return world.toJsonLines() + phone.fragments.map(hex).join('\n');
    };
    const first = run();
    expect(first).toContain('"type":"BLE_DISCONNECTED"');
    expect(run()).toBe(first);
  });
});
