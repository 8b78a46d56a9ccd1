// A Lock's BLE server role at full fidelity (ARCHITECTURE.md §3 "Mobile keys", §4, §7), end to end
// in a World: real phones (Noise XK, fragments at the MTU, refusals of protocol/spec/session.md
// §7.1) reach firmware-sim/lock.ts through `world.withLock`, and the lock's one authorization
// function, sync store, time sync, audit ring and actuator answer. Each scenario checks the wire
// results, the World's event log and the audit ring (SECURITY.md items 5, 16–18, 20).
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { openAuditUpload } from '../../protocol/formats/audit-upload.js';
import { signCredential } from '../../protocol/formats/credential.js';
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
  world.addLock({ id: DOOR, model, wiring: 'fail-secure' } as LockOptions);
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
      // Neighbours' credentials make the bundle span more than one sync-push chunk.
      const neighbours = Array.from(
        { length: 16 },
        (_, n) => phoneWith(world, { id: id(0xc1, n), user: id(0x06, n) }).signed,
      );
      const sealed = sealedBundle(world, 1, { credentials: [...neighbours, resident.signed] });
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
