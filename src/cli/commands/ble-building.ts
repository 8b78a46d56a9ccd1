/**
 * The demo building behind `keyway ble` (ARCHITECTURE.md §6 "Transports", "hardware-in-the-loop
 * testers"): one door in a Cloud, its lock commissioned in a World whose clock is the wall
 * clock's (real Bluetooth runs on real time, `src/sim/realtime.ts`), synced once as an installer
 * would, and a demo resident holding a key to it. The same building serves the CLI, the BLE
 * end-to-end tests and `bench/ble`.
 *
 * Two processes on two adapters (`ble lock`, `ble unlock`) share no cloud, so the lock's side
 * writes a provisioning file: the phone package the cloud made for the resident's phone, and
 * that phone's static key pair, in JSON with hex bytes. It is demo material for a demo door
 * (SECURITY.md: a key pair and a credential in a file are as good as the phone that holds them):
 * the file is created readable by its owner only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { LockInfo, LockModel } from '../../../protocol/gatt.js';
import type { KeyPair } from '../../../protocol/noise/handshake-xk.js';
import { SUPPORTED_VERSIONS } from '../../../protocol/noise/prologue.js';
import { R_MODEL } from '../../../firmware-sim/models.js';
import { Cloud } from '../../cloud/cloud.js';
import type { Door } from '../../cloud/cloud.js';
import type { DoorModel } from '../../cloud/repository.js';
import { InputError } from '../../core/errors.js';
import type { DoorEntry, PhoneCloud, PhonePackage } from '../../phone/cloud-api.js';
import { RealTimeDriver } from '../../sim/realtime.js';
import { World } from '../../sim/world.js';

/** The models `ble lock` runs (every lock model of the catalogue). */
export const BLE_LOCK_MODELS: readonly DoorModel[] = ['M', 'C', 'C2', 'R'];

export interface BleBuildingOptions {
  readonly model: DoorModel;
  readonly doorName: string;
  /** The World's seed: the door's keys and ids follow from it. */
  readonly seed: string;
  /** The wall clock's present, ms: the World starts there. */
  readonly now: number;
  readonly timeZone?: string;
}

export interface BleBuilding {
  readonly world: World;
  readonly cloud: Cloud;
  readonly door: Door;
  /** The demo resident's user id: the phone's token. */
  readonly residentId: string;
  /**
   * Runs the World on the wall clock: the caller starts it for real Bluetooth (the virtual radio
   * runs the same World on virtual time instead) and stops it at the end.
   */
  readonly driver: RealTimeDriver;
  /** What the lock's `info` characteristic says. */
  readonly info: LockInfo;
}

/** A door, its lock synced at commissioning, and a resident with a key to it. */
export function bleBuilding(options: BleBuildingOptions): BleBuilding {
  const world = new World({ seed: options.seed, start: options.now });
  const cloud = new Cloud({
    timeZone: options.timeZone ?? 'America/New_York',
    crypto: world.crypto,
    random: world.random.fork('cloud').bytes,
    clock: () => world.now(),
  });
  const door = cloud.addDoor({ name: options.doorName, model: options.model });
  if (door.model === 'R') {
    world.addLock({ id: door.id, model: 'R', wiring: 'fail-secure', ...door.provisioning });
  } else {
    world.addLock({ id: door.id, model: door.model, ...door.provisioning });
  }
  const installed = world.pushSealedBundle(door.id, cloud.bundleFor(door.id).sealed);
  if (!installed.ok) throw new Error(`commissioning sync refused: ${installed.code}`);
  cloud.acknowledgeBundle(door.id, installed.value);
  const resident = cloud.addUser({ name: 'Demo Resident', role: 'resident' });
  const key = cloud.createKey({ doors: [door.id] });
  cloud.shareKey(key.id, resident.id);
  const driver = new RealTimeDriver(world);
  return { world, cloud, door, residentId: resident.id, driver, info: lockInfoOf(world, door.id) };
}

/** The `info` value of World lock `id`: the model as the vendor reports it, firmware, id. */
export function lockInfoOf(world: World, id: string): LockInfo {
  const lock = world.lock(id);
  const { actuator } = lock;
  const model: LockModel = actuator.model === 'R' ? 'R2' : actuator.model;
  const firmwareVersion = actuator.model === 'R' ? R_MODEL.firmware : actuator.config.spec.firmware;
  return {
    model,
    firmwareVersion,
    lockId: lock.identity.lockId,
    protocolVersions: SUPPORTED_VERSIONS,
  };
}

const PROVISION_FORMAT = 'keyway-ble-provision/1';

/** What `ble unlock --provision FILE` needs: the phone's key, its token, its package. */
export interface PhoneProvision {
  readonly token: string;
  readonly staticKey: KeyPair;
  readonly package: PhonePackage;
}

/** Registers a phone key for the resident and takes the package the cloud makes for it. */
export function provisionPhone(building: BleBuilding, staticKey: KeyPair): PhoneProvision {
  building.cloud.registerPhone(building.residentId, staticKey.publicKey);
  return {
    token: building.residentId,
    staticKey,
    package: building.cloud.phoneSync(building.residentId, staticKey.publicKey),
  };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const hexMap = (map: ReadonlyMap<string, Uint8Array>): Record<string, string> =>
  Object.fromEntries([...map].map(([k, v]) => [k, hex(v)]));

/** Writes `provision` to `path` as JSON, readable by its owner only. */
export function writeProvision(path: string, provision: PhoneProvision): void {
  const pkg = provision.package;
  const json = {
    format: PROVISION_FORMAT,
    token: provision.token,
    staticKey: {
      publicKey: hex(provision.staticKey.publicKey),
      secretKey: hex(provision.staticKey.secretKey),
    },
    directory: pkg.directory.map((door) => ({
      ...door,
      lockId: hex(door.lockId),
      staticPublicKey: hex(door.staticPublicKey),
    })),
    credentialByLock: hexMap(pkg.credentialByLock),
    bundles: hexMap(pkg.bundles),
    deltas: Object.fromEntries(
      [...(pkg.deltas ?? [])].map(([k, d]) => [
        k,
        { baseVersion: d.baseVersion, sealed: hex(d.sealed) },
      ]),
    ),
    timeAnchors: hexMap(pkg.timeAnchors),
  };
  writeFileSync(path, JSON.stringify(json, null, 2) + '\n', { mode: 0o600 });
}

function bytesOf(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !/^([0-9a-f]{2})*$/.test(value)) {
    throw new InputError('--provision', `${field}: expected hex bytes`);
  }
  return Uint8Array.from(Buffer.from(value, 'hex'));
}

function recordOf(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError('--provision', `${field}: expected an object`);
  }
  return value as Record<string, unknown>;
}

function bytesMap(value: unknown, field: string): Map<string, Uint8Array> {
  return new Map(
    Object.entries(recordOf(value, field)).map(([k, v]) => [k, bytesOf(v, `${field}.${k}`)]),
  );
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new InputError('--provision', `${field}: expected a string`);
  return value;
}

/** Reads a file `writeProvision` wrote; `InputError` (naming `--provision`) on anything else. */
export function readProvision(path: string): PhoneProvision {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const why = error instanceof SyntaxError ? 'not JSON' : 'cannot be read';
    throw new InputError('--provision', `${path} ${why}`);
  }
  const file = recordOf(parsed, 'file');
  if (file['format'] !== PROVISION_FORMAT) {
    throw new InputError('--provision', `${path} is not a keyway provisioning file`);
  }
  const key = recordOf(file['staticKey'], 'staticKey');
  if (!Array.isArray(file['directory'])) {
    throw new InputError('--provision', 'directory: expected a list');
  }
  const directory: DoorEntry[] = file['directory'].map((entry: unknown, i) => {
    const door = recordOf(entry, `directory[${i}]`);
    return {
      doorId: text(door['doorId'], 'doorId'),
      lockId: bytesOf(door['lockId'], 'lockId'),
      staticPublicKey: bytesOf(door['staticPublicKey'], 'staticPublicKey'),
      model: text(door['model'], 'model'),
      name: text(door['name'], 'name'),
    };
  });
  const deltas = new Map(
    Object.entries(recordOf(file['deltas'], 'deltas')).map(([k, v]) => {
      const delta = recordOf(v, `deltas.${k}`);
      const baseVersion = delta['baseVersion'];
      if (typeof baseVersion !== 'number') {
        throw new InputError('--provision', `deltas.${k}.baseVersion: expected a number`);
      }
      return [k, { baseVersion, sealed: bytesOf(delta['sealed'], `deltas.${k}.sealed`) }];
    }),
  );
  return {
    token: text(file['token'], 'token'),
    staticKey: {
      publicKey: bytesOf(key['publicKey'], 'staticKey.publicKey'),
      secretKey: bytesOf(key['secretKey'], 'staticKey.secretKey'),
    },
    package: {
      directory,
      credentialByLock: bytesMap(file['credentialByLock'], 'credentialByLock'),
      bundles: bytesMap(file['bundles'], 'bundles'),
      deltas,
      timeAnchors: bytesMap(file['timeAnchors'], 'timeAnchors'),
    },
  };
}

/**
 * The cloud as a phone on its own sees it with only a provisioning file: the package it holds,
 * and no network for the rest (time anchors come from the package, audit uploads stay queued).
 */
export function provisionedCloud(provision: PhoneProvision): PhoneCloud {
  const offline = (): never => {
    throw new Error('no network: this phone only has its provisioning file');
  };
  return {
    phoneSync: () => provision.package,
    timeAnchor: offline,
    ingestAudit: offline,
  };
}
