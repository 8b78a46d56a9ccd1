/**
 * Per-lock sync bundles (ARCHITECTURE.md §4 "Sync bundle", §3 "Passive sync"; SECURITY.md item
 * 18): what a lock should hold, computed from the cloud's records, versioned, and sealed under
 * the lock's secret (`protocol/formats/sync-bundle.ts`).
 *
 * The cloud keeps, per built version, the state that version installs (`DoorSyncState`: ids of
 * credentials, doorcodes and revocations, the configuration, the time zone, the audit
 * acknowledgement). A new version is built only when the desired state adds something to the
 * newest one — a credential, a doorcode, a revocation, a configuration or time-zone change, a
 * higher `auditAck`. A credential or doorcode that merely expired, or a revoked day that passed,
 * leaves it: the lock checks validity itself, and the next full bundle drops them.
 *
 * Credentials travel as their ids (the phone presents the signed credential at unlock), so a
 * lock's full credential list, up to `MAX_BUNDLE_CREDENTIALS`, fits one bundle.
 *
 * A full bundle carries the whole state (revocations as the complete list); a delta from base B
 * carries what the newest version holds and B does not, with the whole configuration when it
 * changed and always the time zone and `auditAck` (`sync-store.ts` merges it). Deltas are built
 * only from a version whose state the cloud kept (the lock's acknowledged one and newer).
 *
 * What a state holds: the door's active, unexpired credentials and doorcodes; revoked
 * credentials and doorcodes until they would have expired; revoked daily slots from yesterday
 * on (at most the 16 days of `doorcodes.ts`'s horizon, the `MAX_REVOKED_DAYS` of the format).
 */
import { addDays, dayLabelAt } from '../../protocol/doorcode/day-label.js';
import type { CryptoProvider } from '../../protocol/crypto/provider.js';
import {
  MAX_REVOKED_CREDENTIALS,
  MAX_REVOKED_DOORCODES,
} from '../../protocol/formats/revocation.js';
import type { RevocationList } from '../../protocol/formats/revocation.js';
import type { DoorcodeRecord } from '../../protocol/formats/doorcode-record.js';
import {
  MAX_BUNDLE_CREDENTIALS,
  MAX_BUNDLE_DOORCODES,
  sealSyncBundle,
} from '../../protocol/formats/sync-bundle.js';
import type { SyncBundle } from '../../protocol/formats/sync-bundle.js';
import { CloudError } from './errors.js';
import { fromHex } from './ids.js';
import type { CloudRepository, DoorRecord, DoorSyncState, Revoked } from './repository.js';

/** Live at `now`: not revoked, and not past an expiry it may have. */
function live(record: Revoked & { readonly expires?: number }, now: number): boolean {
  return record.revokedAt === undefined && (record.expires === undefined || record.expires > now);
}

/** Revoked, but still worth listing: it would not have expired yet. */
function revokedInForce(record: Revoked & { readonly expires?: number }, now: number): boolean {
  return record.revokedAt !== undefined && (record.expires === undefined || record.expires > now);
}

const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

/** What `door` should hold at `now`, given the newest state built (for monotonic versions). */
export function desiredState(
  repo: CloudRepository,
  door: DoorRecord,
  timeZone: string,
  now: number,
  previous: DoorSyncState | undefined,
): DoorSyncState {
  const credentials: string[] = [];
  const revokedCredentials: string[] = [];
  let revocationVersion = previous?.revocationVersion ?? 0;
  const noteRevoked = (record: Revoked): void => {
    revocationVersion = Math.max(revocationVersion, record.revocationVersion ?? 0);
  };
  for (const credential of repo.credentials.list()) {
    if (!credential.doorIds.includes(door.id)) continue;
    if (live(credential, now)) credentials.push(credential.id);
    else if (revokedInForce(credential, now)) {
      revokedCredentials.push(credential.id);
      noteRevoked(credential);
    }
  }
  const doorcodes: string[] = [];
  const revokedDoorcodes: string[] = [];
  for (const code of repo.doorcodes.list()) {
    if (code.doorId !== door.id) continue;
    if (live(code, now)) doorcodes.push(code.id);
    else if (revokedInForce(code, now)) {
      revokedDoorcodes.push(code.id);
      noteRevoked(code);
    }
  }
  const yesterday = addDays(dayLabelAt(now, timeZone), -1);
  const revokedSlots: string[] = [];
  for (const slot of repo.dailyCodes.list()) {
    if (slot.doorId !== door.id || slot.revokedAt === undefined || slot.day < yesterday) continue;
    revokedSlots.push(`${slot.day}:${slot.slot.toString().padStart(5, '0')}`);
    noteRevoked(slot);
  }
  return {
    credentials: sorted(credentials),
    doorcodes: sorted(doorcodes),
    revokedCredentials: sorted(revokedCredentials),
    revokedDoorcodes: sorted(revokedDoorcodes),
    revokedSlots: sorted(revokedSlots),
    revocationVersion,
    config: door.config,
    timeZone,
    auditAck: Math.max(door.audit.ack, previous?.auditAck ?? 0),
  };
}

/** The ids of `next` that `base` lacks. */
function added(next: readonly string[], base: readonly string[]): string[] {
  const have = new Set(base);
  return next.filter((id) => !have.has(id));
}

function sameConfig(a: DoorSyncState, b: DoorSyncState): boolean {
  return JSON.stringify(a.config) === JSON.stringify(b.config);
}

/** Whether `next` installs anything `previous` does not (module comment). */
export function stateAdds(previous: DoorSyncState | undefined, next: DoorSyncState): boolean {
  if (previous === undefined) return true;
  return (
    added(next.credentials, previous.credentials).length > 0 ||
    added(next.doorcodes, previous.doorcodes).length > 0 ||
    added(next.revokedCredentials, previous.revokedCredentials).length > 0 ||
    added(next.revokedDoorcodes, previous.revokedDoorcodes).length > 0 ||
    added(next.revokedSlots, previous.revokedSlots).length > 0 ||
    !sameConfig(previous, next) ||
    previous.timeZone !== next.timeZone ||
    next.auditAck > previous.auditAck
  );
}

/** `day:slot` keys grouped as the format wants them: days in order, slots increasing. */
function slotDays(keys: readonly string[]): RevocationList['dailySlots'] {
  const days = new Map<string, number[]>();
  for (const key of keys) {
    const [day, slot] = key.split(':') as [string, string];
    const slots = days.get(day) ?? [];
    slots.push(Number(slot));
    days.set(day, slots);
  }
  return [...days]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, slots]) => ({ day, slots: slots.sort((x, y) => x - y) }));
}

function doorcodeRecords(
  repo: CloudRepository,
  door: DoorRecord,
  ids: readonly string[],
): DoorcodeRecord[] {
  return ids.map((id) => {
    const code = repo.doorcodes.get(id)!;
    return {
      door: door.lockId,
      id: fromHex(code.id),
      pin: code.pin,
      user: fromHex(code.userId),
      ...(code.notBefore === undefined ? {} : { notBefore: code.notBefore }),
      ...(code.expires === undefined ? {} : { expires: code.expires }),
    };
  });
}

function revocations(
  version: number,
  credentials: readonly string[],
  doorcodes: readonly string[],
  slots: readonly string[],
): RevocationList {
  return {
    version,
    credentials: credentials.map(fromHex),
    dailySlots: slotDays(slots),
    doorcodes: doorcodes.map(fromHex),
  };
}

/** `CAPACITY` unless the state fits the lock's limits (one full bundle). */
export function assertStateFits(door: DoorRecord, state: DoorSyncState): void {
  const field = `doors.${door.id}`;
  if (state.credentials.length > MAX_BUNDLE_CREDENTIALS) {
    throw new CloudError('CAPACITY', field, `over ${MAX_BUNDLE_CREDENTIALS} credentials`);
  }
  if (state.doorcodes.length > MAX_BUNDLE_DOORCODES) {
    throw new CloudError('CAPACITY', field, `over ${MAX_BUNDLE_DOORCODES} doorcodes`);
  }
  if (state.revokedCredentials.length > MAX_REVOKED_CREDENTIALS) {
    throw new CloudError('CAPACITY', field, `over ${MAX_REVOKED_CREDENTIALS} revoked credentials`);
  }
  if (state.revokedDoorcodes.length > MAX_REVOKED_DOORCODES) {
    throw new CloudError('CAPACITY', field, `over ${MAX_REVOKED_DOORCODES} revoked doorcodes`);
  }
}

/** The full bundle of `version`: everything `state` holds. */
export function fullBundle(
  repo: CloudRepository,
  door: DoorRecord,
  version: number,
  state: DoorSyncState,
): SyncBundle {
  return {
    lockId: door.lockId,
    version,
    baseVersion: 0,
    kind: 'full',
    credentials: state.credentials.map(fromHex),
    doorcodes: doorcodeRecords(repo, door, state.doorcodes),
    revocations: revocations(
      state.revocationVersion,
      state.revokedCredentials,
      state.revokedDoorcodes,
      state.revokedSlots,
    ),
    config: state.config,
    timeZone: state.timeZone,
    auditAck: state.auditAck,
  };
}

/** The delta from `baseVersion` (state `base`) to `version` (state `next`). */
export function deltaBundle(
  repo: CloudRepository,
  door: DoorRecord,
  baseVersion: number,
  base: DoorSyncState,
  version: number,
  next: DoorSyncState,
): SyncBundle {
  const revokedCredentials = added(next.revokedCredentials, base.revokedCredentials);
  const revokedDoorcodes = added(next.revokedDoorcodes, base.revokedDoorcodes);
  const revokedSlots = added(next.revokedSlots, base.revokedSlots);
  const anyRevoked = revokedCredentials.length + revokedDoorcodes.length + revokedSlots.length > 0;
  return {
    lockId: door.lockId,
    version,
    baseVersion,
    kind: 'delta',
    credentials: added(next.credentials, base.credentials).map(fromHex),
    doorcodes: doorcodeRecords(repo, door, added(next.doorcodes, base.doorcodes)),
    ...(anyRevoked
      ? {
          revocations: revocations(
            next.revocationVersion,
            revokedCredentials,
            revokedDoorcodes,
            revokedSlots,
          ),
        }
      : {}),
    ...(sameConfig(base, next) ? {} : { config: next.config }),
    timeZone: next.timeZone,
    auditAck: next.auditAck,
  };
}

/**
 * Seals `bundle` under the door's secret. Grants stop at the format's list limits, and the size
 * limit holds every list at its maximum, so any bundle the cloud builds fits.
 */
export function sealBundle(
  door: DoorRecord,
  bundle: SyncBundle,
  crypto: CryptoProvider,
): Uint8Array {
  return sealSyncBundle(bundle, door.lockSecret, crypto);
}
