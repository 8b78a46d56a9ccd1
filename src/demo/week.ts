/**
 * A simulated week in the demo building (`building.ts`; `keyway demo`, issue 6), at full fidelity
 * (ARCHITECTURE.md §7): every phone unlock is a scan, a connection, a Noise XK handshake and CBOR
 * requests over the virtual radio, with passive sync (§3); every guest types a daily code (§5) at
 * a keypad; the hub pushes bundles over the same radio (`building-hub.ts`).
 *
 * Routines, drawn from the seed: residents leave in the morning (out through the front door's
 * REX, some by the bike room first), come back in the evening (phone at the front door, then at
 * their unit), go to the gym some evenings and to the roof some weekend afternoons; every phone
 * downloads its package each morning; a few guests a day come on daily codes; the vendor comes
 * on weekday mornings (and once on a Saturday, out of schedule). Incidents on fixed days
 * (`incidents.ts`): a power outage at the R, a battery swap on an M, the front door left ajar, a
 * resident moving out (revoked), a brute-force attempt at the front keypad. A run shorter than
 * a week has the incidents of its days only.
 *
 * Same seed, same week: the plan is drawn from `world.random`, and the run is on the World's
 * scheduler only (`drive.ts`).
 */
import { dayBounds, dayLabelAt } from '../../protocol/doorcode/day-label.js';
import type { Random } from '../sim/random.js';
import { createBuilding, DEMO_TIME_ZONE } from './building.js';
import type { Building, BuildingDoor, PhoneHolder } from './building.js';
import { AsyncWork, driveUntil } from './drive.js';
import { planIncidents } from './incidents.js';
import { HOUR, isWeekend, localTime, MINUTE } from './time.js';
import type { IncidentReport, WeekContext } from './incidents.js';

/** Monday 2026-04-06, 00:00 in the demo's time zone (EDT): a week with no DST change. */
export const DEMO_START = Date.UTC(2026, 3, 6, 4);
export const DEFAULT_DEMO_DAYS = 7;
export const MAX_DEMO_DAYS = 31;

/** How long a person holds the front door open walking through, ms. */
const WALK_THROUGH_MS = 4_000;
const GUESTS_PER_DAY = 3;

export interface WeekOptions {
  readonly seed: number;
  readonly days: number;
  /** Called now and then with the virtual time reached. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** A bundle version the cloud issued for a lock, and when. */
export interface IssuedVersion {
  readonly lock: string;
  readonly version: number;
  readonly t: number;
}

export interface WeekRun {
  readonly building: Building;
  readonly seed: number;
  readonly days: number;
  readonly start: number;
  readonly end: number;
  readonly issued: readonly IssuedVersion[];
  readonly incidents: readonly IncidentReport[];
  /** Guests invited (daily codes assigned). */
  readonly guests: number;
}

/** A uniform minute in [from, to) as a time of day given in hours. */
function minuteBetween(random: Random, fromHour: number, toHour: number): number {
  return random.int(fromHour * 60, toHour * 60 - 1);
}

function chance(random: Random, p: number): boolean {
  return random.nextFloat() < p;
}

/** A resident's habits, drawn once. */
interface Habits {
  readonly cyclist: boolean;
  readonly gymGoer: number;
  readonly homebody: number;
}

/** Runs the week; resolves once the World reached its end. */
export async function runWeek(options: WeekOptions): Promise<WeekRun> {
  const { seed, days } = options;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DEMO_DAYS) {
    throw new RangeError(`days must be 1..${MAX_DEMO_DAYS}`);
  }
  const building = createBuilding({ seed, start: DEMO_START });
  const { world, cloud, front, residents } = building;
  const start = DEMO_START;
  const end = localTime(start, days, 0);
  const work = new AsyncWork(() => building.hub.powered);
  const plan = world.random.fork('routines');
  const at = (t: number, action: () => void): void => {
    if (t >= world.now() && t < end) world.scheduler.at(t, action);
  };

  // ---- bundle versions, as the cloud issues them ----
  const issued: IssuedVersion[] = [];
  const known = new Map<string, number>();
  const noteVersions = (): void => {
    for (const door of building.doors.values()) {
      const version = cloud.bundleFor(door.cloud.id).version;
      if (version > (known.get(door.id) ?? 0)) {
        known.set(door.id, version);
        issued.push({ lock: door.id, version, t: world.now() });
      }
    }
    building.hub.cloudChanged();
  };
  noteVersions();

  // ---- what people do ----
  /**
   * Through the front door: opened, and closed `ms` later unless someone propped it open for
   * longer by then. Someone walking through an open door leaves it as it is.
   */
  let proppedUntil = 0;
  const closeLater = (ms: number): void => {
    world.scheduler.at(world.now() + ms, () => {
      if (world.now() >= proppedUntil) world.closeDoor(front.id);
    });
  };
  const walkThrough = (ms: number): void => {
    if (ms > WALK_THROUGH_MS) {
      proppedUntil = Math.max(proppedUntil, world.now() + ms);
      if (!world.controllerState(front.id).door.open) world.openDoor(front.id);
      closeLater(ms);
    } else if (!world.controllerState(front.id).door.open) {
      world.openDoor(front.id);
      closeLater(ms);
    }
  };
  const departed = new Set<string>();
  const context: WeekContext = {
    building,
    start,
    days,
    departed,
    noteVersions,
    at,
    unlock: (holder, door, then, holdOpenMs = WALK_THROUGH_MS) => {
      holder.transport.moveTo({ x: door.position.x + 2, y: door.position.y });
      work.track(holder.phone.unlock(door.cloud.id).result, (result) => {
        // Through the front door while its relay is released; a late phone finds it relocked.
        if (result.outcome === 'success' && door.model === 'R' && world.lock(door.id).powered) {
          if (world.controllerState(door.id).relay === 'unlocked') walkThrough(holdOpenMs);
        }
        then?.(result);
      });
    },
    enterCode: (door, code) => {
      const decision = world.enterCode(door.id, code);
      const accepted = decision?.ok === true;
      if (accepted && door.model === 'R') walkThrough(WALK_THROUGH_MS);
      return decision;
    },
    inviteGuest: (host, name) => {
      guests++;
      return inviteGuest(building, host, name);
    },
  };
  let guests = 0;
  const unlock = (holder: PhoneHolder, door: BuildingDoor): void => {
    if (!departed.has(holder.name)) context.unlock(holder, door);
  };
  const walkOut = (): void => {
    if (!world.lock(front.id).powered) return;
    world.rexMotion(front.id);
    walkThrough(WALK_THROUGH_MS);
  };
  const enterCode = (door: BuildingDoor, code: string): boolean =>
    context.enterCode(door, code)?.ok === true;

  const habits = new Map<string, Habits>(
    residents.map((r) => [
      r.name,
      {
        cyclist: chance(plan, 0.25),
        gymGoer: plan.nextFloat() * 0.5,
        homebody: 0.05 + plan.nextFloat() * 0.15,
      },
    ]),
  );
  const gym = building.amenities.get('gym')!;
  const roof = building.amenities.get('roof')!;
  const bikeRoom = building.amenities.get('bike-room')!;

  for (let day = 0; day < days; day++) {
    const dayStart = localTime(start, day, 0);
    const weekend = isWeekend(dayStart + 12 * HOUR);
    for (const holder of [...residents, building.vendor]) {
      at(localTime(start, day, minuteBetween(plan, 5, 7)), () => {
        if (holder.phone.online) work.track(holder.phone.fetchLocks());
      });
    }
    for (const resident of residents) {
      const habit = habits.get(resident.name)!;
      if (chance(plan, habit.homebody)) continue;
      const out = weekend ? minuteBetween(plan, 9, 13) : minuteBetween(plan, 7, 10);
      const back = weekend ? out + plan.int(90, 360) : minuteBetween(plan, 17, 21);
      const unit = resident.unit!;
      if (habit.cyclist && !weekend) {
        at(localTime(start, day, out - 3), () => unlock(resident, bikeRoom));
      }
      at(localTime(start, day, out), () => {
        if (!departed.has(resident.name)) walkOut();
      });
      at(localTime(start, day, back), () => unlock(resident, front));
      at(localTime(start, day, back) + 2 * MINUTE, () => unlock(resident, unit));
      if (chance(plan, habit.gymGoer)) {
        const t = localTime(start, day, Math.min(back + plan.int(30, 120), 23 * 60));
        at(t, () => unlock(resident, gym));
      }
      if (weekend && chance(plan, 0.15)) {
        at(localTime(start, day, minuteBetween(plan, 15, 19)), () => unlock(resident, roof));
      }
    }
    // The vendor cleans the gym on weekday mornings.
    if (!weekend) {
      const arrival = minuteBetween(plan, 8, 10);
      at(localTime(start, day, arrival), () => unlock(building.vendor, front));
      at(localTime(start, day, arrival + 3), () => unlock(building.vendor, gym));
      at(localTime(start, day, arrival + 50), walkOut);
    }
    // Guests: invited in the morning, a daily code for the front door and their host's unit.
    for (let n = 0; n < GUESTS_PER_DAY; n++) {
      const host = residents[plan.int(0, residents.length - 1)]!;
      const arrival = minuteBetween(plan, 12, 21);
      const stay = plan.int(60, 180);
      at(localTime(start, day, 8 * 60 + n), () => {
        if (departed.has(host.name)) return;
        const codes = context.inviteGuest(host, `Day ${day + 1} guest ${n + 1}`);
        noteVersions();
        at(localTime(start, day, arrival), () => {
          if (enterCode(front, codes.front)) {
            at(world.now() + 2 * MINUTE, () => enterCode(host.unit!, codes.unit));
          }
        });
        at(localTime(start, day, Math.min(arrival + stay, 23 * 60 + 50)), walkOut);
      });
    }
  }
  const incidents = planIncidents(context);

  building.hub.powerOn();
  for (const holder of [...residents, building.vendor]) work.track(holder.phone.fetchLocks());
  await driveUntil(world, work, end, (now) => options.onProgress?.(now - start, end - start));
  return {
    building,
    seed,
    days,
    start,
    end,
    issued,
    incidents: incidents.map((incident) => incident()),
    guests,
  };
}

/**
 * A guest of `host` for today: a key over the front door and the host's unit shared by the host
 * until the end of the day, and a daily code for each door (§5: derived offline at the lock).
 */
function inviteGuest(
  building: Building,
  host: PhoneHolder,
  name: string,
): { readonly front: string; readonly unit: string } {
  const { cloud, world, front } = building;
  const unit = host.unit;
  if (unit === undefined) throw new TypeError('a guest needs a host with a unit');
  const day = dayLabelAt(world.now(), DEMO_TIME_ZONE);
  const bounds = dayBounds(day, DEMO_TIME_ZONE);
  const guest = cloud.addUser({ name, role: 'guest' });
  const key = cloud.createKey({
    name: `${name} (daily codes)`,
    doors: [front.cloud.id, unit.cloud.id],
  });
  cloud.shareKey(key.id, guest.id, {
    sharedBy: host.userId,
    notBefore: bounds.start,
    expires: bounds.end,
  });
  return {
    front: cloud.assignDailyCode(front.cloud.id, guest.id, { day }).code,
    unit: cloud.assignDailyCode(unit.cloud.id, guest.id, { day }).code,
  };
}
