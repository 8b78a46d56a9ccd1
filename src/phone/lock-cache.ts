/**
 * The phone's offline cache (ARCHITECTURE.md §6 "Phone": "the credentials and bundles it fetched
 * while online (works offline from its cache)"): one user's last `PhonePackage`, copied so that
 * nothing the cloud changes afterwards reaches it. The phone drops the whole cache when the user
 * changes, so one resident's keys never serve the next.
 *
 * Lookups: a door by id; the credential for its lock; the bundle to push to a lock that reports
 * version v — the delta built on v when the cloud sent one (smaller), else the newest full bundle,
 * and only if newer than v (versions read from the cleartext header, `decodeSyncBundleHeader`);
 * a lock's window time anchor.
 */
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

/** A sealed bundle with its header's version, if the header decodes and names `key`'s lock. */
function cachedBundle(key: string, sealed: Uint8Array): CachedBundle | undefined {
  const header = decodeSyncBundleHeader(sealed);
  // A bundle whose header does not decode is one no lock would take: not worth carrying.
  if (!header.ok || lockKey(header.value.lockId) !== key) return undefined;
  return { sealed: sealed.slice(), version: header.value.version };
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
  readonly #bundles = new Map<string, CachedBundle>();
  readonly #deltas = new Map<string, CachedBundle & { readonly baseVersion: number }>();
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
    this.#credentials = copyMap(pkg.credentialByLock);
    for (const [key, sealed] of pkg.bundles) {
      const bundle = cachedBundle(key, sealed);
      if (bundle !== undefined) this.#bundles.set(key, bundle);
    }
    for (const [key, { baseVersion, sealed }] of pkg.deltas ?? []) {
      const delta = cachedBundle(key, sealed);
      if (delta !== undefined) this.#deltas.set(key, { ...delta, baseVersion });
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
    return this.#credentials.get(lockKey(door.lockId));
  }

  /** What to push to a lock holding `lockVersion`, or nothing if the lock is not behind. */
  bundleFor(lockId: Uint8Array, lockVersion: number): CachedBundle | undefined {
    const key = lockKey(lockId);
    const delta = this.#deltas.get(key);
    if (delta !== undefined && delta.baseVersion === lockVersion && delta.version > lockVersion) {
      return delta;
    }
    const full = this.#bundles.get(key);
    return full !== undefined && full.version > lockVersion ? full : undefined;
  }

  windowAnchor(lockId: Uint8Array): Uint8Array | undefined {
    return this.#anchors.get(lockKey(lockId));
  }
}
