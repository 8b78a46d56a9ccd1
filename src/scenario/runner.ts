/**
 * Runs a scenario (docs/SCENARIOS.md) in a World with a Cloud: the building's doors become
 * commissioned locks whose keys come from the cloud (`Cloud.addDoor` provisioning), people become
 * cloud users with keys, phones and codes, and the timeline's actions happen at their instants on
 * the World's clock. State expectations are sampled at their instants; everything else is judged
 * afterwards from the event log (`expectations.ts`).
 *
 * Fidelity (ARCHITECTURE.md §7):
 * - `full`: each phone is the real unlock engine (`src/phone/phone.ts`) on the virtual radio —
 *   scan, connect, Noise, passive sync (bundle, then a time anchor when the lock needs an
 *   update), unlock, audit pull — driven on virtual time (`src/sim/async.ts`); a phone's unlock
 *   runs while the timeline goes on, as it would at a real door. Bundles from the hub are pushed
 *   sealed.
 * - `model`: no radio and no session. A phone does what the engine does in the same order, in
 *   one instant: refresh its package when online, apply the newest bundle it carries when the lock
 *   is behind (`world.applyBundle`), sync the lock's clock when it needs an update, then present
 *   its credential (`world.presentMobileKey`) — the lock's one authorization function decides.
 *
 * Determinism (§2): the World, the Cloud, the radio and the phones draw only from the World's
 * seeded random, so one (scenario, seed, fidelity) gives one event log, byte for byte.
 */
import { dayLabelAt } from '../../protocol/doorcode/day-label.js';
import { DOORCODE_ERRORS } from '../../protocol/doorcode/errors.js';
import { wireErrorName } from '../../protocol/errors.js';
import { peekCredential } from '../../protocol/formats/credential.js';
import { decodeSyncBundleHeader, openSyncBundle } from '../../protocol/formats/sync-bundle.js';
import type { AccessDecision } from '../../firmware-sim/access.js';
import type { Effects } from '../../firmware-sim/effects.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import { Cloud } from '../cloud/cloud.js';
import type { Door } from '../cloud/cloud.js';
import { CloudError } from '../cloud/errors.js';
import type { PhonePackage } from '../cloud/sync.js';
import { createNodeCrypto } from '../core/node-crypto-provider.js';
import { Phone } from '../phone/phone.js';
import type { UnlockResult } from '../phone/unlock-events.js';
import { runPromise, runUntilAsync } from '../sim/async.js';
import { World } from '../sim/world.js';
import type { LockOptions } from '../sim/world.js';
import { VirtualRadio } from '../transport/virtual-radio.js';
import type { VirtualCentral } from '../transport/virtual-radio.js';
import { ScenarioError } from './reader.js';
import type {
  DoorSpec,
  Fidelity,
  FieldValue,
  Outcome,
  PersonSpec,
  Scenario,
  StateField,
  Step,
  StepAction,
} from './scenario.js';

export interface RunOptions {
  /** Overrides the scenario's seed. */
  readonly seed?: string;
  /** Default: the scenario's, else `full`. */
  readonly fidelity?: Fidelity;
  /** Overrides the scenario's end, ms UTC. */
  readonly until?: number;
}

/** What one timeline step did. */
export interface StepOutcome {
  readonly step: number;
  readonly id?: string;
  /** When the step ran. */
  readonly t: number;
  readonly action: StepAction;
  readonly door?: string;
  readonly person?: string;
  /**
   * `granted` / `refused` for access attempts (keypad, phone); `done` for other actions that
   * took effect; `failed` when the attempt never reached a decision (no power, lock not found,
   * the cloud refused); `none` when a keypad entry completed nothing.
   */
  readonly outcome: Outcome;
  /** The refusal's or failure's name (`CLOCK_INVALID`, `REVOKED`, `LockNotFound`, …). */
  readonly reason?: string;
  /** A phone's unlock ends later than it starts (full fidelity). */
  readonly endedAt?: number;
}

export type StateSample = Readonly<Partial<Record<StateField, FieldValue>>>;

export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly seed: string;
  readonly fidelity: Fidelity;
  /** The instant the run stopped (the end, or later while phones finished their unlocks). */
  readonly end: number;
  readonly events: readonly LockEvent[];
  /** The event log as JSON lines. */
  readonly log: string;
  readonly outcomes: readonly StepOutcome[];
  /** State samples by expectation index. */
  readonly samples: ReadonlyMap<number, StateSample>;
  /** Each person's cloud user id (hex), as ACCESS events name users. */
  readonly userIds: ReadonlyMap<string, string>;
}

/** How long phones may take to finish unlocks still running at the end, ms of virtual time. */
const PHONE_SETTLE_MS = 10 * 60_000;
/** Where a person stands to unlock: this far from the door, metres. */
const PHONE_DISTANCE_M = 2;
const DOORCODE_NAMES = new Map<number, string>(
  Object.entries(DOORCODE_ERRORS).map(([name, code]) => [code, name]),
);

/** A model-fidelity phone: its key, its cached package, whether it is online. */
interface ModelPhone {
  readonly key: Uint8Array;
  pkg: PhonePackage | undefined;
  online: boolean;
}

interface FullPhone {
  readonly phone: Phone;
  readonly central: VirtualCentral;
}

type Moment =
  | { readonly t: number; readonly step: Step }
  | { readonly t: number; readonly sample: number; readonly door: DoorSpec };

export async function runScenario(
  scenario: Scenario,
  options: RunOptions = {},
): Promise<ScenarioRun> {
  return new Run(scenario, options).run();
}

class Run {
  readonly #scenario: Scenario;
  readonly #seed: string;
  readonly #fidelity: Fidelity;
  readonly #until: number;
  readonly #world: World;
  readonly #cloud: Cloud;
  readonly #radio: VirtualRadio<Effects> | undefined;
  readonly #doors = new Map<string, { readonly spec: DoorSpec; readonly cloud: Door }>();
  readonly #users = new Map<string, string>();
  readonly #people = new Map<string, PersonSpec>();
  readonly #pins = new Map<string, string>();
  readonly #modelPhones = new Map<string, ModelPhone>();
  readonly #fullPhones = new Map<string, FullPhone>();
  readonly #outcomes: StepOutcome[] = [];
  readonly #pending: Promise<void>[] = [];
  readonly #samples = new Map<number, StateSample>();

  constructor(scenario: Scenario, options: RunOptions) {
    this.#scenario = scenario;
    this.#seed = options.seed ?? scenario.seed;
    this.#fidelity = options.fidelity ?? scenario.fidelity ?? 'full';
    this.#until = options.until ?? scenario.until;
    if (this.#until < scenario.start) {
      throw new ScenarioError(['until'], 'the run would end before it starts');
    }
    const world = new World({ seed: this.#seed, start: scenario.start });
    this.#world = world;
    this.#cloud = new Cloud({
      timeZone: scenario.timeZone,
      crypto: world.crypto,
      random: world.random.fork('cloud').bytes,
      clock: () => world.now(),
    });
    this.#radio = this.#fidelity === 'full' ? new VirtualRadio<Effects>(world) : undefined;
  }

  async run(): Promise<ScenarioRun> {
    const scenario = this.#scenario;
    for (const door of scenario.doors) this.#addDoor(door);
    for (const person of scenario.people) this.#addPerson(person);
    for (const person of scenario.people) this.#shareKeys(person, false);
    for (const person of scenario.people) this.#shareKeys(person, true);
    for (const person of scenario.people) this.#issueCodes(person);
    // Phones are registered before commissioning, so the first bundle carries their credentials.
    for (const person of scenario.people) await this.#addPhone(person);
    for (const door of scenario.doors) this.#commission(door);

    for (const moment of this.#moments()) {
      await this.#runTo(moment.t);
      if ('step' in moment) this.#perform(moment.step);
      else this.#samples.set(moment.sample, this.#sample(moment.door));
    }
    await this.#runTo(this.#until);
    if (this.#pending.length > 0) {
      await runPromise(this.#world, Promise.all(this.#pending), PHONE_SETTLE_MS);
    }
    const outcomes = this.#outcomes.toSorted((a, b) => a.step - b.step);
    return {
      scenario,
      seed: this.#seed,
      fidelity: this.#fidelity,
      end: this.#world.now(),
      events: this.#world.events(),
      log: this.#world.toJsonLines(),
      outcomes,
      samples: this.#samples,
      userIds: this.#users,
    };
  }

  /** Timeline steps and state samples in time order; at one instant, steps first. */
  #moments(): Moment[] {
    const moments: Moment[] = this.#scenario.timeline.map((step) => ({ t: step.at, step }));
    for (const expectation of this.#scenario.expectations) {
      if (expectation.kind !== 'state') continue;
      const door = this.#doors.get(expectation.door)!.spec;
      moments.push({ t: expectation.at, sample: expectation.index, door });
    }
    // Array.prototype.sort is stable: steps keep file order, samples follow at equal times.
    return moments.sort((a, b) => a.t - b.t || Number('sample' in a) - Number('sample' in b));
  }

  async #runTo(t: number): Promise<void> {
    if (t < this.#world.now()) return;
    if (this.#fidelity === 'full') await runUntilAsync(this.#world, t);
    else this.#world.runUntil(t);
  }

  // ---- building ----

  #addDoor(spec: DoorSpec): void {
    const config = {
      ...(spec.ajarSeconds === undefined ? {} : { ajarSeconds: spec.ajarSeconds }),
      ...(spec.stillAjarMinutes === undefined ? {} : { stillAjarMinutes: spec.stillAjarMinutes }),
      ...(spec.relockSeconds === undefined ? {} : { relockSeconds: spec.relockSeconds }),
      ...(spec.passage === undefined ? {} : { doorSchedules: spec.passage }),
    };
    const door = this.#cloud.addDoor({ name: spec.name, model: spec.model, config });
    this.#doors.set(spec.id, { spec, cloud: door });
  }

  #addPerson(person: PersonSpec): void {
    this.#people.set(person.id, person);
    this.#users.set(person.id, this.#cloud.addUser({ name: person.name, role: person.role }).id);
  }

  /** Residents' keys first: a guest's share needs the resident's to exist. */
  #shareKeys(person: PersonSpec, guests: boolean): void {
    person.keys.forEach((key, i) => {
      if ((key.sharedBy !== undefined) !== guests) return;
      this.#cloudCall(['people', person.id, 'keys', i], () => {
        const created = this.#cloud.createKey({
          doors: key.doors.map((door) => this.#cloudDoor(door).id),
          ...(key.schedule === undefined ? {} : { schedule: key.schedule }),
        });
        this.#cloud.shareKey(created.id, this.#user(person.id), {
          ...(key.from === undefined ? {} : { notBefore: key.from }),
          ...(key.until === undefined ? {} : { expires: key.until }),
          ...(key.sharedBy === undefined ? {} : { sharedBy: this.#user(key.sharedBy) }),
        });
      });
    });
  }

  #issueCodes(person: PersonSpec): void {
    person.permanentCodes.forEach((door, i) => {
      this.#cloudCall(['people', person.id, 'permanentCodes', i], () => {
        const entry = this.#cloud.createPermanentCode(
          this.#cloudDoor(door).id,
          this.#user(person.id),
        );
        this.#pins.set(`${person.id}:${door}`, entry.pin);
      });
    });
  }

  /** Installs the lock with the cloud's provisioning and its first bundle (commissioning). */
  #commission(spec: DoorSpec): void {
    const { provisioning } = this.#cloudDoor(spec.id);
    const common = {
      id: spec.id,
      ...provisioning,
      ...(spec.driftPpm === undefined ? {} : { driftPpm: spec.driftPpm }),
    };
    const options: LockOptions =
      spec.model === 'R'
        ? {
            ...common,
            model: 'R',
            wiring: spec.wiring ?? 'fail-secure',
            ...(spec.ajarSeconds === undefined ? {} : { ajarSeconds: spec.ajarSeconds }),
            ...(spec.stillAjarMinutes === undefined
              ? {}
              : { stillAjarMinutes: spec.stillAjarMinutes }),
          }
        : {
            ...common,
            model: spec.model,
            ...(spec.batteryPercent === undefined ? {} : { batteryPercent: spec.batteryPercent }),
            ...(spec.wired === true ? { gen2Wired: true } : {}),
          };
    this.#world.addLock(options);
    this.#radio?.addLock(spec.id, { position: spec.position });
    this.#hubSync(spec.id);
  }

  async #addPhone(person: PersonSpec): Promise<void> {
    if (!person.phone) return;
    const userId = this.#user(person.id);
    const draw = this.#world.random.fork(`phone:${person.id}`);
    if (this.#radio === undefined) {
      const key = draw.bytes(32);
      this.#cloud.registerPhone(userId, key);
      this.#modelPhones.set(person.id, {
        key,
        pkg: this.#cloud.phoneSync(userId, key),
        online: true,
      });
      return;
    }
    const central = this.#radio.phone({ position: { x: PHONE_DISTANCE_M, y: 0 } });
    const phone = new Phone({
      transport: central,
      crypto: createNodeCrypto(draw.fork('crypto').bytes),
      random: draw.fork('jitter').bytes,
      cloud: this.#cloud,
    });
    this.#cloud.registerPhone(userId, phone.publicKey);
    phone.setUp(userId);
    await runPromise(this.#world, phone.fetchLocks());
    this.#fullPhones.set(person.id, { phone, central });
  }

  // ---- the timeline ----

  #perform(step: Step): void {
    const world = this.#world;
    const done = (extra: Partial<StepOutcome> = {}): void =>
      this.#record(step, { outcome: 'done', ...extra });
    switch (step.action) {
      case 'cutPower':
      case 'restorePower':
      case 'openDoor':
      case 'closeDoor':
      case 'rexMotion':
      case 'syncTime':
      case 'swapBattery':
      case 'qiJumpStart':
      case 'jamBolt':
      case 'freeBolt':
        world[step.action](step.door);
        return done();
      case 'holdDoorOpen':
        world.holdDoorOpen(step.door, step.forMs);
        return done();
      case 'drainBattery':
        world.drainBattery(step.door, step.percent);
        return done();
      case 'setClockDrift':
        world.setClockDrift(step.door, step.ppm);
        return done();
      case 'sync':
        return this.#record(step, this.#hubSync(step.door));
      case 'enterCode': {
        const code = this.#codeOf(step);
        if (typeof code !== 'string') return this.#record(step, code);
        return this.#record(step, decisionOutcome(world.enterCode(step.door, code)));
      }
      case 'pressKeys':
        return this.#record(step, decisionOutcome(world.pressKeys(step.door, step.keys)));
      case 'unlock':
        return this.#unlock(step);
      case 'revoke': {
        const result = this.#cloudStep(() => this.#cloud.revokeUser(this.#user(step.person)));
        return this.#record(step, result ?? { outcome: 'done' });
      }
      case 'phoneOffline':
      case 'phoneOnline': {
        const online = step.action === 'phoneOnline';
        this.#fullPhones.get(step.person)?.phone.setOnline(online);
        const model = this.#modelPhones.get(step.person);
        if (model !== undefined) model.online = online;
        return done();
      }
    }
  }

  #record(step: Step, result: Pick<StepOutcome, 'outcome'> & Partial<StepOutcome>): void {
    this.#outcomes.push({
      step: step.index,
      ...(step.id === undefined ? {} : { id: step.id }),
      t: step.at,
      action: step.action,
      ...('door' in step ? { door: step.door } : {}),
      ...('person' in step ? { person: step.person } : {}),
      ...result,
    });
  }

  /** The digits a step types, or why there are none (the cloud refused a daily code). */
  #codeOf(
    step: Extract<Step, { action: 'enterCode' }>,
  ): string | Pick<StepOutcome, 'outcome' | 'reason'> {
    const { code } = step;
    switch (code.kind) {
      case 'literal':
        return code.digits;
      case 'permanent':
        return this.#pins.get(`${code.person}:${step.door}`)!;
      case 'daily': {
        const person = this.#people.get(code.person)!;
        const singleUse = person.dailyCodes.find((d) => d.door === step.door)?.singleUse ?? false;
        let digits = '';
        const refused = this.#cloudStep(() => {
          digits = this.#cloud.assignDailyCode(
            this.#cloudDoor(step.door).id,
            this.#user(code.person),
            { day: code.day ?? dayLabelAt(this.#world.now(), this.#scenario.timeZone), singleUse },
          ).code;
        });
        return refused ?? digits;
      }
    }
  }

  #unlock(step: Extract<Step, { action: 'unlock' }>): void {
    const full = this.#fullPhones.get(step.person);
    if (full === undefined) {
      this.#record(step, this.#modelUnlock(step.person, step.door));
      return;
    }
    const { phone, central } = full;
    const { position } = this.#doors.get(step.door)!.spec;
    central.moveTo({ x: position.x + PHONE_DISTANCE_M, y: position.y });
    const doorId = this.#cloudDoor(step.door).id;
    const finished = (async () => {
      if (phone.online) await phone.fetchLocks();
      const result = await phone.unlock(doorId).result;
      this.#record(step, { ...unlockOutcome(result), endedAt: result.endedAt });
    })();
    this.#pending.push(finished);
  }

  /** Model fidelity: the phone engine's steps in one instant (module comment). */
  #modelUnlock(person: string, door: string): Pick<StepOutcome, 'outcome' | 'reason'> {
    const phone = this.#modelPhones.get(person)!;
    if (phone.online) {
      try {
        phone.pkg = this.#cloud.phoneSync(this.#user(person), phone.key);
      } catch (error) {
        if (!(error instanceof CloudError)) throw error;
        // A token the cloud refuses wipes the cache (src/phone/phone.ts `fetchLocks`).
        phone.pkg = undefined;
      }
    }
    const cloudDoor = this.#cloudDoor(door);
    const signed = phone.pkg?.credentialByLock.get(cloudDoor.lockIdHex);
    if (phone.pkg === undefined || signed === undefined) {
      return { outcome: 'failed', reason: 'LockNotFound' };
    }
    const lock = this.#world.lock(door);
    if (!lock.powered) return { outcome: 'failed', reason: 'LockNotFound' };
    const delta = phone.pkg.deltas.get(cloudDoor.lockIdHex);
    const sealed =
      delta !== undefined && delta.baseVersion === lock.sync.version
        ? delta.sealed
        : phone.pkg.bundles.get(cloudDoor.lockIdHex);
    if (sealed !== undefined) this.#applySealed(door, sealed);
    if (lock.clockReading(this.#world.now()) === undefined) this.#world.syncTime(door);
    const credential = peekCredential(signed);
    if (!credential.ok) return { outcome: 'failed', reason: 'Internal' };
    return decisionOutcome(this.#world.presentMobileKey(door, credential.value));
  }

  /** The hub pushes the door's newest bundle when the lock is behind (§3 "hub"). */
  #hubSync(door: string): Pick<StepOutcome, 'outcome' | 'reason'> {
    const lock = this.#world.lock(door);
    if (!lock.powered) return { outcome: 'failed', reason: 'LockNotFound' };
    const cloudDoor = this.#cloudDoor(door);
    const offer = this.#cloud.bundleFor(cloudDoor.id, { baseVersion: lock.sync.version });
    return this.#applySealed(door, offer.sealed);
  }

  /**
   * Hands a sealed bundle to the lock if it is newer than the lock's: sealed at full fidelity,
   * opened and applied decoded at model fidelity. The cloud learns the version it applied.
   */
  #applySealed(door: string, sealed: Uint8Array): Pick<StepOutcome, 'outcome' | 'reason'> {
    const lock = this.#world.lock(door);
    const header = decodeSyncBundleHeader(sealed);
    if (!header.ok || header.value.version <= lock.sync.version) return { outcome: 'done' };
    let applied;
    if (this.#fidelity === 'full') {
      applied = this.#world.pushSealedBundle(door, sealed);
    } else {
      const { lockSecret, lockId } = this.#cloudDoor(door);
      const opened = openSyncBundle(
        sealed,
        lockSecret,
        lockId,
        lock.sync.version,
        this.#world.crypto,
      );
      applied = opened.ok ? this.#world.applyBundle(door, opened.value) : opened;
    }
    if (!applied.ok) return { outcome: 'refused', reason: reasonName(applied.code) };
    this.#cloud.acknowledgeBundle(this.#cloudDoor(door).id, applied.value);
    return { outcome: 'done' };
  }

  #sample(door: DoorSpec): StateSample {
    const world = this.#world;
    const now = world.now();
    const lock = world.lock(door.id);
    const common = {
      powered: lock.powered,
      clockValid: lock.clockReading(now) !== undefined,
      syncVersion: lock.sync.version,
      lockedOut: lock.keypad.lockoutUntil > now,
    };
    if (door.model === 'R') {
      const state = world.controllerState(door.id);
      return { ...common, relay: state.relay, doorOpen: state.door.open, passage: state.passage };
    }
    const state = world.batteryLockState(door.id);
    return {
      ...common,
      bolt: state.bolt.position,
      passage: state.passage,
      battery: Math.round(world.batteryPercent(door.id) * 100) / 100,
    };
  }

  // ---- lookups and cloud errors ----

  #cloudDoor(id: string): Door {
    return this.#doors.get(id)!.cloud;
  }

  #user(person: string): string {
    return this.#users.get(person)!;
  }

  /** Setting up: a cloud refusal is a scenario the cloud cannot build, named by its path. */
  #cloudCall(path: readonly (string | number)[], call: () => void): void {
    try {
      call();
    } catch (error) {
      if (!(error instanceof CloudError)) throw error;
      throw new ScenarioError(path, `the cloud refused: ${error.message}`);
    }
  }

  /** During the run: a cloud refusal is the step's outcome (`CLOUD_REVOKED`, …). */
  #cloudStep(call: () => void): Pick<StepOutcome, 'outcome' | 'reason'> | undefined {
    try {
      call();
      return undefined;
    } catch (error) {
      if (!(error instanceof CloudError)) throw error;
      return { outcome: 'failed', reason: `CLOUD_${error.code}` };
    }
  }
}

function reasonName(code: number): string {
  return wireErrorName(code) ?? DOORCODE_NAMES.get(code) ?? `CODE_${code}`;
}

function decisionOutcome(
  decision: AccessDecision | undefined,
): Pick<StepOutcome, 'outcome' | 'reason'> {
  if (decision === undefined) return { outcome: 'none' };
  return decision.ok
    ? { outcome: 'granted' }
    : { outcome: 'refused', reason: reasonName(decision.code) };
}

function unlockOutcome(result: UnlockResult): Pick<StepOutcome, 'outcome' | 'reason'> {
  switch (result.outcome) {
    case 'success':
      return { outcome: 'granted' };
    case 'canceled':
      return { outcome: 'failed', reason: 'Canceled' };
    case 'failed': {
      const { reason } = result;
      switch (reason.kind) {
        case 'Denied':
          return { outcome: 'refused', reason: reason.name };
        case 'OutOfSchedule':
          return { outcome: 'refused', reason: reasonName(reason.code) };
        case 'AuthFailed':
          return { outcome: 'refused', reason: 'AUTH_FAILED' };
        case 'BluetoothDisabled':
        case 'ConnectionFailed':
        case 'Internal':
        case 'LockNotFound':
          return { outcome: 'failed', reason: reason.kind };
      }
    }
  }
}
