/**
 * The World (ARCHITECTURE.md §1 `src/sim`, §2): many locks on one virtual-time `Scheduler`, a
 * seeded `Random`, a fault and action API for scenarios, and the event log every lock writes to.
 * The firmware is pure (`firmware-sim/`): the World feeds it inputs at world time and applies
 * the effects it returns — logs its events, and keeps its timers in the one scheduler, one
 * pending timer per (lock, timer kind), each with a callback made once when the lock is added
 * (STYLE.md: never a host timer per lock; nothing allocated per event). The log keeps what
 * the firmware wrote, in columns, and builds the typed records when it is read (`event-log.ts`).
 *
 * Determinism (§2): everything runs on the scheduler, ties in insertion order, and the only
 * randomness is `random`, seeded; the same seed and the same actions give the same log, and
 * `toJsonLines()` the same bytes.
 *
 * Models plug in through `LockFirmware`: `addLock` builds one from the options' `model` — the R
 * (`firmware-sim/controller.ts`), or the battery locks M, C and C2
 * (`firmware-sim/battery-lock.ts`). A lock takes the actions its model has (ARCHITECTURE.md §3
 * table); any other, say `openDoor` on a C (no door sensor) or `cutPower` on a battery-only M,
 * is a scenario bug and throws `RangeError`.
 */
import type { CryptoProvider } from '../../protocol/crypto/provider.js';
import { createNobleCrypto } from '../../protocol/crypto/noble-provider.js';
import { createDoorcodeKernel } from '../../protocol/doorcode/kernel.js';
import type { DayCodesDeriver } from '../../protocol/doorcode/deriver.js';
import type { Credential } from '../../protocol/formats/credential.js';
import type { SyncBundle } from '../../protocol/formats/sync-bundle.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import type { Result } from '../../protocol/result.js';
import type { AccessDecision, Operation } from '../../firmware-sim/access.js';
import { BATTERY_LOCK_INPUT, batteryLockConfig } from '../../firmware-sim/battery-lock.js';
import type {
  BatteryLockConfig,
  BatteryLockInput,
  BatteryLockSettings,
  BatteryLockState,
} from '../../firmware-sim/battery-lock.js';
import { batteryPercent } from '../../firmware-sim/battery.js';
import { controllerConfig, INPUT } from '../../firmware-sim/controller.js';
import type { ControllerInput, ControllerState } from '../../firmware-sim/controller.js';
import { EFFECT, Effects } from '../../firmware-sim/effects.js';
import type { LockEvent } from '../../firmware-sim/events.js';
import type { FlashFault } from '../../firmware-sim/flash.js';
import { Lock } from '../../firmware-sim/lock.js';
import type { Actuator, LockEnvironment, LockIdentity } from '../../firmware-sim/lock.js';
import type {
  AjarSeconds,
  BatteryModelId,
  RelayWiring,
  StillAjarMinutes,
} from '../../firmware-sim/models.js';
import { createRtc, rtcSet } from '../../firmware-sim/rtc.js';
import type { TimerCallback, TimerId } from '../../firmware-sim/time.js';
import { createNodeCrypto } from '../core/node-crypto-provider.js';
import { EventLog } from './event-log.js';
import { Random } from './random.js';
import type { Seed } from './random.js';
import { Scheduler } from './scheduler.js';

export interface WorldOptions {
  readonly seed: Seed;
  /** World time at the start, ms UTC; default 2026-01-01T00:00:00Z. */
  readonly start?: number;
  /**
   * The crypto the locks run on at full fidelity: node:crypto (default, fast) or @noble. Its
   * randomness is the World's, so a run repeats by seed with either.
   */
  readonly crypto?: 'node' | 'noble';
  /**
   * The daily-code deriver: default the fast kernel (every lock derives 768 codes a day, §5);
   * `referenceDayCodes` gives the same codes, slower.
   */
  readonly deriver?: DayCodesDeriver;
}

/** What the World commissions a lock with, when the options do not say (a cloud would). */
export interface LockProvisioning {
  /** 16 bytes; default drawn from the World's seed and the lock's name. */
  readonly lockId?: Uint8Array;
  /** 32 bytes; default drawn like the lock id. */
  readonly lockSecret?: Uint8Array;
  /** Default: a key pair drawn like the lock id, made when first needed. */
  readonly staticKey?: KeyPair;
  /** The property authority's Ed25519 public key; default the World's own authority. */
  readonly issuerKey?: Uint8Array;
  /** `K_door` of §5; default drawn like the lock id. */
  readonly doorKey?: Uint8Array;
}

export interface RLockOptions extends LockProvisioning {
  readonly id: string;
  readonly model: 'R';
  readonly wiring: RelayWiring;
  /** Door Ajar delay; default from the model catalogue. */
  readonly ajarSeconds?: AjarSeconds;
  /** Door Still Ajar period; default from the model catalogue. */
  readonly stillAjarMinutes?: StillAjarMinutes;
  /** Relay release time of an unused unlock, ms; default from the model catalogue. */
  readonly unlockHoldMs?: number;
  /** RTC crystal drift, ppm; default 0. */
  readonly driftPpm?: number;
}

/** An M, C or C2: a battery lock (`firmware-sim/battery-lock.ts`). */
export interface BatteryLockOptions extends BatteryLockSettings, LockProvisioning {
  readonly id: string;
  readonly model: BatteryModelId;
  /** The pack's level at installation, percent; default 100 (a fresh pack). */
  readonly batteryPercent?: number;
  /** RTC crystal drift, ppm; default 0. */
  readonly driftPpm?: number;
}

/** A lock to add, by model. */
export type LockOptions = RLockOptions | BatteryLockOptions;

/** The World's actions that reach a lock's firmware as an actuator input. */
type Action =
  | 'cutPower'
  | 'restorePower'
  | 'openDoor'
  | 'closeDoor'
  | 'rexMotion'
  | 'grantUnlock'
  | 'syncTime'
  | 'swapBattery'
  | 'drainBattery'
  | 'qiJumpStart'
  | 'jamBolt'
  | 'freeBolt'
  | 'keypadWake'
  | 'phoneConnection';

/** The firmware's input for each action its model has. */
type ActionInputs<I extends number> = { readonly [A in Action]?: I };

interface HostedLock {
  readonly id: string;
  /** The lock's index in the event log. */
  readonly logIndex: number;
  readonly lock: Lock;
  readonly actions: ActionInputs<number>;
  readonly timerFired: number;
  /** The pending scheduler timer per timer kind; 0 or absent when none (ids are never 0). */
  readonly timers: TimerId[];
  /** One callback per timer kind, made at the kind's first use and kept. */
  readonly onTimer: TimerCallback[];
}

const R_ACTIONS: ActionInputs<ControllerInput> = {
  cutPower: INPUT.POWER_CUT,
  restorePower: INPUT.POWER_RESTORE,
  openDoor: INPUT.DOOR_OPEN,
  closeDoor: INPUT.DOOR_CLOSE,
  rexMotion: INPUT.REX_MOTION,
  grantUnlock: INPUT.GRANT_UNLOCK,
  syncTime: INPUT.TIME_SYNC,
};

const BATTERY_ACTIONS: ActionInputs<BatteryLockInput> = {
  grantUnlock: BATTERY_LOCK_INPUT.GRANT_UNLOCK,
  syncTime: BATTERY_LOCK_INPUT.TIME_SYNC,
  swapBattery: BATTERY_LOCK_INPUT.SWAP_BATTERY,
  drainBattery: BATTERY_LOCK_INPUT.DRAIN_TO,
  jamBolt: BATTERY_LOCK_INPUT.JAM_BOLT,
  freeBolt: BATTERY_LOCK_INPUT.FREE_BOLT,
  keypadWake: BATTERY_LOCK_INPUT.KEYPAD_WAKE,
  phoneConnection: BATTERY_LOCK_INPUT.BLE_CONNECTION,
};

/** A wired M gen 2 also has a supply to cut and restore (its mains). */
const WIRED_ACTIONS: ActionInputs<BatteryLockInput> = {
  ...BATTERY_ACTIONS,
  cutPower: BATTERY_LOCK_INPUT.MAINS_LOST,
  restorePower: BATTERY_LOCK_INPUT.MAINS_RESTORED,
};

/** A C2 also has a Qi coil. */
const QI_ACTIONS: ActionInputs<BatteryLockInput> = {
  ...BATTERY_ACTIONS,
  qiJumpStart: BATTERY_LOCK_INPUT.QI_JUMP_START,
};

/** The actions of a battery lock, shared between locks of the same kind (no map per lock). */
function batteryActions(config: BatteryLockConfig): ActionInputs<BatteryLockInput> {
  if (config.wired) return WIRED_ACTIONS;
  return config.spec.qiJumpStart ? QI_ACTIONS : BATTERY_ACTIONS;
}

export const DEFAULT_START = Date.UTC(2026, 0, 1);

/**
 * A lock's identity from its options, or drawn from the World's seed and the lock's name. The
 * drawn values are made on first use (a stream forked by label is the same whenever it is
 * forked), and the getters live on the prototype, so an idle lock of a large fleet holds its id
 * and little else (§8: ≤ 2 KiB per idle lock).
 */
class DrawnIdentity implements LockIdentity {
  readonly lockId: Uint8Array;
  readonly #world: World;
  readonly #name: string;
  #lockSecret: Uint8Array | undefined;
  #doorKey: Uint8Array | undefined;
  #staticKey: KeyPair | undefined;
  readonly #issuerKey: Uint8Array | undefined;

  constructor(world: World, options: LockOptions) {
    this.#world = world;
    this.#name = options.id;
    this.lockId = options.lockId ?? this.#draw('id', 16);
    this.#lockSecret = options.lockSecret;
    this.#doorKey = options.doorKey;
    this.#staticKey = options.staticKey;
    this.#issuerKey = options.issuerKey;
  }

  get lockSecret(): Uint8Array {
    return (this.#lockSecret ??= this.#draw('secret', 32));
  }

  get doorKey(): Uint8Array {
    return (this.#doorKey ??= this.#draw('door-key', 32));
  }

  get issuerKey(): Uint8Array {
    return this.#issuerKey ?? this.#world.authority.publicKey;
  }

  /** Made on first use: a fleet at model fidelity never needs one. */
  get staticKey(): KeyPair {
    return (this.#staticKey ??= generateKeyPair(
      createNobleCrypto((n) => this.#draw('static-key', n)),
    ));
  }

  #draw(what: string, length: number): Uint8Array {
    return this.#world.random.fork(`lock:${this.#name}`).fork(what).bytes(length);
  }
}
const KEY_ENTER = '#';

export class World {
  readonly scheduler: Scheduler;
  /** The World's randomness; scenarios draw from it (or fork it) to stay deterministic by seed. */
  readonly random: Random;
  /** The locks' crypto (full fidelity), on randomness forked from the seed. */
  readonly crypto: CryptoProvider;
  /** What every lock of this World runs on: one object, shared. */
  readonly #env: LockEnvironment;
  readonly #locks = new Map<string, HostedLock>();
  readonly #log = new EventLog();
  readonly #effects = new Effects();
  #authority: { readonly seed: Uint8Array; readonly publicKey: Uint8Array } | undefined;

  constructor(options: WorldOptions) {
    this.scheduler = new Scheduler({ start: options.start ?? DEFAULT_START });
    this.random = new Random(options.seed);
    const cryptoRandom = this.random.fork('crypto').bytes;
    this.crypto =
      options.crypto === 'noble' ? createNobleCrypto(cryptoRandom) : createNodeCrypto(cryptoRandom);
    const crypto = this.crypto;
    this.#env = {
      crypto,
      deriver: options.deriver ?? createDoorcodeKernel(),
      random: (n) => crypto.randomBytes(n),
    };
  }

  now(): number {
    return this.scheduler.now();
  }

  /**
   * The World's own property authority (an Ed25519 key drawn from the seed): it signs the
   * credentials and time anchors of scenarios that run without a cloud.
   */
  get authority(): { readonly seed: Uint8Array; readonly publicKey: Uint8Array } {
    if (this.#authority === undefined) {
      const seed = this.random.fork('authority').bytes(32);
      this.#authority = { seed, publicKey: this.crypto.ed25519PublicKey(seed) };
    }
    return this.#authority;
  }

  /**
   * Installs a commissioned lock, its RTC set to world time (commissioning syncs it). An R:
   * powered, relay locked, door closed. An M, C or C2: bolt thrown, its pack at
   * `batteryPercent`, an M gen 2 `gen2Wired` on mains. Its keys and ids come from the options,
   * or are drawn from the World's seed and the lock's name.
   */
  addLock(options: LockOptions): void {
    if (this.#locks.has(options.id)) throw new RangeError(`lock "${options.id}" already exists`);
    const now = this.now();
    const rtc = rtcSet(createRtc(options.driftPpm ?? 0), now, now);
    let actuator: Actuator;
    let actions: ActionInputs<number>;
    let timerFired: number;
    if (options.model === 'R') {
      actuator = { model: 'R', config: controllerConfig(options) };
      actions = R_ACTIONS;
      timerFired = INPUT.TIMER_FIRED;
    } else {
      const config = batteryLockConfig(options);
      actuator = { model: options.model, config };
      actions = batteryActions(config);
      timerFired = BATTERY_LOCK_INPUT.TIMER_FIRED;
    }
    const percent = options.model === 'R' ? 100 : (options.batteryPercent ?? 100);
    const lock = new Lock(actuator, this.#identity(options), rtc, percent, this.#env, now);
    const hosted: HostedLock = {
      id: options.id,
      logIndex: this.#log.addLock(options.id),
      lock,
      actions,
      timerFired,
      timers: [],
      onTimer: [],
    };
    this.#locks.set(options.id, hosted);
  }

  /** The identity of a new lock: the options' values, else drawn (`DrawnIdentity`). */
  #identity(options: LockOptions): LockIdentity {
    return new DrawnIdentity(this, options);
  }

  /** The lock ids, in the order they were added. */
  lockIds(): string[] {
    return [...this.#locks.keys()];
  }

  /** A lock's whole firmware, for inspection (its sync state, audit ring, flash, keypad). */
  lock(id: string): Lock {
    return this.#lock(id).lock;
  }

  /** An R's firmware state, read-only, for scenarios to inspect. */
  controllerState(lock: string): Readonly<ControllerState> {
    const { actuator } = this.#lock(lock).lock;
    if (actuator.model !== 'R') throw new RangeError(`lock "${lock}" is not an R`);
    return actuator.state;
  }

  /** An M, C or C2's firmware state, read-only, for scenarios to inspect. */
  batteryLockState(lock: string): Readonly<BatteryLockState> {
    return this.#batteryLock(lock).state;
  }

  /** An M, C or C2's battery level now, percent of capacity (idle drain included). */
  batteryPercent(lock: string): number {
    const { config, state } = this.#batteryLock(lock);
    return batteryPercent(config.spec.battery, state.battery, this.now());
  }

  /**
   * Cuts the lock's supply: an R loses power; a wired M gen 2 switches to its battery. Battery-only
   * locks have no supply to cut.
   */
  cutPower(lock: string): void {
    this.#act(lock, 'cutPower', 0);
  }

  /** Restores the lock's supply: an R boots; a wired M gen 2 switches back to mains. */
  restorePower(lock: string): void {
    this.#act(lock, 'restorePower', 0);
  }

  /** Opens the door of a lock with a door sensor (the R). */
  openDoor(lock: string): void {
    this.#act(lock, 'openDoor', 0);
  }

  closeDoor(lock: string): void {
    this.#act(lock, 'closeDoor', 0);
  }

  /**
   * Opens the door now and closes it `ms` later, whatever happened in between (a door already
   * closed by then stays closed).
   */
  holdDoorOpen(lock: string, ms: number): void {
    this.#act(lock, 'openDoor', 0);
    this.scheduler.at(this.now() + ms, () => this.#act(lock, 'closeDoor', 0));
  }

  /** Someone walks up to the door from the secure side: the REX sensor sees motion. */
  rexMotion(lock: string): void {
    this.#act(lock, 'rexMotion', 0);
  }

  /**
   * Drives the actuator as if an access had been granted, without deciding one: a fault or a
   * test of the mechanics. Scenarios of access use `presentMobileKey` and `enterCode`.
   */
  grantUnlock(lock: string): void {
    this.#act(lock, 'grantUnlock', 0);
  }

  /** A time sync (from a phone or the hub) sets the lock's RTC to world time (model fidelity). */
  syncTime(lock: string): void {
    this.#act(lock, 'syncTime', this.now());
  }

  /** Replaces an M, C or C2's batteries with a fresh pack; on battery power, a power loss. */
  swapBattery(lock: string): void {
    this.#act(lock, 'swapBattery', 0);
  }

  /** Drains an M, C or C2's pack down to `percent` of its capacity (a lower pack stays lower). */
  drainBattery(lock: string, percent: number): void {
    this.#act(lock, 'drainBattery', percent);
  }

  /** Puts a Qi charger on a C2: it powers one unlock, even with a dead pack. */
  qiJumpStart(lock: string): void {
    this.#act(lock, 'qiJumpStart', 0);
  }

  /** Jams an M, C or C2's bolt: its motor stalls from the next travel on. */
  jamBolt(lock: string): void {
    this.#act(lock, 'jamBolt', 0);
  }

  /** Frees a jammed bolt; the firmware does not notice until its next travel. */
  freeBolt(lock: string): void {
    this.#act(lock, 'freeBolt', 0);
  }

  /** Someone touches an M, C or C2's keypad: it wakes (its energy is drawn). */
  keypadWake(lock: string): void {
    this.#act(lock, 'keypadWake', 0);
  }

  /** A phone holds a BLE connection to an M, C or C2 for `ms` (its energy is drawn). */
  phoneConnection(lock: string, ms: number): void {
    this.#act(lock, 'phoneConnection', ms);
  }

  /** The lock's RTC crystal drifts by `ppm` from now on (its reading stays continuous). */
  setClockDrift(lock: string, ppm: number): void {
    this.#lock(lock).lock.setClockDrift(ppm, this.now());
  }

  /**
   * Presses `keys` on the lock's keypad now, one after another; returns the decision of the last
   * entry they complete, if any.
   */
  pressKeys(lock: string, keys: string): AccessDecision | undefined {
    const hosted = this.#lock(lock);
    let decision: AccessDecision | undefined;
    for (const key of keys) {
      const result = this.#run(hosted, (l, t, out) => l.pressKey(key, t, out));
      if (result !== undefined) decision = result;
    }
    return decision;
  }

  /** Types a code at the keypad, then `#` if the code did not complete an entry on its own. */
  enterCode(lock: string, code: string): AccessDecision | undefined {
    const hosted = this.#lock(lock);
    let decision: AccessDecision | undefined;
    for (const key of code) {
      decision = this.#run(hosted, (l, t, out) => l.pressKey(key, t, out));
    }
    return decision ?? this.#run(hosted, (l, t, out) => l.pressKey(KEY_ENTER, t, out));
  }

  /**
   * Model fidelity (§7): a phone presents `credential` for `operation`; the lock's one
   * authorization function decides, without radio or crypto. `undefined` when the lock has no
   * power.
   */
  presentMobileKey(
    lock: string,
    credential: Credential,
    operation: Operation = 'unlock',
  ): AccessDecision | undefined {
    return this.#run(this.#lock(lock), (l, t, out) =>
      l.presentMobileKey(credential, operation, t, out),
    );
  }

  /** Model fidelity: a sync bundle handed to the lock decoded (a hub's or a phone's push). */
  applyBundle(lock: string, bundle: SyncBundle): Result<number> {
    return this.#run(this.#lock(lock), (l, t, out) => l.applyBundle(bundle, t, out));
  }

  /** Full fidelity: a sealed sync bundle pushed to the lock. */
  pushSealedBundle(lock: string, sealed: Uint8Array): Result<number> {
    return this.#run(this.#lock(lock), (l, t, out) => l.pushSealedBundle(sealed, t, out));
  }

  /**
   * Arms a flash fault on the lock (`firmware-sim/flash.ts`): a power cut at its Nth write from
   * now (`atWrite` counts from the store's opening; use `lock(id).flash.writes + n`), which is a
   * power loss at that moment, or a write that fails verification.
   */
  injectFlashFault(lock: string, fault: FlashFault): void {
    this.#lock(lock).lock.injectFlashFault(fault);
  }

  /**
   * Runs `call` on the lock at world time and applies the effects it wrote: the hook transports
   * (the virtual radio, bleno) use to deliver connections and writes.
   */
  withLock<T>(lock: string, call: (firmware: Lock, now: number, out: Effects) => T): T {
    return this.#run(this.#lock(lock), call);
  }

  /** Runs the world `ms` forward. */
  advance(ms: number): void {
    this.scheduler.runUntil(this.now() + ms);
  }

  /** Runs the world to time `t` (ms UTC). */
  runUntil(t: number): void {
    this.scheduler.runUntil(t);
  }

  /**
   * Every event so far, in order: the same array every call, grown to the events logged by then
   * (the records are built when the log is read: `event-log.ts`).
   */
  events(): readonly LockEvent[] {
    return this.#log.records();
  }

  /** How many events were logged so far: `events().length` without building the records. */
  get eventCount(): number {
    return this.#log.length;
  }

  eventsOf(lock: string): LockEvent[] {
    return this.events().filter((event) => event.lock === lock);
  }

  /** The log as JSON Lines: one record per line, each line ending in `\n`. */
  toJsonLines(): string {
    let text = '';
    for (const event of this.events()) text += JSON.stringify(event) + '\n';
    return text;
  }

  #lock(id: string): HostedLock {
    const lock = this.#locks.get(id);
    if (lock === undefined) throw new RangeError(`no lock "${id}" in this world`);
    return lock;
  }

  #batteryLock(id: string): {
    readonly config: BatteryLockConfig;
    readonly state: BatteryLockState;
  } {
    const { actuator } = this.#lock(id).lock;
    if (actuator.model === 'R') throw new RangeError(`lock "${id}" has no battery`);
    return actuator;
  }

  /** Feeds `action` to the lock's firmware; a model without it is a scenario bug. */
  #act(id: string, action: Action, arg: number): void {
    const hosted = this.#lock(id);
    const input = hosted.actions[action];
    if (input === undefined) {
      throw new RangeError(`lock "${id}" (model ${hosted.lock.actuator.model}) has no ${action}`);
    }
    this.#step(hosted, input, arg);
  }

  /**
   * Feeds one input to the lock's firmware at world time and applies its effects: `#run` for the
   * most frequent calls (actions, timers), without a closure per call.
   */
  #step(hosted: HostedLock, input: number, arg: number): void {
    const out = this.#effects;
    const now = this.now();
    out.clear();
    hosted.lock.step(input, arg, now, out);
    this.#apply(hosted, now);
  }

  /** Runs one firmware call at world time and applies its effects. */
  #run<T>(hosted: HostedLock, call: (lock: Lock, now: number, out: Effects) => T): T {
    const out = this.#effects;
    const now = this.now();
    out.clear();
    const value = call(hosted.lock, now, out);
    this.#apply(hosted, now);
    return value;
  }

  /** Applies the effects the last firmware call wrote, at world time `now`, and clears them. */
  #apply(hosted: HostedLock, now: number): void {
    const out = this.#effects;
    for (let i = 0; i < out.length; i++) {
      const kind = out.a[i]!;
      switch (out.op[i]!) {
        case EFFECT.EMIT:
          this.#log.push(now, hosted.logIndex, kind, out.b[i]!, out.c[i]!, out.idA[i], out.idB[i]);
          break;
        case EFFECT.SET_TIMER:
          this.#cancel(hosted, kind);
          hosted.timers[kind] = this.scheduler.at(out.b[i]!, this.#timerCallback(hosted, kind));
          break;
        case EFFECT.CANCEL_TIMER:
          this.#cancel(hosted, kind);
          break;
      }
    }
    out.clear();
  }

  #timerCallback(hosted: HostedLock, kind: number): TimerCallback {
    return (hosted.onTimer[kind] ??= () => {
      hosted.timers[kind] = 0;
      this.#step(hosted, hosted.timerFired, kind);
    });
  }

  #cancel(hosted: HostedLock, kind: number): void {
    const id = hosted.timers[kind] ?? 0;
    if (id !== 0) {
      this.scheduler.cancel(id);
      hosted.timers[kind] = 0;
    }
  }
}
