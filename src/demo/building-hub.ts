/**
 * The demo building's hub (ARCHITECTURE.md §3 table "hub"): the gateway of `src/hub/hub.ts` on
 * the virtual radio by the lobby, serving the front door and the amenity doors. It pushes the
 * cloud's bundles as soon as the cloud changes (`cloudChanged`, the cloud's push to an online
 * hub) and on its rounds, sets lost clocks and carries the audit back; the Door State
 * Notifications of a lock it visits ride back with that audit, into the cloud's outbox.
 *
 * It is on the lobby's circuit: a power cut there takes it down with the front door, and it
 * boots `HUB_BOOT_MS` after the power returns. The Hub itself has no power switch, so a cut
 * stops it and the restart is a new Hub with the same static key and hub id.
 */
import type { Effects } from '../../firmware-sim/effects.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import type { Cloud } from '../cloud/cloud.js';
import { isDoorStateKind } from '../cloud/notifications.js';
import { createNodeCrypto } from '../core/node-crypto-provider.js';
import { Hub, DEFAULT_HUB_TIMING } from '../hub/hub.js';
import type { HubTiming, HubVisit } from '../hub/hub.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import type { World } from '../sim/world.js';
import type { Position, VirtualRadio } from '../transport/virtual-radio.js';

/** How long the hub takes to boot once its power is back. */
export const HUB_BOOT_MS = 15 * 60_000;

/**
 * Rounds every five minutes and the audit collected hourly: the cloud's pushes reach the locks
 * at once anyway, a lobby door records a few hundred accesses a day (far below its audit ring),
 * and a quieter radio leaves the doors to the residents.
 */
const TIMING: Partial<HubTiming> = { pollIntervalMs: 5 * 60_000, visitIntervalMs: 60 * 60_000 };

export interface HubDoor {
  /** The lock's world id. */
  readonly id: string;
  readonly cloud: { readonly id: string };
}

export interface BuildingHubOptions {
  readonly world: World;
  readonly cloud: Cloud;
  readonly radio: VirtualRadio<Effects>;
  readonly position: Position;
  readonly doors: readonly HubDoor[];
}

export class BuildingHub {
  readonly #options: BuildingHubOptions;
  readonly #staticKey: KeyPair;
  readonly #hubId: string;
  /** World ids by cloud door id. */
  readonly #lockOf: ReadonlyMap<string, string>;
  readonly #served: ReadonlySet<string>;
  /** How much of the World's log has been looked at, and the door-state events not yet carried. */
  #logRead = 0;
  readonly #uncarried = new Map<string, LockEvent[]>();
  #hub: Hub | undefined;
  #boots = 0;
  /** Visits that left a lock on a newer bundle than it had. */
  pushes = 0;
  visits = 0;

  constructor(options: BuildingHubOptions) {
    this.#options = options;
    this.#staticKey = generateKeyPair(createNodeCrypto(options.world.random.fork('hub').bytes));
    this.#lockOf = new Map(options.doors.map((door) => [door.cloud.id, door.id]));
    this.#served = new Set(this.#lockOf.values());
    this.#hubId = options.cloud.addHub({
      name: 'Lobby hub',
      doors: options.doors.map((door) => door.cloud.id),
      publicKey: this.#staticKey.publicKey,
    }).id;
  }

  /** The world ids of the locks the hub serves. */
  get lockIds(): readonly string[] {
    return [...this.#served];
  }

  get powered(): boolean {
    return this.#hub !== undefined;
  }

  /** Boots the hub: its rounds start now. */
  powerOn(): void {
    if (this.#hub !== undefined) return;
    const { world, radio, cloud, position } = this.#options;
    const boot = ++this.#boots;
    this.#hub = new Hub({
      transport: radio.central({ position }),
      crypto: createNodeCrypto(world.random.fork(`hub:boot-${boot}`).bytes),
      random: world.random.fork(`hub:boot-${boot}:jitter`).bytes,
      cloud,
      staticKey: this.#staticKey,
      timing: { ...DEFAULT_HUB_TIMING, ...TIMING },
      onVisit: (visit) => this.#visited(visit),
    });
    this.#hub.start(this.#hubId);
  }

  /** The hub loses power: it stops at once, a visit in flight letting go of its link. */
  powerOff(): void {
    this.#hub?.stop();
    this.#hub = undefined;
  }

  /** The cloud's push: something changed, the hub syncs its locks now (if it is up). */
  cloudChanged(): void {
    this.#hub?.cloudChanged();
  }

  #visited(visit: HubVisit): void {
    this.visits++;
    if (
      visit.version !== undefined &&
      visit.versionBefore !== undefined &&
      visit.version > visit.versionBefore
    ) {
      this.pushes++;
    }
    const lock = this.#lockOf.get(visit.doorId);
    if (lock === undefined || visit.failure !== undefined) return;
    const log = this.#options.world.events();
    for (; this.#logRead < log.length; this.#logRead++) {
      const event = log[this.#logRead]!;
      if (!isDoorStateKind(event.type) || !this.#served.has(event.lock)) continue;
      const list = this.#uncarried.get(event.lock) ?? [];
      list.push(event);
      this.#uncarried.set(event.lock, list);
    }
    const notes = this.#uncarried.get(lock);
    if (notes === undefined) return;
    this.#uncarried.delete(lock);
    this.#options.cloud.ingestEvents(visit.doorId, notes);
  }
}
