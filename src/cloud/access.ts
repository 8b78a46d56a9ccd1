/**
 * Users, keys, shares, phones and mobile-key credentials (ARCHITECTURE.md §3 "Access types", §4
 * "Credentials", §6). A key is a set of doors with an optional weekly schedule; sharing it with
 * a user gives that user access on `[notBefore, expires)`; each phone the user registers gets,
 * per live share, credentials bound to its Noise static key, listing the key's doors (up to
 * `MAX_CREDENTIAL_DOORS` each; a larger key gets several), signed with the property authority's
 * Ed25519 seed (`signCredential`).
 *
 * Rules a share must meet:
 * - guests and vendors get time-limited access: `expires` is required, `notBefore` defaults to
 *   now; residents and managers get permanent access unless told otherwise: `notBefore`
 *   defaults to 0 (a lock whose clock runs a little behind still opens) and `expires` to
 *   `OPEN_ENDED_MS`;
 * - a guest's share names the resident who shared it (`sharedBy`), who must hold live shares
 *   covering every door of the key; nobody else's share names one (the credential format's
 *   rule);
 * - no door may end up with more live credentials than one bundle carries
 *   (`MAX_BUNDLE_CREDENTIALS`): the request is refused (`CAPACITY`) before anything is written.
 */
import {
  MAX_CREDENTIAL_DOORS,
  scheduleSchema,
  signCredential,
} from '../../protocol/formats/credential.js';
import type { Credential } from '../../protocol/formats/credential.js';
import { X25519_KEY_BYTES } from '../../protocol/crypto/provider.js';
import { MAX_BUNDLE_CREDENTIALS } from '../../protocol/formats/sync-bundle.js';
import type { WeeklyWindow } from '../../protocol/formats/common.js';
import { CloudError } from './errors.js';
import {
  assertBytes,
  assertName,
  assertOptions,
  assertSchema,
  assertString,
  assertTime,
} from './context.js';
import type { CloudContext } from './context.js';
import { fromHex, newId, toHex } from './ids.js';
import { coveredDoors, shareLive } from './revocation.js';
import type {
  CredentialRecord,
  KeyRecord,
  PhoneRecord,
  ShareRecord,
  UserRecord,
  UserRole,
} from './repository.js';

/** The `expires` of open-ended access: 10000-01-01T00:00Z, past any simulated time. */
export const OPEN_ENDED_MS = 253_402_300_800_000;

const ROLES: readonly UserRole[] = ['resident', 'guest', 'vendor', 'manager'];

export interface NewUser {
  readonly name: string;
  readonly role: UserRole;
}

export interface NewKey {
  readonly name?: string;
  /** Door ids, at least one, each once. */
  readonly doors: readonly string[];
  /** Weekly windows in the property's time zone (1..16); absent = any time. */
  readonly schedule?: readonly WeeklyWindow[];
}

export interface ShareOptions {
  readonly notBefore?: number;
  readonly expires?: number;
  /** For a guest: the resident sharing the key. */
  readonly sharedBy?: string;
}

/** A credential as the API reports it (`signed` is what phones present and bundles carry). */
export interface CredentialInfo {
  readonly id: string;
  readonly userId: string;
  readonly shareId: string;
  readonly phoneKey: Uint8Array;
  readonly doorIds: readonly string[];
  readonly lockIds: readonly string[];
  readonly role: UserRole;
  readonly notBefore: number;
  readonly expires: number;
  readonly hasSchedule: boolean;
  readonly signed: Uint8Array;
  readonly revoked: boolean;
}

export function credentialInfo(ctx: CloudContext, record: CredentialRecord): CredentialInfo {
  return {
    id: record.id,
    userId: record.userId,
    shareId: record.shareId,
    phoneKey: fromHex(record.phoneId),
    doorIds: record.doorIds,
    lockIds: record.doorIds.map((doorId) => ctx.repo.doors.get(doorId)!.lockIdHex),
    role: record.role,
    notBefore: record.notBefore,
    expires: record.expires,
    hasSchedule: record.hasSchedule,
    signed: record.signed,
    revoked: record.revokedAt !== undefined,
  };
}

/** `chunk`s of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class AccessAuthority {
  readonly #ctx: CloudContext;

  constructor(ctx: CloudContext) {
    this.#ctx = ctx;
  }

  addUser(user: NewUser): UserRecord {
    if (typeof user !== 'object' || user === null) {
      throw new CloudError('INVALID', 'user', 'expected an object');
    }
    assertName(user.name, 'user.name');
    if (!ROLES.includes(user.role)) {
      throw new CloudError('INVALID', 'user.role', `expected one of ${ROLES.join(', ')}`);
    }
    const record: UserRecord = {
      id: newId(this.#ctx.random),
      name: user.name,
      role: user.role,
      epoch: 0,
      createdAt: this.#ctx.now(),
    };
    this.#ctx.repo.users.put(record);
    return record;
  }

  createKey(key: NewKey): KeyRecord {
    const ctx = this.#ctx;
    if (typeof key !== 'object' || key === null) {
      throw new CloudError('INVALID', 'key', 'expected an object');
    }
    const doors: unknown = key.doors;
    if (!Array.isArray(doors) || doors.length === 0) {
      throw new CloudError('INVALID', 'key.doors', 'expected at least one door');
    }
    const doorIds = (doors as readonly unknown[]).map(
      (doorId, i) => ctx.door(doorId as string, `key.doors[${i}]`).id,
    );
    if (new Set(doorIds).size !== doorIds.length) {
      throw new CloudError('INVALID', 'key.doors', 'a door is listed twice');
    }
    if (key.schedule !== undefined) {
      assertSchema(
        scheduleSchema,
        { timeZone: ctx.property.timeZone, windows: key.schedule },
        'key.schedule',
      );
    }
    if (key.name !== undefined) assertName(key.name, 'key.name');
    const record: KeyRecord = {
      id: newId(ctx.random),
      name: key.name ?? 'key',
      doorIds,
      ...(key.schedule === undefined ? {} : { schedule: key.schedule.map((w) => ({ ...w })) }),
      createdAt: ctx.now(),
    };
    ctx.repo.keys.put(record);
    return record;
  }

  /** Shares `keyId` with `userId` and issues credentials to the user's registered phones. */
  shareKey(keyId: string, userId: string, options: ShareOptions = {}): ShareRecord {
    const ctx = this.#ctx;
    const now = ctx.now();
    assertString(keyId, 'keyId');
    assertOptions(options);
    const key = ctx.repo.keys.get(keyId);
    if (key === undefined) throw new CloudError('NOT_FOUND', 'keyId', 'no such key');
    const user = ctx.activeUser(userId);
    const timeLimited = user.role === 'guest' || user.role === 'vendor';
    if (options.notBefore !== undefined) assertTime(options.notBefore, 'options.notBefore');
    if (options.expires !== undefined) assertTime(options.expires, 'options.expires');
    if (timeLimited && options.expires === undefined) {
      throw new CloudError('INVALID', 'options.expires', `required for a ${user.role}`);
    }
    const notBefore = options.notBefore ?? (timeLimited ? now : 0);
    const expires = options.expires ?? OPEN_ENDED_MS;
    if (expires <= notBefore) {
      throw new CloudError('INVALID', 'options.expires', 'must be after notBefore');
    }
    if (expires <= now) throw new CloudError('INVALID', 'options.expires', 'already past');
    if (user.role === 'guest') {
      if (options.sharedBy === undefined) {
        throw new CloudError('INVALID', 'options.sharedBy', 'a guest needs the sharing resident');
      }
      const sharer = ctx.activeUser(options.sharedBy, 'options.sharedBy');
      if (sharer.role !== 'resident') {
        throw new CloudError('CONFLICT', 'options.sharedBy', 'only a resident shares with a guest');
      }
      const covered = coveredDoors(ctx, sharer.id, now);
      if (!key.doorIds.every((doorId) => covered.has(doorId))) {
        throw new CloudError(
          'CONFLICT',
          'options.sharedBy',
          'the resident lacks a door of the key',
        );
      }
    } else if (options.sharedBy !== undefined) {
      throw new CloudError('INVALID', 'options.sharedBy', 'only a guest share names a sharer');
    }
    const share: ShareRecord = {
      id: newId(ctx.random),
      keyId,
      userId: user.id,
      notBefore,
      expires,
      ...(options.sharedBy === undefined ? {} : { sharedBy: options.sharedBy }),
      createdAt: now,
    };
    const phones = this.#livePhones(user.id);
    this.#assertRoom(key.doorIds, phones.length);
    ctx.repo.shares.put(share);
    for (const phone of phones) this.#issue(user, share, key, phone, now);
    return share;
  }

  /**
   * Registers a phone's Noise static public key for the user and issues its credentials, one
   * set per live share; registering the same phone again only returns its live credentials.
   */
  registerPhone(userId: string, phoneKey: Uint8Array): CredentialInfo[] {
    const ctx = this.#ctx;
    const now = ctx.now();
    const user = ctx.activeUser(userId);
    const id = toHex(assertBytes(phoneKey, X25519_KEY_BYTES, 'phoneKey'));
    const existing = ctx.repo.phones.get(id);
    if (existing !== undefined) {
      if (existing.userId !== user.id) {
        throw new CloudError('CONFLICT', 'phoneKey', 'registered to another user');
      }
      if (existing.revokedAt !== undefined) {
        throw new CloudError('REVOKED', 'phoneKey', 'phone revoked');
      }
      return this.credentialsOfPhone(id);
    }
    const shares = ctx.repo.shares.list().filter((s) => s.userId === user.id && shareLive(s, now));
    const perDoor = new Map<string, number>();
    for (const share of shares) {
      for (const doorId of ctx.repo.keys.get(share.keyId)!.doorIds) {
        perDoor.set(doorId, (perDoor.get(doorId) ?? 0) + 1);
      }
    }
    for (const [doorId, count] of perDoor) this.#assertRoom([doorId], count);
    const phone: PhoneRecord = {
      id,
      userId: user.id,
      publicKey: phoneKey.slice(),
      registeredAt: now,
    };
    ctx.repo.phones.put(phone);
    for (const share of shares) {
      this.#issue(user, share, ctx.repo.keys.get(share.keyId)!, phone, now);
    }
    return this.credentialsOfPhone(id);
  }

  /** The phone's live credentials (not revoked, not expired). */
  credentialsOfPhone(phoneId: string): CredentialInfo[] {
    const now = this.#ctx.now();
    return this.#ctx.repo.credentials
      .list()
      .filter((c) => c.phoneId === phoneId && c.revokedAt === undefined && c.expires > now)
      .map((c) => credentialInfo(this.#ctx, c));
  }

  #livePhones(userId: string): PhoneRecord[] {
    return this.#ctx.repo.phones
      .list()
      .filter((p) => p.userId === userId && p.revokedAt === undefined);
  }

  /** `CAPACITY` unless each door has room for `extra` more live credentials. */
  #assertRoom(doorIds: readonly string[], extra: number): void {
    if (extra === 0) return;
    const now = this.#ctx.now();
    const live = this.#ctx.repo.credentials
      .list()
      .filter((c) => c.revokedAt === undefined && c.expires > now);
    for (const doorId of doorIds) {
      const count = live.filter((c) => c.doorIds.includes(doorId)).length;
      if (count + extra > MAX_BUNDLE_CREDENTIALS) {
        throw new CloudError(
          'CAPACITY',
          `doors.${doorId}`,
          `a lock holds at most ${MAX_BUNDLE_CREDENTIALS} credentials`,
        );
      }
    }
  }

  #issue(
    user: UserRecord,
    share: ShareRecord,
    key: KeyRecord,
    phone: PhoneRecord,
    now: number,
  ): void {
    const ctx = this.#ctx;
    const property = ctx.property;
    for (const doorIds of chunks(key.doorIds, MAX_CREDENTIAL_DOORS)) {
      const id = newId(ctx.random);
      const credential: Credential = {
        id: fromHex(id),
        user: fromHex(user.id),
        phoneKey: phone.publicKey,
        doors: doorIds.map((doorId) => ctx.repo.doors.get(doorId)!.lockId),
        ...(key.schedule === undefined
          ? {}
          : { schedule: { timeZone: property.timeZone, windows: [...key.schedule] } }),
        notBefore: share.notBefore,
        expires: share.expires,
        epoch: user.epoch,
        role: user.role,
        ...(share.sharedBy === undefined ? {} : { sharedBy: fromHex(share.sharedBy) }),
      };
      ctx.repo.credentials.put({
        id,
        userId: user.id,
        shareId: share.id,
        phoneId: phone.id,
        doorIds,
        signed: signCredential(credential, property.authoritySeed, ctx.crypto),
        role: user.role,
        notBefore: share.notBefore,
        expires: share.expires,
        hasSchedule: key.schedule !== undefined,
        issuedAt: now,
      });
    }
  }
}
