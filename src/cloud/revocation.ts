/**
 * Revocation (ARCHITECTURE.md §3 "Access types": revoking the resident revokes the guest;
 * "Mobile keys": revocation takes effect at the next sync; §5: never a revoked slot). One
 * revocation request is one batch: everything it revokes, the guests' access that depended on
 * it included, carries the same revocation version, the property's next one. The bundles then
 * list the ids (`bundles.ts`), and a lock refuses them with `REVOKED` once a sync delivered the
 * list.
 *
 * A guest's share depends on the resident named in `sharedBy`: it is revoked in the same batch
 * once that resident is revoked or no longer holds a live share covering all the guest key's
 * doors. The guest's permanent doorcodes and daily codes on doors no live share of theirs covers
 * any more go with it.
 */
import type { CloudContext } from './context.js';
import type {
  CredentialRecord,
  DailyCodeEntry,
  DoorcodeEntry,
  PhoneRecord,
  ShareRecord,
  UserRecord,
} from './repository.js';

/** What one revocation request revoked, by id. */
export interface RevocationReport {
  /** The batch's revocation version; unchanged from the property's when nothing was revoked. */
  readonly version: number;
  readonly users: readonly string[];
  readonly shares: readonly string[];
  readonly credentials: readonly string[];
  readonly doorcodes: readonly string[];
  readonly dailyCodes: readonly string[];
}

/** Whether a share grants access at `now`. */
export function shareLive(share: ShareRecord, now: number): boolean {
  return share.revokedAt === undefined && share.expires > now;
}

/** The doors the user's live shares cover. */
export function coveredDoors(ctx: CloudContext, userId: string, now: number): Set<string> {
  const doors = new Set<string>();
  for (const share of ctx.repo.shares.list()) {
    if (share.userId !== userId || !shareLive(share, now)) continue;
    for (const doorId of ctx.repo.keys.get(share.keyId)!.doorIds) doors.add(doorId);
  }
  return doors;
}

export class RevocationBatch {
  readonly #ctx: CloudContext;
  readonly #now: number;
  readonly #version: number;
  readonly #users: string[] = [];
  readonly #shares: string[] = [];
  readonly #credentials: string[] = [];
  readonly #doorcodes: string[] = [];
  readonly #dailyCodes: string[] = [];

  constructor(ctx: CloudContext) {
    this.#ctx = ctx;
    this.#now = ctx.now();
    this.#version = ctx.property.revocationVersion + 1;
  }

  #stamp<T extends object>(record: T): T & { revokedAt: number; revocationVersion: number } {
    return { ...record, revokedAt: this.#now, revocationVersion: this.#version };
  }

  user(user: UserRecord): void {
    const { repo } = this.#ctx;
    if (user.revokedAt === undefined) {
      repo.users.put({ ...user, revokedAt: this.#now, epoch: user.epoch + 1 });
      this.#users.push(user.id);
    }
    for (const share of repo.shares.list()) if (share.userId === user.id) this.share(share);
    for (const phone of repo.phones.list()) if (phone.userId === user.id) this.phone(phone);
    for (const code of repo.doorcodes.list()) if (code.userId === user.id) this.doorcode(code);
    for (const slot of repo.dailyCodes.list()) if (slot.userId === user.id) this.dailyCode(slot);
  }

  share(share: ShareRecord): void {
    const { repo } = this.#ctx;
    if (share.revokedAt === undefined) {
      repo.shares.put({ ...share, revokedAt: this.#now });
      this.#shares.push(share.id);
    }
    for (const c of repo.credentials.list()) if (c.shareId === share.id) this.credential(c);
  }

  phone(phone: PhoneRecord): void {
    const { repo } = this.#ctx;
    if (phone.revokedAt === undefined) repo.phones.put({ ...phone, revokedAt: this.#now });
    for (const c of repo.credentials.list()) if (c.phoneId === phone.id) this.credential(c);
  }

  credential(credential: CredentialRecord): void {
    if (credential.revokedAt !== undefined) return;
    this.#ctx.repo.credentials.put(this.#stamp(credential));
    this.#credentials.push(credential.id);
  }

  doorcode(code: DoorcodeEntry): void {
    if (code.revokedAt !== undefined) return;
    this.#ctx.repo.doorcodes.put(this.#stamp(code));
    this.#doorcodes.push(code.id);
  }

  dailyCode(slot: DailyCodeEntry): void {
    if (slot.revokedAt !== undefined) return;
    this.#ctx.repo.dailyCodes.put(this.#stamp(slot));
    this.#dailyCodes.push(slot.id);
  }

  /** Revokes the guests' access that no longer has a resident behind it (module comment). */
  #cascadeToGuests(): void {
    const { repo } = this.#ctx;
    const guests = new Set<string>();
    for (const share of repo.shares.list()) {
      if (share.sharedBy === undefined || share.revokedAt !== undefined) continue;
      const sharer = repo.users.get(share.sharedBy)!;
      const covered = coveredDoors(this.#ctx, sharer.id, this.#now);
      const doors = repo.keys.get(share.keyId)!.doorIds;
      if (sharer.revokedAt === undefined && doors.every((doorId) => covered.has(doorId))) continue;
      this.share(share);
      guests.add(share.userId);
    }
    for (const guestId of guests) {
      const covered = coveredDoors(this.#ctx, guestId, this.#now);
      for (const code of repo.doorcodes.list()) {
        if (code.userId === guestId && !covered.has(code.doorId)) this.doorcode(code);
      }
      for (const slot of repo.dailyCodes.list()) {
        if (slot.userId === guestId && !covered.has(slot.doorId)) this.dailyCode(slot);
      }
    }
  }

  /** Cascades to guests, records the version if anything was revoked, and reports. */
  commit(): RevocationReport {
    this.#cascadeToGuests();
    const { repo } = this.#ctx;
    const property = this.#ctx.property;
    const any =
      this.#users.length +
        this.#shares.length +
        this.#credentials.length +
        this.#doorcodes.length +
        this.#dailyCodes.length >
      0;
    if (any) repo.properties.put({ ...property, revocationVersion: this.#version });
    return {
      version: any ? this.#version : property.revocationVersion,
      users: this.#users,
      shares: this.#shares,
      credentials: this.#credentials,
      doorcodes: this.#doorcodes,
      dailyCodes: this.#dailyCodes,
    };
  }
}
