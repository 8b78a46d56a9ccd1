// A building for end-to-end tests (issue 5): the real cloud (src/cloud), lock firmware in a
// World, phones and a hub over the virtual radio, all on one seed and the World's clock. The
// steps every scenario repeats: commission a door as its lock, add a resident with a key, set up
// a phone with its package, start a hub for some doors.
import { expect } from 'vitest';
import type { Effects } from '../../firmware-sim/effects.js';
import { Cloud } from '../../src/cloud/cloud.js';
import type { Door } from '../../src/cloud/cloud.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import { Hub } from '../../src/hub/hub.js';
import type { HubOptions, HubTiming, HubVisit } from '../../src/hub/hub.js';
import type { PhoneCloud } from '../../src/phone/cloud-api.js';
import { Phone } from '../../src/phone/phone.js';
import { runPromise } from '../../src/sim/async.js';
import { World } from '../../src/sim/world.js';
import { VirtualRadio } from '../../src/transport/virtual-radio.js';
import type { Position, VirtualRadioOptions } from '../../src/transport/virtual-radio.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const ZONE = 'America/New_York';
/** Monday 2026-03-02 15:00 UTC, 10:00 EST. */
export const START = Date.UTC(2026, 2, 2, 15);

export interface Building {
  readonly world: World;
  readonly cloud: Cloud;
  readonly radio: VirtualRadio<Effects>;
}

export function building(
  seed: string,
  radio: VirtualRadioOptions = {},
  start: number = START,
): Building {
  const world = new World({ seed, start });
  const cloud = new Cloud({
    timeZone: ZONE,
    crypto: world.crypto,
    random: world.random.fork('cloud').bytes,
    clock: () => world.now(),
  });
  return { world, cloud, radio: new VirtualRadio(world, radio) };
}

/** A door in the cloud, its lock in the World at `position`, synced at commissioning. */
export function commission(
  b: Building,
  name: string,
  model: 'M' | 'R',
  position: Position = { x: 0, y: 0 },
): Door {
  const door = b.cloud.addDoor({ name, model });
  if (model === 'R') {
    b.world.addLock({ id: door.id, model, wiring: 'fail-secure', ...door.provisioning });
  } else {
    b.world.addLock({ id: door.id, model, ...door.provisioning });
  }
  b.radio.addLock(door.id, { position });
  const pushed = b.world.pushSealedBundle(door.id, b.cloud.bundleFor(door.id).sealed);
  if (pushed.ok) b.cloud.acknowledgeBundle(door.id, pushed.value);
  return door;
}

/** A resident with a key to `door`; returns the user id. */
export function resident(b: Building, door: Door, name: string): string {
  const user = b.cloud.addUser({ name, role: 'resident' });
  const key = b.cloud.createKey({ doors: [door.id] });
  b.cloud.shareKey(key.id, user.id);
  return user.id;
}

/** A phone at `x` metres from the origin, registered for `userId`, its package fetched. */
export async function phoneOf(b: Building, userId: string, name: string, x = 3): Promise<Phone> {
  const api: PhoneCloud = b.cloud;
  const phone = new Phone({
    transport: b.radio.phone({ position: { x, y: 0 } }),
    crypto: createNodeCrypto(b.world.random.fork(`phone:${name}`).bytes),
    random: b.world.random.fork(`phone:${name}:jitter`).bytes,
    cloud: api,
  });
  b.cloud.registerPhone(userId, phone.publicKey);
  phone.setUp(userId);
  const fetched = await runPromise(b.world, phone.fetchLocks());
  expect(fetched.ok).toBe(true);
  return phone;
}

export interface StartedHub {
  readonly hub: Hub;
  readonly id: string;
  /** Every visit so far, in order. */
  readonly visits: HubVisit[];
}

/** A hub at `position` registered for `doors` and started; its visits are collected. */
export function hubFor(
  b: Building,
  doors: readonly Door[],
  position: Position = { x: 2, y: 2 },
  timing: Partial<HubTiming> = {},
): StartedHub {
  const visits: HubVisit[] = [];
  const options: HubOptions = {
    transport: b.radio.central({ position }),
    crypto: createNodeCrypto(b.world.random.fork('hub').bytes),
    random: b.world.random.fork('hub:jitter').bytes,
    cloud: b.cloud,
    timing,
    onVisit: (visit) => visits.push(visit),
  };
  const hub = new Hub(options);
  const { id } = b.cloud.addHub({
    name: 'Hub',
    doors: doors.map((d) => d.id),
    publicKey: hub.publicKey,
  });
  hub.start(id);
  return { hub, id, visits };
}
