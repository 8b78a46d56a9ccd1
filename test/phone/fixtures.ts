// Stand-ins for the phone engine's unit tests: a minimal central on a World (locks in range,
// advertisements read from the firmware, one latency for every hop, notifications and closes
// delivered on the scheduler, never inside the lock's call), a driver that runs the scheduler one
// event at a time with the microtask queue drained between events, and a cloud that signs with
// the World's authority. The real virtual radio, async driver and cloud replace them in the
// end-to-end tests.
import type { BleLink } from '../../firmware-sim/ble-server.js';
import { decodeAdvertisement } from '../../protocol/advertisement.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import { signCredential } from '../../protocol/formats/credential.js';
import type { Credential } from '../../protocol/formats/credential.js';
import { sealSyncBundle } from '../../protocol/formats/sync-bundle.js';
import type { SyncBundle } from '../../protocol/formats/sync-bundle.js';
import { signTimeAnchor } from '../../protocol/formats/time-anchor.js';
import type { DoorEntry, PhoneCloud, PhonePackage } from '../../src/phone/cloud-api.js';
import { lockKey } from '../../src/phone/lock-cache.js';
import { Phone } from '../../src/phone/phone.js';
import type { PhoneOptions } from '../../src/phone/phone.js';
import type { World } from '../../src/sim/world.js';
import type { CentralTransport, GattConnection, ScanResult } from '../../src/transport/types.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Monday 2026-03-02 15:00 UTC. */
export const START = Date.UTC(2026, 2, 2, 15);

/** Runs `world` until `promise` settles, draining microtasks between scheduler events. */
export async function settle<T>(
  world: World,
  promise: Promise<T>,
  limitMs = 10 * 60_000,
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  const limit = world.now() + limitMs;
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (settled) return watched;
    const next = world.scheduler.nextTime;
    if (next === undefined || next > limit) throw new Error('settle: nothing left to run');
    world.scheduler.runNext();
  }
}

class RadioError extends Error {
  constructor(readonly code: 'OUT_OF_RANGE' | 'TIMEOUT' | 'DISCONNECTED' | 'NOT_FOUND') {
    super(code);
  }
}

/** The ATT_MTU the stand-in locks support. */
const LOCK_MTU = 247;

export class TestRadio {
  readonly world: World;
  readonly latencyMs: number;
  readonly #outOfRange = new Set<string>();
  /** Connections made per lock, for assertions. */
  readonly connections = new Map<string, number>();

  constructor(world: World, latencyMs = 5) {
    this.world = world;
    this.latencyMs = latencyMs;
  }

  setInRange(lock: string, inRange: boolean): void {
    if (inRange) this.#outOfRange.delete(lock);
    else this.#outOfRange.add(lock);
  }

  central(): CentralTransport {
    const world = this.world;
    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => world.scheduler.at(world.now() + ms, () => resolve()));
    const later = (call: () => void): void => {
      world.scheduler.at(world.now() + this.latencyMs, call);
    };
    return {
      now: () => world.now(),
      sleep,
      scan: async (durationMs) => {
        await sleep(durationMs);
        const results: ScanResult[] = [];
        for (const id of world.lockIds()) {
          if (this.#outOfRange.has(id)) continue;
          const lock = world.lock(id);
          if (!lock.powered) continue;
          const advert = lock.advertisement(world.now());
          const decoded = decodeAdvertisement(advert.advertisingData);
          if (!decoded.ok) continue;
          results.push({
            address: id,
            rssi: -60,
            advertisement: decoded.value,
            connectable: advert.connectable,
          });
        }
        return results;
      },
      connect: async (address, options) => {
        if (this.#outOfRange.has(address)) {
          await sleep(options.timeoutMs);
          throw new RadioError('TIMEOUT');
        }
        await sleep(this.latencyMs);
        this.connections.set(address, (this.connections.get(address) ?? 0) + 1);
        return this.#connection(address, Math.min(options.mtu, LOCK_MTU), later);
      },
    };
  }

  #connection(address: string, mtu: number, later: (call: () => void) => void): GattConnection {
    const world = this.world;
    const notifyListeners: ((value: Uint8Array) => void)[] = [];
    const closeListeners: ((reason: 'remote' | 'local' | 'supervision-timeout') => void)[] = [];
    let open = true;
    const link: BleLink = {
      notify: (fragment) => {
        const copy = fragment.slice();
        later(() => {
          if (open) for (const listener of notifyListeners) listener(copy);
        });
      },
      close: () => {
        later(() => {
          if (!open) return;
          open = false;
          for (const listener of closeListeners) listener('remote');
        });
      },
    };
    world.withLock(address, (lock, now, out) => lock.connect(link, mtu, now, out));
    return {
      address,
      mtu,
      write: (value) => {
        if (!open) return Promise.reject(new RadioError('DISCONNECTED'));
        const copy = value.slice();
        later(() => {
          if (open) world.withLock(address, (lock, now, out) => lock.write(link, copy, now, out));
        });
        return Promise.resolve();
      },
      onNotify: (listener) => notifyListeners.push(listener),
      onDisconnect: (listener) => closeListeners.push(listener),
      disconnect: () => {
        if (open) {
          open = false;
          later(() => world.withLock(address, (lock, now, out) => lock.disconnect(link, now, out)));
        }
        return Promise.resolve();
      },
    };
  }
}

/** A credential's fields for a door, signed by the World's authority. */
export interface Grant {
  readonly id: Uint8Array;
  readonly user: Uint8Array;
  readonly role?: Credential['role'];
  readonly notBefore?: number;
  readonly expires?: number;
}

export const ids = (tag: number, n: number): Uint8Array =>
  Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? tag : i === 15 ? n : 0));

/**
 * A cloud for one World: per user a token, per (user, door) a grant; bundles built on demand from
 * what was provisioned; the audit uploads it took. Time anchors are signed at world time.
 */
export class TestCloud implements PhoneCloud {
  readonly world: World;
  readonly grants = new Map<string, Map<string, Grant>>();
  /** Per door: the credentials the cloud has put in its bundle, the version, revocations. */
  readonly bundles = new Map<string, SyncBundle>();
  readonly audit: Uint8Array[] = [];
  /** Window anchors handed out with packages, per door. */
  readonly windowAnchors = new Map<string, Uint8Array>();
  readonly directoryOverrides = new Map<string, Partial<DoorEntry>>();
  nonceAnchors = 0;

  constructor(world: World) {
    this.world = world;
  }

  grant(token: string, door: string, grant: Grant): void {
    const doors = this.grants.get(token) ?? new Map<string, Grant>();
    doors.set(door, grant);
    this.grants.set(token, doors);
  }

  signed(grant: Grant, door: string, phoneKey: Uint8Array): Uint8Array {
    const { world } = this;
    const credential: Credential = {
      id: grant.id,
      user: grant.user,
      phoneKey,
      doors: [world.lock(door).identity.lockId],
      notBefore: grant.notBefore ?? START - DAY,
      expires: grant.expires ?? START + 365 * DAY,
      epoch: 1,
      role: grant.role ?? 'resident',
      ...(grant.role === 'guest' ? { sharedBy: ids(0x05, 99) } : {}),
    };
    return signCredential(credential, world.authority.seed, world.crypto);
  }

  /** Publishes a full bundle for `door` listing the credential ids `credentials`, one version up. */
  publish(door: string, credentials: Uint8Array[], revoked: Uint8Array[] = []): number {
    const lockId = this.world.lock(door).identity.lockId;
    const version = (this.bundles.get(door)?.version ?? 0) + 1;
    this.bundles.set(door, {
      lockId,
      version,
      baseVersion: 0,
      kind: 'full',
      credentials,
      doorcodes: [],
      ...(revoked.length === 0
        ? {}
        : { revocations: { version, credentials: revoked, dailySlots: [], doorcodes: [] } }),
    });
    return version;
  }

  sealed(door: string): Uint8Array | undefined {
    const bundle = this.bundles.get(door);
    const { lockSecret } = this.world.lock(door).identity;
    return bundle === undefined ? undefined : sealSyncBundle(bundle, lockSecret, this.world.crypto);
  }

  phoneSync(token: string, phoneKey: Uint8Array): PhonePackage {
    const doors = this.grants.get(token);
    if (doors === undefined) throw new RangeError('unknown token');
    const credentialByLock = new Map<string, Uint8Array>();
    const directory: DoorEntry[] = [];
    const bundles = new Map<string, Uint8Array>();
    const timeAnchors = new Map<string, Uint8Array>();
    for (const [door, grant] of doors) {
      const identity = this.world.lock(door).identity;
      credentialByLock.set(lockKey(identity.lockId), this.signed(grant, door, phoneKey));
      directory.push({
        doorId: door,
        lockId: identity.lockId,
        staticPublicKey: identity.staticKey.publicKey,
        model: this.world.lock(door).actuator.model,
        name: door,
        ...this.directoryOverrides.get(door),
      });
      const sealed = this.sealed(door);
      if (sealed !== undefined) bundles.set(lockKey(identity.lockId), sealed);
      const anchor = this.windowAnchors.get(door);
      if (anchor !== undefined) timeAnchors.set(lockKey(identity.lockId), anchor);
    }
    return { credentialByLock, directory, bundles, timeAnchors };
  }

  /** A window anchor for `door` around world time, included in later packages. */
  issueWindowAnchor(door: string, from: number, until: number): void {
    const { world } = this;
    const anchor = signTimeAnchor(
      {
        lockId: world.lock(door).identity.lockId,
        time: world.now(),
        validFrom: from,
        validUntil: until,
      },
      world.authority.seed,
      world.crypto,
    );
    this.windowAnchors.set(door, anchor);
  }

  timeAnchor(door: string, nonce: Uint8Array): Uint8Array {
    const { world } = this;
    this.nonceAnchors++;
    return signTimeAnchor(
      { lockId: world.lock(door).identity.lockId, time: world.now(), nonce },
      world.authority.seed,
      world.crypto,
    );
  }

  ingestAudit(upload: Uint8Array): { accepted: number } {
    this.audit.push(upload);
    return { accepted: 1 };
  }
}

/** A phone on `radio`, its randomness forked from the World's by `name`. */
export function phoneOn(
  radio: TestRadio,
  name: string,
  options: Partial<Omit<PhoneOptions, 'transport' | 'crypto' | 'random'>> = {},
): Phone {
  const { world } = radio;
  return new Phone({
    transport: radio.central(),
    crypto: createNodeCrypto(world.random.fork(`phone:${name}`).bytes),
    random: world.random.fork(`phone:${name}:jitter`).bytes,
    ...options,
  });
}
