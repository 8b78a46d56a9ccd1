/**
 * The keyway handshake prologue (Noise rev 34 §6): bytes both sides mix into the handshake hash
 * before the first message without sending them. Each side builds it from its own view, so a
 * phone and a lock that disagree on any byte fail the handshake at message 1 (SECURITY.md 15):
 *
 *     offset  size  field
 *     0       8     "keyway/1" (ASCII 6b 65 79 77 61 79 2f 31)
 *     8       1     n, u8: the number of protocol versions the lock speaks, 1..8
 *     9       n     those versions, u8 each, 1..255, strictly increasing
 *     9+n     16    lock id
 *
 * The version list is the lock's, as its `info` value carries it (`gatt.ts`): the lock uses its
 * own list, the phone the list it read. An attacker who edits `info` to drop the newest version
 * (a downgrade) changes the phone's prologue and so breaks the handshake.
 */
import { assertSize } from '../crypto/input-checks.js';
import { LOCK_ID_BYTES, MAX_PROTOCOL_VERSIONS } from '../gatt.js';

/** The keyway protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;
/** The versions this code speaks, ascending; the default for both phone and lock. */
export const SUPPORTED_VERSIONS: readonly number[] = Object.freeze([PROTOCOL_VERSION]);

/** `utf8("keyway/1")`: the prologue layout's own label, not a protocol version. */
export const PROLOGUE_LABEL: Uint8Array = new TextEncoder().encode('keyway/1');

/** True for a list of 1..8 versions, each an integer in 1..255, strictly increasing. */
export function isVersionList(versions: readonly number[]): boolean {
  if (versions.length < 1 || versions.length > MAX_PROTOCOL_VERSIONS) return false;
  let previous = 0;
  for (const version of versions) {
    if (!Number.isInteger(version) || version <= previous || version > 0xff) return false;
    previous = version;
  }
  return true;
}

/** Throws `RangeError` unless `versions` is a version list (`isVersionList`). */
export function assertVersionList(versions: readonly number[], what: string): void {
  if (!isVersionList(versions)) {
    throw new RangeError(
      `${what}: expected 1..${MAX_PROTOCOL_VERSIONS} versions in 1..255, strictly increasing`,
    );
  }
}

/**
 * The prologue for a lock's version list and id (layout above). Throws `RangeError` on a list
 * that is not a version list or an id that is not 16 bytes: callers check what came off the air.
 */
export function encodePrologue(versions: readonly number[], lockId: Uint8Array): Uint8Array {
  assertVersionList(versions, 'prologue versions');
  assertSize(lockId, LOCK_ID_BYTES, 'lock id');
  const label = PROLOGUE_LABEL.length;
  const out = new Uint8Array(label + 1 + versions.length + LOCK_ID_BYTES);
  out.set(PROLOGUE_LABEL);
  out[label] = versions.length;
  out.set(versions, label + 1);
  out.set(lockId, label + 1 + versions.length);
  return out;
}

/**
 * The version a phone proposes: the highest one both lists hold, or `undefined` if none.
 * Both lists are ascending.
 */
export function chooseVersion(
  lockVersions: readonly number[],
  phoneVersions: readonly number[],
): number | undefined {
  for (let i = lockVersions.length - 1; i >= 0; i--) {
    const version = lockVersions[i];
    if (version !== undefined && phoneVersions.includes(version)) return version;
  }
  return undefined;
}
