/**
 * The cloud's side of passive sync (ARCHITECTURE.md §3 "Passive sync", "Audit log"; §4 "Sync
 * bundle", "Time anchors"; §6): bundle versions per lock and what the locks acknowledged, audit
 * ingest, signed time anchors, and the package a phone caches to work offline.
 *
 * Versions. `refresh` builds a new version when the door's desired state adds something
 * (`bundles.ts`); versions only grow. The cloud learns which version a lock holds from what
 * phones and the hub report (`acknowledgeBundle`); deltas are built from that version, and the
 * states of older versions are dropped.
 *
 * Time anchors (SECURITY.md item 20). A phone online at the door gets one bound to the nonce
 * of the lock's status (`timeAnchor`), serving once at the cloud's time. A phone about to go
 * offline carries window anchors (`windowAnchor`): `[now, now + anchorWindowMs)`, at most the
 * format's 72 h, inside which the lock takes the phone's clock reading.
 */
import { decodeAuditUploadHeader, openAuditUpload } from '../../protocol/formats/audit-upload.js';
import { LOCK_NONCE_BYTES } from '../../protocol/formats/common.js';
import { MAX_ANCHOR_WINDOW_MS, signTimeAnchor } from '../../protocol/formats/time-anchor.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { fail, ok } from '../../protocol/result.js';
import type { Result } from '../../protocol/result.js';
import { credentialInfo } from './access.js';
import type { CredentialInfo } from './access.js';
import { advanceAudit } from './audit-ingest.js';
import {
  assertStateFits,
  deltaBundle,
  desiredState,
  fullBundle,
  sealBundle,
  stateAdds,
} from './bundles.js';
import { CloudError } from './errors.js';
import { assertBytes, assertOptions, assertTime } from './context.js';
import type { CloudContext } from './context.js';
import { toHex } from './ids.js';
import type { AuditEntry, BundleRecord, DoorModel, DoorRecord } from './repository.js';

/** A sealed bundle ready to push, with what a phone or hub compares before pushing. */
export interface BundleOffer {
  readonly doorId: string;
  readonly lockId: string;
  readonly version: number;
  /** 0 for a full bundle; for a delta, the version the lock must hold. */
  readonly baseVersion: number;
  readonly kind: 'full' | 'delta';
  readonly sealed: Uint8Array;
}

export interface AuditIngestReport {
  readonly doorId: string;
  /** Records stored for the first time. */
  readonly accepted: number;
  /** Records the cloud already had (another phone carried them). */
  readonly duplicates: number;
  /** The lock's cumulative overflow, as this upload reported it. */
  readonly overflow: number;
  /** Sequences this upload let the cloud declare dropped by the lock (`audit-ingest.ts`). */
  readonly lost: number;
  /** The acknowledgement the next bundle carries. */
  readonly auditAck: number;
}

/** A door as a phone's directory lists it. */
export interface DirectoryEntry {
  readonly doorId: string;
  readonly name: string;
  readonly model: DoorModel;
  readonly lockId: Uint8Array;
  readonly lockIdHex: string;
  /** The lock's Noise static public key (the XK responder's `rs`). */
  readonly staticPublicKey: Uint8Array;
}

/** What a phone downloads and caches (maps keyed by lock id hex). */
export interface PhonePackage {
  readonly userId: string;
  readonly phoneKey: Uint8Array;
  readonly issuedAt: number;
  readonly timeZone: string;
  /** The authority's Ed25519 public key (what the locks trust). */
  readonly issuerKey: Uint8Array;
  /** The phone's live credentials. */
  readonly credentials: readonly CredentialInfo[];
  /** The signed credential to present at each lock (an unscheduled one first, else the latest). */
  readonly credentialByLock: ReadonlyMap<string, Uint8Array>;
  readonly directory: readonly DirectoryEntry[];
  /** The newest full bundle of each lock: pushed when the lock reports an older version. */
  readonly bundles: ReadonlyMap<string, Uint8Array>;
  /** A delta from the version the lock last acknowledged, when there is one: smaller to push. */
  readonly deltas: ReadonlyMap<
    string,
    { readonly baseVersion: number; readonly sealed: Uint8Array }
  >;
  /** A window anchor per lock, for a time sync while offline. */
  readonly timeAnchors: ReadonlyMap<string, Uint8Array>;
}

export interface WindowOptions {
  readonly validFrom?: number;
  readonly validUntil?: number;
}

export class SyncAuthority {
  readonly #ctx: CloudContext;
  readonly #anchorWindowMs: number;
  /** Sealed deltas by `door:base:version`: every phone carries the same bytes. */
  readonly #deltas = new Map<string, Uint8Array>();

  constructor(ctx: CloudContext, anchorWindowMs: number) {
    this.#ctx = ctx;
    this.#anchorWindowMs = anchorWindowMs;
  }

  /** The newest bundle of the door, built first if the desired state adds anything. */
  refresh(doorId: string): BundleRecord {
    const ctx = this.#ctx;
    const door = ctx.door(doorId);
    const now = ctx.now();
    const newest = ctx.repo.bundles.get(`${door.id}:${door.version}`);
    const state = desiredState(ctx.repo, door, ctx.property.timeZone, now, newest?.state);
    if (newest !== undefined && !stateAdds(newest.state, state)) return newest;
    assertStateFits(door, state);
    const version = door.version + 1;
    const record: BundleRecord = {
      id: `${door.id}:${version}`,
      doorId: door.id,
      version,
      state,
      sealedFull: sealBundle(door, fullBundle(ctx.repo, door, version, state), ctx.crypto),
      builtAt: now,
    };
    ctx.repo.bundles.put(record);
    ctx.repo.doors.put({ ...door, version });
    return record;
  }

  /**
   * The newest bundle for the door: a delta from `baseVersion` (default: the version the lock
   * acknowledged) when the cloud kept that version's state and it is older than the newest;
   * otherwise the full bundle.
   */
  bundleFor(doorId: string, options: { readonly baseVersion?: number } = {}): BundleOffer {
    assertOptions(options);
    const newest = this.refresh(doorId);
    const door = this.#ctx.door(doorId);
    if (options.baseVersion !== undefined) {
      assertTime(options.baseVersion, 'options.baseVersion');
      if (options.baseVersion > newest.version) {
        throw new CloudError('INVALID', 'options.baseVersion', 'newer than any bundle built');
      }
    }
    const base = options.baseVersion ?? door.ackedVersion;
    const delta = this.#delta(door, base, newest);
    const offer = { doorId: door.id, lockId: door.lockIdHex, version: newest.version };
    return delta === undefined
      ? { ...offer, baseVersion: 0, kind: 'full', sealed: newest.sealedFull }
      : { ...offer, baseVersion: base, kind: 'delta', sealed: delta };
  }

  #delta(door: DoorRecord, base: number, newest: BundleRecord): Uint8Array | undefined {
    if (base <= 0 || base >= newest.version) return undefined;
    const baseRecord = this.#ctx.repo.bundles.get(`${door.id}:${base}`);
    if (baseRecord === undefined) return undefined;
    const key = `${door.id}:${base}:${newest.version}`;
    let sealed = this.#deltas.get(key);
    if (sealed === undefined) {
      const bundle = deltaBundle(
        this.#ctx.repo,
        door,
        base,
        baseRecord.state,
        newest.version,
        newest.state,
      );
      sealed = sealBundle(door, bundle, this.#ctx.crypto);
      this.#deltas.set(key, sealed);
    }
    return sealed;
  }

  /**
   * The lock holds `version` (a phone or the hub saw it in the lock's status). Older reports
   * change nothing; states below the acknowledged version are dropped.
   */
  acknowledgeBundle(doorId: string, version: number): void {
    const ctx = this.#ctx;
    const door = ctx.door(doorId);
    assertTime(version, 'version');
    if (version > door.version) {
      throw new CloudError('INVALID', 'version', 'newer than any bundle built for this lock');
    }
    if (version <= door.ackedVersion) return;
    ctx.repo.doors.put({ ...door, ackedVersion: version });
    for (const record of ctx.repo.bundles.list()) {
      if (record.doorId === door.id && record.version < version) ctx.repo.bundles.delete(record.id);
    }
    for (const key of this.#deltas.keys()) {
      const [keyDoor, base] = key.split(':');
      if (keyDoor === door.id && Number(base) < version) this.#deltas.delete(key);
    }
  }

  /**
   * A sealed audit upload a phone carried back: opened under its lock's secret, deduplicated by
   * sequence, and the acknowledgement advanced (`audit-ingest.ts`). An unknown lock is
   * `WRONG_DOOR`; a malformed or unauthentic upload has the codes of `openAuditUpload`. Never
   * throws on any bytes.
   */
  ingestAudit(sealed: Uint8Array): Result<AuditIngestReport> {
    const ctx = this.#ctx;
    if (!(sealed instanceof Uint8Array)) return fail(WIRE_ERRORS.DECODE, 'auditUpload: not bytes');
    const header = decodeAuditUploadHeader(sealed);
    if (!header.ok) return header;
    const lockIdHex = toHex(header.value.lockId);
    const door = ctx.repo.doors.list().find((d) => d.lockIdHex === lockIdHex);
    if (door === undefined) return fail(WIRE_ERRORS.WRONG_DOOR, 'auditUpload: unknown lock');
    const opened = openAuditUpload(sealed, door.lockSecret, door.lockId, ctx.crypto);
    if (!opened.ok) return opened;
    const upload = opened.value;
    const now = ctx.now();
    let accepted = 0;
    let duplicates = 0;
    for (const record of upload.records) {
      const id = `${door.id}:${record.seq}`;
      if (ctx.repo.audit.get(id) !== undefined) {
        duplicates++;
        continue;
      }
      ctx.repo.audit.put({ id, doorId: door.id, seq: record.seq, record, receivedAt: now });
      accepted++;
    }
    const advance = advanceAudit(
      door.audit,
      upload,
      (seq) => ctx.repo.audit.get(`${door.id}:${seq}`) !== undefined,
    );
    ctx.repo.doors.put({ ...door, audit: advance.progress });
    return ok({
      doorId: door.id,
      accepted,
      duplicates,
      overflow: upload.overflow,
      lost: advance.lost,
      auditAck: advance.progress.ack,
    });
  }

  /** The door's audit records the cloud holds, by sequence. */
  auditLog(doorId: string): AuditEntry[] {
    const door = this.#ctx.door(doorId);
    return this.#ctx.repo.audit
      .list()
      .filter((entry) => entry.doorId === door.id)
      .sort((a, b) => a.seq - b.seq);
  }

  /** A nonce-bound anchor for a phone online at the door (the nonce from the lock's status). */
  timeAnchor(doorId: string, nonce: Uint8Array): Uint8Array {
    const ctx = this.#ctx;
    const door = ctx.door(doorId);
    assertBytes(nonce, LOCK_NONCE_BYTES, 'nonce');
    return signTimeAnchor(
      { lockId: door.lockId, time: ctx.now(), nonce: nonce.slice() },
      ctx.property.authoritySeed,
      ctx.crypto,
    );
  }

  /** A window anchor for a phone going offline; default window `[now, now + anchorWindowMs)`. */
  windowAnchor(doorId: string, options: WindowOptions = {}): Uint8Array {
    const ctx = this.#ctx;
    const door = ctx.door(doorId);
    assertOptions(options);
    const now = ctx.now();
    const validFrom = options.validFrom ?? now;
    const validUntil = options.validUntil ?? validFrom + this.#anchorWindowMs;
    assertTime(validFrom, 'options.validFrom');
    assertTime(validUntil, 'options.validUntil');
    if (validUntil <= validFrom || validUntil - validFrom > MAX_ANCHOR_WINDOW_MS) {
      throw new CloudError('INVALID', 'options.validUntil', 'expected a window of at most 72 h');
    }
    return signTimeAnchor(
      { lockId: door.lockId, time: now, validFrom, validUntil },
      ctx.property.authoritySeed,
      ctx.crypto,
    );
  }

  /** The package of a registered phone of an active user (`PhonePackage`). */
  phoneSync(userId: string, phoneKey: Uint8Array): PhonePackage {
    const ctx = this.#ctx;
    const now = ctx.now();
    const user = ctx.activeUser(userId);
    const phoneId = toHex(assertBytes(phoneKey, 32, 'phoneKey'));
    const phone = ctx.repo.phones.get(phoneId);
    if (phone === undefined || phone.userId !== user.id) {
      throw new CloudError('NOT_FOUND', 'phoneKey', 'not a phone of this user');
    }
    if (phone.revokedAt !== undefined) throw new CloudError('REVOKED', 'phoneKey', 'phone revoked');
    const records = ctx.repo.credentials
      .list()
      .filter((c) => c.phoneId === phoneId && c.revokedAt === undefined && c.expires > now);
    const doorIds = [...new Set(records.flatMap((c) => c.doorIds))];
    const credentialByLock = new Map<string, Uint8Array>();
    const directory: DirectoryEntry[] = [];
    const bundles = new Map<string, Uint8Array>();
    const deltas = new Map<string, { baseVersion: number; sealed: Uint8Array }>();
    const timeAnchors = new Map<string, Uint8Array>();
    for (const doorId of doorIds) {
      const newest = this.refresh(doorId);
      const door = ctx.door(doorId);
      const candidates = records
        .filter((c) => c.doorIds.includes(doorId))
        .sort((a, b) => Number(a.hasSchedule) - Number(b.hasSchedule) || b.expires - a.expires);
      credentialByLock.set(door.lockIdHex, candidates[0]!.signed);
      directory.push({
        doorId: door.id,
        name: door.name,
        model: door.model,
        lockId: door.lockId,
        lockIdHex: door.lockIdHex,
        staticPublicKey: door.staticKey.publicKey,
      });
      bundles.set(door.lockIdHex, newest.sealedFull);
      const delta = this.#delta(door, door.ackedVersion, newest);
      if (delta !== undefined) {
        deltas.set(door.lockIdHex, { baseVersion: door.ackedVersion, sealed: delta });
      }
      timeAnchors.set(door.lockIdHex, this.windowAnchor(doorId));
    }
    return {
      userId: user.id,
      phoneKey: phone.publicKey,
      issuedAt: now,
      timeZone: ctx.property.timeZone,
      issuerKey: ctx.property.authorityPublicKey,
      credentials: records.map((c) => credentialInfo(ctx, c)),
      credentialByLock,
      directory,
      bundles,
      deltas,
      timeAnchors,
    };
  }
}
