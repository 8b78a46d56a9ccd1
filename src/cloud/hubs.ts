/**
 * Hubs (ARCHITECTURE.md §3 table "hub", §6): a property's wired gateway pushes the cloud's
 * bundles to the locks in its radio range, sets their clocks and carries their audit back, so a
 * permanent doorcode created in the cloud reaches an offline lock with no phone involved.
 *
 * To the lock a hub is a Noise initiator like a phone, admitted by a credential the authority
 * signed for the hub's static key. The cloud records it the way it records a person with a
 * phone — a user of role `hub`, a key over the hub's doors shared with it, the hub's static key
 * registered as its phone — so its credentials are issued, carried in the doors' bundles and
 * revoked (`revokeUser`) by the same code as everyone's. The role is what keeps it out: the lock's
 * authorization refuses a hub every door operation (`FORBIDDEN`, firmware-sim/access.ts), and
 * sync, time and audit requests decide no access. `addUser` never makes a hub; only `addHub`.
 */
import { X25519_KEY_BYTES } from '../../protocol/crypto/provider.js';
import type { AccessAuthority, CredentialInfo } from './access.js';
import { assertBytes, assertName } from './context.js';
import type { CloudContext } from './context.js';
import { CloudError } from './errors.js';
import { newId, toHex } from './ids.js';
import type { UserRecord } from './repository.js';

export interface NewHub {
  readonly name: string;
  /** The doors whose locks the hub serves, at least one, each once. */
  readonly doors: readonly string[];
  /** The hub's Noise static public key (X25519): its credentials are bound to it. */
  readonly publicKey: Uint8Array;
}

/** A registered hub: its id (what it syncs with) and its credentials, one set per lock. */
export interface HubInfo {
  readonly id: string;
  readonly name: string;
  readonly doorIds: readonly string[];
  readonly credentials: readonly CredentialInfo[];
}

/**
 * Registers a hub for `hub.doors` (see the module comment). Input is checked, and the key is
 * refused if any phone or hub already holds it, before anything is written; a door with no room
 * for another credential is refused (`CAPACITY`) before the key is registered.
 */
export function addHub(ctx: CloudContext, access: AccessAuthority, hub: NewHub): HubInfo {
  if (typeof hub !== 'object' || hub === null) {
    throw new CloudError('INVALID', 'hub', 'expected an object');
  }
  assertName(hub.name, 'hub.name');
  const publicKey = assertBytes(hub.publicKey, X25519_KEY_BYTES, 'hub.publicKey');
  if (ctx.repo.phones.get(toHex(publicKey)) !== undefined) {
    throw new CloudError('CONFLICT', 'hub.publicKey', 'already registered');
  }
  // Checks the doors before the hub's user is written.
  const key = access.createKey({ name: `hub ${hub.name}`, doors: hub.doors });
  const user: UserRecord = {
    id: newId(ctx.random),
    name: hub.name,
    role: 'hub',
    epoch: 0,
    createdAt: ctx.now(),
  };
  ctx.repo.users.put(user);
  access.shareKey(key.id, user.id);
  const credentials = access.registerPhone(user.id, publicKey);
  return { id: user.id, name: user.name, doorIds: key.doorIds, credentials };
}

/** The hub `hubId`, live and a hub (`NOT_FOUND` for a person's id, `REVOKED` once revoked). */
export function activeHub(ctx: CloudContext, hubId: string): UserRecord {
  const user = ctx.activeUser(hubId, 'hubId');
  if (user.role !== 'hub') throw new CloudError('NOT_FOUND', 'hubId', 'not a hub');
  return user;
}
