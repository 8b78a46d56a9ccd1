/**
 * The credential authority of one property (ARCHITECTURE.md §6 "Cloud authority"; §3 "Access
 * types", §4, §5): doors and their locks' commissioning data, users, keys shared with them,
 * mobile-key credentials bound to their phones, permanent doorcodes and daily-code slots,
 * revocation, per-lock sync bundles, audit ingest, time anchors, Door State Notifications, and
 * the package a phone caches.
 *
 * Everything outside comes in through the options: the clock (`clock()`, ms UTC), randomness
 * (`random`: ids, PINs, keys) and crypto (`crypto`: signatures, sealing, whose own randomness
 * draws the AEAD nonces), and the storage (`repository`, in memory by default). With the World's
 * seeded sources a run repeats byte for byte.
 *
 * The parts: `access.ts` (users, keys, shares, phones, credentials), `codes.ts` (keypad codes),
 * `revocation.ts`, `sync.ts` (bundles, acknowledgements, audit, anchors, phone packages),
 * `notifications.ts`, `hubs.ts` (gateways that push bundles). The phone SDK's account calls
 * (`accessLogs`, `inviteGuest`, `revokeGuestAccess` for a resident) are composed here from them. A phone reaches the cloud only through an API adapter (ARCHITECTURE.md §1),
 * never by importing this module.
 *
 * Commissioning a lock in the World from `addDoor`'s result:
 *
 *     const door = cloud.addDoor({ name: 'Unit 4B', model: 'M' });
 *     world.addLock({ id: door.id, model: 'M', ...door.provisioning });
 *     world.pushSealedBundle(door.id, cloud.bundleFor(door.id).sealed);
 */
import { assertTimeZone } from '../../protocol/doorcode/day-label.js';
import { referenceDayCodes, deriveDoorKey } from '../../protocol/doorcode/reference.js';
import type { DayCodesDeriver } from '../../protocol/doorcode/deriver.js';
import type { CryptoProvider, RandomSource } from '../../protocol/crypto/provider.js';
import { ED25519_SEED_BYTES } from '../../protocol/crypto/provider.js';
import { ID_BYTES, LOCK_SECRET_BYTES } from '../../protocol/formats/common.js';
import { MAX_ANCHOR_WINDOW_MS } from '../../protocol/formats/time-anchor.js';
import { doorConfigSchema } from '../../protocol/formats/sync-bundle.js';
import type { DoorConfig } from '../../protocol/formats/sync-bundle.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import type { Result } from '../../protocol/result.js';
import { AccessAuthority, credentialInfo } from './access.js';
import type { CredentialInfo, NewKey, NewUser, ShareOptions } from './access.js';
import { CodeAuthority } from './codes.js';
import type { DailyCode, DailyCodeOptions, PermanentCodeOptions } from './codes.js';
import {
  assertBytes,
  assertName,
  assertOptions,
  assertSchema,
  assertString,
  assertTime,
  CloudContext,
  PROPERTY_ID,
} from './context.js';
import { DayCodeCache } from './doorcodes.js';
import { CloudError } from './errors.js';
import { activeHub, addHub } from './hubs.js';
import type { HubInfo, NewHub } from './hubs.js';
import { toHex } from './ids.js';
import { MemoryRepository } from './memory-repository.js';
import { isDoorStateKind, notificationOf } from './notifications.js';
import type { LockEventInput } from './notifications.js';
import type {
  AuditEntry,
  CloudRepository,
  DoorcodeEntry,
  DoorModel,
  DoorRecord,
  KeyRecord,
  NotificationRecord,
  ShareRecord,
  UserRecord,
} from './repository.js';
import { coveredDoors, RevocationBatch } from './revocation.js';
import type { RevocationReport } from './revocation.js';
import { SyncAuthority } from './sync.js';
import type { AuditIngestReport, BundleOffer, PhonePackage, WindowOptions } from './sync.js';

/** A guest invitation (the SDK's `inviteGuest`): who, which of the resident's doors, when. */
export interface GuestInvite {
  readonly doorIds: readonly string[];
  readonly name: string;
  /** ms UTC. */
  readonly from: number;
  /** ms UTC, exclusive. */
  readonly until: number;
  /** Also a daily keypad code for today on each door (access must have begun). */
  readonly dailyCode?: boolean;
}

export interface GuestInvitation {
  readonly guestUserId: string;
  readonly shareId: string;
  readonly dailyCodes: readonly {
    readonly doorId: string;
    readonly day: string;
    readonly code: string;
  }[];
}

const MODELS: readonly DoorModel[] = ['M', 'C', 'C2', 'R'];

export interface CloudOptions {
  /** The property's IANA time zone. */
  readonly timeZone: string;
  readonly crypto: CryptoProvider;
  /** Ids, PINs, lock secrets, keys. */
  readonly random: RandomSource;
  /** ms UTC. */
  readonly clock: () => number;
  /** Default: a fresh `MemoryRepository`. A repository that already holds a property keeps it. */
  readonly repository?: CloudRepository;
  /** Daily-code derivation; default the readable reference (§5). */
  readonly deriver?: DayCodesDeriver;
  /** `K_property` (§5); default 32 bytes from `random`. */
  readonly propertyKey?: Uint8Array;
  /** The authority's Ed25519 seed; default 32 bytes from `random`. */
  readonly authoritySeed?: Uint8Array;
  /** Window of the anchors in phone packages, ms; default and maximum 72 h. */
  readonly anchorWindowMs?: number;
}

/** What the World's `addLock` takes to commission the lock (`LockProvisioning`). */
export interface LockProvisioning {
  readonly lockId: Uint8Array;
  readonly lockSecret: Uint8Array;
  readonly staticKey: KeyPair;
  readonly issuerKey: Uint8Array;
  readonly doorKey: Uint8Array;
}

/** A door and its lock's commissioning data. */
export interface Door extends LockProvisioning {
  readonly id: string;
  readonly name: string;
  readonly model: DoorModel;
  readonly lockIdHex: string;
  readonly config: DoorConfig;
  /** Exactly the fields `world.addLock` accepts, to spread into its options. */
  readonly provisioning: LockProvisioning;
}

export interface NewDoor {
  readonly name: string;
  readonly model: DoorModel;
  /** Door configuration carried by every bundle (§3: ajar delays, relock, door schedules). */
  readonly config?: DoorConfig;
}

export class Cloud {
  readonly #ctx: CloudContext;
  readonly #access: AccessAuthority;
  readonly #codes: CodeAuthority;
  readonly #sync: SyncAuthority;

  constructor(options: CloudOptions) {
    if (typeof options.clock !== 'function') {
      throw new TypeError('clock: expected a function');
    }
    if (typeof options.random !== 'function') throw new TypeError('random: expected a function');
    const repo = options.repository ?? new MemoryRepository();
    const ctx = new CloudContext(repo, options.crypto, options.random, options.clock);
    this.#ctx = ctx;
    const anchorWindowMs = options.anchorWindowMs ?? MAX_ANCHOR_WINDOW_MS;
    if (
      !Number.isSafeInteger(anchorWindowMs) ||
      anchorWindowMs < 1 ||
      anchorWindowMs > MAX_ANCHOR_WINDOW_MS
    ) {
      throw new CloudError('INVALID', 'anchorWindowMs', 'expected 1 ms .. 72 h');
    }
    if (repo.properties.get(PROPERTY_ID) === undefined) {
      assertString(options.timeZone, 'timeZone');
      try {
        assertTimeZone(options.timeZone);
      } catch {
        throw new CloudError('INVALID', 'timeZone', 'not an IANA time zone this runtime knows');
      }
      const authoritySeed =
        options.authoritySeed === undefined
          ? options.random(ED25519_SEED_BYTES)
          : assertBytes(options.authoritySeed, ED25519_SEED_BYTES, 'authoritySeed').slice();
      const propertyKey =
        options.propertyKey === undefined
          ? options.random(32)
          : assertBytes(options.propertyKey, 32, 'propertyKey').slice();
      repo.properties.put({
        id: PROPERTY_ID,
        timeZone: options.timeZone,
        authoritySeed,
        authorityPublicKey: options.crypto.ed25519PublicKey(authoritySeed),
        propertyKey,
        revocationVersion: 0,
      });
    }
    this.#access = new AccessAuthority(ctx);
    this.#codes = new CodeAuthority(ctx, new DayCodeCache(options.deriver ?? referenceDayCodes));
    this.#sync = new SyncAuthority(ctx, anchorWindowMs);
  }

  get timeZone(): string {
    return this.#ctx.property.timeZone;
  }

  /** The property authority's Ed25519 public key: every lock's `issuerKey`. */
  get authorityPublicKey(): Uint8Array {
    return this.#ctx.property.authorityPublicKey;
  }

  /** The latest revocation version. */
  get revocationVersion(): number {
    return this.#ctx.property.revocationVersion;
  }

  // ---- doors ----

  /**
   * Commissions a door: a fresh lock id, lock secret and Noise static key pair, the door key
   * derived from the property key (§5), and bundle version 1.
   */
  addDoor(door: NewDoor): Door {
    const ctx = this.#ctx;
    if (typeof door !== 'object' || door === null) {
      throw new CloudError('INVALID', 'door', 'expected an object');
    }
    assertName(door.name, 'door.name');
    if (!MODELS.includes(door.model)) {
      throw new CloudError('INVALID', 'door.model', `expected one of ${MODELS.join(', ')}`);
    }
    const config = door.config ?? {};
    assertSchema(doorConfigSchema, config, 'door.config');
    const lockId = ctx.random(ID_BYTES);
    const id = toHex(ctx.random(ID_BYTES));
    const secretKey = ctx.random(32);
    const record: DoorRecord = {
      id,
      name: door.name,
      model: door.model,
      lockId,
      lockIdHex: toHex(lockId),
      lockSecret: ctx.random(LOCK_SECRET_BYTES),
      staticKey: { publicKey: ctx.crypto.x25519PublicKey(secretKey), secretKey },
      doorKey: deriveDoorKey(ctx.property.propertyKey, id),
      config: structuredClone(config),
      version: 0,
      ackedVersion: 0,
      audit: { ack: 0, overflow: 0, lost: 0 },
      createdAt: ctx.now(),
    };
    ctx.repo.doors.put(record);
    this.#sync.refresh(id);
    return this.door(id);
  }

  door(doorId: string): Door {
    const record = this.#ctx.door(doorId);
    const provisioning: LockProvisioning = {
      lockId: record.lockId,
      lockSecret: record.lockSecret,
      staticKey: record.staticKey,
      issuerKey: this.authorityPublicKey,
      doorKey: record.doorKey,
    };
    return {
      ...provisioning,
      id: record.id,
      name: record.name,
      model: record.model,
      lockIdHex: record.lockIdHex,
      config: record.config,
      provisioning,
    };
  }

  doors(): Door[] {
    return this.#ctx.repo.doors.list().map((record) => this.door(record.id));
  }

  /** The door whose lock has this id (bytes or hex), if any. */
  doorByLockId(lockId: Uint8Array | string): Door | undefined {
    const hex = typeof lockId === 'string' ? lockId : toHex(lockId);
    const record = this.#ctx.repo.doors.list().find((d) => d.lockIdHex === hex);
    return record === undefined ? undefined : this.door(record.id);
  }

  /** Replaces the door's configuration; the next bundle carries it. */
  setDoorConfig(doorId: string, config: DoorConfig): void {
    const door = this.#ctx.door(doorId);
    assertSchema(doorConfigSchema, config, 'config');
    this.#ctx.repo.doors.put({ ...door, config: structuredClone(config) });
  }

  // ---- users, keys, phones ----

  addUser(user: NewUser): UserRecord {
    return this.#access.addUser(user);
  }

  user(userId: string): UserRecord {
    return this.#ctx.user(userId);
  }

  createKey(key: NewKey): KeyRecord {
    return this.#access.createKey(key);
  }

  shareKey(keyId: string, userId: string, options?: ShareOptions): ShareRecord {
    return this.#access.shareKey(keyId, userId, options);
  }

  /**
   * The SDK's `inviteGuest`: a new guest user sharing resident `residentId`'s access to
   * `invite.doorIds` on `[from, until)`, through a key of its own, and on request a daily code
   * for today on each door. Everything is checked before anything is created, so a refused
   * invitation leaves no guest behind.
   */
  inviteGuest(residentId: string, invite: GuestInvite): GuestInvitation {
    const ctx = this.#ctx;
    const now = ctx.now();
    assertOptions(invite, 'invite');
    const resident = ctx.activeUser(residentId, 'residentId');
    if (resident.role !== 'resident') {
      throw new CloudError('CONFLICT', 'residentId', 'only a resident invites a guest');
    }
    assertName(invite.name, 'invite.name');
    assertTime(invite.from, 'invite.from');
    assertTime(invite.until, 'invite.until');
    if (invite.until <= Math.max(invite.from, now)) {
      throw new CloudError('INVALID', 'invite.until', 'must be after from and now');
    }
    if (invite.dailyCode === true && invite.from > now) {
      throw new CloudError('INVALID', 'invite.from', "today's daily code needs access from now");
    }
    const doorIds: unknown = invite.doorIds;
    if (!Array.isArray(doorIds) || doorIds.length === 0) {
      throw new CloudError('INVALID', 'invite.doorIds', 'expected door ids');
    }
    const covered = coveredDoors(ctx, resident.id, now);
    for (const doorId of doorIds as unknown[]) {
      if (typeof doorId !== 'string' || !covered.has(doorId)) {
        throw new CloudError('CONFLICT', 'invite.doorIds', 'not a door of the resident');
      }
    }
    const guest = this.#access.addUser({ name: invite.name, role: 'guest' });
    const key = this.#access.createKey({ name: `Guest: ${invite.name}`, doors: invite.doorIds });
    const share = this.#access.shareKey(key.id, guest.id, {
      sharedBy: resident.id,
      notBefore: invite.from,
      expires: invite.until,
    });
    const dailyCodes =
      invite.dailyCode === true
        ? invite.doorIds.map((doorId) => {
            const { day, code } = this.#codes.assignDailyCode(doorId, guest.id);
            return { doorId, day, code };
          })
        : [];
    return { guestUserId: guest.id, shareId: share.id, dailyCodes };
  }

  registerPhone(userId: string, phoneKey: Uint8Array): CredentialInfo[] {
    return this.#access.registerPhone(userId, phoneKey);
  }

  /** The user's credentials on every phone, revoked ones included. */
  credentialsOf(userId: string): CredentialInfo[] {
    const user = this.#ctx.user(userId);
    return this.#ctx.repo.credentials
      .list()
      .filter((c) => c.userId === user.id)
      .map((c) => credentialInfo(this.#ctx, c));
  }

  // ---- hubs ----

  /**
   * Registers a hub serving `hub.doors`: credentials of role `hub` bound to its static key, which
   * the locks admit for sync, time and audit and refuse every door operation (`hubs.ts`).
   * `revokeUser(id)` revokes it.
   */
  addHub(hub: NewHub): HubInfo {
    return addHub(this.#ctx, this.#access, hub);
  }

  /** The hub's package: its credential per lock and the directory of its doors. */
  hubSync(hubId: string, hubKey: Uint8Array): PhonePackage {
    return this.#sync.phoneSync(activeHub(this.#ctx, hubId).id, hubKey);
  }

  // ---- keypad codes ----

  createPermanentCode(
    doorId: string,
    userId: string,
    options?: PermanentCodeOptions,
  ): DoorcodeEntry {
    return this.#codes.createPermanentCode(doorId, userId, options);
  }

  assignDailyCode(doorId: string, userId: string, options?: DailyCodeOptions): DailyCode {
    return this.#codes.assignDailyCode(doorId, userId, options);
  }

  /** The §5 code of any slot of the door on `day` (what the lock's day table holds). */
  dailyCodeOfSlot(doorId: string, day: string, slot: number): string {
    const door = this.#ctx.door(doorId);
    const codes = this.#codes.dayCodes(door, day);
    const code = Number.isInteger(slot) ? codes[slot] : undefined;
    if (code === undefined) throw new CloudError('INVALID', 'slot', 'expected 0..255');
    return code;
  }

  // ---- revocation ----

  /** Revokes the user: shares, phones, credentials, codes, and the guests they shared with. */
  revokeUser(userId: string): RevocationReport {
    const user = this.#ctx.user(userId);
    return this.#revoke((batch) => batch.user(user));
  }

  /** Revokes one share and its credentials (and guests that depended on it). */
  revokeShare(shareId: string): RevocationReport {
    const share = this.#record(this.#ctx.repo.shares, shareId, 'shareId');
    return this.#revoke((batch) => batch.share(share));
  }

  /**
   * The SDK's `revokeGuestAccess`: revokes a guest's share. With `residentId` (a phone asking for
   * its user), only a share that resident made.
   */
  revokeGuestAccess(shareId: string, residentId?: string): RevocationReport {
    const share = this.#record(this.#ctx.repo.shares, shareId, 'shareId');
    if (share.sharedBy === undefined) {
      throw new CloudError('CONFLICT', 'shareId', 'not a guest share');
    }
    if (residentId !== undefined && share.sharedBy !== residentId) {
      throw new CloudError('CONFLICT', 'shareId', 'not a guest share of this resident');
    }
    return this.#revoke((batch) => batch.share(share));
  }

  /** A lost phone: its credentials are revoked, the user's other phones keep theirs. */
  revokePhone(userId: string, phoneKey: Uint8Array): RevocationReport {
    const user = this.#ctx.user(userId);
    const phone = this.#ctx.repo.phones.get(toHex(assertBytes(phoneKey, 32, 'phoneKey')));
    if (phone === undefined || phone.userId !== user.id) {
      throw new CloudError('NOT_FOUND', 'phoneKey', 'not a phone of this user');
    }
    return this.#revoke((batch) => batch.phone(phone));
  }

  revokeCredential(credentialId: string): RevocationReport {
    const credential = this.#record(this.#ctx.repo.credentials, credentialId, 'credentialId');
    return this.#revoke((batch) => batch.credential(credential));
  }

  revokeDoorcode(doorcodeId: string): RevocationReport {
    const code = this.#record(this.#ctx.repo.doorcodes, doorcodeId, 'doorcodeId');
    return this.#revoke((batch) => batch.doorcode(code));
  }

  /** Revokes a daily-code slot (id `door:day:slot`, as `assignDailyCode` returned it). */
  revokeDailyCode(dailyCodeId: string): RevocationReport {
    const slot = this.#record(this.#ctx.repo.dailyCodes, dailyCodeId, 'dailyCodeId');
    return this.#revoke((batch) => batch.dailyCode(slot));
  }

  #revoke(work: (batch: RevocationBatch) => void): RevocationReport {
    const batch = new RevocationBatch(this.#ctx);
    work(batch);
    return batch.commit();
  }

  #record<T>(table: { get(id: string): T | undefined }, id: string, field: string): T {
    assertString(id, field);
    const record = table.get(id);
    if (record === undefined) throw new CloudError('NOT_FOUND', field, 'no such record');
    return record;
  }

  // ---- sync, audit, time ----

  bundleFor(doorId: string, options?: { readonly baseVersion?: number }): BundleOffer {
    return this.#sync.bundleFor(doorId, options);
  }

  acknowledgeBundle(doorId: string, version: number): void {
    this.#sync.acknowledgeBundle(doorId, version);
  }

  ingestAudit(sealed: Uint8Array): Result<AuditIngestReport> {
    return this.#sync.ingestAudit(sealed);
  }

  auditLog(doorId: string): AuditEntry[] {
    return this.#sync.auditLog(doorId);
  }

  /**
   * The SDK's `getAccessLogs` for a user: the audit of the doors their live shares cover (of
   * `doorId` alone when given; a door they cannot open is refused).
   */
  accessLogs(userId: string, doorId?: string): AuditEntry[] {
    const user = this.#ctx.activeUser(userId);
    const covered = coveredDoors(this.#ctx, user.id, this.#ctx.now());
    if (doorId !== undefined) {
      if (!covered.has(doorId)) {
        throw new CloudError('CONFLICT', 'doorId', 'not a door of this user');
      }
      return this.auditLog(doorId);
    }
    return [...covered].flatMap((id) => this.auditLog(id));
  }

  timeAnchor(doorId: string, nonce: Uint8Array): Uint8Array {
    return this.#sync.timeAnchor(doorId, nonce);
  }

  windowAnchor(doorId: string, options?: WindowOptions): Uint8Array {
    return this.#sync.windowAnchor(doorId, options);
  }

  /**
   * What a phone caches: its live credentials (and the one to present per lock), the directory
   * of the doors they open with each lock's static public key, the newest full bundle per lock
   * (and a delta from the version the lock acknowledged), a window anchor per lock.
   */
  phoneSync(userId: string, phoneKey: Uint8Array): PhonePackage {
    return this.#sync.phoneSync(userId, phoneKey);
  }

  // ---- Door State Notifications ----

  /**
   * Queues a notification for each door-state event among `events` (the lock's event records;
   * other types are ignored, the same event twice queues once). Returns the newly queued ones.
   */
  ingestEvents(doorId: string, events: readonly LockEventInput[]): NotificationRecord[] {
    const ctx = this.#ctx;
    const door = ctx.door(doorId);
    const list: unknown = events;
    if (!Array.isArray(list)) throw new CloudError('INVALID', 'events', 'expected an array');
    const now = ctx.now();
    const recipients = ctx.repo.users
      .list()
      .filter((u) => u.role === 'manager' && u.revokedAt === undefined)
      .map((u) => u.id);
    const queued: NotificationRecord[] = [];
    (list as readonly unknown[]).forEach((item, i) => {
      const event = item as LockEventInput | null;
      if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
        throw new CloudError('INVALID', `events[${i}]`, 'expected a lock event');
      }
      if (!isDoorStateKind(event.type)) return;
      if (typeof event.t !== 'number' || !Number.isFinite(event.t)) {
        throw new CloudError('INVALID', `events[${i}].t`, 'expected a time in ms');
      }
      const record = notificationOf(door, { ...event, type: event.type }, recipients, now);
      if (ctx.repo.notifications.get(record.id) !== undefined) return;
      ctx.repo.notifications.put(record);
      queued.push(record);
    });
    return queued;
  }

  /** Notifications not yet delivered, in the order they were queued. */
  get outbox(): NotificationRecord[] {
    return this.#ctx.repo.notifications.list().filter((n) => n.deliveredAt === undefined);
  }

  /** Hands over the pending notifications and marks them delivered. */
  drainOutbox(): NotificationRecord[] {
    const now = this.#ctx.now();
    const pending = this.outbox;
    for (const n of pending) this.#ctx.repo.notifications.put({ ...n, deliveredAt: now });
    return pending;
  }
}
