/**
 * HUB SEAM. The building's hub (ARCHITECTURE.md §3 table "hub") as the demo needs it until the
 * hub of `src/hub/` is wired into the World: a mains-powered gateway near the lobby that, every
 * `HUB_ROUND_MS`, pushes the cloud's newest bundle to each lock it serves that holds an older one
 * and forwards those locks' Door State Notifications to the cloud.
 *
 * This stand-in runs at model fidelity: it hands the sealed bundle to the firmware
 * (`World.pushSealedBundle`, the same firmware code that applies a pushed bundle) instead of
 * opening a Noise session over the radio as the real hub will, and it sets no clocks, so a lock
 * that lost power waits for a phone's time anchor. Replace it with the hub of `src/hub/` (a
 * central of the same virtual radio, credential from `Cloud.addHub`) once that lands; `week.ts`
 * uses only `start()` and `round()`.
 */
import type { LockEvent } from '../../firmware-sim/events.js';
import type { Cloud } from '../cloud/cloud.js';
import { isDoorStateKind } from '../cloud/notifications.js';
import type { World } from '../sim/world.js';

/** How often the hub looks for newer bundles and door-state events. */
export const HUB_ROUND_MS = 15 * 60_000;

export interface HubDoor {
  /** The lock's world id. */
  readonly id: string;
  readonly cloud: { readonly id: string };
}

export interface HubStandInOptions {
  readonly world: World;
  readonly cloud: Cloud;
  readonly doors: readonly HubDoor[];
}

export class HubStandIn {
  readonly #world: World;
  readonly #cloud: Cloud;
  readonly #doors: ReadonlyMap<string, HubDoor>;
  /** How much of the World's log the hub has read. */
  #logRead = 0;
  /** Bundles pushed, for the summary. */
  pushes = 0;

  constructor(options: HubStandInOptions) {
    this.#world = options.world;
    this.#cloud = options.cloud;
    this.#doors = new Map(options.doors.map((door) => [door.id, door]));
  }

  /** The world ids of the locks the hub serves. */
  get lockIds(): readonly string[] {
    return [...this.#doors.keys()];
  }

  /** Runs a round every `HUB_ROUND_MS` from `first` until `end`. */
  start(first: number, end: number): void {
    const round = (t: number): void => {
      if (t > end) return;
      this.#world.scheduler.at(t, () => {
        this.round();
        round(t + HUB_ROUND_MS);
      });
    };
    round(first);
  }

  /** One round: newer bundles to powered locks, door-state events to the cloud. */
  round(): void {
    const world = this.#world;
    for (const door of this.#doors.values()) {
      const lock = world.lock(door.id);
      if (!lock.powered) continue;
      const offer = this.#cloud.bundleFor(door.cloud.id, { baseVersion: lock.sync.version });
      if (offer.version <= lock.sync.version) continue;
      const pushed = world.pushSealedBundle(door.id, offer.sealed);
      if (pushed.ok) {
        this.#cloud.acknowledgeBundle(door.cloud.id, pushed.value);
        this.pushes++;
      }
    }
    const log = world.events();
    const byDoor = new Map<string, LockEvent[]>();
    for (; this.#logRead < log.length; this.#logRead++) {
      const event = log[this.#logRead]!;
      if (!this.#doors.has(event.lock) || !isDoorStateKind(event.type)) continue;
      const list = byDoor.get(event.lock) ?? [];
      list.push(event);
      byDoor.set(event.lock, list);
    }
    for (const [id, events] of byDoor)
      this.#cloud.ingestEvents(this.#doors.get(id)!.cloud.id, events);
  }
}
