/**
 * One lock's whole firmware (ARCHITECTURE.md §3; issue 4): the model's actuator (the R's relay
 * and door sensor, `controller.ts`, or a battery lock's bolt and pack, `battery-lock.ts`) behind
 * the parts every model shares — the flash store, the synced state (`sync-store.ts`), the clock
 * and its anchors (`time-sync.ts`), the keypad (`keypad.ts`), the audit ring (`audit-ring.ts`),
 * door schedules, and the BLE server role (`ble-server.ts`). Every access is decided by the one
 * authorization function (`access.ts`); each decision is logged as an `ACCESS` event and
 * appended to the audit ring with the same words.
 *
 * Like its parts, a `Lock` is pure: every call takes world time `now` and the step's effect
 * buffer, reads no clock, holds no timer (its timers are kinds in the buffer, after the
 * actuator's own), and gets randomness and crypto from its environment.
 *
 * Power (§3 "Power"): a power loss ends the RAM — the connection, passage mode, the day table,
 * the session nonce. At boot the firmware reopens its flash store over the same device and
 * restores what was committed: the sync state, the keypad counter and first uses, the clock's
 * high-water mark and the audit ring. A flash write hit by a power cut (`flash.ts` faults) is a
 * power loss at that moment: an R goes dark until its supply is restored, a battery lock
 * reboots at once (`BROWNOUT`).
 *
 * Door schedules (§3): passage windows from the sync, in the synced time zone, on the lock's
 * own clock. They stop when the clock is invalid. The schedule timer is re-armed at least
 * hourly, so a DST change or a clock correction is picked up within the hour.
 *
 * Fidelity (§7): at full fidelity a phone reaches the lock through the BLE server (`connect`,
 * `write`): Noise, CBOR and signatures. At model fidelity the World calls `presentMobileKey` and
 * `applyBundle` with decoded objects; both go through the same `authorize` and the same sync
 * store, only the cryptography is skipped.
 */
import type { LockStatus } from '../protocol/advertisement.js';
import type { CryptoProvider, RandomSource } from '../protocol/crypto/provider.js';
import { DayTable, graceMs } from '../protocol/doorcode/day-table.js';
import { DOORCODE_DEFAULTS } from '../protocol/doorcode/deriver.js';
import type { DayCodesDeriver } from '../protocol/doorcode/deriver.js';
import { WIRE_ERRORS } from '../protocol/errors.js';
import type { WireErrorCode } from '../protocol/errors.js';
import { LOCK_NONCE_BYTES } from '../protocol/formats/common.js';
import type { WeeklyWindow } from '../protocol/formats/common.js';
import { verifyCredential } from '../protocol/formats/credential.js';
import type { Credential } from '../protocol/formats/credential.js';
import { openSyncBundle } from '../protocol/formats/sync-bundle.js';
import type { SyncBundle } from '../protocol/formats/sync-bundle.js';
import { RESULT_OK, STATUS_FLAGS } from '../protocol/messages.js';
import type { MessageBody } from '../protocol/messages.js';
import type { KeyPair } from '../protocol/noise/handshake-xk.js';
import type { PhoneHello } from '../protocol/noise/session.js';
import { fail, ok } from '../protocol/result.js';
import type { Result } from '../protocol/result.js';
import { authorize, refusalResult } from './access.js';
import type { AccessDecision, AccessState, Operation } from './access.js';
import { AuditRing, auditFlashLayout } from './audit-ring.js';
import type { AuditEntry } from './audit-ring.js';
import { batteryPercent } from './battery.js';
import {
  BATTERY_LOCK_INPUT,
  BATTERY_LOCK_TIMER_KINDS,
  createBatteryLock,
  stepBatteryLock,
} from './battery-lock.js';
import type { BatteryLockConfig, BatteryLockState } from './battery-lock.js';
import { BleServer } from './ble-server.js';
import type { BleAdvertising, BleLink, CommandOutcome, LockServices } from './ble-server.js';
import { createController, INPUT, stepController, TIMER_KINDS } from './controller.js';
import type { ControllerConfig, ControllerState } from './controller.js';
import { doorConfig } from './door.js';
import type { Effects } from './effects.js';
import { accessCode, EVENT, PASSAGE_SOURCE_CODE } from './events.js';
import { FLASH_ERRORS, openFlash } from './flash.js';
import type { FlashFault, FlashLayout, FlashStore } from './flash.js';
import { keypadFlashLayout, openKeypad, pressKey, setPermanentCodes } from './keypad.js';
import type { KeypadState } from './keypad.js';
import { R_MODEL } from './models.js';
import type { AjarSeconds, BatteryModelId, StillAjarMinutes } from './models.js';
import { rtcRead, rtcSetDrift } from './rtc.js';
import type { RtcState } from './rtc.js';
import { SYNC_FLASH_KEY, SyncStore, syncFlashLayout } from './sync-store.js';
import { TimeSync, timeSyncFlashLayout } from './time-sync.js';
import { localWeekMinute, inWeeklyWindows } from './weekly-window.js';

/** What a lock is given at commissioning. */
export interface LockIdentity {
  /** 16 bytes: the id the cloud, the advertisement and the prologue use. */
  readonly lockId: Uint8Array;
  /** 32 bytes: the sync and audit keys derive from it. */
  readonly lockSecret: Uint8Array;
  /** The lock's Noise static key pair. */
  readonly staticKey: KeyPair;
  /** The property authority's Ed25519 public key: it signs credentials and time anchors. */
  readonly issuerKey: Uint8Array;
  /** `K_door` of §5, for daily codes. */
  readonly doorKey: Uint8Array;
}

/** What the lock's host gives it: crypto, the daily-code deriver, randomness. */
export interface LockEnvironment {
  readonly crypto: CryptoProvider;
  readonly deriver: DayCodesDeriver;
  /** Session nonces; the World passes a seeded source, so a run repeats. */
  readonly random: RandomSource;
}

/** The model's actuator with its validated configuration. */
export type Actuator =
  | { readonly model: 'R'; readonly config: ControllerConfig }
  | { readonly model: BatteryModelId; readonly config: BatteryLockConfig };

/** The actuator's state, by model. */
export type ActuatorState =
  | { readonly model: 'R'; readonly config: ControllerConfig; readonly state: ControllerState }
  | {
      readonly model: BatteryModelId;
      readonly config: BatteryLockConfig;
      readonly state: BatteryLockState;
    };

/** The actuator inputs the lock's shared parts drive, by model. */
interface ActuatorInputs {
  readonly grantUnlock: number;
  readonly timeSync: number;
  readonly timerFired: number;
  readonly passageStart: number;
  readonly passageEnd: number;
  /** A power loss right now: the R goes dark, a battery lock reboots. */
  readonly powerLoss: number;
}

const R_INPUTS: ActuatorInputs = {
  grantUnlock: INPUT.GRANT_UNLOCK,
  timeSync: INPUT.TIME_SYNC,
  timerFired: INPUT.TIMER_FIRED,
  passageStart: INPUT.PASSAGE_START,
  passageEnd: INPUT.PASSAGE_END,
  powerLoss: INPUT.POWER_CUT,
};

const BATTERY_INPUTS: ActuatorInputs = {
  grantUnlock: BATTERY_LOCK_INPUT.GRANT_UNLOCK,
  timeSync: BATTERY_LOCK_INPUT.TIME_SYNC,
  timerFired: BATTERY_LOCK_INPUT.TIMER_FIRED,
  passageStart: BATTERY_LOCK_INPUT.PASSAGE_START,
  passageEnd: BATTERY_LOCK_INPUT.PASSAGE_END,
  powerLoss: BATTERY_LOCK_INPUT.BROWNOUT,
};

/** Timer kinds the lock adds after its actuator's. */
const LOCK_TIMER = { SCHEDULE: 0, BLE: 1 } as const;
const LOCK_TIMER_KINDS = 2;
/** The schedule timer is re-armed at least this often (DST, clock corrections). */
const SCHEDULE_RECHECK_MS = 3_600_000;
const MINUTE_MS = 60_000;
const WEEK_MINUTES = 7 * 1_440;

/** The flash layout every lock has: keypad, sync state, clock, audit ring. */
export const LOCK_FLASH_LAYOUT: FlashLayout = [
  ...keypadFlashLayout({ slots: 256, dailySlots: 192 }),
  ...syncFlashLayout(),
  ...timeSyncFlashLayout(),
  ...auditFlashLayout(),
];

/** The session grant: the admitted phone's credential and the key the handshake proved. */
interface PhoneGrant {
  readonly credential: Credential;
  readonly sessionKey: Uint8Array;
}

export class Lock {
  readonly identity: LockIdentity;
  /** The actuator: its configuration (as installed, then as synced) and its state. */
  actuator: ActuatorState;
  /** The configuration the lock was installed with: what a synced field left absent means. */
  readonly #installed: Actuator;
  /** Timer kinds this lock uses: the actuator's, then the lock's own. */
  readonly timerKinds: number;
  readonly #env: LockEnvironment;
  readonly #actuatorTimers: number;
  readonly #inputs: ActuatorInputs;
  #flash: FlashStore;
  // The parts kept in flash, each opened from it on first use after a boot: opening only reads,
  // so an idle lock (never written, §8's fleet) holds none of them.
  #keypadOpen: KeypadState | undefined;
  #syncOpen: SyncStore | undefined;
  #timeOpen: TimeSync | undefined;
  #auditOpen: AuditRing | undefined;
  /** RAM only: rebuilt on demand after a boot or a sync. */
  #dayTable: DayTable | undefined;
  /** World time of the last time sync, for the §5 grace; NaN when none since boot. */
  #lastTimeSync = NaN;
  #passageBySchedule = false;
  #server: BleServer<PhoneGrant> | undefined;
  /** The nonce of the held connection's status, once issued. */
  #nonce: Uint8Array | undefined;
  #connectedAt = 0;
  /** The transport's link the server holds, to drop at a power loss. */
  #heldLink: BleLink | undefined;
  /** A close the server asked for during the current call, to log once the call returns. */
  #closed: WireErrorCode | undefined;

  constructor(
    actuator: Actuator,
    identity: LockIdentity,
    rtc: RtcState,
    batteryPercentAtInstall: number,
    env: LockEnvironment,
    now: number,
  ) {
    this.identity = identity;
    this.#env = env;
    this.#installed = actuator;
    if (actuator.model === 'R') {
      this.actuator = { ...actuator, state: createController(rtc) };
      this.#actuatorTimers = TIMER_KINDS;
      this.#inputs = R_INPUTS;
    } else {
      const state = createBatteryLock(actuator.config, rtc, batteryPercentAtInstall, now);
      this.actuator = { model: actuator.model, config: actuator.config, state };
      this.#actuatorTimers = BATTERY_LOCK_TIMER_KINDS;
      this.#inputs = BATTERY_INPUTS;
    }
    this.timerKinds = this.#actuatorTimers + LOCK_TIMER_KINDS;
    this.#flash = openFlash(LOCK_FLASH_LAYOUT);
    this.#boot();
    this.#lastTimeSync = now;
  }

  /** The flash device, for inspection and fault injection. */
  get flash(): FlashStore {
    return this.#flash;
  }

  get sync(): SyncStore {
    return this.#sync;
  }

  get audit(): AuditRing {
    return this.#audit;
  }

  get keypad(): Readonly<KeypadState> {
    return this.#keypad;
  }

  /** Arms a fault at a future flash write (`flash.ts`). */
  injectFlashFault(fault: FlashFault | undefined): void {
    this.#flash.injectFault(fault);
  }

  get powered(): boolean {
    return this.actuator.model !== 'R' || this.actuator.state.powered;
  }

  /**
   * The RTC crystal's drift changes to `ppm` from `now` on (temperature, ageing; a fault for
   * scenarios): the reading stays continuous, later readings run fast or slow by it.
   */
  setClockDrift(ppm: number, now: number): void {
    const { state } = this.actuator;
    state.rtc = rtcSetDrift(state.rtc, now, ppm);
  }

  /** The RTC's reading at `now`, `undefined` while invalid. */
  clockReading(now: number): number | undefined {
    return rtcRead(this.actuator.state.rtc, now);
  }

  /** An actuator input (`controller.ts` `INPUT`, `battery-lock.ts` `BATTERY_LOCK_INPUT`). */
  step(input: number, arg: number, now: number, out: Effects): void {
    if (input === this.#inputs.timerFired && arg >= this.#actuatorTimers) {
      this.#lockTimer(arg - this.#actuatorTimers, now, out);
      return;
    }
    const { actuator } = this;
    if (actuator.model === 'R') {
      const wasPowered = actuator.state.powered;
      stepController(actuator.config, actuator.state, input as never, arg, now, out);
      if (wasPowered && !actuator.state.powered) this.#powerLost(out);
      else if (!wasPowered && actuator.state.powered) this.#boot();
      if (input === INPUT.TIME_SYNC && actuator.state.powered) this.#timeSynced(now, out);
    } else {
      const rebooting =
        input === BATTERY_LOCK_INPUT.BROWNOUT ||
        (input === BATTERY_LOCK_INPUT.SWAP_BATTERY && actuator.state.source === 'battery');
      if (rebooting) this.#powerLost(out);
      stepBatteryLock(actuator.config, actuator.state, input as never, arg, now, out);
      if (rebooting) this.#boot();
      if (input === BATTERY_LOCK_INPUT.TIME_SYNC) this.#timeSynced(now, out);
    }
  }

  /** A key pressed on the keypad; returns the decision of the entry it completes, if any. */
  pressKey(key: string, now: number, out: Effects): AccessDecision | undefined {
    if (!this.powered) return undefined;
    if (this.actuator.model !== 'R' && this.#keypad.length === 0) {
      this.step(BATTERY_LOCK_INPUT.KEYPAD_WAKE, 0, now, out);
    }
    const reading = this.clockReading(now);
    this.#keypad.dailyDigits =
      this.#sync.timeZone === undefined ? undefined : DOORCODE_DEFAULTS.digits;
    this.#keypad.table = this.#dailyTable(reading);
    const result = pressKey(this.#keypad, key, now, this.#clock(now, reading), out);
    // A counter or first-use write cut by a power loss: the entry dies with the RAM, undecided.
    const lost = !this.#flash.alive;
    this.#afterFlashUse(now, out);
    if (result === undefined || lost) return undefined;
    let decision: AccessDecision;
    if (result.ok) {
      const record =
        result.kind === 'PERMANENT'
          ? this.#keypad.permanent.records.find((r) => r.id === result.recordId)
          : undefined;
      decision = {
        ok: true,
        grant:
          result.kind === 'PERMANENT'
            ? { kind: 'PERMANENT', record: record! }
            : { kind: result.kind, day: result.day, slot: result.slot, firstUse: false },
        audit: {
          method: 'PASSCODE',
          result: 'SUCCESS',
          ...(record === undefined ? {} : { credential: record.id, user: record.user }),
        },
      };
    } else {
      decision = {
        ok: false,
        code: result.code,
        audit: { method: 'PASSCODE', result: refusalResult(result.code) },
      };
    }
    this.#decided(decision, now, out);
    return decision;
  }

  /**
   * Model fidelity (§7): a phone presents `credential` for `operation` without radio or crypto.
   * The same `authorize` decides; the handshake's key is the credential's own.
   */
  presentMobileKey(
    credential: Credential,
    operation: Operation,
    now: number,
    out: Effects,
  ): AccessDecision | undefined {
    if (!this.powered) return undefined;
    const decision = authorize(this.#accessState(now), {
      kind: 'mobile-key',
      operation,
      credential,
      sessionKey: credential.phoneKey,
    });
    this.#decided(decision, now, out);
    return decision;
  }

  /** Model fidelity: a sync bundle handed over decoded (a hub's or a phone's push). */
  applyBundle(bundle: SyncBundle, now: number, out: Effects): Result<number> {
    if (!this.powered) return fail(WIRE_ERRORS.FAILED, 'lock: no power');
    return this.#apply(bundle, now, out);
  }

  /** Full fidelity: a sealed sync bundle, opened and verified with the lock's keys. */
  pushSealedBundle(sealed: Uint8Array, now: number, out: Effects): Result<number> {
    if (!this.powered) return fail(WIRE_ERRORS.FAILED, 'lock: no power');
    const { lockSecret, lockId } = this.identity;
    const { crypto } = this.#env;
    const opened = openSyncBundle(sealed, lockSecret, lockId, this.#sync.version, crypto);
    if (!opened.ok) {
      out.emit(EVENT.SYNC_REFUSED, opened.code);
      return opened;
    }
    return this.#apply(opened.value, now, out);
  }

  /** What the lock reports: message 2's payload, `status-response`, the advertisement flags. */
  status(now: number, nonce: Uint8Array): MessageBody<'status-response'> {
    const reading = this.clockReading(now);
    const battery = this.batteryPercent(now);
    const low = this.#lowBattery(now);
    return {
      model: this.actuator.model === 'R' ? 'R2' : this.actuator.model,
      firmware: this.actuator.model === 'R' ? R_MODEL.firmware : this.actuator.config.spec.firmware,
      batteryPercent: Math.round(battery),
      flags:
        (reading === undefined ? STATUS_FLAGS.NEEDS_UPDATE : 0) |
        (low ? STATUS_FLAGS.LOW_BATTERY : 0),
      clockValid: reading !== undefined,
      syncVersion: this.#sync.version,
      auditHead: this.#audit.head,
      auditTail: this.#audit.tail,
      nonce,
    };
  }

  /** Battery level, percent; an R (mains only) reports 100. */
  batteryPercent(now: number): number {
    const { actuator } = this;
    if (actuator.model === 'R') return 100;
    return batteryPercent(actuator.config.spec.battery, actuator.state.battery, now);
  }

  /** The advertisement flags (protocol/advertisement.ts). */
  advertisedStatus(now: number): LockStatus {
    return {
      needsUpdate: this.clockReading(now) === undefined,
      lowBattery: this.#lowBattery(now),
      syncPending: false,
    };
  }

  /** What the lock puts on the air now, and whether it takes a connection. */
  advertisement(now: number): BleAdvertising {
    return this.#bleServer().advertisement(this.advertisedStatus(now));
  }

  /**
   * A phone connected at ATT_MTU `mtu` (full fidelity). False when the lock refused it: no
   * power, or `BUSY` (the server answers the link itself).
   */
  connect(link: BleLink, mtu: number, now: number, out: Effects): boolean {
    if (!this.powered) {
      link.close(WIRE_ERRORS.FAILED);
      return false;
    }
    const accepted = this.#serve(now, out, (server) =>
      server.connect(this.#wrap(link), mtu, now, out),
    );
    if (accepted) {
      this.#heldLink = link;
      this.#connectedAt = now;
      out.emit(EVENT.BLE_CONNECTED);
    }
    return accepted;
  }

  /** A value the phone wrote on `rx`. */
  write(link: BleLink, bytes: Uint8Array, now: number, out: Effects): void {
    if (!this.powered || this.#server === undefined) return;
    this.#serve(now, out, (server) => server.write(this.#wrapped(link), bytes, now, out));
    this.#afterFlashUse(now, out);
  }

  /** The phone or the radio dropped the link. */
  disconnect(link: BleLink, now: number, out: Effects): void {
    const server = this.#server;
    if (server === undefined) return;
    const held = holdsLink(server);
    server.disconnect(this.#wrapped(link), out);
    if (held && !holdsLink(server)) this.#linkEnded(0, now, out);
  }

  // ---- internals ----

  /** Boot: open the flash over the device and restore what was committed. */
  #boot(): void {
    this.#flash = openFlash(LOCK_FLASH_LAYOUT, this.#flash.device);
    this.#syncOpen = undefined;
    this.#timeOpen = undefined;
    this.#auditOpen = undefined;
    this.#keypadOpen = undefined;
    if (this.#flash.generation(SYNC_FLASH_KEY) > 0) this.#configure();
    this.#dayTable = undefined;
    this.#lastTimeSync = NaN;
    this.#passageBySchedule = false;
    this.#nonce = undefined;
  }

  get #sync(): SyncStore {
    return (this.#syncOpen ??= SyncStore.open(this.#flash, this.identity.lockId));
  }

  get #time(): TimeSync {
    const { lockId, issuerKey } = this.identity;
    return (this.#timeOpen ??= TimeSync.open(this.#flash, {
      lockId,
      issuerKey,
      crypto: this.#env.crypto,
    }));
  }

  get #audit(): AuditRing {
    return (this.#auditOpen ??= AuditRing.open(this.#flash, this.#sync.auditAck));
  }

  get #keypad(): KeypadState {
    return (this.#keypadOpen ??= openKeypad({
      door: this.identity.lockId,
      flash: this.#flash,
      permanent: this.#sync.doorcodes,
    }));
  }

  /**
   * The synced door configuration (§3, `relockSeconds`, Door State Notification timing) over the
   * installed one; it takes effect from the next unlock or door opening.
   */
  #configure(): void {
    const { ajarSeconds, stillAjarMinutes, relockSeconds } = this.#sync.config;
    const installed = this.#installed;
    const actuator = this.actuator;
    if (installed.model === 'R' && actuator.model === 'R') {
      const base = installed.config;
      const door =
        ajarSeconds === undefined && stillAjarMinutes === undefined
          ? base.door
          : doorConfig(
              ajarSeconds ?? ((base.door.ajarMs / 1_000) as AjarSeconds),
              stillAjarMinutes ?? ((base.door.stillAjarMs / 60_000) as StillAjarMinutes),
            );
      const unlockHoldMs = relockSeconds === undefined ? base.unlockHoldMs : relockSeconds * 1_000;
      this.actuator = { ...actuator, config: { ...base, door, unlockHoldMs } };
    } else if (installed.model !== 'R' && actuator.model !== 'R') {
      const base = installed.config;
      const autoRelockMs = relockSeconds === undefined ? base.autoRelockMs : relockSeconds * 1_000;
      this.actuator = { ...actuator, config: { ...base, autoRelockMs } };
    }
  }

  /** The RAM is gone: the connection, passage, the session. Flash stays as it is. */
  #powerLost(out: Effects): void {
    const server = this.#server;
    this.#server = undefined;
    const link = this.#heldLink;
    this.#heldLink = undefined;
    if (server !== undefined && holdsLink(server)) {
      out.emit(EVENT.BLE_DISCONNECTED, WIRE_ERRORS.FAILED);
      // The radio goes dark: the phone's transport sees the link drop (its supervision timeout).
      link?.close(WIRE_ERRORS.FAILED);
    }
    out.cancelTimer(this.#actuatorTimers + LOCK_TIMER.SCHEDULE);
    out.cancelTimer(this.#actuatorTimers + LOCK_TIMER.BLE);
  }

  /**
   * After anything that may have written flash: a write hit by a power cut is a power loss now
   * (the R goes dark, a battery lock reboots).
   */
  #afterFlashUse(now: number, out: Effects): void {
    if (this.#flash.alive) return;
    this.step(this.#inputs.powerLoss, 0, now, out);
  }

  #timeSynced(now: number, out: Effects): void {
    this.#lastTimeSync = now;
    this.#dayTable = undefined;
    this.#evaluateSchedule(now, out);
  }

  #clock(now: number, reading: number | undefined) {
    const since = Number.isNaN(this.#lastTimeSync) ? Infinity : now - this.#lastTimeSync;
    return { reading, graceMs: graceMs(Math.min(since, Number.MAX_SAFE_INTEGER)) };
  }

  /** The day table for an RTC reading, built on first need (§5); none without a time zone. */
  #dailyTable(reading: number | undefined): DayTable | undefined {
    const timeZone = this.#sync.timeZone;
    if (timeZone === undefined) return undefined;
    if (this.#dayTable === undefined && reading !== undefined) {
      this.#dayTable = new DayTable(
        {
          deriver: this.#env.deriver,
          doorKey: this.identity.doorKey,
          timeZone,
          revoked: this.#sync.revokedSlots(),
        },
        reading,
      );
    }
    return this.#dayTable;
  }

  #accessState(now: number): AccessState {
    const reading = this.clockReading(now);
    const sync = this.#sync;
    const keypad = this.#keypad;
    return {
      lockId: this.identity.lockId,
      clock: this.#clock(now, reading),
      hasCredential: (id) => sync.hasCredential(id),
      isCredentialRevoked: (id) => sync.isCredentialRevoked(id),
      permanent: keypad.permanent,
      dailyDigits: sync.timeZone === undefined ? undefined : DOORCODE_DEFAULTS.digits,
      dayTable: (at) => this.#dailyTable(at)!,
      firstUse: (day, slot) => keypad.firstUses.get(Number(day) * 0x10000 + slot),
    };
  }

  /**
   * Logs a decision, appends its audit record, and actuates a grant (`passageOn`: whether a
   * granted passage command starts or ends passage mode).
   */
  #decided(
    decision: AccessDecision,
    now: number,
    out: Effects,
    passageOn = true,
  ): number | undefined {
    const { audit } = decision;
    const reason = decision.ok ? 0 : decision.code;
    out.emitWithIds(
      EVENT.ACCESS,
      accessCode(audit.method, audit.result),
      reason,
      audit.credential,
      audit.user,
    );
    // Fields added one by one rather than spread: no temporary objects on every access.
    const entry: { -readonly [K in keyof AuditEntry]: AuditEntry[K] } = {
      time: this.clockReading(now),
      method: audit.method,
      result: audit.result,
    };
    if (reason !== 0) entry.reason = reason;
    if (audit.credential !== undefined && audit.method !== 'PASSCODE') {
      entry.credential = audit.credential;
    }
    if (audit.user !== undefined) entry.user = audit.user;
    const appended = this.#audit.append(entry);
    if (!appended.ok && appended.code === FLASH_ERRORS.WRITE_FAILED) {
      out.emit(EVENT.FLASH_WRITE_FAILED);
    }
    // The power went during the append: the grant died with the RAM, even if the lock rebooted.
    const lost = !this.#flash.alive;
    this.#afterFlashUse(now, out);
    if (decision.ok && !lost && this.powered) this.#actuate(decision, passageOn, now, out);
    return appended.ok ? appended.value : undefined;
  }

  #actuate(
    decision: AccessDecision & { ok: true },
    passageOn: boolean,
    now: number,
    out: Effects,
  ): void {
    const { grant } = decision;
    let operation = grant.kind === 'mobile-key' ? grant.operation : 'unlock';
    if (operation === 'passage' && !passageOn) operation = 'lock';
    const inputs = this.#inputs;
    switch (operation) {
      case 'unlock':
        this.step(inputs.grantUnlock, 0, now, out);
        return;
      case 'lock':
        // A lock command ends a manager's passage; otherwise the door relocks on its own.
        this.step(inputs.passageEnd, PASSAGE_SOURCE_CODE.manager, now, out);
        return;
      case 'passage':
        this.step(inputs.passageStart, PASSAGE_SOURCE_CODE.manager, now, out);
        return;
    }
  }

  #apply(bundle: SyncBundle, now: number, out: Effects): Result<number> {
    const applied = this.#sync.apply(bundle);
    if (!applied.ok) {
      if (applied.flash === FLASH_ERRORS.WRITE_FAILED) out.emit(EVENT.FLASH_WRITE_FAILED);
      out.emit(EVENT.SYNC_REFUSED, applied.code);
      this.#afterFlashUse(now, out);
      return fail(applied.code, applied.detail);
    }
    out.emit(EVENT.SYNC_APPLIED, applied.value.version);
    if (this.#keypadOpen !== undefined) setPermanentCodes(this.#keypadOpen, this.#sync.doorcodes);
    this.#dayTable = undefined;
    this.#audit.acknowledge(this.#sync.auditAck);
    this.#configure();
    this.#evaluateSchedule(now, out);
    return ok(applied.value.version);
  }

  #lockTimer(kind: number, now: number, out: Effects): void {
    // A timer armed by a request a power cut interrupted may still fire on a dark R.
    if (!this.powered) return;
    if (kind === LOCK_TIMER.SCHEDULE) this.#evaluateSchedule(now, out);
    else if (kind === LOCK_TIMER.BLE)
      this.#serve(now, out, (server) => server.timerFired(now, out));
  }

  /**
   * Door schedules: start or end passage for the window the clock is in, and arm the timer for
   * the next window edge (at most an hour ahead).
   */
  #evaluateSchedule(now: number, out: Effects): void {
    const timer = this.#actuatorTimers + LOCK_TIMER.SCHEDULE;
    const windows = this.#sync.config.doorSchedules ?? [];
    const timeZone = this.#sync.timeZone;
    const reading = this.clockReading(now);
    const active =
      this.powered &&
      windows.length > 0 &&
      timeZone !== undefined &&
      reading !== undefined &&
      inWeeklyWindows(windows, timeZone, reading);
    if (active && !this.#passageBySchedule) {
      this.#passageBySchedule = true;
      if (!this.#scheduledAudit('SCHEDULED_UNLOCK', reading, now, out)) return;
      this.step(this.#inputs.passageStart, PASSAGE_SOURCE_CODE.schedule, now, out);
    } else if (!active && this.#passageBySchedule) {
      this.#passageBySchedule = false;
      if (!this.#scheduledAudit('SCHEDULED_LOCK', reading, now, out)) return;
      this.step(this.#inputs.passageEnd, PASSAGE_SOURCE_CODE.schedule, now, out);
    }
    if (windows.length === 0 || timeZone === undefined || reading === undefined) {
      out.cancelTimer(timer);
      return;
    }
    out.setTimer(
      timer,
      now + Math.min(SCHEDULE_RECHECK_MS, msToNextEdge(windows, timeZone, reading)),
    );
  }

  /**
   * Appends a schedule's audit record. False when a power cut hit the write: the power is gone
   * at that moment (the R goes dark, a battery lock reboots), so the passage change never runs.
   */
  #scheduledAudit(
    method: 'SCHEDULED_UNLOCK' | 'SCHEDULED_LOCK',
    reading: number | undefined,
    now: number,
    out: Effects,
  ): boolean {
    const result = method === 'SCHEDULED_LOCK' ? 'LOCK_SUCCESS' : 'SUCCESS';
    out.emitWithIds(EVENT.ACCESS, accessCode(method, result), 0, undefined, undefined);
    const appended = this.#audit.append({ time: reading, method, result });
    if (!appended.ok && appended.code === FLASH_ERRORS.WRITE_FAILED) {
      out.emit(EVENT.FLASH_WRITE_FAILED);
    }
    if (this.#flash.alive) return true;
    this.#afterFlashUse(now, out);
    return false;
  }

  #lowBattery(now: number): boolean {
    const { actuator } = this;
    if (actuator.model === 'R') return false;
    const spec = actuator.config.spec.battery;
    return batteryPercent(spec, actuator.state.battery, now) <= spec.lowPercent;
  }

  #bleServer(): BleServer<PhoneGrant> {
    this.#server ??= new BleServer<PhoneGrant>({
      crypto: this.#env.crypto,
      lockStaticKey: this.identity.staticKey,
      lockId: this.identity.lockId,
      services: this.#services(),
      timerKind: this.#actuatorTimers + LOCK_TIMER.BLE,
    });
    return this.#server;
  }

  /** Runs a server call, then logs a link the server closed during it. */
  #serve<T>(now: number, out: Effects, call: (server: BleServer<PhoneGrant>) => T): T {
    const server = this.#bleServer();
    const wasHeld = holdsLink(server);
    this.#closed = undefined;
    const value = call(server);
    if (wasHeld && !holdsLink(server) && this.#closed !== undefined) {
      this.#linkEnded(this.#closed, now, out);
    }
    return value;
  }

  #linkEnded(reason: number, now: number, out: Effects): void {
    this.#heldLink = undefined;
    this.#nonce = undefined;
    this.#time.setSessionNonce(undefined);
    out.emit(EVENT.BLE_DISCONNECTED, reason);
    if (this.actuator.model !== 'R') {
      this.step(BATTERY_LOCK_INPUT.BLE_CONNECTION, Math.max(0, now - this.#connectedAt), now, out);
    }
  }

  /** Each transport link and the wrapper the server holds; made at the first connection. */
  #links: WeakMap<BleLink, BleLink> | undefined;

  /**
   * The link as the server sees it: closes are noted so the lock can log them. Only the server
   * that took the link speaks on it: a power loss inside a call (a flash write cut) drops that
   * server with the RAM, and whatever the call would still send after it never goes on the air.
   */
  #wrap(link: BleLink): BleLink {
    const server = this.#server;
    const wrapped: BleLink = {
      notify: (fragment) => {
        if (this.#server === server) link.notify(fragment);
      },
      close: (reason) => {
        if (this.#server !== server) return;
        this.#closed = reason;
        link.close(reason);
      },
    };
    (this.#links ??= new WeakMap()).set(link, wrapped);
    return wrapped;
  }

  #wrapped(link: BleLink): BleLink {
    return this.#links?.get(link) ?? link;
  }

  /** The firmware as the BLE server reaches it. */
  #services(): LockServices<PhoneGrant> {
    const command = (
      grant: PhoneGrant,
      operation: Operation,
      now: number,
      out: Effects,
      passageOn = true,
    ) => {
      const decision = authorize(this.#accessState(now), {
        kind: 'mobile-key',
        operation,
        credential: grant.credential,
        sessionKey: grant.sessionKey,
      });
      const auditSeq = this.#decided(decision, now, out, passageOn);
      const outcome: CommandOutcome = {
        result: decision.ok ? RESULT_OK : decision.code,
        ...(auditSeq === undefined ? {} : { auditSeq }),
      };
      return outcome;
    };
    return {
      handshakeStatus: (now) => {
        const nonce = this.#env.random(LOCK_NONCE_BYTES);
        this.#nonce = nonce;
        this.#time.setSessionNonce(nonce);
        return this.status(now, nonce);
      },
      admit: (phone: PhoneHello) => {
        const credential = verifyCredential(
          phone.credential,
          this.identity.issuerKey,
          this.#env.crypto,
        );
        if (!credential.ok) return credential;
        return ok({ credential: credential.value, sessionKey: phone.phoneStaticKey });
      },
      status: (_grant, now) => {
        const nonce = this.#nonce ?? this.#env.random(LOCK_NONCE_BYTES);
        return ok(this.status(now, nonce));
      },
      unlock: (grant, now, out) => command(grant, 'unlock', now, out),
      lock: (grant, now, out) => command(grant, 'lock', now, out),
      passage: (grant, on, now, out) => command(grant, 'passage', now, out, on),
      timeSync: (_grant, anchor, phoneTime, now, out) => {
        const accepted = this.#time.accept(anchor, phoneTime, this.clockReading(now));
        if (!accepted.ok) {
          out.emit(EVENT.TIME_SYNC_REFUSED, accepted.code);
          return { result: accepted.code };
        }
        this.step(this.#inputs.timeSync, accepted.value.timeMs, now, out);
        const lockTime = this.clockReading(now);
        return { result: RESULT_OK, ...(lockTime === undefined ? {} : { lockTime }) };
      },
      syncPush: (_grant, sealed, now, out) => {
        const pushed = this.pushSealedBundle(sealed, now, out);
        return { result: pushed.ok ? RESULT_OK : pushed.code, syncVersion: this.#sync.version };
      },
      auditPull: (_grant, from, maxRecords) => {
        const { lockId, lockSecret } = this.identity;
        return ok(
          this.#audit.sealChunk(from, maxRecords ?? 32, lockId, lockSecret, this.#env.crypto),
        );
      },
    };
  }
}

/** Whether the server holds a phone's link (read through a call: a call may change it). */
function holdsLink(server: BleServer<unknown>): boolean {
  return server.phase !== 'idle';
}

/** Ms from `reading` to the next minute at which any window starts or ends, on the local week. */
function msToNextEdge(windows: readonly WeeklyWindow[], timeZone: string, reading: number): number {
  const { weekday, minute } = localWeekMinute(reading, timeZone);
  const nowMinute = weekday * 1_440 + minute;
  let best = WEEK_MINUTES;
  for (const w of windows) {
    for (let day = 0; day < 7; day++) {
      if ((w.days & (1 << day)) === 0) continue;
      for (const edge of [w.start, w.end]) {
        const ahead = (day * 1_440 + edge - nowMinute + WEEK_MINUTES) % WEEK_MINUTES;
        if (ahead > 0 && ahead < best) best = ahead;
      }
    }
  }
  const intoMinute = reading % MINUTE_MS;
  return best * MINUTE_MS - intoMinute;
}
