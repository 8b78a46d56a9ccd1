/**
 * The hub (ARCHITECTURE.md §3 table "hub", §6): a property's mains-powered gateway, online, that
 * stands among the locks as a BLE central and brings them up to date without a phone — the
 * vendor's remote PIN provisioning. Without a hub, locks sync only passively through phones.
 *
 * It reaches the locks only through a `CentralTransport` (the virtual radio's `central(...)`, a
 * real adapter later) and the cloud only through `HubCloud`; it reads no clock but the
 * transport's. To the lock it is a Noise XK initiator like a phone: its own static key, and a
 * credential of role `hub` the authority signed for that key (`cloud.addHub`), which the lock
 * admits for sync, time and audit and refuses every door operation (firmware-sim/access.ts).
 * The wire steps are the phone's (`../phone/lock-link.ts`).
 *
 * A round (every `pollIntervalMs`, sooner after one that left a lock behind, and at once on
 * `cloudChanged()`, the cloud's push to an online hub):
 * 1. hand over audit uploads a failed cloud call left queued; fetch the hub's package (its
 *    credential per lock, the directory with each lock's static key) if it has none;
 * 2. one scan; for each of its doors heard, ask the cloud for the newest bundle version;
 * 3. visit the lock if it is behind what the hub last saw it hold (never seen counts as behind),
 *    advertises needs-update (its clock was lost), or was not visited for `visitIntervalMs`
 *    (its audit is due). A visit, in one connection: Noise XK, whose message 2 reports the
 *    lock's sync version, clock and audit tail (`protocol/spec/session.md`); the bundle built
 *    on that version (a delta when the cloud kept it) in sync-push chunks; the version the lock
 *    then holds reported to the cloud (`acknowledgeBundle`); a time anchor bound to the
 *    session's nonce if the lock needs its clock; the audit from its tail, each chunk handed to
 *    the cloud (`ingestAudit`). The cloud's acknowledgement of that audit rides the next
 *    bundle, which the next round pushes, and the lock trims its ring.
 *
 * Visits are one at a time. A lock holding a phone answers `BUSY` (or drops the link as it is
 * set up): the visit tries again after a seeded backoff, up to `maxAttempts`, and a lock still
 * not done counts as behind. A refused admission drops the package so the next round fetches a
 * fresh one. Results are values (`HubRound`, `HubVisit`), reported to `onVisit` as they end.
 */
import type { CryptoProvider, RandomSource } from '../../protocol/crypto/provider.js';
import { wireErrorName, WIRE_ERRORS } from '../../protocol/errors.js';
import { decodeAuditUploadHeader, MAX_AUDIT_RECORDS } from '../../protocol/formats/audit-upload.js';
import { bytesEqual } from '../../protocol/formats/common.js';
import { RESULT_OK, STATUS_FLAGS, syncPushChunks } from '../../protocol/messages.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import { lockKey } from '../phone/lock-cache.js';
import { LockLink } from '../phone/lock-link.js';
import type { LinkFailure, LockStatusReport } from '../phone/lock-link.js';
import { backoffMs, CancelSignal, pause, within } from '../phone/step-timing.js';
import type { BackoffPolicy } from '../phone/step-timing.js';
import { TransportError } from '../transport/types.js';
import type { CentralTransport, ScanResult } from '../transport/types.js';
import type { DoorEntry, HubBundleOffer, HubCloud, HubPackage } from './cloud-api.js';

export interface HubTiming {
  /** Between rounds when every lock in range is up to date, ms. */
  readonly pollIntervalMs: number;
  /** Between rounds after one that left a lock behind (busy, a failed link or cloud call), ms. */
  readonly retryIntervalMs: number;
  /** A lock not visited for this long is visited for its audit, ms. */
  readonly visitIntervalMs: number;
  /** One scan's duration, ms. */
  readonly scanMs: number;
  readonly connectTimeoutMs: number;
  /** How long the lock or the cloud may take to answer one message, ms. */
  readonly responseTimeoutMs: number;
  /** Connections per visit (BUSY, a dropped or timed-out link) before giving up until later. */
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  /** The ATT_MTU the hub asks for. */
  readonly mtu: number;
  /** Audit-pull requests per visit at most (32 records each). */
  readonly maxAuditChunks: number;
}

/**
 * A minute between rounds keeps a mains-powered hub's radio mostly quiet; a change in the cloud
 * reaches the locks at once through `cloudChanged()`. A lock's audit is collected at least every
 * quarter of an hour, which bounds what a full ring could lose (§3 "Audit log").
 */
export const DEFAULT_HUB_TIMING: HubTiming = Object.freeze({
  pollIntervalMs: 60_000,
  retryIntervalMs: 10_000,
  visitIntervalMs: 15 * 60_000,
  scanMs: 1_000,
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 5_000,
  maxAttempts: 3,
  backoff: Object.freeze({ baseMs: 500, maxMs: 4_000 }),
  mtu: 247,
  maxAuditChunks: 64,
});

export interface HubOptions {
  readonly transport: CentralTransport;
  /** The hub's crypto: Noise ephemeral keys, and the static key unless given, come from it. */
  readonly crypto: CryptoProvider;
  /** Seeded randomness for backoff jitter. */
  readonly random: RandomSource;
  readonly cloud: HubCloud;
  /** The hub's static X25519 key pair; default drawn from `crypto`. */
  readonly staticKey?: KeyPair;
  readonly timing?: Partial<HubTiming>;
  /** Called with every visit as it ends: the metrics hook. */
  readonly onVisit?: (visit: HubVisit) => void;
}

/** One connection (or the attempts at one) to one lock. */
export interface HubVisit {
  readonly doorId: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly attempts: number;
  /** The bundle version the lock reported in message 2, when a handshake got that far. */
  readonly versionBefore?: number;
  /** The version it held when the hub let go (after a push), when known. */
  readonly version?: number;
  /** The wire code of a pushed bundle the lock refused. */
  readonly pushRefused?: number;
  /** A time anchor set the lock's clock. */
  readonly timeSynced: boolean;
  /** Audit records pulled (and handed to the cloud, or queued for it). */
  readonly auditRecords: number;
  /** Why the visit left the lock behind; absent when every step that was due succeeded. */
  readonly failure?: string;
}

export interface HubRound {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly visits: readonly HubVisit[];
  /** Locks left behind (a failed visit), or 1 when the cloud did not answer the package call. */
  readonly behind: number;
}

/** What one connection attempt did; `retry` when another connection may finish it. */
interface AttemptOutcome {
  readonly retry: boolean;
  readonly report: Omit<HubVisit, 'doorId' | 'startedAt' | 'endedAt' | 'attempts'>;
}

const NOTHING_DONE = { timeSynced: false, auditRecords: 0 } as const;

function linkFailureDetail(failure: LinkFailure): string {
  switch (failure.kind) {
    case 'refused':
    case 'handshake':
    case 'protocol':
      return `${failure.kind}: ${wireErrorName(failure.code) ?? failure.code}`;
    case 'error':
      return `error: ${wireErrorName(failure.code) ?? failure.code}`;
    case 'disconnected':
    case 'timeout':
    case 'canceled':
      return failure.kind;
  }
}

/** Whether another connection may get past `failure`: a busy lock, a lost or damaged link. */
function worthRetrying(failure: LinkFailure): boolean {
  switch (failure.kind) {
    case 'refused':
      return failure.code !== WIRE_ERRORS.FAILED;
    case 'disconnected':
    case 'timeout':
      return true;
    case 'protocol':
      return failure.code === WIRE_ERRORS.BAD_FRAME || failure.code === WIRE_ERRORS.TIMEOUT;
    case 'handshake':
    case 'error':
    case 'canceled':
      return false;
  }
}

/** Calls the cloud so that a synchronous throw becomes a rejection. */
async function callCloud<T>(call: () => T | Promise<T>): Promise<T> {
  return call();
}

export class Hub {
  readonly staticKey: KeyPair;
  readonly #transport: CentralTransport;
  readonly #crypto: CryptoProvider;
  readonly #random: RandomSource;
  readonly #cloud: HubCloud;
  readonly #timing: HubTiming;
  readonly #onVisit: ((visit: HubVisit) => void) | undefined;
  /** Cancels every wait once the hub stops. */
  readonly #stopped = new CancelSignal();
  /** Per door: the version the lock held when last visited, and when. */
  readonly #known = new Map<string, { readonly version: number; readonly visitedAt: number }>();
  /** Sealed audit uploads a failed cloud call left with the hub. */
  readonly #auditQueue: Uint8Array[] = [];
  #hubId: string | undefined;
  #package: HubPackage | undefined;
  /** Serializes rounds: the loop's and `syncNow`'s. */
  #rounds: Promise<unknown> = Promise.resolve();
  /** Ends the loop's wait between rounds. */
  #wake: (() => void) | undefined;
  /** The cloud changed while a round ran: the loop runs another at once. */
  #changed = false;

  constructor(options: HubOptions) {
    this.#transport = options.transport;
    this.#crypto = options.crypto;
    this.#random = options.random;
    this.#cloud = options.cloud;
    this.#timing = { ...DEFAULT_HUB_TIMING, ...options.timing };
    this.#onVisit = options.onVisit;
    this.staticKey = options.staticKey ?? generateKeyPair(options.crypto);
  }

  get publicKey(): Uint8Array {
    return this.staticKey.publicKey;
  }

  /** Whether `start` ran and `stop` did not. */
  get running(): boolean {
    return this.#hubId !== undefined && !this.#stopped.canceled;
  }

  /** Audit uploads waiting for the cloud. */
  get pendingAuditUploads(): number {
    return this.#auditQueue.length;
  }

  /** Starts the rounds as hub `hubId` (what `cloud.addHub` returned for this hub's key). */
  start(hubId: string): void {
    if (typeof hubId !== 'string' || hubId.length === 0) {
      throw new TypeError('hubId: expected a non-empty string');
    }
    if (this.#hubId !== undefined) throw new TypeError('hub: already started');
    this.#hubId = hubId;
    void this.#loop();
  }

  /** Stops the rounds; a visit in flight lets go of its link. A stopped hub stays stopped. */
  stop(): void {
    this.#stopped.cancel();
    this.#wakeLoop();
  }

  /**
   * The cloud's push: something changed (a code, a key, a revocation). The package is fetched
   * again and a round starts now, or right after the one running.
   */
  cloudChanged(): void {
    this.#package = undefined;
    if (this.#wake === undefined) this.#changed = true;
    else this.#wakeLoop();
  }

  /** Runs one round now (after the one in flight, if any) and returns what it did. */
  syncNow(): Promise<HubRound> {
    if (this.#hubId === undefined) return Promise.reject(new TypeError('hub: not started'));
    const round = this.#rounds.then(() => this.#round());
    this.#rounds = round.catch(() => undefined);
    return round;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped.canceled) {
      const round = await this.syncNow();
      if (this.#stopped.canceled) return;
      if (this.#changed) {
        this.#changed = false;
        continue;
      }
      const { pollIntervalMs, retryIntervalMs } = this.#timing;
      const wait = round.behind > 0 ? retryIntervalMs : pollIntervalMs;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        void this.#transport.sleep(wait).then(resolve);
      });
      this.#wake = undefined;
    }
  }

  #wakeLoop(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #round(): Promise<HubRound> {
    const startedAt = this.#transport.now();
    const visits: HubVisit[] = [];
    let behind = 0;
    await this.#flushAudit();
    const pkg = await this.#fetchPackage();
    if (pkg !== undefined) {
      const heard = await this.#scan(pkg.directory);
      for (const door of pkg.directory) {
        if (this.#stopped.canceled) break;
        const found = heard.get(lockKey(door.lockId));
        const credential = pkg.credentialByLock.get(lockKey(door.lockId));
        if (found === undefined || credential === undefined) continue;
        const newest = await this.#ask(() => this.#cloud.bundleFor(door.doorId));
        if (!this.#due(door, found, newest, startedAt)) continue;
        const visit = await this.#visit(door, credential, found, newest);
        visits.push(visit);
        this.#onVisit?.(visit);
        if (visit.failure === undefined && visit.version !== undefined) {
          this.#known.set(door.doorId, { version: visit.version, visitedAt: visit.endedAt });
        } else {
          behind++;
        }
      }
    } else {
      behind = 1;
    }
    return { startedAt, endedAt: this.#transport.now(), visits, behind };
  }

  #due(
    door: DoorEntry,
    found: ScanResult,
    newest: HubBundleOffer | undefined,
    now: number,
  ): boolean {
    const known = this.#known.get(door.doorId);
    if (known === undefined || found.advertisement.status.needsUpdate) return true;
    if (newest !== undefined && newest.version > known.version) return true;
    return now - known.visitedAt >= this.#timing.visitIntervalMs;
  }

  async #fetchPackage(): Promise<HubPackage | undefined> {
    const hubId = this.#hubId;
    if (this.#package !== undefined || hubId === undefined) return this.#package;
    this.#package = await this.#ask(() => this.#cloud.hubSync(hubId, this.staticKey.publicKey));
    return this.#package;
  }

  /** A cloud call within the response timeout; `undefined` when it failed or timed out. */
  async #ask<T>(call: () => T | Promise<T>): Promise<T | undefined> {
    const asked = await within(
      callCloud(call),
      this.#timing.responseTimeoutMs,
      this.#transport,
      this.#stopped,
    );
    return asked.kind === 'value' ? asked.value : undefined;
  }

  /** One scan: the hub's locks heard, by lock key (the scan response names a lock in full). */
  async #scan(directory: readonly DoorEntry[]): Promise<Map<string, ScanResult>> {
    const heard = new Map<string, ScanResult>();
    const { scanMs } = this.#timing;
    const scanned = await within(
      this.#transport.scan(scanMs),
      2 * scanMs,
      this.#transport,
      this.#stopped,
    );
    if (scanned.kind !== 'value') return heard;
    for (const door of directory) {
      const prefix = door.lockId.subarray(0, 4);
      const result = scanned.value.find((r) =>
        r.scanResponse === undefined
          ? bytesEqual(r.advertisement.lockIdPrefix, prefix)
          : bytesEqual(r.scanResponse.lockId, door.lockId),
      );
      if (result !== undefined) heard.set(lockKey(door.lockId), result);
    }
    return heard;
  }

  async #visit(
    door: DoorEntry,
    credential: Uint8Array,
    found: ScanResult,
    newest: HubBundleOffer | undefined,
  ): Promise<HubVisit> {
    const startedAt = this.#transport.now();
    let attempts = 0;
    for (;;) {
      attempts++;
      const { retry, report } = await this.#attempt(door, credential, found, newest);
      const done = !retry || attempts >= this.#timing.maxAttempts || this.#stopped.canceled;
      const delay = done ? 0 : backoffMs(attempts, this.#timing.backoff, this.#random);
      if (done || !(await pause(delay, this.#transport, this.#stopped))) {
        const endedAt = this.#transport.now();
        return { doorId: door.doorId, startedAt, endedAt, attempts, ...report };
      }
    }
  }

  async #attempt(
    door: DoorEntry,
    credential: Uint8Array,
    found: ScanResult,
    newest: HubBundleOffer | undefined,
  ): Promise<AttemptOutcome> {
    const timing = this.#timing;
    const connecting = this.#transport.connect(found.address, {
      timeoutMs: timing.connectTimeoutMs,
      mtu: timing.mtu,
    });
    const connected = await within(
      connecting,
      timing.connectTimeoutMs + timing.responseTimeoutMs,
      this.#transport,
      this.#stopped,
    );
    if (connected.kind === 'canceled') {
      // A connection that completes after all must still be let go.
      connecting
        .then(
          (c) => c.disconnect(),
          () => undefined,
        )
        .catch(() => undefined);
      return { retry: false, report: { ...NOTHING_DONE, failure: 'stopped' } };
    }
    if (connected.kind !== 'value') {
      // A link the lock's firmware let go at once: it holds another central's (session.md §7.1).
      const dropped =
        connected.kind === 'error' &&
        connected.error instanceof TransportError &&
        connected.error.code === 'DISCONNECTED';
      return { retry: true, report: { ...NOTHING_DONE, failure: dropped ? 'busy' : 'connect' } };
    }
    const link = new LockLink({
      connection: connected.value,
      transport: this.#transport,
      crypto: this.#crypto,
      signal: this.#stopped,
      responseTimeoutMs: timing.responseTimeoutMs,
    });
    try {
      return await this.#converse(link, door, credential, found, newest);
    } finally {
      await link.close();
    }
  }

  /** Handshake, bundle push, version report, time sync, audit pull on an open link. */
  async #converse(
    link: LockLink,
    door: DoorEntry,
    credential: Uint8Array,
    found: ScanResult,
    newest: HubBundleOffer | undefined,
  ): Promise<AttemptOutcome> {
    const versions = [found.advertisement.protocolVersion];
    const hello = await link.handshake(door, versions, this.staticKey, credential);
    if (!hello.ok) {
      const { failure } = hello;
      // Not admitted: the credential or the lock's key may have changed in the cloud.
      const notAdmitted =
        failure.kind === 'handshake' ||
        (failure.kind === 'refused' && failure.code === WIRE_ERRORS.FAILED);
      if (notAdmitted) this.#package = undefined;
      const detail = linkFailureDetail(failure);
      return { retry: worthRetrying(failure), report: { ...NOTHING_DONE, failure: detail } };
    }
    const status = hello.value;
    const versionBefore = status.syncVersion;
    let version = versionBefore;
    let pushRefused: number | undefined;
    let failure: string | undefined;
    const broken = (linkFailure: LinkFailure): AttemptOutcome => ({
      retry: worthRetrying(linkFailure),
      report: { ...NOTHING_DONE, versionBefore, version, failure: linkFailureDetail(linkFailure) },
    });

    if (newest !== undefined && newest.version > version) {
      const offer = await this.#ask(() =>
        this.#cloud.bundleFor(door.doorId, { baseVersion: versionBefore }),
      );
      if (offer === undefined) failure = 'cloud: bundle';
      else if (offer.version > version) {
        for (const chunk of syncPushChunks(offer.sealed)) {
          const pushed = await link.request('sync-push-request', chunk);
          if (!pushed.ok) return broken(pushed.failure);
          version = pushed.value.syncVersion;
          if (pushed.value.result !== RESULT_OK) {
            pushRefused = pushed.value.result;
            failure = `push refused: ${wireErrorName(pushRefused) ?? pushRefused}`;
            break;
          }
        }
      }
    }
    await this.#ask(() => this.#cloud.acknowledgeBundle(door.doorId, version));

    let timeSynced = false;
    if (needsTime(status)) {
      const anchor = await this.#ask(() => this.#cloud.timeAnchor(door.doorId, status.nonce));
      if (anchor === undefined) failure ??= 'cloud: time anchor';
      else {
        const synced = await link.request('time-sync-request', { anchor });
        if (!synced.ok) return broken(synced.failure);
        timeSynced = synced.value.result === RESULT_OK;
        if (!timeSynced) {
          failure ??= `time sync refused: ${wireErrorName(synced.value.result) ?? synced.value.result}`;
        }
      }
    }

    const auditRecords = await this.#pullAudit(link, status.auditTail);
    return {
      retry: false,
      report: {
        versionBefore,
        version,
        ...(pushRefused === undefined ? {} : { pushRefused }),
        timeSynced,
        auditRecords,
        ...(failure === undefined ? {} : { failure }),
      },
    };
  }

  /** Pulls every audit record from `from` on, handing each sealed chunk to the cloud. */
  async #pullAudit(link: LockLink, from: number): Promise<number> {
    let next = from;
    let records = 0;
    for (let chunk = 0; chunk < this.#timing.maxAuditChunks; chunk++) {
      const pulled = await link.request('audit-pull-request', {
        from: next,
        maxRecords: MAX_AUDIT_RECORDS,
      });
      if (!pulled.ok) break;
      const { upload, more } = pulled.value;
      const header = decodeAuditUploadHeader(upload);
      if (!header.ok || header.value.count === 0) break;
      records += header.value.count;
      this.#auditQueue.push(upload);
      if (!more) break;
      next = header.value.firstSeq + header.value.count;
    }
    await this.#flushAudit();
    return records;
  }

  /** Hands queued audit uploads to the cloud; a failed call keeps the rest for later. */
  async #flushAudit(): Promise<void> {
    while (this.#auditQueue.length > 0) {
      const upload = this.#auditQueue[0]!;
      const taken = await within(
        callCloud(() => this.#cloud.ingestAudit(upload)),
        this.#timing.responseTimeoutMs,
        this.#transport,
        this.#stopped,
      );
      if (taken.kind !== 'value') return;
      this.#auditQueue.shift();
    }
  }
}

/** The lock lost its clock (§3 "Power"): it needs a time anchor before time-bound access. */
function needsTime(status: LockStatusReport): boolean {
  return !status.clockValid || (status.flags & STATUS_FLAGS.NEEDS_UPDATE) !== 0;
}
