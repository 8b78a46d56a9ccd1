/**
 * The phone's offline cache (ARCHITECTURE.md §6 "Phone": "the credentials and bundles it fetched
 * while online (works offline from its cache)"): one user's last `PhonePackage`, copied so that
 * nothing the cloud changes afterwards reaches it. The phone drops the whole cache when the user
 * changes, so one resident's keys never serve the next.
 *
 * Lookups: a door by id; the credential for a door (by door id, else the first credential whose
 * doors name the lock — `peekCredential`, read for routing only, never for access); the newest
 * sealed bundle of a lock with its cleartext version (`decodeSyncBundleHeader`, so the phone pushes
 * only when the lock is behind); a lock's window time anchor.
 */
import { bytesEqual } from '../../protocol/formats/common.js';
import { peekCredential } from '../../protocol/formats/credential.js';
import { decodeSyncBundleHeader } from '../../protocol/formats/sync-bundle.js';
import type { DoorEntry, PhonePackage } from './cloud-api.js';

/** Lowercase hex, the key of the package's per-lock maps. */
export function lockKey(lockId: Uint8Array): string {
  let text = '';
  for (const byte of lockId) text += byte.toString(16).padStart(2, '0');
  return text;
}

/** What the phone shows of a door: no keys. */
export interface LockSummary {
  readonly doorId: string;
  readonly name: string;
  readonly model: string;
  readonly lockId: Uint8Array;
}

export interface CachedBundle {
  readonly sealed: Uint8Array;
  readonly version: number;
}

function copyMap(map: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  return new Map([...map].map(([key, value]) => [key, value.slice()]));
}

export class LockCache {
  /** The token the package was fetched with: it names the user. */
  readonly token: string;
  /** Transport time of the fetch, ms. */
  readonly fetchedAt: number;
  readonly #doors: Map<string, DoorEntry>;
  readonly #credentials: Map<string, Uint8Array>;
  readonly #bundles: Map<string, CachedBundle>;
  readonly #anchors: Map<string, Uint8Array>;

  constructor(token: string, pkg: PhonePackage, fetchedAt: number) {
    this.token = token;
    this.fetchedAt = fetchedAt;
    this.#doors = new Map(
      pkg.directory.map((door) => [
        door.doorId,
        { ...door, lockId: door.lockId.slice(), staticPublicKey: door.staticPublicKey.slice() },
      ]),
    );
    this.#credentials = copyMap(pkg.credentials);
    this.#bundles = new Map();
    for (const [key, sealed] of pkg.bundles) {
      const header = decodeSyncBundleHeader(sealed);
      // A bundle whose header does not decode is one no lock would take: not worth carrying.
      if (header.ok && lockKey(header.value.lockId) === key) {
        this.#bundles.set(key, { sealed: sealed.slice(), version: header.value.version });
      }
    }
    this.#anchors = copyMap(pkg.timeAnchors);
  }

  door(doorId: string): DoorEntry | undefined {
    return this.#doors.get(doorId);
  }

  doors(): LockSummary[] {
    return [...this.#doors.values()].map(({ doorId, name, model, lockId }) => ({
      doorId,
      name,
      model,
      lockId,
    }));
  }

  credential(door: DoorEntry): Uint8Array | undefined {
    const direct = this.#credentials.get(door.doorId);
    if (direct !== undefined) return direct;
    for (const signed of this.#credentials.values()) {
      const peeked = peekCredential(signed);
      if (peeked.ok && peeked.value.doors.some((lock) => bytesEqual(lock, door.lockId))) {
        return signed;
      }
    }
    return undefined;
  }

  bundle(lockId: Uint8Array): CachedBundle | undefined {
    return this.#bundles.get(lockKey(lockId));
  }

  windowAnchor(lockId: Uint8Array): Uint8Array | undefined {
    return this.#anchors.get(lockKey(lockId));
  }
}
