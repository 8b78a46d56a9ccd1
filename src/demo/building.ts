/**
 * The demo building (`keyway demo`, issue 6): one property commissioned through the real cloud
 * (`src/cloud`), its locks in a World (`src/sim/world.ts`) on the virtual radio
 * (`src/transport/virtual-radio.ts`), and the people who live in it with their phones
 * (`src/phone/phone.ts`):
 *
 * - the front door: an R (ARCHITECTURE.md §3), fail-secure, with a door sensor, a REX sensor and
 *   a keypad, served by the hub (`building-hub.ts`);
 * - `UNIT_FLOORS × UNITS_PER_FLOOR` unit doors, each an M; the gym (C), the roof (C2) and the
 *   bike room (C2) as amenity doors, also served by the hub;
 * - residents with phones whose keys open the front door, their unit and the amenities; guests
 *   who come on daily codes (§5); a vendor whose key holds on weekday mornings only; a manager
 *   who receives the Door State Notifications.
 *
 * Everything is drawn from the World's seed, so the same seed builds the same building byte for
 * byte. The routines of a week are in `week.ts`.
 */
import type { Effects } from '../../firmware-sim/effects.js';
import { createDoorcodeKernel } from '../../protocol/doorcode/kernel.js';
import type { WeeklyWindow } from '../../protocol/formats/common.js';
import { Cloud } from '../cloud/cloud.js';
import type { Door } from '../cloud/cloud.js';
import { createNodeCrypto } from '../core/node-crypto-provider.js';
import type { PhoneCloud } from '../phone/cloud-api.js';
import { Phone } from '../phone/phone.js';
import type { UnlockResult } from '../phone/unlock-events.js';
import { World } from '../sim/world.js';
import { VirtualRadio } from '../transport/virtual-radio.js';
import type { Position, VirtualCentral } from '../transport/virtual-radio.js';
import { BuildingHub } from './building-hub.js';

export const DEMO_TIME_ZONE = 'America/New_York';
export const UNIT_FLOORS = 5;
export const UNITS_PER_FLOOR = 4;
/** Two residents in each unit: about forty people with phones. */
export const RESIDENTS_PER_UNIT = 2;
/** The front door's world id; every other door is named `unit-<floor><letter>` or by amenity. */
export const FRONT_DOOR = 'front';
export const AMENITIES = [
  { id: 'gym', name: 'Gym', model: 'C' },
  { id: 'roof', name: 'Roof deck', model: 'C2' },
  { id: 'bike-room', name: 'Bike room', model: 'C2' },
] as const;
export type AmenityId = (typeof AMENITIES)[number]['id'];

/** Weekday mornings, 07:00 to 12:00 local: Monday..Friday are ISO weekdays 0..4. */
export const VENDOR_WINDOW: WeeklyWindow = { days: 0b0011111, start: 7 * 60, end: 12 * 60 };

/** How long the vendor's key lasts from the start. */
const VENDOR_CONTRACT_MS = 90 * 24 * 3_600_000;

/** One door of the building: its cloud record and where its lock hangs. */
export interface BuildingDoor {
  /** The lock's id in the World and on the radio (readable: `front`, `unit-3b`, `gym`). */
  readonly id: string;
  readonly name: string;
  readonly model: 'R' | 'M' | 'C' | 'C2';
  readonly cloud: Door;
  readonly position: Position;
}

/** Someone with a phone: a resident, or the vendor. */
export interface PhoneHolder {
  readonly name: string;
  readonly userId: string;
  readonly phone: Phone;
  readonly transport: VirtualCentral;
  /** The resident's unit door, if any. */
  readonly unit?: BuildingDoor;
}

export interface Building {
  readonly world: World;
  readonly cloud: Cloud;
  readonly radio: VirtualRadio<Effects>;
  readonly hub: BuildingHub;
  readonly front: BuildingDoor;
  readonly units: readonly BuildingDoor[];
  readonly amenities: ReadonlyMap<AmenityId, BuildingDoor>;
  /** Every door, by world id. */
  readonly doors: ReadonlyMap<string, BuildingDoor>;
  readonly residents: readonly PhoneHolder[];
  readonly vendor: PhoneHolder;
  readonly managerId: string;
  /** Every phone unlock's result, in the order they ended, with whose phone it was. */
  readonly unlocks: { readonly holder: string; readonly result: UnlockResult }[];
}

export interface BuildingOptions {
  readonly seed: number;
  /** World time at the start, ms UTC. */
  readonly start: number;
}

/** Metres between floors on the radio's plane: far enough that floors do not hear each other. */
const FLOOR_SPACING_M = 40;
const UNIT_SPACING_M = 6;

/**
 * Commissions the building and registers everyone's phone. Phones download their packages in
 * `week.ts`, on virtual time, since a download is async.
 */
export function createBuilding(options: BuildingOptions): Building {
  const world = new World({ seed: `keyway-demo-${options.seed}`, start: options.start });
  const cloud = new Cloud({
    timeZone: DEMO_TIME_ZONE,
    crypto: world.crypto,
    random: world.random.fork('cloud').bytes,
    clock: () => world.now(),
    deriver: createDoorcodeKernel(),
  });
  const radio = new VirtualRadio<Effects>(world, {});
  const doors = new Map<string, BuildingDoor>();
  const commission = (
    id: string,
    name: string,
    model: BuildingDoor['model'],
    position: Position,
  ): BuildingDoor => {
    const door = cloud.addDoor({ name, model });
    if (model === 'R') {
      world.addLock({ id, model, wiring: 'fail-secure', ...door.provisioning });
    } else {
      world.addLock({ id, model, ...door.provisioning });
    }
    radio.addLock(id, { position });
    const built: BuildingDoor = { id, name, model, cloud: door, position };
    doors.set(id, built);
    return built;
  };

  const front = commission(FRONT_DOOR, 'Front door', 'R', { x: 0, y: 0 });
  const amenities = new Map<AmenityId, BuildingDoor>();
  AMENITIES.forEach(({ id, name, model }, i) => {
    amenities.set(id, commission(id, name, model, { x: 8 + 6 * i, y: 4 }));
  });
  const units: BuildingDoor[] = [];
  for (let floor = 1; floor <= UNIT_FLOORS; floor++) {
    for (let n = 0; n < UNITS_PER_FLOOR; n++) {
      const letter = String.fromCharCode(97 + n);
      units.push(
        commission(`unit-${floor}${letter}`, `Unit ${floor}${letter.toUpperCase()}`, 'M', {
          x: n * UNIT_SPACING_M,
          y: floor * FLOOR_SPACING_M,
        }),
      );
    }
  }

  const managerId = cloud.addUser({ name: 'Building manager', role: 'manager' }).id;
  const common = [front.cloud.id, ...[...amenities.values()].map((door) => door.cloud.id)];
  const api: PhoneCloud = cloud;
  const unlocks: Building['unlocks'] = [];
  const holder = (name: string, userId: string, unit?: BuildingDoor): PhoneHolder => {
    const transport = radio.phone({ position: { x: 0, y: -10 } });
    const label = name.toLowerCase().replaceAll(' ', '-');
    const phone = new Phone({
      transport,
      crypto: createNodeCrypto(world.random.fork(`phone:${label}`).bytes),
      random: world.random.fork(`phone:${label}:jitter`).bytes,
      cloud: api,
      onUnlockFinished: (result) => unlocks.push({ holder: name, result }),
    });
    cloud.registerPhone(userId, phone.publicKey);
    phone.setUp(userId);
    return unit === undefined
      ? { name, userId, phone, transport }
      : { name, userId, phone, transport, unit };
  };

  const residents: PhoneHolder[] = [];
  for (const unit of units) {
    for (let n = 1; n <= RESIDENTS_PER_UNIT; n++) {
      const name = `${unit.name} resident ${n}`;
      const user = cloud.addUser({ name, role: 'resident' });
      const key = cloud.createKey({ name: `${unit.name} key`, doors: [...common, unit.cloud.id] });
      cloud.shareKey(key.id, user.id);
      residents.push(holder(name, user.id, unit));
    }
  }

  const vendorUser = cloud.addUser({ name: 'Cleaning vendor', role: 'vendor' });
  const vendorKey = cloud.createKey({
    name: 'Cleaning: weekday mornings',
    doors: [front.cloud.id, amenities.get('gym')!.cloud.id],
    schedule: [VENDOR_WINDOW],
  });
  // A vendor's access always ends: here with a quarter's contract.
  cloud.shareKey(vendorKey.id, vendorUser.id, { expires: options.start + VENDOR_CONTRACT_MS });
  const vendor = holder('Cleaning vendor', vendorUser.id);

  const hub = new BuildingHub({
    world,
    cloud,
    radio,
    position: { x: 4, y: 2 },
    doors: [front, ...amenities.values()],
  });
  // Commissioning: every lock gets the bundle that holds the keys issued so far.
  for (const door of doors.values()) {
    const pushed = world.pushSealedBundle(door.id, cloud.bundleFor(door.cloud.id).sealed);
    if (pushed.ok) cloud.acknowledgeBundle(door.cloud.id, pushed.value);
  }

  return {
    world,
    cloud,
    radio,
    hub,
    front,
    units,
    amenities,
    doors,
    residents,
    vendor,
    managerId,
    unlocks,
  };
}
