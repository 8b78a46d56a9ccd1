/**
 * The phone's unlock engine (ARCHITECTURE.md §6 "Phone"), shaped like the vendor's mobile SDK so
 * partner developers feel at home: set up with a token (kept in memory), `fetchLocks` while
 * online (falling back to the cache, except on an invalid token), `listenForLocks`,
 * `unlock(doorId)` reported as an event stream (`unlock-events.ts`), `cancelUnlock`, an active
 * `sync(doorId)` (refused while an unlock runs), `start/stopProximityUnlock`, `getAccessLogs`,
 * `inviteGuest` / `revokeGuestAccess` through the cloud. It reaches
 * locks only through a `CentralTransport` (the virtual radio now, noble later) and the cloud only
 * through `PhoneCloud`; it reads no clock but the transport's.
 *
 * One unlock, per connection attempt (`lock-link.ts` speaks the wire):
 * 1. scan for the door's lock (its id prefix in the advertisement), connect at ATT_MTU 247;
 * 2. Noise XK with the lock's static key from the directory, the credential in message 3;
 *    message 2 carries the lock's status (sync version, needs-update flag, audit tail, nonce);
 * 3. passive sync first, when the lock is behind: the cached bundle newer than the lock's version
 *    (the delta built on it when there is one, else the full bundle), then a time anchor if the lock needs an update — nonce-bound from the cloud
 *    when online, else the cached window anchor with the phone's clock. Sync before unlock means
 *    a new resident's credential and a lost clock are both fixed in the connection that needs
 *    them (issue 5 acceptance; §3 "Passive sync");
 * 4. the unlock request;
 * 5. an audit pull of every record from the lock's tail, in chunks, handed to the cloud once
 *    the link is closed (online) or queued for the next online moment; then disconnect. The
 *    bundle version the lock holds at the end is reported with them (`acknowledgeBundle`), so
 *    the cloud builds the next bundle for that lock as a delta from it.
 *
 * Retries: `BUSY` (the lock holds another phone: it refuses with `BUSY`, drops the link as it is
 * set up, or advertises non-connectable) waits with
 * exponential backoff and seeded jitter and tries again, within `maxBusyRetries`; a connection
 * that fails, times out or drops is retried up to `maxAttempts`; everything within
 * `unlockDeadlineMs`. An authentication failure, or a lock that still lacks the credential after
 * the push, triggers one fresh package download and one more attempt (§6). A new unlock cancels
 * the one in flight (or an active sync) and starts once it has let go of its link.
 *
 * An active sync is the same connection without the unlock: handshake, bundle if the lock is
 * behind, time anchor if it needs one, audit pull, disconnect; its events name the setup-sync
 * connection (`ConnectForSetupSync`) and it reports what it did (`SyncReport`).
 *
 * Proximity unlock scans every `intervalMs` while no unlock or sync runs and unlocks the
 * strongest eligible lock at or above the RSSI threshold (eligible: a door of the cache with a
 * credential). Once per approach: the door is disarmed by its unlock and re-armed when a scan no
 * longer hears it within `PROXIMITY_HYSTERESIS_DB` of the threshold (so shadowing at the edge
 * does not unlock twice), or after `cooldownMs`.
 *
 * Access logs: the phone cannot open the sealed uploads it carries (only the cloud holds the
 * lock secrets), so it lists their cleartext headers (door, sequence range, delivered or not)
 * and asks the cloud for the decoded records of the user's doors.
 */
import { wireErrorName, WIRE_ERRORS } from '../../protocol/errors.js';
import type { WireErrorCode } from '../../protocol/errors.js';
import type { CryptoProvider, RandomSource } from '../../protocol/crypto/provider.js';
import { decodeAuditUploadHeader, MAX_AUDIT_RECORDS } from '../../protocol/formats/audit-upload.js';
import { RESULT_OK, STATUS_FLAGS, syncPushChunks } from '../../protocol/messages.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import { bytesEqual } from '../../protocol/formats/common.js';
import { TransportError } from '../transport/types.js';
import type { CentralTransport, ScanResult } from '../transport/types.js';
import type { AccessLogEntry, DoorEntry, GuestInvitation, PhoneCloud } from './cloud-api.js';
import { LockCache } from './lock-cache.js';
import type { LockSummary } from './lock-cache.js';
import { LockLink } from './lock-link.js';
import type { LinkFailure, LockStatusReport } from './lock-link.js';
import { backoffMs, CancelSignal, pause, within } from './step-timing.js';
import type { BackoffPolicy } from './step-timing.js';
import { denied, SyncRun, UnlockRun } from './unlock-events.js';
import type { SyncReport, SyncResult, UnlockFailure, UnlockResult } from './unlock-events.js';
import { lockKey } from './lock-cache.js';

export interface PhoneTiming {
  /** One scan's duration, ms. */
  readonly scanMs: number;
  /** Scans that find nothing before the lock is reported not in range. */
  readonly scanAttempts: number;
  readonly connectTimeoutMs: number;
  /** How long the lock (or the cloud, mid-connection) may take to answer one message, ms. */
  readonly responseTimeoutMs: number;
  /** Connection attempts that fail, time out or drop before `ConnectionFailed`. */
  readonly maxAttempts: number;
  /** `BUSY` answers before `ConnectionFailed`. */
  readonly maxBusyRetries: number;
  readonly backoff: BackoffPolicy;
  /** No new attempt starts after this long from `Started`, ms. */
  readonly unlockDeadlineMs: number;
  /** The ATT_MTU the phone asks for. */
  readonly mtu: number;
  /** Audit-pull requests per connection at most (32 records each). */
  readonly maxAuditChunks: number;
}

/**
 * A connection with a sync bundle and an unlock takes about a second on a good link; 50 phones
 * at one R queue for it, so `BUSY` retries reach a minute and more. Phones ask for 247, the
 * ATT_MTU of LE Data Length Extension (251-byte PDUs), which iOS and Android negotiate.
 */
export const DEFAULT_PHONE_TIMING: PhoneTiming = Object.freeze({
  scanMs: 1_000,
  scanAttempts: 3,
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 5_000,
  maxAttempts: 3,
  maxBusyRetries: 60,
  backoff: Object.freeze({ baseMs: 250, maxMs: 4_000 }),
  unlockDeadlineMs: 180_000,
  mtu: 247,
  maxAuditChunks: 64,
});

export interface PhoneOptions {
  readonly transport: CentralTransport;
  /** The phone's crypto; Noise ephemeral keys, and the static key unless given, come from it. */
  readonly crypto: CryptoProvider;
  /** Seeded randomness for backoff jitter. */
  readonly random: RandomSource;
  readonly cloud?: PhoneCloud;
  /** The phone's static X25519 key pair; default drawn from `crypto`. */
  readonly staticKey?: KeyPair;
  /** The phone's wall clock for offline time syncs; default the transport's. */
  readonly clock?: () => number;
  readonly timing?: Partial<PhoneTiming>;
  /** Called with every unlock's result (start, end, attempts): the metrics hook. */
  readonly onUnlockFinished?: (result: UnlockResult) => void;
}

export interface ProximityOptions {
  /** The weakest RSSI at which a lock counts as close, dBm; default -70 (about 2.5 m). */
  readonly rssiThresholdDbm?: number;
  /** Time between the end of one scan and the next, ms; default 2 s. */
  readonly intervalMs?: number;
  /** A door stays disarmed after its proximity unlock at most this long, ms; default 60 s. */
  readonly cooldownMs?: number;
  /** Called with every unlock proximity starts, to follow its events. */
  readonly onUnlock?: (run: UnlockRun) => void;
}

export const DEFAULT_PROXIMITY = Object.freeze({
  rssiThresholdDbm: -70,
  intervalMs: 2_000,
  cooldownMs: 60_000,
});

/** A lock heard this far below the threshold still counts as in range: the door stays disarmed. */
export const PROXIMITY_HYSTERESIS_DB = 6;

/** The phone remembers this many pulled uploads for `getAccessLogs` (the newest). */
export const MAX_PULLED_AUDIT_LOG = 256;

export type ProximityStartResult =
  { readonly ok: true } | { readonly ok: false; readonly reason: 'NotSetUp' | 'AlreadyRunning' };

export type SyncStartResult =
  | { readonly ok: true; readonly run: SyncRun }
  | { readonly ok: false; readonly reason: 'UnlockInProgress' | 'SyncInProgress' };

/** An audit upload the phone pulled from a lock: its cleartext header and whether it was handed on. */
export interface PulledAudit {
  /** The door of the lock, when the cache's directory names it. */
  readonly doorId: string | undefined;
  /** The lock id in lowercase hex. */
  readonly lockId: string;
  readonly firstSeq: number;
  readonly count: number;
  /** Transport time of the pull, ms. */
  readonly pulledAt: number;
  readonly delivered: boolean;
}

export type AccessLogsResult =
  | {
      readonly ok: true;
      /** `cloud`: `entries` are the cloud's decoded records; `phone`: only `pulled` is known. */
      readonly source: 'cloud' | 'phone';
      readonly entries: readonly AccessLogEntry[];
      readonly pulled: readonly PulledAudit[];
    }
  | { readonly ok: false; readonly reason: 'NotSetUp' };

/** Why an account call through the cloud did not happen. */
export type AccountFailure =
  | { readonly reason: 'NotSetUp' | 'Offline' | 'Unsupported' }
  | { readonly reason: 'Refused'; readonly detail: string };

export type InviteGuestResult =
  ({ readonly ok: true } & GuestInvitation) | ({ readonly ok: false } & AccountFailure);

export type RevokeGuestResult = { readonly ok: true } | ({ readonly ok: false } & AccountFailure);

export type FetchLocksResult =
  | { readonly ok: true; readonly source: 'network' | 'cache'; readonly locks: LockSummary[] }
  | { readonly ok: false; readonly reason: 'NotSetUp' | 'InvalidToken' };

/** How one connection attempt ended, for the retry loop. */
type Verdict =
  | { readonly kind: 'success' }
  | { readonly kind: 'canceled' }
  | { readonly kind: 'busy' }
  | { readonly kind: 'transient'; readonly detail: string }
  /** Might be fixed by a fresh package: authentication failed, or the credential is unknown. */
  | { readonly kind: 'stale'; readonly reason: UnlockFailure }
  | { readonly kind: 'failed'; readonly reason: UnlockFailure };

const SUCCESS: Verdict = { kind: 'success' };
const REFUSED_WHILE_UNLOCKING: SyncStartResult = { ok: false, reason: 'UnlockInProgress' };
const REFUSED_WHILE_SYNCING: SyncStartResult = { ok: false, reason: 'SyncInProgress' };
const CANCELED: Verdict = { kind: 'canceled' };
const BUSY: Verdict = { kind: 'busy' };
const AUTH_FAILED: Verdict = { kind: 'stale', reason: { kind: 'AuthFailed' } };
const NOT_IN_RANGE: UnlockFailure = { kind: 'LockNotFound', detail: 'not-in-range' };
const NOT_IN_DIRECTORY: UnlockFailure = { kind: 'LockNotFound', detail: 'not-in-directory' };

/** Lock refusals about time: the credential's window or schedule, on the lock's clock. */
const SCHEDULE_CODES: readonly number[] = [
  WIRE_ERRORS.OUTSIDE_SCHEDULE,
  WIRE_ERRORS.NOT_YET_VALID,
  WIRE_ERRORS.EXPIRED,
];
/** Protocol failures a damaged or dropped link explains: worth another connection. */
const LINK_DAMAGE_CODES: readonly number[] = [
  WIRE_ERRORS.BAD_FRAME,
  WIRE_ERRORS.TIMEOUT,
  WIRE_ERRORS.AUTH_FAILED,
  WIRE_ERRORS.REPLAY,
];

function isDropped(error: unknown): boolean {
  return error instanceof TransportError && error.code === 'DISCONNECTED';
}

/** Calls the cloud so that a synchronous throw becomes a rejection. */
async function callCloud<T>(call: () => T | Promise<T>): Promise<T> {
  return call();
}

function linkVerdict(failure: LinkFailure): Verdict {
  switch (failure.kind) {
    case 'refused':
      if (failure.code === WIRE_ERRORS.BUSY) return BUSY;
      // FAILED: the lock could not read message 1 (not the key the directory names) or did
      // not admit the credential; either way a fresher package may help.
      if (failure.code === WIRE_ERRORS.FAILED) return AUTH_FAILED;
      return { kind: 'transient', detail: 'refused: TIMEOUT' };
    case 'handshake':
      return AUTH_FAILED;
    case 'canceled':
      return CANCELED;
    case 'disconnected':
    case 'timeout':
      return { kind: 'transient', detail: failure.kind };
    case 'error':
      return { kind: 'failed', reason: { kind: 'Internal', code: failure.code as WireErrorCode } };
    case 'protocol': {
      const name = wireErrorName(failure.code) ?? String(failure.code);
      if (LINK_DAMAGE_CODES.includes(failure.code)) return { kind: 'transient', detail: name };
      const reason: UnlockFailure =
        failure.detail === undefined
          ? { kind: 'Internal', code: failure.code }
          : { kind: 'Internal', code: failure.code, detail: failure.detail };
      return { kind: 'failed', reason };
    }
  }
}

/** The verdict on the lock's answer to the unlock request. */
function unlockVerdict(result: number): Verdict {
  if (result === RESULT_OK) return SUCCESS;
  const code = result as WireErrorCode;
  if (code === WIRE_ERRORS.AUTH_FAILED) return AUTH_FAILED;
  if (code === WIRE_ERRORS.NOT_PROVISIONED) return { kind: 'stale', reason: denied(code) };
  if (SCHEDULE_CODES.includes(code))
    return { kind: 'failed', reason: { kind: 'OutOfSchedule', code } };
  return { kind: 'failed', reason: denied(code) };
}

interface Target {
  readonly door: DoorEntry;
  readonly credential: Uint8Array;
}

/** Steps of a connection, named per operation in its events. */
type Step = 'Connect' | 'SetupSync' | 'Unlock';

/** An unlock or an active sync, as the engine drives it. */
interface Operation {
  readonly kind: 'unlock' | 'sync';
  readonly doorId: string;
  readonly signal: CancelSignal;
  readonly started: (at: number) => void;
  readonly step: (step: Step, at: number, attempt: number) => void;
  /** What the last connection did at the lock (the sync's report). */
  report: SyncReport;
}

/** How the engine's run ended; a sync's report is in its `Operation`. */
type Ending = {
  readonly doorId: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly attempts: number;
} & (
  | { readonly outcome: 'success' }
  | { readonly outcome: 'canceled' }
  | { readonly outcome: 'failed'; readonly reason: UnlockFailure }
);

const NOTHING_DONE: SyncReport = {
  lockVersion: 0,
  bundlePushed: false,
  clockSet: false,
  auditRecords: 0,
};

function errorDetail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Phone {
  readonly staticKey: KeyPair;
  readonly #transport: CentralTransport;
  readonly #crypto: CryptoProvider;
  readonly #random: RandomSource;
  readonly #cloud: PhoneCloud | undefined;
  readonly #clock: () => number;
  readonly #timing: PhoneTiming;
  readonly #onUnlockFinished: ((result: UnlockResult) => void) | undefined;
  readonly #listeners = new Set<(locks: LockSummary[]) => void>();
  #token: string | undefined;
  #cache: LockCache | undefined;
  #online: boolean;
  #bluetooth = true;
  /** Sealed audit uploads not yet taken by the cloud (device data: kept across users). */
  #auditQueue: Uint8Array[] = [];
  /** Bundle versions seen at locks (door id → version) not yet reported to the cloud. */
  readonly #versionsSeen = new Map<string, number>();
  /** Pulled uploads' headers, the newest last (the user's view: cleared with the cache). */
  #pulledLog: { upload: Uint8Array | undefined; info: PulledAudit }[] = [];
  #current:
    | {
        readonly kind: 'unlock' | 'sync';
        readonly result: Promise<unknown>;
        readonly signal: CancelSignal;
      }
    | undefined;
  #proximity: CancelSignal | undefined;

  constructor(options: PhoneOptions) {
    this.#transport = options.transport;
    this.#crypto = options.crypto;
    this.#random = options.random;
    this.#cloud = options.cloud;
    this.#clock = options.clock ?? (() => options.transport.now());
    this.#timing = { ...DEFAULT_PHONE_TIMING, ...options.timing };
    this.#onUnlockFinished = options.onUnlockFinished;
    this.staticKey = options.staticKey ?? generateKeyPair(options.crypto);
    this.#online = options.cloud !== undefined;
  }

  get publicKey(): Uint8Array {
    return this.staticKey.publicKey;
  }

  /** Whether the phone reaches the cloud; always false without one. */
  get online(): boolean {
    return this.#online;
  }

  setOnline(online: boolean): void {
    this.#online = online && this.#cloud !== undefined;
  }

  get bluetoothEnabled(): boolean {
    return this.#bluetooth;
  }

  setBluetoothEnabled(enabled: boolean): void {
    this.#bluetooth = enabled;
  }

  /** Sets the user's token; another user's token wipes the cache first. */
  setUp(token: string): void {
    if (token !== this.#token) {
      this.#cache = undefined;
      this.#pulledLog = [];
    }
    this.#token = token;
  }

  /** The doors in the cache. */
  locks(): LockSummary[] {
    return this.#cache?.doors() ?? [];
  }

  /** Calls `listener` with the cached doors now and after every download; returns the stop. */
  listenForLocks(listener: (locks: LockSummary[]) => void): () => void {
    this.#listeners.add(listener);
    if (this.#cache !== undefined) listener(this.#cache.doors());
    return () => this.#listeners.delete(listener);
  }

  /** Sealed audit uploads waiting for an online moment. */
  get pendingAuditUploads(): number {
    return this.#auditQueue.length;
  }

  /**
   * Downloads the user's package (credentials, directory, bundles, window anchors) when online,
   * and hands over queued audit uploads; offline, the cache answers. A token the cloud refuses
   * wipes the cache: the phone must not keep unlocking for a user it no longer speaks for.
   */
  async fetchLocks(): Promise<FetchLocksResult> {
    const token = this.#token;
    if (token === undefined) return { ok: false, reason: 'NotSetUp' };
    const cloud = this.#cloud;
    if (cloud === undefined || !this.#online) {
      return { ok: true, source: 'cache', locks: this.locks() };
    }
    // Reported first: the package's deltas are then built on what the locks hold.
    await this.#reportBundleVersions();
    let cache: LockCache;
    try {
      const pkg = await callCloud(() => cloud.phoneSync(token, this.staticKey.publicKey));
      cache = new LockCache(token, pkg, this.#transport.now());
    } catch {
      this.#cache = undefined;
      return { ok: false, reason: 'InvalidToken' };
    }
    // A token changed while the download ran: that user's package is not this one's.
    if (this.#token !== token) return { ok: true, source: 'cache', locks: this.locks() };
    this.#cache = cache;
    const locks = cache.doors();
    for (const listener of this.#listeners) listener(locks);
    await this.uploadAuditLogs();
    return { ok: true, source: 'network', locks };
  }

  /** Hands queued audit uploads to the cloud when online; returns how many it took. */
  async uploadAuditLogs(): Promise<number> {
    const cloud = this.#cloud;
    if (cloud === undefined || !this.#online) return 0;
    let taken = 0;
    while (this.#auditQueue.length > 0) {
      const upload = this.#auditQueue[0]!;
      try {
        await callCloud(() => cloud.ingestAudit(upload));
      } catch {
        break;
      }
      this.#auditQueue.shift();
      this.#markDelivered(upload);
      taken++;
    }
    return taken;
  }

  /** Starts unlocking `doorId`, canceling an unlock or sync in flight. */
  unlock(doorId: string): UnlockRun {
    const previous = this.#current;
    previous?.signal.cancel();
    const signal = new CancelSignal();
    const run = new UnlockRun(doorId, () => signal.cancel());
    const names = {
      Connect: 'ConnectForUnlock',
      SetupSync: 'SetupSync',
      Unlock: 'Unlock',
    } as const;
    const operation: Operation = {
      kind: 'unlock',
      doorId,
      signal,
      started: (at) => run.emit({ type: 'Started', at, doorId }),
      step: (step, at, attempt) => run.emit({ type: names[step], at, attempt }),
      report: NOTHING_DONE,
    };
    const current = { kind: 'unlock' as const, result: run.result, signal };
    this.#current = current;
    void this.#drive(operation, previous?.result).then((ending) => {
      if (this.#current === current) this.#current = undefined;
      run.finish(ending);
      this.#onUnlockFinished?.(ending);
    });
    return run;
  }

  /**
   * Starts an active sync with `doorId`'s lock (bundle, time, audit; no unlock). Refused while an
   * unlock or another sync runs; an unlock started meanwhile cancels it.
   */
  sync(doorId: string): SyncStartResult {
    if (this.#current?.kind === 'unlock') return REFUSED_WHILE_UNLOCKING;
    if (this.#current?.kind === 'sync') return REFUSED_WHILE_SYNCING;
    const signal = new CancelSignal();
    const run = new SyncRun(doorId, () => signal.cancel());
    const operation: Operation = {
      kind: 'sync',
      doorId,
      signal,
      started: (at) => run.emit({ type: 'Started', at, doorId }),
      step: (step, at, attempt) => {
        if (step === 'Connect') run.emit({ type: 'ConnectForSetupSync', at, attempt });
        else if (step === 'SetupSync') run.emit({ type: 'SetupSync', at, attempt });
      },
      report: NOTHING_DONE,
    };
    const current = { kind: 'sync' as const, result: run.result, signal };
    this.#current = current;
    void this.#drive(operation, undefined).then((ending) => {
      if (this.#current === current) this.#current = undefined;
      const result: SyncResult =
        ending.outcome === 'success' ? { ...ending, ...operation.report } : ending;
      run.finish(result);
    });
    return { ok: true, run };
  }

  /** Starts scanning for locks to unlock on approach (module comment). */
  startProximityUnlock(options: ProximityOptions = {}): ProximityStartResult {
    const threshold = options.rssiThresholdDbm ?? DEFAULT_PROXIMITY.rssiThresholdDbm;
    const intervalMs = options.intervalMs ?? DEFAULT_PROXIMITY.intervalMs;
    const cooldownMs = options.cooldownMs ?? DEFAULT_PROXIMITY.cooldownMs;
    if (!Number.isFinite(threshold)) throw new RangeError('rssiThresholdDbm: expected a number');
    if (!(intervalMs > 0 && Number.isFinite(intervalMs))) {
      throw new RangeError('intervalMs: expected a positive number');
    }
    if (!(cooldownMs >= 0)) throw new RangeError('cooldownMs: expected >= 0');
    if (this.#token === undefined) return { ok: false, reason: 'NotSetUp' };
    if (this.#proximity !== undefined) return { ok: false, reason: 'AlreadyRunning' };
    const signal = new CancelSignal();
    this.#proximity = signal;
    void this.#approach(signal, threshold, intervalMs, cooldownMs, options.onUnlock);
    return { ok: true };
  }

  /** Stops proximity scanning; an unlock it started runs to its end. */
  stopProximityUnlock(): void {
    this.#proximity?.cancel();
    this.#proximity = undefined;
  }

  get proximityUnlockActive(): boolean {
    return this.#proximity !== undefined;
  }

  /**
   * The access logs the user can see: the cloud's decoded records of their doors (after handing
   * it the uploads still queued) when online and the cloud offers them, and always the headers
   * of the uploads this phone pulled for this user, filtered to `doorId` when given.
   */
  async getAccessLogs(doorId?: string): Promise<AccessLogsResult> {
    const token = this.#token;
    if (token === undefined) return { ok: false, reason: 'NotSetUp' };
    const cloud = this.#cloud;
    let entries: readonly AccessLogEntry[] | undefined;
    if (cloud?.accessLogs !== undefined && this.#online) {
      await this.uploadAuditLogs();
      try {
        entries = await callCloud(() => cloud.accessLogs?.(token, doorId));
      } catch {
        entries = undefined;
      }
    }
    const pulled = this.#pulledLog
      .map((p) => p.info)
      .filter((p) => doorId === undefined || p.doorId === doorId);
    return entries === undefined
      ? { ok: true, source: 'phone', entries: [], pulled }
      : { ok: true, source: 'cloud', entries, pulled };
  }

  /** Invites a guest to some of the user's doors through the cloud (`GuestInvite`). */
  async inviteGuest(
    doorIds: readonly string[],
    invite: {
      readonly name: string;
      readonly from: number;
      readonly until: number;
      readonly dailyCode?: boolean;
    },
  ): Promise<InviteGuestResult> {
    return this.#account(
      (cloud) => cloud.inviteGuest !== undefined,
      async (cloud, token) => {
        const made = await callCloud(() => cloud.inviteGuest!(token, { ...invite, doorIds }));
        return { ok: true, ...made };
      },
    );
  }

  /** Revokes a guest share the user made. */
  async revokeGuestAccess(shareId: string): Promise<RevokeGuestResult> {
    return this.#account(
      (cloud) => cloud.revokeGuestAccess !== undefined,
      async (cloud, token) => {
        await callCloud(() => cloud.revokeGuestAccess!(shareId, token));
        return { ok: true };
      },
    );
  }

  async #account<T extends { readonly ok: true }>(
    supported: (cloud: PhoneCloud) => boolean,
    call: (cloud: PhoneCloud, token: string) => Promise<T>,
  ): Promise<T | ({ readonly ok: false } & AccountFailure)> {
    const token = this.#token;
    if (token === undefined) return { ok: false, reason: 'NotSetUp' };
    const cloud = this.#cloud;
    if (cloud === undefined || !this.#online) return { ok: false, reason: 'Offline' };
    if (!supported(cloud)) return { ok: false, reason: 'Unsupported' };
    try {
      return await call(cloud, token);
    } catch (error) {
      return { ok: false, reason: 'Refused', detail: errorDetail(error) };
    }
  }

  /** Cancels the unlock in flight, if any. */
  cancelUnlock(): void {
    this.#current?.signal.cancel();
  }

  async #drive(run: Operation, previous: Promise<unknown> | undefined): Promise<Ending> {
    const { doorId, signal } = run;
    const startedAt = this.#transport.now();
    let attempts = 0;
    const end = (
      ending:
        | { outcome: 'success' }
        | { outcome: 'canceled' }
        | { outcome: 'failed'; reason: UnlockFailure },
    ): Ending => ({ doorId, startedAt, endedAt: this.#transport.now(), attempts, ...ending });
    const failed = (reason: UnlockFailure): Ending => end({ outcome: 'failed', reason });
    run.started(startedAt);
    if (previous !== undefined) await previous;
    if (signal.canceled) return end({ outcome: 'canceled' });
    if (!this.#bluetooth) return failed({ kind: 'BluetoothDisabled' });
    let target = this.#target(doorId);
    if (target === undefined && this.#online) {
      await this.fetchLocks();
      target = this.#target(doorId);
    }
    if (target === undefined) return failed(NOT_IN_DIRECTORY);
    const timing = this.#timing;
    const deadline = startedAt + timing.unlockDeadlineMs;
    let failures = 0;
    let busy = 0;
    let refreshed = false;
    for (;;) {
      if (signal.canceled) return end({ outcome: 'canceled' });
      attempts++;
      run.step('Connect', this.#transport.now(), attempts);
      const verdict = await this.#attempt(run, target, attempts);
      if (this.#online) {
        await this.uploadAuditLogs();
        await this.#reportBundleVersions();
      }
      let retry: number;
      switch (verdict.kind) {
        case 'success':
          return end({ outcome: 'success' });
        case 'canceled':
          return end({ outcome: 'canceled' });
        case 'failed':
          return failed(verdict.reason);
        case 'stale': {
          if (refreshed || !this.#online) return failed(verdict.reason);
          refreshed = true;
          const fetched = await this.fetchLocks();
          target = fetched.ok ? this.#target(doorId) : undefined;
          if (target === undefined) return failed(verdict.reason);
          continue;
        }
        case 'busy':
          busy++;
          if (busy > timing.maxBusyRetries)
            return failed({ kind: 'ConnectionFailed', detail: 'busy' });
          retry = busy;
          break;
        case 'transient':
          failures++;
          if (failures >= timing.maxAttempts) {
            return failed({ kind: 'ConnectionFailed', detail: verdict.detail });
          }
          retry = failures;
          break;
      }
      const delay = backoffMs(retry, timing.backoff, this.#random);
      if (this.#transport.now() + delay >= deadline) {
        return failed({ kind: 'ConnectionFailed', detail: 'deadline' });
      }
      if (!(await pause(delay, this.#transport, signal))) return end({ outcome: 'canceled' });
    }
  }

  #target(doorId: string): Target | undefined {
    const door = this.#cache?.door(doorId);
    const credential = door === undefined ? undefined : this.#cache?.credential(door);
    return door === undefined || credential === undefined ? undefined : { door, credential };
  }

  /** Scans until the lock shows: its scan result, `busy` if it is not connectable, or absent. */
  async #find(
    lockId: Uint8Array,
    signal: CancelSignal,
  ): Promise<ScanResult | 'busy' | 'absent' | 'canceled'> {
    const { scanMs, scanAttempts } = this.#timing;
    const prefix = lockId.subarray(0, 4);
    for (let scan = 0; scan < scanAttempts; scan++) {
      const scanned = await within(
        this.#transport.scan(scanMs),
        2 * scanMs,
        this.#transport,
        signal,
      );
      if (scanned.kind === 'canceled') return 'canceled';
      if (scanned.kind !== 'value') continue;
      // The scan response names the lock in full; without one, the prefix picks candidates and
      // the handshake's prologue rules out a namesake.
      const seen = scanned.value.filter((r) =>
        r.scanResponse === undefined
          ? bytesEqual(r.advertisement.lockIdPrefix, prefix)
          : bytesEqual(r.scanResponse.lockId, lockId),
      );
      const connectable = seen.find((r) => r.connectable);
      if (connectable !== undefined) return connectable;
      if (seen.length > 0) return 'busy';
    }
    return 'absent';
  }

  async #attempt(run: Operation, target: Target, attempt: number): Promise<Verdict> {
    const { signal } = run;
    const timing = this.#timing;
    const found = await this.#find(target.door.lockId, signal);
    if (found === 'canceled') return CANCELED;
    if (found === 'busy') return BUSY;
    if (found === 'absent') return { kind: 'failed', reason: NOT_IN_RANGE };
    const connecting = this.#transport.connect(found.address, {
      timeoutMs: timing.connectTimeoutMs,
      mtu: timing.mtu,
    });
    const connected = await within(
      connecting,
      timing.connectTimeoutMs + timing.responseTimeoutMs,
      this.#transport,
      signal,
    );
    if (connected.kind === 'canceled') {
      // A connection that completes after all must still be let go.
      connecting
        .then(
          (c) => c.disconnect(),
          () => undefined,
        )
        .catch(() => undefined);
      return CANCELED;
    }
    if (connected.kind === 'error' && isDropped(connected.error)) {
      // The lock's stack took the link and its firmware let it go at once: the one link it
      // holds is another phone's, and it turns away all but one waiting link (session.md §7.1).
      return BUSY;
    }
    if (connected.kind !== 'value') return { kind: 'transient', detail: 'connect' };
    const link = new LockLink({
      connection: connected.value,
      transport: this.#transport,
      crypto: this.#crypto,
      signal,
      responseTimeoutMs: timing.responseTimeoutMs,
    });
    try {
      return await this.#converse(run, link, target, attempt, found);
    } finally {
      await link.close();
    }
  }

  /** Handshake, passive sync, unlock (not for an active sync), audit pull on an open link. */
  async #converse(
    run: Operation,
    link: LockLink,
    target: Target,
    attempt: number,
    found: ScanResult,
  ): Promise<Verdict> {
    const { signal } = run;
    const { door, credential } = target;
    // The prologue binds the lock's version list; the advertisement names its highest version.
    const versions = [found.advertisement.protocolVersion];
    const hello = await link.handshake(door, versions, this.staticKey, credential);
    if (!hello.ok) return linkVerdict(hello.failure);
    const status = hello.value;
    let lockVersion = status.syncVersion;
    const bundle = this.#cache?.bundleFor(door.lockId, lockVersion);
    const needsTime = !status.clockValid || (status.flags & STATUS_FLAGS.NEEDS_UPDATE) !== 0;
    // An active sync always reports its setup step; an unlock only when there is one to do.
    if (bundle !== undefined || needsTime || run.kind === 'sync')
      run.step('SetupSync', this.#transport.now(), attempt);
    let bundlePushed = false;
    if (bundle !== undefined) {
      for (const chunk of syncPushChunks(bundle.sealed)) {
        const pushed = await link.request('sync-push-request', chunk);
        if (!pushed.ok) return linkVerdict(pushed.failure);
        lockVersion = pushed.value.syncVersion;
        // A refused bundle (stale, for another base) leaves the lock as it was: unlock anyway.
        if (pushed.value.result !== RESULT_OK) break;
      }
      bundlePushed = lockVersion === bundle.version;
    }
    this.#versionsSeen.set(door.doorId, lockVersion);
    let clockSet = false;
    if (needsTime) {
      const anchor = await this.#timeAnchor(door, status, signal);
      if (anchor === 'canceled') return CANCELED;
      if (anchor !== undefined) {
        const synced = await link.request('time-sync-request', anchor);
        if (!synced.ok) return linkVerdict(synced.failure);
        clockSet = synced.value.result === RESULT_OK;
      }
    }
    if (run.kind === 'sync') {
      // The audit is the point of an active sync: a pull that breaks is a failed attempt.
      const pulled = await this.#pullAudit(link, status.auditTail);
      if (pulled.failure !== undefined) return linkVerdict(pulled.failure);
      run.report = { lockVersion, bundlePushed, clockSet, auditRecords: pulled.records };
      return SUCCESS;
    }
    run.step('Unlock', this.#transport.now(), attempt);
    const unlocked = await link.request('unlock-request', {});
    if (!unlocked.ok) return linkVerdict(unlocked.failure);
    await this.#pullAudit(link, status.auditTail);
    return unlockVerdict(unlocked.value.result);
  }

  /** The proximity loop (module comment) until `signal` is canceled. */
  async #approach(
    signal: CancelSignal,
    threshold: number,
    intervalMs: number,
    cooldownMs: number,
    onUnlock: ((run: UnlockRun) => void) | undefined,
  ): Promise<void> {
    const { scanMs } = this.#timing;
    /** Doors unlocked on this approach → when. */
    const disarmed = new Map<string, number>();
    while (!signal.canceled) {
      if (this.#bluetooth && this.#current === undefined && this.#cache !== undefined) {
        const scanned = await within(
          this.#transport.scan(scanMs),
          2 * scanMs,
          this.#transport,
          signal,
        );
        if (scanned.kind === 'canceled') return;
        if (scanned.kind === 'value') {
          const now = this.#transport.now();
          const heard = this.#eligibleRssi(scanned.value);
          for (const [doorId, at] of disarmed) {
            const rssi = heard.get(doorId);
            const left = rssi === undefined || rssi < threshold - PROXIMITY_HYSTERESIS_DB;
            if (left || now - at >= cooldownMs) disarmed.delete(doorId);
          }
          let closest: { doorId: string; rssi: number } | undefined;
          for (const [doorId, rssi] of heard) {
            if (rssi < threshold || disarmed.has(doorId)) continue;
            if (closest === undefined || rssi > closest.rssi) closest = { doorId, rssi };
          }
          // A manual unlock that began during the scan goes first; the door stays armed.
          if (closest !== undefined && this.#current === undefined && !signal.canceled) {
            disarmed.set(closest.doorId, now);
            onUnlock?.(this.unlock(closest.doorId));
          }
        }
      }
      if (!(await pause(intervalMs, this.#transport, signal))) return;
    }
  }

  /** The strongest RSSI heard per door the phone can unlock. */
  #eligibleRssi(results: readonly ScanResult[]): Map<string, number> {
    const heard = new Map<string, number>();
    for (const { doorId } of this.locks()) {
      const target = this.#target(doorId);
      if (target === undefined) continue;
      const { lockId } = target.door;
      const prefix = lockId.subarray(0, 4);
      for (const r of results) {
        const named =
          r.scanResponse === undefined
            ? bytesEqual(r.advertisement.lockIdPrefix, prefix)
            : bytesEqual(r.scanResponse.lockId, lockId);
        if (named && r.rssi > (heard.get(doorId) ?? -Infinity)) heard.set(doorId, r.rssi);
      }
    }
    return heard;
  }

  /** Reports the bundle versions seen at locks while online; a failed call keeps the rest. */
  async #reportBundleVersions(): Promise<void> {
    const cloud = this.#cloud;
    if (cloud?.acknowledgeBundle === undefined || !this.#online) return;
    for (const [doorId, version] of this.#versionsSeen) {
      try {
        await callCloud(() => cloud.acknowledgeBundle?.(doorId, version));
      } catch {
        return;
      }
      this.#versionsSeen.delete(doorId);
    }
  }

  /**
   * The anchor for a lock that needs its clock: nonce-bound from the cloud when online (exact,
   * unreplayable), else the cached window anchor with the phone's clock reading.
   */
  async #timeAnchor(
    door: DoorEntry,
    status: LockStatusReport,
    signal: CancelSignal,
  ): Promise<{ anchor: Uint8Array; phoneTime?: number } | 'canceled' | undefined> {
    const cloud = this.#cloud;
    if (cloud !== undefined && this.#online) {
      const fetched = await within(
        callCloud(() => cloud.timeAnchor(door.doorId, status.nonce)),
        this.#timing.responseTimeoutMs,
        this.#transport,
        signal,
      );
      if (fetched.kind === 'canceled') return 'canceled';
      if (fetched.kind === 'value') return { anchor: fetched.value };
    }
    const cached = this.#cache?.windowAnchor(door.lockId);
    return cached === undefined ? undefined : { anchor: cached, phoneTime: this.#clock() };
  }

  /**
   * Pulls every audit record from `from` on, queueing the sealed chunks for the cloud (and
   * their headers in the pull log). Returns the records pulled and what broke the pull, if
   * anything did.
   */
  async #pullAudit(
    link: LockLink,
    from: number,
  ): Promise<{ records: number; failure?: LinkFailure }> {
    let next = from;
    let records = 0;
    for (let chunk = 0; chunk < this.#timing.maxAuditChunks; chunk++) {
      const pulled = await link.request('audit-pull-request', {
        from: next,
        maxRecords: MAX_AUDIT_RECORDS,
      });
      if (!pulled.ok) return { records, failure: pulled.failure };
      const header = decodeAuditUploadHeader(pulled.value.upload);
      if (!header.ok) return { records, failure: { kind: 'protocol', code: header.code } };
      const { lockId, firstSeq, count } = header.value;
      if (count > 0) {
        this.#auditQueue.push(pulled.value.upload);
        this.#logPull(pulled.value.upload, lockId, firstSeq, count);
        records += count;
      }
      if (!pulled.value.more || count === 0) return { records };
      next = firstSeq + count;
    }
    return { records };
  }

  #logPull(upload: Uint8Array, lockId: Uint8Array, firstSeq: number, count: number): void {
    const doorId = this.locks().find((door) => bytesEqual(door.lockId, lockId))?.doorId;
    const info: PulledAudit = {
      doorId,
      lockId: lockKey(lockId),
      firstSeq,
      count,
      pulledAt: this.#transport.now(),
      delivered: false,
    };
    this.#pulledLog.push({ upload, info });
    if (this.#pulledLog.length > MAX_PULLED_AUDIT_LOG) this.#pulledLog.shift();
  }

  /** Marks the pull log's entry of `upload` delivered, dropping the bytes it no longer needs. */
  #markDelivered(upload: Uint8Array): void {
    const pull = this.#pulledLog.find((p) => p.upload === upload);
    if (pull === undefined) return;
    pull.upload = undefined;
    pull.info = { ...pull.info, delivered: true };
  }
}
