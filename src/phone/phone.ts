/**
 * The phone's unlock engine (ARCHITECTURE.md §6 "Phone"), shaped like the vendor's mobile SDK so
 * partner developers feel at home: set up with a token (kept in memory), `fetchLocks` while
 * online (falling back to the cache, except on an invalid token), `listenForLocks`,
 * `unlock(doorId)` reported as an event stream (`unlock-events.ts`), `cancelUnlock`. It reaches
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
 * the one in flight and starts once it has let go of its link.
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
import type { DoorEntry, PhoneCloud } from './cloud-api.js';
import { LockCache } from './lock-cache.js';
import type { LockSummary } from './lock-cache.js';
import { LockLink } from './lock-link.js';
import type { LinkFailure, LockStatusReport } from './lock-link.js';
import { backoffMs, CancelSignal, pause, within } from './step-timing.js';
import type { BackoffPolicy } from './step-timing.js';
import { denied, UnlockRun } from './unlock-events.js';
import type { UnlockFailure, UnlockResult } from './unlock-events.js';

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
  #current: { readonly run: UnlockRun; readonly signal: CancelSignal } | undefined;

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
    if (token !== this.#token) this.#cache = undefined;
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
      taken++;
    }
    return taken;
  }

  /** Starts unlocking `doorId`, canceling an unlock in flight. */
  unlock(doorId: string): UnlockRun {
    const previous = this.#current;
    previous?.signal.cancel();
    const signal = new CancelSignal();
    const run = new UnlockRun(doorId, () => signal.cancel());
    this.#current = { run, signal };
    void this.#drive(run, signal, previous?.run.result).then((result) => {
      if (this.#current?.run === run) this.#current = undefined;
      run.finish(result);
      this.#onUnlockFinished?.(result);
    });
    return run;
  }

  /** Cancels the unlock in flight, if any. */
  cancelUnlock(): void {
    this.#current?.signal.cancel();
  }

  async #drive(
    run: UnlockRun,
    signal: CancelSignal,
    previous: Promise<UnlockResult> | undefined,
  ): Promise<UnlockResult> {
    const { doorId } = run;
    const startedAt = this.#transport.now();
    let attempts = 0;
    const end = (
      ending:
        | { outcome: 'success' }
        | { outcome: 'canceled' }
        | { outcome: 'failed'; reason: UnlockFailure },
    ): UnlockResult => ({ doorId, startedAt, endedAt: this.#transport.now(), attempts, ...ending });
    const failed = (reason: UnlockFailure): UnlockResult => end({ outcome: 'failed', reason });
    run.emit({ type: 'Started', at: startedAt, doorId });
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
      run.emit({ type: 'ConnectForUnlock', at: this.#transport.now(), attempt: attempts });
      const verdict = await this.#attempt(run, signal, target, attempts);
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

  async #attempt(
    run: UnlockRun,
    signal: CancelSignal,
    target: Target,
    attempt: number,
  ): Promise<Verdict> {
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
      return await this.#converse(run, link, target, attempt, found, signal);
    } finally {
      await link.close();
    }
  }

  /** Handshake, passive sync, unlock, audit pull on an open link. */
  async #converse(
    run: UnlockRun,
    link: LockLink,
    target: Target,
    attempt: number,
    found: ScanResult,
    signal: CancelSignal,
  ): Promise<Verdict> {
    const { door, credential } = target;
    // The prologue binds the lock's version list; the advertisement names its highest version.
    const versions = [found.advertisement.protocolVersion];
    const hello = await link.handshake(door, versions, this.staticKey, credential);
    if (!hello.ok) return linkVerdict(hello.failure);
    const status = hello.value;
    let lockVersion = status.syncVersion;
    const bundle = this.#cache?.bundleFor(door.lockId, lockVersion);
    const needsTime = !status.clockValid || (status.flags & STATUS_FLAGS.NEEDS_UPDATE) !== 0;
    if (bundle !== undefined || needsTime)
      run.emit({ type: 'SetupSync', at: this.#transport.now(), attempt });
    if (bundle !== undefined) {
      for (const chunk of syncPushChunks(bundle.sealed)) {
        const pushed = await link.request('sync-push-request', chunk);
        if (!pushed.ok) return linkVerdict(pushed.failure);
        lockVersion = pushed.value.syncVersion;
        // A refused bundle (stale, for another base) leaves the lock as it was: unlock anyway.
        if (pushed.value.result !== RESULT_OK) break;
      }
    }
    this.#versionsSeen.set(door.doorId, lockVersion);
    if (needsTime) {
      const anchor = await this.#timeAnchor(door, status, signal);
      if (anchor === 'canceled') return CANCELED;
      if (anchor !== undefined) {
        const synced = await link.request('time-sync-request', anchor);
        if (!synced.ok) return linkVerdict(synced.failure);
      }
    }
    run.emit({ type: 'Unlock', at: this.#transport.now(), attempt });
    const unlocked = await link.request('unlock-request', {});
    if (!unlocked.ok) return linkVerdict(unlocked.failure);
    await this.#pullAudit(link, status.auditTail);
    return unlockVerdict(unlocked.value.result);
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

  /** Pulls every audit record from `from` on, queueing the sealed chunks for the cloud. */
  async #pullAudit(link: LockLink, from: number): Promise<void> {
    let next = from;
    for (let chunk = 0; chunk < this.#timing.maxAuditChunks; chunk++) {
      const pulled = await link.request('audit-pull-request', {
        from: next,
        maxRecords: MAX_AUDIT_RECORDS,
      });
      if (!pulled.ok) return;
      const header = decodeAuditUploadHeader(pulled.value.upload);
      if (!header.ok) return;
      if (header.value.count > 0) this.#auditQueue.push(pulled.value.upload);
      if (!pulled.value.more || header.value.count === 0) return;
      next = header.value.firstSeq + header.value.count;
    }
  }
}
