/**
 * The demo week's incidents (`week.ts`), one per weekday from Tuesday, each the situation
 * ARCHITECTURE.md §3 says the firmware must handle, and the words the summary tells it in:
 *
 * 1. Tuesday: a power outage in the lobby: the front door's R (fail-secure: locked while dark)
 *    and the hub go dark. Back on power the R needs an update: a guest's daily code fails closed
 *    until a resident's phone hands over a time anchor (§4 "Time anchors"), before the hub has
 *    booted, then it works.
 * 2. Wednesday: a battery swap on a unit's M (a power loss: needs update until a phone syncs it).
 * 3. Thursday: the front door held open for twelve minutes: Door Ajar, Door Still Ajar, Door
 *    Secure, delivered to the cloud's outbox by the hub.
 * 4. Friday: a resident moves out and is revoked; the cloud's push sends the hub to the front
 *    door with the new bundle, and their phone, offline with its old package, is refused
 *    `REVOKED` there (§3 "Mobile keys").
 * 5. Saturday: someone tries codes at the front keypad at night: five wrong entries start a
 *    lockout (SECURITY.md 22) that refuses even the sixth; the vendor, whose key holds on weekday
 *    mornings only, is refused at the door (`OutOfSchedule`).
 *
 * Each incident schedules its actions on the World and returns a function that reads the
 * outcome from the log and the phones' results once the week has run.
 */
import { wireErrorName } from '../../protocol/errors.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import type { AccessDecision } from '../../firmware-sim/access.js';
import type { UnlockResult } from '../phone/unlock-events.js';
import type { Building, BuildingDoor, PhoneHolder } from './building.js';
import { HUB_BOOT_MS } from './building-hub.js';
import { formatLocal, localTime, MINUTE } from './time.js';

/** One incident of the week and what came of it, in words. */
export interface IncidentReport {
  readonly id: string;
  readonly title: string;
  readonly at: number;
  readonly lines: readonly string[];
}

/** What an incident may do in the week (`week.ts` provides it). */
export interface WeekContext {
  readonly building: Building;
  readonly start: number;
  readonly days: number;
  /** People who moved out: their routines stop. */
  readonly departed: Set<string>;
  /** Records the bundle versions the cloud holds now (after a change). */
  noteVersions(): void;
  /** Schedules `action` at `t` if it falls inside the run. */
  at(t: number, action: () => void): void;
  /** The holder's phone unlocks `door` (walking through if it opens); `then` gets the result. */
  unlock(
    holder: PhoneHolder,
    door: BuildingDoor,
    then?: (result: UnlockResult) => void,
    holdOpenMs?: number,
  ): void;
  /** Types `code` at the door's keypad (walking through a front door that opens). */
  enterCode(door: BuildingDoor, code: string): AccessDecision | undefined;
  /** A guest of `host` for today, with a daily code for the front door and the host's unit. */
  inviteGuest(host: PhoneHolder, name: string): { readonly front: string; readonly unit: string };
}

type Incident = () => IncidentReport;

/** Schedules the incidents whose day is in the run; returns their reporters. */
export function planIncidents(context: WeekContext): Incident[] {
  const planned: Incident[] = [];
  const plans = [powerOutage, batterySwap, doorAjar, moveOut, nightAtTheKeypad];
  plans.forEach((plan, i) => {
    if (i + 1 < context.days) planned.push(plan(context, i + 1));
  });
  return planned;
}

function describeResult(result: UnlockResult | undefined): string {
  if (result === undefined) return 'did not finish';
  if (result.outcome !== 'failed') return result.outcome;
  const { reason } = result;
  return 'name' in reason ? `${reason.kind} ${reason.name}` : reason.kind;
}

function describeDecision(decision: AccessDecision | undefined): string {
  if (decision === undefined) return 'no answer (no power)';
  if (decision.ok) return `accepted (${decision.audit.result})`;
  return `refused ${wireErrorName(decision.code) ?? decision.audit.result}`;
}

function eventsOf(
  building: Building,
  lock: string,
  from: number,
  to: number,
  types: readonly LockEvent['type'][],
): LockEvent[] {
  return building.world
    .events()
    .filter((e) => e.lock === lock && e.t >= from && e.t < to && types.includes(e.type));
}

function resident(building: Building, index: number): PhoneHolder {
  const holder = building.residents[index % building.residents.length];
  if (holder === undefined) throw new TypeError('the demo building has no residents');
  return holder;
}

function powerOutage(context: WeekContext, day: number): Incident {
  const { building, start } = context;
  const { world, front } = building;
  const cut = localTime(start, day, 13 * 60 + 10);
  const restore = localTime(start, day, 14 * 60 + 20);
  const homeWorker = resident(building, 5);
  const host = resident(building, 6);
  let codes: { readonly front: string; readonly unit: string } | undefined;
  let duringOutage: UnlockResult | undefined;
  let anchorUnlock: UnlockResult | undefined;
  const guestTries: string[] = [];
  context.at(localTime(start, day, 8 * 60 + 30), () => {
    codes = context.inviteGuest(host, 'Outage-day guest');
    context.noteVersions();
  });
  // The hub is on the lobby's circuit: down with the front door, back a while after the power.
  context.at(cut, () => {
    world.cutPower(front.id);
    building.hub.powerOff();
  });
  context.at(restore + HUB_BOOT_MS, () => building.hub.powerOn());
  context.at(cut + 30 * MINUTE, () =>
    context.unlock(homeWorker, front, (result) => (duringOutage = result)),
  );
  context.at(restore, () => world.restorePower(front.id));
  const guestTry = (): void => {
    if (codes === undefined) return;
    guestTries.push(
      `${formatLocal(world.now())} ${describeDecision(context.enterCode(front, codes.front))}`,
    );
  };
  context.at(restore + 2 * MINUTE, guestTry);
  context.at(restore + 10 * MINUTE, () =>
    context.unlock(homeWorker, front, (result) => (anchorUnlock = result)),
  );
  context.at(restore + 15 * MINUTE, guestTry);
  return () => {
    const synced = eventsOf(building, front.id, restore, restore + 2 * 60 * MINUTE, [
      'TIME_SYNCED',
    ])[0];
    return {
      id: 'power-outage',
      title: `Power outage in the lobby: front door (R, fail-secure) and hub, ${formatLocal(cut)}-${formatLocal(restore).slice(4)}`,
      at: cut,
      lines: [
        `relay stayed locked without power; ${homeWorker.name}'s phone during the outage: ${describeResult(duringOutage)}`,
        `back on power at ${formatLocal(restore)}: needs update (time-bound access fails closed); the hub, on the same circuit, boots at ${formatLocal(restore + HUB_BOOT_MS)}`,
        `guest's daily code: ${guestTries.join('; then ') || 'not tried'}`,
        synced === undefined
          ? 'the clock was not set again'
          : `${homeWorker.name}'s phone handed over a time anchor at ${formatLocal(synced.t)} (unlock: ${describeResult(anchorUnlock)})`,
      ],
    };
  };
}

function batterySwap(context: WeekContext, day: number): Incident {
  const { building, start } = context;
  const { world } = building;
  const owner = resident(building, 10);
  const unit = owner.unit!;
  const swap = localTime(start, day, 10 * 60);
  context.at(swap, () => world.swapBattery(unit.id));
  return () => {
    const synced = eventsOf(building, unit.id, swap, Infinity, ['TIME_SYNCED'])[0];
    const by = building.unlocks.find(
      (u) =>
        synced !== undefined && u.result.doorId === unit.cloud.id && u.result.endedAt >= synced.t,
    );
    return {
      id: 'battery-swap',
      title: `Battery swap on ${unit.name} (M), ${formatLocal(swap)}`,
      at: swap,
      lines: [
        'a power loss: the RTC is lost and the lock needs an update',
        synced === undefined
          ? 'no phone came by to set its clock'
          : `clock set at ${formatLocal(synced.t)} by ${by?.holder ?? 'a resident'}'s phone (passive sync before the unlock)`,
      ],
    };
  };
}

function doorAjar(context: WeekContext, day: number): Incident {
  const { building, start } = context;
  const { front } = building;
  const mover = resident(building, 14);
  const opened = localTime(start, day, 18 * 60 + 45);
  const heldMs = 12 * MINUTE;
  context.at(opened, () => context.unlock(mover, front, undefined, heldMs));
  return () => {
    const notes = eventsOf(building, front.id, opened, opened + heldMs + 5 * MINUTE, [
      'DOOR_AJAR',
      'DOOR_STILL_AJAR',
      'DOOR_SECURE',
    ]);
    const outbox = building.cloud.outbox.filter(
      (n) => n.time >= opened && n.time < opened + heldMs * 2,
    );
    return {
      id: 'door-ajar',
      title: `Front door held open for 12 minutes (${mover.name} moving furniture), ${formatLocal(opened)}`,
      at: opened,
      lines: [
        notes.map((n) => `${n.type} ${formatLocal(n.t)}`).join(', ') || 'no notification',
        `${outbox.length} notification(s) in the cloud's outbox for the manager (carried by the hub)`,
      ],
    };
  };
}

function moveOut(context: WeekContext, day: number): Incident {
  const { building, start } = context;
  const { cloud, front } = building;
  const leaver = resident(building, 21);
  const revokedAt = localTime(start, day, 11 * 60);
  const triedAt = localTime(start, day, 19 * 60 + 30);
  let tried: UnlockResult | undefined;
  context.at(revokedAt, () => {
    context.departed.add(leaver.name);
    leaver.phone.setOnline(false);
    cloud.revokeUser(leaver.userId);
    context.noteVersions();
  });
  context.at(triedAt, () => context.unlock(leaver, front, (result) => (tried = result)));
  return () => {
    const reached = eventsOf(building, front.id, revokedAt, triedAt, ['SYNC_APPLIED'])[0];
    return {
      id: 'revocation',
      title: `${leaver.name} moves out and is revoked, ${formatLocal(revokedAt)}`,
      at: revokedAt,
      lines: [
        reached === undefined
          ? 'no sync reached the front door before they came back'
          : `the new bundle reached the front door at ${formatLocal(reached.t)}`,
        `their phone (offline, old package) at the front door ${formatLocal(triedAt)}: ${describeResult(tried)}`,
      ],
    };
  };
}

function nightAtTheKeypad(context: WeekContext, day: number): Incident {
  const { building, start } = context;
  const { front, vendor } = building;
  const from = localTime(start, day, 2 * 60 + 30);
  const decisions: string[] = [];
  const random = building.world.random.fork('brute-force');
  for (let n = 0; n < 6; n++) {
    context.at(from + n * 30_000, () => {
      const guess = String(random.int(0, 9_999_999)).padStart(7, '0');
      const decision = context.enterCode(front, guess);
      decisions.push(
        decision?.ok === false
          ? (wireErrorName(decision.code) ?? decision.audit.result)
          : describeDecision(decision),
      );
    });
  }
  const vendorAt = localTime(start, day, 9 * 60 + 15);
  let vendorResult: UnlockResult | undefined;
  context.at(vendorAt, () => context.unlock(vendor, front, (result) => (vendorResult = result)));
  return () => {
    const lockout = eventsOf(building, front.id, from, from + 10 * MINUTE, ['KEYPAD_LOCKOUT'])[0];
    return {
      id: 'brute-force',
      title: `Codes tried at the front keypad, ${formatLocal(from)}`,
      at: from,
      lines: [
        `six guesses 30 s apart: ${decisions.join(', ')}`,
        lockout === undefined
          ? 'no lockout'
          : `keypad lockout at ${formatLocal(lockout.t)} for ${Math.round((lockout.type === 'KEYPAD_LOCKOUT' ? lockout.lockoutMs : 0) / MINUTE)} min`,
        `the vendor on a Saturday morning (${formatLocal(vendorAt)}): ${describeResult(vendorResult)}`,
      ],
    };
  };
}
