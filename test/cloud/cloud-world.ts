// A cloud and a World sharing one seed, clock and crypto, and the steps tests repeat: commission
// a door as a real lock, push the newest bundle as a phone or hub would, present a credential.
import { verifyCredential } from '../../protocol/formats/credential.js';
import type { Result } from '../../protocol/result.js';
import type { AccessDecision } from '../../firmware-sim/access.js';
import { Cloud } from '../../src/cloud/cloud.js';
import type { Door } from '../../src/cloud/cloud.js';
import type { DoorConfig } from '../../protocol/formats/sync-bundle.js';
import type { DoorModel } from '../../src/cloud/repository.js';
import { World } from '../../src/sim/world.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const ZONE = 'America/New_York';
/** Monday 2026-03-02 15:00 UTC, 10:00 in New York (EST), the week before DST starts. */
export const START = Date.UTC(2026, 2, 2, 15);

export interface Setup {
  readonly world: World;
  readonly cloud: Cloud;
}

export function setup(seed: string, start = START): Setup {
  const world = new World({ seed, start });
  const cloud = new Cloud({
    timeZone: ZONE,
    crypto: world.crypto,
    random: world.random.fork('cloud').bytes,
    clock: () => world.now(),
  });
  return { world, cloud };
}

/** A door in the cloud and its lock in the World, under the door's id. */
export function commission(
  { world, cloud }: Setup,
  name: string,
  model: DoorModel = 'M',
  config?: DoorConfig,
): Door {
  const door = cloud.addDoor({ name, model, ...(config === undefined ? {} : { config }) });
  world.addLock({
    id: door.id,
    model,
    wiring: 'fail-secure',
    ...door.provisioning,
  });
  return door;
}

/** A phone's Noise static public key. */
export function phoneKey({ world }: Setup, label: string): Uint8Array {
  return world.crypto.x25519PublicKey(world.random.fork(`phone:${label}`).bytes(32));
}

/** Pushes the cloud's bundle for the door (delta from the acked version, else full); acks it. */
export function sync({ world, cloud }: Setup, doorId: string): Result<number> {
  const offer = cloud.bundleFor(doorId);
  const pushed = world.pushSealedBundle(doorId, offer.sealed);
  if (pushed.ok) cloud.acknowledgeBundle(doorId, pushed.value);
  return pushed;
}

/** The lock's decision on a signed credential (verified with the lock's issuer key first). */
export function present(
  { world, cloud }: Setup,
  doorId: string,
  signed: Uint8Array,
): AccessDecision {
  const credential = verifyCredential(signed, cloud.authorityPublicKey, world.crypto);
  if (!credential.ok) throw new Error(`credential does not verify: ${credential.code}`);
  const decision = world.presentMobileKey(doorId, credential.value);
  if (decision === undefined) throw new Error('the lock has no power');
  return decision;
}

/** The wire code of a refusal, or 0 for a grant. */
export const outcome = (decision: AccessDecision | undefined): number =>
  decision === undefined ? -1 : decision.ok ? 0 : decision.code;
