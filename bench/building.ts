/**
 * bench/building — a year of a 300-door, 1,000-resident building at model fidelity
 * (ARCHITECTURE.md §7 "Model fidelity", §8: "year of a 300-door, 1,000-resident building at
 * model fidelity ≤ 10 s").
 *
 * The building is commissioned through the real cloud (`src/cloud/cloud.ts`) and its locks run
 * their whole firmware in a World (`src/sim/world.ts`). It has five wings, each with an R at its
 * entrance (keypad, door sensor, REX), a gym (C), a roof deck (C2) and a laundry (C), and 56
 * unit doors (M): 300 doors. A wing is the unit of access: its 200 residents and the vendor open
 * its four common doors.
 * - 1,000 residents, three or four per unit, each with a phone whose credential opens their unit
 *   and their wing's four common doors; the first resident of each unit also has a permanent
 *   keypad code on the unit door;
 * - 50 guests of residents, who come every two weeks or so on daily codes (§5) for the wing
 *   entrance and their host's unit, assigned by the cloud on the day;
 * - a cleaning vendor whose key holds on weekday mornings at every entrance and gym.
 *
 * The year (seeded from `world.random.fork('routines')`), day by day: residents leave in the
 * morning through their entrance (REX, door held open) and come back in the evening (mobile key
 * at the entrance, the door opened, then the unit door by mobile key or, for code holders, now
 * and then by keypad — with the odd typo); some go to an amenity; guests and the vendor come;
 * each entrance is propped open once a day for minutes (Door Ajar). Sync as
 * `src/scenario/runner.ts` does at model fidelity: sealed bundles from `cloud.bundleFor` opened
 * with the lock's secret and applied decoded (`world.applyBundle`), the version acknowledged; the
 * hub serves the common doors every six hours, residents' phones carry a unit's bundle when the
 * cloud has changed since its last sync, and the lock's clock is set when it has none. Each month
 * 1 % of residents move out (revoked) and new ones move in (shared, phone registered, code drawn).
 * Faults: packs drained on some unit doors, batteries swapped when low (weekly check), a bolt
 * jammed for a day, a two-hour power outage at every entrance.
 *
 * Reported: wall and CPU time of the year (the target), of commissioning (not in the target), the
 * typed events logged, unlocks granted and refused, firmware steps (inputs fed and timers
 * fired), and firmware steps per CPU-second. Baseline in the same run: as many bare scheduler
 * events (`src/sim/scheduler.ts`, a hold model of 1,000 pending timers over the same year) as
 * the year ran firmware steps — the ratio of the two CPU times is the cost of the firmware, the
 * cloud and the routines over a bare timer.
 *
 * `BENCH_DAYS` (default 365) shortens the year while developing; the figures then cover those
 * days only and the target does not apply. `BENCH_SECONDS` (`keyway bench --seconds`) does not
 * apply: the year is a fixed amount of work.
 *
 * Run: npm run build --silent && node dist/bench/building.js   (writes bench/results/building-<time>.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createDoorcodeKernel } from '../protocol/doorcode/kernel.js';
import type { WeeklyWindow } from '../protocol/formats/common.js';
import type { Credential } from '../protocol/formats/credential.js';
import { peekCredential } from '../protocol/formats/credential.js';
import { openSyncBundle } from '../protocol/formats/sync-bundle.js';
import type { AccessDecision } from '../firmware-sim/access.js';
import type { TimerCallback } from '../firmware-sim/time.js';
import { Cloud } from '../src/cloud/cloud.js';
import type { Door } from '../src/cloud/cloud.js';
import { Random } from '../src/sim/random.js';
import { Scheduler } from '../src/sim/scheduler.js';
import { World } from '../src/sim/world.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: this file runs from dist/bench/. */
const root = join(here, '..', '..');
const DAYS = Number(process.env['BENCH_DAYS'] ?? 365);
const SEED = 'bench/building';
const TIME_ZONE = 'America/New_York';
/** Local time as an offset from UTC (Eastern standard time; routines need no more precision). */
const LOCAL_OFFSET_MS = -5 * 3_600_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Thursday 2026-01-01, 00:00 UTC: the World's default start. */
const START = Date.UTC(2026, 0, 1);

const WINGS = 5;
const UNITS_PER_WING = 56;
const RESIDENTS = 1_000;
const GUESTS = 50;
/** Guest `g`'s host is resident `g × GUEST_HOST_STRIDE`, who never moves out. */
const GUEST_HOST_STRIDE = 20;
const AMENITIES = [
  { name: 'Gym', model: 'C' },
  { name: 'Roof deck', model: 'C2' },
  { name: 'Laundry', model: 'C' },
] as const;
/** Weekday mornings, 07:00 to 12:00 local: Monday..Friday are ISO weekdays 0..4. */
const VENDOR_WINDOW: WeeklyWindow = { days: 0b0011111, start: 7 * 60, end: 12 * 60 };
const MOVES_PER_MONTH = RESIDENTS / 100;
const HUB_PERIOD_MS = 6 * HOUR;
/** A battery lock whose pack is below this at the weekly check gets a fresh one. */
const SWAP_BELOW_PERCENT = 15;

/** What happens at an instant of a day; the subject (resident, guest, wing) is beside it. */
const ACTION = {
  LEAVE: 0,
  RETURN: 1,
  UNIT: 2,
  AMENITY: 3,
  GUEST: 4,
  VENDOR: 5,
  HUB: 6,
  PROPPED: 7,
  OUTAGE: 8,
  POWER_BACK: 9,
} as const;
const SUBJECT_BITS = 16;

interface Wing {
  readonly entrance: Door;
  readonly amenities: readonly Door[];
  readonly units: readonly Door[];
}

interface Resident {
  userId: string;
  credential: Credential;
  /** The unit's permanent code, when this resident holds one. */
  pin: string | undefined;
  readonly wing: number;
  readonly unit: Door;
  readonly unitKeyId: string;
}

interface Guest {
  readonly userId: string;
  readonly host: number;
}

interface Counts {
  inputs: number;
  granted: number;
  refused: number;
  bundlesApplied: number;
  timeSyncs: number;
  batterySwaps: number;
  moves: number;
  dailyCodes: number;
}

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Local time `hours` after local midnight of day `day` of the year, as ms UTC. */
const localTime = (day: number, hours: number): number =>
  START + day * DAY - LOCAL_OFFSET_MS + hours * HOUR;

class Building {
  readonly world = new World({ seed: SEED, start: START });
  readonly cloud: Cloud;
  readonly wings: Wing[] = [];
  readonly residents: Resident[] = [];
  readonly guests: Guest[] = [];
  readonly vendor: Credential;
  readonly counts: Counts = {
    inputs: 0,
    granted: 0,
    refused: 0,
    bundlesApplied: 0,
    timeSyncs: 0,
    batterySwaps: 0,
    moves: 0,
    dailyCodes: 0,
  };
  readonly #phoneKeys: Random;
  /** Bumped on every change to the cloud's access data: a phone then carries new bundles. */
  #cloudChanges = 0;
  /** Per unit door, `#cloudChanges` when it last synced. */
  readonly #unitSyncedAt = new Map<string, number>();
  /** `#cloudChanges` at the hub's last push. */
  #hubSyncedAt = 0;

  constructor() {
    const world = this.world;
    this.#phoneKeys = world.random.fork('phone keys');
    this.cloud = new Cloud({
      timeZone: TIME_ZONE,
      crypto: world.crypto,
      random: world.random.fork('cloud').bytes,
      clock: () => world.now(),
      deriver: createDoorcodeKernel(),
    });
    for (let w = 0; w < WINGS; w++) {
      const entrance = this.#commission(`Wing ${w + 1} entrance`, 'R');
      const amenities = AMENITIES.map(({ name, model }) =>
        this.#commission(`Wing ${w + 1} ${name}`, model),
      );
      const units: Door[] = [];
      for (let u = 0; u < UNITS_PER_WING; u++) {
        units.push(this.#commission(`Unit ${w + 1}-${String(u + 1).padStart(2, '0')}`, 'M'));
      }
      this.wings.push({ entrance, amenities, units });
    }
    const unitKeys = new Map<string, string>();
    for (const wing of this.wings) {
      const common = [wing.entrance.id, ...wing.amenities.map((door) => door.id)];
      for (const unit of wing.units) {
        unitKeys.set(
          unit.id,
          this.cloud.createKey({ name: unit.name, doors: [unit.id, ...common] }).id,
        );
      }
    }
    const units = this.wings.flatMap((wing, w) => wing.units.map((unit) => ({ unit, w })));
    for (let r = 0; r < RESIDENTS; r++) {
      const { unit, w } = units[r % units.length]!;
      const resident = this.#moveIn(
        `Resident ${r + 1}`,
        w,
        unit,
        unitKeys.get(unit.id)!,
        r < units.length,
      );
      this.residents.push(resident);
    }
    const yearEnd = START + (DAYS + 1) * DAY;
    for (let g = 0; g < GUESTS; g++) {
      const host = this.residents[g * GUEST_HOST_STRIDE]!;
      const user = this.cloud.addUser({ name: `Guest ${g + 1}`, role: 'guest' });
      const key = this.cloud.createKey({
        name: `Guest ${g + 1}`,
        doors: [this.wings[host.wing]!.entrance.id, host.unit.id],
      });
      this.cloud.shareKey(key.id, user.id, { expires: yearEnd, sharedBy: host.userId });
      this.guests.push({ userId: user.id, host: g * GUEST_HOST_STRIDE });
    }
    const vendor = this.cloud.addUser({ name: 'Cleaning vendor', role: 'vendor' });
    const vendorKey = this.cloud.createKey({
      name: 'Cleaning: weekday mornings',
      doors: this.wings.flatMap((wing) => [wing.entrance.id, wing.amenities[0]!.id]),
      schedule: [VENDOR_WINDOW],
    });
    this.cloud.shareKey(vendorKey.id, vendor.id, { expires: yearEnd });
    this.vendor = this.#credentialOf(
      this.cloud.registerPhone(vendor.id, this.#phoneKeys.bytes(32)),
    );
    // Commissioning: every lock gets the bundle that holds the keys issued so far.
    for (const door of this.doors()) this.sync(door);
    this.#hubSyncedAt = this.#cloudChanges;
    for (const unit of this.wings.flatMap((wing) => wing.units)) {
      this.#unitSyncedAt.set(unit.id, this.#cloudChanges);
    }
  }

  *doors(): Iterable<Door> {
    for (const wing of this.wings) {
      yield wing.entrance;
      yield* wing.amenities;
      yield* wing.units;
    }
  }

  #commission(name: string, model: Door['model']): Door {
    const door = this.cloud.addDoor({ name, model });
    if (model === 'R') {
      this.world.addLock({ id: door.id, model, wiring: 'fail-secure', ...door.provisioning });
    } else {
      this.world.addLock({ id: door.id, model, ...door.provisioning });
    }
    return door;
  }

  #credentialOf(issued: readonly { readonly signed: Uint8Array }[]): Credential {
    const signed = issued[0]?.signed;
    if (signed === undefined) throw new Error('the cloud issued no credential');
    const credential = peekCredential(signed);
    if (!credential.ok)
      throw new Error(`the cloud issued an unreadable credential: ${credential.code}`);
    return credential.value;
  }

  #moveIn(name: string, wing: number, unit: Door, unitKeyId: string, withPin: boolean): Resident {
    const user = this.cloud.addUser({ name, role: 'resident' });
    this.cloud.shareKey(unitKeyId, user.id);
    const credential = this.#credentialOf(
      this.cloud.registerPhone(user.id, this.#phoneKeys.bytes(32)),
    );
    const pin = withPin ? this.cloud.createPermanentCode(unit.id, user.id).pin : undefined;
    this.#cloudChanges++;
    return { userId: user.id, credential, pin, wing, unit, unitKeyId };
  }

  /** Resident `r` moves out (revoked) and a new resident moves into the same unit. */
  turnOver(r: number, name: string): void {
    const old = this.residents[r]!;
    this.cloud.revokeUser(old.userId);
    this.residents[r] = this.#moveIn(
      name,
      old.wing,
      old.unit,
      old.unitKeyId,
      old.pin !== undefined,
    );
    this.counts.moves++;
  }

  /**
   * The newest bundle to the lock when it is behind, opened with the lock's secret and applied
   * decoded (model fidelity, as the scenario runner does); the cloud learns the version.
   */
  sync(door: Door): void {
    const lock = this.world.lock(door.id);
    if (!lock.powered) return;
    const offer = this.cloud.bundleFor(door.id, { baseVersion: lock.sync.version });
    if (offer.version > lock.sync.version) {
      const opened = openSyncBundle(
        offer.sealed,
        door.lockSecret,
        door.lockId,
        lock.sync.version,
        this.world.crypto,
      );
      if (!opened.ok) throw new Error(`bundle for ${door.name} does not open: ${opened.code}`);
      const applied = this.world.applyBundle(door.id, opened.value);
      if (!applied.ok) throw new Error(`bundle for ${door.name} refused: ${applied.code}`);
      this.cloud.acknowledgeBundle(door.id, applied.value);
      this.counts.bundlesApplied++;
      this.counts.inputs++;
    }
    this.#syncClock(door.id);
  }

  /**
   * The hub's round of the common doors: the cloud pushes it the doors' bundles when their
   * access data changed (as the demo's hub is pushed on every change); clocks are set either way.
   */
  hubRound(): void {
    const changed = this.#hubSyncedAt !== this.#cloudChanges;
    this.#hubSyncedAt = this.#cloudChanges;
    for (const wing of this.wings) {
      for (const door of [wing.entrance, ...wing.amenities]) {
        if (changed) this.sync(door);
        else this.#syncClock(door.id);
      }
    }
  }

  #syncClock(doorId: string): void {
    const lock = this.world.lock(doorId);
    if (lock.powered && lock.clockReading(this.world.now()) === undefined) {
      this.world.syncTime(doorId);
      this.counts.timeSyncs++;
      this.counts.inputs++;
    }
  }

  /** A phone at the door: passive sync when its package holds news for the lock, then the key. */
  mobileKey(door: Door, credential: Credential, carriesBundle: boolean): boolean {
    if (carriesBundle && this.#unitSyncedAt.get(door.id) !== this.#cloudChanges) {
      this.sync(door);
      this.#unitSyncedAt.set(door.id, this.#cloudChanges);
    } else {
      this.#syncClock(door.id);
    }
    this.counts.inputs++;
    return this.#tally(this.world.presentMobileKey(door.id, credential));
  }

  code(door: Door, code: string): boolean {
    this.counts.inputs += code.length + 1;
    return this.#tally(this.world.enterCode(door.id, code));
  }

  dailyCode(door: Door, guest: Guest): string {
    this.counts.dailyCodes++;
    return this.cloud.assignDailyCode(door.id, guest.userId).code;
  }

  #tally(decision: AccessDecision | undefined): boolean {
    if (decision === undefined) return false;
    if (decision.ok) this.counts.granted++;
    else this.counts.refused++;
    return decision.ok;
  }

  /** The door opened now and closed `ms` later (the close is a scheduler event: counted there). */
  holdOpen(door: Door, ms: number): void {
    this.world.holdDoorOpen(door.id, ms);
    this.counts.inputs++;
  }

  rex(door: Door): void {
    this.world.rexMotion(door.id);
    this.counts.inputs++;
  }
}

/** One day's actions: times and (action, subject) codes, run in time order. */
class DayPlan {
  readonly times: number[] = [];
  readonly codes: number[] = [];
  add(time: number, action: number, subject = 0): void {
    this.times.push(time);
    this.codes.push(action * 2 ** SUBJECT_BITS + subject);
  }
  /** Indices in time order, ties in the order added. */
  order(): number[] {
    const times = this.times;
    return times.map((_, i) => i).sort((a, b) => times[a]! - times[b]! || a - b);
  }
}

function planDay(building: Building, day: number, pick: Random): DayPlan {
  const plan = new DayPlan();
  const weekday = (new Date(localTime(day, 12)).getUTCDay() + 6) % 7; // ISO: Monday 0
  const hours = (from: number, to: number): number => from + pick.nextFloat() * (to - from);
  for (let h = 0; h < 24; h += HUB_PERIOD_MS / HOUR) plan.add(localTime(day, h), ACTION.HUB);
  for (let r = 0; r < building.residents.length; r++) {
    if (pick.nextFloat() < 0.1) continue; // away, or home all day
    plan.add(localTime(day, hours(6.5, 10)), ACTION.LEAVE, r);
    const back = localTime(day, hours(16, 21));
    plan.add(back, ACTION.RETURN, r);
    plan.add(back + pick.int(20_000, 90_000), ACTION.UNIT, r);
    if (pick.nextFloat() < 0.15) plan.add(localTime(day, hours(21.2, 23)), ACTION.AMENITY, r);
  }
  for (let g = 0; g < building.guests.length; g++) {
    if (pick.nextFloat() < 1 / 14) plan.add(localTime(day, hours(11, 22)), ACTION.GUEST, g);
  }
  for (let w = 0; w < WINGS; w++) {
    if (weekday < 5) plan.add(localTime(day, hours(8, 11)), ACTION.VENDOR, w);
    plan.add(localTime(day, hours(10, 15)), ACTION.PROPPED, w);
  }
  if (day === OUTAGE_DAY) {
    plan.add(localTime(day, 13), ACTION.OUTAGE);
    plan.add(localTime(day, 15), ACTION.POWER_BACK);
  }
  return plan;
}

const OUTAGE_DAY = Math.min(200, DAYS - 1);
const DRAIN_DAY = Math.min(100, DAYS - 1);
const JAM_DAY = Math.min(150, DAYS - 1);

function runDay(building: Building, day: number, pick: Random): void {
  const { world, counts } = building;
  const unitOf = (r: number): Door => building.residents[r]!.unit;
  const entranceOf = (r: number): Door => building.wings[building.residents[r]!.wing]!.entrance;
  world.runUntil(Math.max(localTime(day, 0), world.now()));
  // Start-of-day chores: moves mid-month, faults, the weekly battery round.
  if (day % 30 === 15) {
    for (let m = 0; m < MOVES_PER_MONTH; m++) {
      let r = pick.int(0, building.residents.length - 1);
      if (r % GUEST_HOST_STRIDE === 0) r++; // hosts of guests stay
      building.turnOver(r, `Resident ${counts.moves + RESIDENTS + 1}`);
    }
  }
  if (day === DRAIN_DAY) {
    for (const wing of building.wings) {
      for (const unit of wing.units.slice(0, 2)) world.drainBattery(unit.id, 12);
    }
    counts.inputs += 2 * WINGS;
  }
  const jammed = building.wings[0]!.units[3]!;
  if (day === JAM_DAY || day === JAM_DAY + 1) {
    if (day === JAM_DAY) world.jamBolt(jammed.id);
    else world.freeBolt(jammed.id);
    counts.inputs++;
  }
  if (day % 7 === 0) {
    for (const door of building.doors()) {
      if (door.model !== 'R' && world.batteryPercent(door.id) < SWAP_BELOW_PERCENT) {
        world.swapBattery(door.id);
        counts.batterySwaps++;
        counts.inputs++;
      }
    }
  }

  const plan = planDay(building, day, pick);
  for (const i of plan.order()) {
    const time = plan.times[i]!;
    const code = plan.codes[i]!;
    const action = Math.floor(code / 2 ** SUBJECT_BITS);
    const subject = code % 2 ** SUBJECT_BITS;
    // A guest or the vendor walking between doors may run the clock past the next action.
    world.runUntil(Math.max(time, world.now()));
    switch (action) {
      case ACTION.LEAVE:
        building.rex(entranceOf(subject));
        building.holdOpen(entranceOf(subject), pick.int(3_000, 9_000));
        break;
      case ACTION.RETURN: {
        const resident = building.residents[subject]!;
        if (building.mobileKey(entranceOf(subject), resident.credential, false)) {
          building.holdOpen(entranceOf(subject), pick.int(3_000, 9_000));
        }
        break;
      }
      case ACTION.UNIT: {
        const resident = building.residents[subject]!;
        if (resident.pin !== undefined && pick.nextFloat() < 0.3) {
          const typo = pick.nextFloat() < 0.05;
          if (typo) building.code(unitOf(subject), resident.pin.split('').reverse().join(''));
          building.code(unitOf(subject), resident.pin);
        } else {
          building.mobileKey(unitOf(subject), resident.credential, true);
        }
        break;
      }
      case ACTION.AMENITY: {
        const resident = building.residents[subject]!;
        const amenities = building.wings[resident.wing]!.amenities;
        const door = amenities[pick.int(0, amenities.length - 1)]!;
        building.mobileKey(door, resident.credential, false);
        break;
      }
      case ACTION.GUEST: {
        const guest = building.guests[subject]!;
        const entrance = entranceOf(guest.host);
        if (building.code(entrance, building.dailyCode(entrance, guest))) {
          building.holdOpen(entrance, pick.int(3_000, 9_000));
        }
        world.advance(pick.int(30_000, 90_000));
        building.code(unitOf(guest.host), building.dailyCode(unitOf(guest.host), guest));
        break;
      }
      case ACTION.VENDOR: {
        const wing = building.wings[subject]!;
        if (building.mobileKey(wing.entrance, building.vendor, false)) {
          building.holdOpen(wing.entrance, pick.int(5_000, 20_000));
        }
        world.advance(pick.int(60_000, 300_000));
        building.mobileKey(wing.amenities[0]!, building.vendor, false);
        break;
      }
      case ACTION.HUB:
        building.hubRound();
        break;
      case ACTION.PROPPED: {
        const wing = building.wings[subject]!;
        building.rex(wing.entrance);
        building.holdOpen(wing.entrance, pick.int(2, 6) * 60_000);
        break;
      }
      case ACTION.OUTAGE:
        for (const wing of building.wings) world.cutPower(wing.entrance.id);
        counts.inputs += WINGS;
        break;
      case ACTION.POWER_BACK:
        for (const wing of building.wings) world.restorePower(wing.entrance.id);
        counts.inputs += WINGS;
        break;
    }
  }
}

/**
 * The baseline: `count` bare scheduler events over `span` ms, a hold model of `pending` timers
 * each of which schedules its successor a random delay later. Returns CPU seconds and the events run.
 */
function bareScheduler(
  count: number,
  span: number,
  pending = 1_000,
): { cpuSeconds: number; events: number } {
  const random = new Random('bench/building baseline');
  const delays = Float64Array.from({ length: 1 << 16 }, () => random.nextFloat());
  const meanGap = (span * pending) / count;
  const scheduler = new Scheduler({ start: START });
  let k = 0;
  const next: TimerCallback = (t) => {
    scheduler.at(t + 2 * meanGap * delays[k++ & 0xffff]!, next);
  };
  const start = cpuSeconds();
  for (let i = 0; i < pending; i++) scheduler.at(START + 2 * meanGap * delays[k++ & 0xffff]!, next);
  let events = 0;
  while (events < count) events += scheduler.runUntil(scheduler.now() + meanGap * 64);
  return { cpuSeconds: cpuSeconds() - start, events };
}

function main(): void {
  console.log(`bench/building: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  const setupCpu0 = cpuSeconds();
  const setupWall0 = performance.now();
  const building = new Building();
  const setup = {
    cpuSeconds: cpuSeconds() - setupCpu0,
    wallSeconds: (performance.now() - setupWall0) / 1000,
  };
  const doors = [...building.doors()];
  console.log(
    `${doors.length} doors (${WINGS} R, ${WINGS * AMENITIES.length} C/C2, ${WINGS * UNITS_PER_WING} M), ` +
      `${RESIDENTS} residents, ${GUESTS} guests, 1 vendor; commissioned in ${setup.wallSeconds.toFixed(2)} s wall, ${setup.cpuSeconds.toFixed(2)} s CPU`,
  );

  const { world, counts } = building;
  const pick = world.random.fork('routines');
  const eventsBefore = world.eventCount;
  const executedBefore = world.scheduler.executed;
  const before = { ...counts };
  const cpu0 = cpuSeconds();
  const wall0 = performance.now();
  for (let day = 0; day < DAYS; day++) runDay(building, day, pick);
  world.runUntil(localTime(DAYS, 0));
  const year = { cpuSeconds: cpuSeconds() - cpu0, wallSeconds: (performance.now() - wall0) / 1000 };
  const events = world.eventCount - eventsBefore;
  // The World keeps its whole log, in columns (`src/sim/event-log.ts`): the heap at the end holds it.
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  const timersFired = world.scheduler.executed - executedBefore;
  const yearCounts = Object.fromEntries(
    Object.entries(counts).map(([name, value]) => [name, value - before[name as keyof Counts]]),
  ) as unknown as Counts;
  const steps = yearCounts.inputs + timersFired;

  const baseline = bareScheduler(steps, localTime(DAYS, 0) - START);
  const firmware = {
    events,
    timersFired,
    steps,
    stepsPerCpuSecond: steps / year.cpuSeconds,
    eventsPerCpuSecond: events / year.cpuSeconds,
  };
  const ratios = {
    yearOverBareScheduler: year.cpuSeconds / baseline.cpuSeconds,
    bareSchedulerEventsPerCpuSecond: baseline.events / baseline.cpuSeconds,
  };

  console.log(`\na year (${DAYS} days) at model fidelity`);
  console.log(`  wall time                               ${year.wallSeconds.toFixed(2)} s`);
  console.log(
    `  CPU time                                ${year.cpuSeconds.toFixed(2)} s   target: ≤ 10 s (ARCHITECTURE.md §8)`,
  );
  console.log(`  typed events logged                     ${events.toLocaleString('en')}`);
  console.log(
    `  unlocks granted / refused               ${yearCounts.granted.toLocaleString('en')} / ${yearCounts.refused.toLocaleString('en')}`,
  );
  console.log(
    `  firmware steps (inputs, timers)         ${steps.toLocaleString('en')} (${timersFired.toLocaleString('en')} timers)`,
  );
  console.log(
    `  bundles applied, time syncs             ${yearCounts.bundlesApplied.toLocaleString('en')}, ${yearCounts.timeSyncs.toLocaleString('en')}`,
  );
  console.log(
    `  daily codes assigned, moves, battery swaps  ${yearCounts.dailyCodes}, ${yearCounts.moves}, ${yearCounts.batterySwaps}`,
  );
  console.log(`  heap at the end (the log included)      ${heapMiB.toFixed(0)} MiB`);
  console.log(
    `  events logged per CPU-second            ${(firmware.eventsPerCpuSecond / 1e3).toFixed(1)} k/s`,
  );
  console.log(
    `  firmware steps per CPU-second           ${(firmware.stepsPerCpuSecond / 1e3).toFixed(1)} k/s`,
  );
  console.log(
    `\nbaseline: ${baseline.events.toLocaleString('en')} bare scheduler events over the same span`,
  );
  console.log(
    `  CPU time                                ${baseline.cpuSeconds.toFixed(3)} s (${(ratios.bareSchedulerEventsPerCpuSecond / 1e6).toFixed(2)} M events/s)`,
  );
  console.log(
    `  year / bare scheduler                   ${ratios.yearOverBareScheduler.toFixed(1)}× (the firmware's, cloud's and routines' cost over a bare timer)`,
  );

  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `building-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        bench: 'building',
        node: process.version,
        cpu: cpus()[0]?.model,
        days: DAYS,
        doors: doors.length,
        residents: RESIDENTS,
        guests: GUESTS,
        setup,
        year: { ...year, heapMiB },
        counts: yearCounts,
        firmware,
        baseline,
        ratios,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main();
