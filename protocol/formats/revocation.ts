/**
 * The revocation list a sync bundle carries (ARCHITECTURE.md §3 "Mobile keys": revocation takes
 * effect at the next sync; §5: the lock never accepts a revoked daily-code slot). Like doorcode
 * records it travels only inside a sealed bundle. In a full bundle it is the complete list; in
 * a delta, the revocations added since the base version.
 */
import { arrayOf, codec, mapSchema, nested, required, text, uint } from '../cbor/schema.js';
import type { Infer } from '../cbor/schema.js';
import { assertDayLabel } from '../doorcode/day-label.js';
import { MAX_SLOTS } from '../doorcode/deriver.js';
import type { Result } from '../result.js';
import { idType } from './common.js';

export const MAX_REVOKED_CREDENTIALS = 1024;
export const MAX_REVOKED_DAYS = 16;
export const MAX_REVOKED_SLOTS_PER_DAY = 256;
export const MAX_REVOKED_DOORCODES = 256;
/** Holds a list with every array at its maximum. */
export const MAX_REVOCATION_LIST_BYTES = 40 * 1024;

function isDayLabel(day: string): boolean {
  try {
    assertDayLabel(day);
    return true;
  } catch {
    return false;
  }
}

/** §5 slots of one local day (`YYYYMMDD`), in increasing order, each once. */
export const revokedDaySchema = mapSchema(
  'revokedDay',
  {
    day: required(0, text({ min: 8, max: 8, digits: true })),
    slots: required(
      1,
      arrayOf(uint({ max: MAX_SLOTS - 1 }), { min: 1, max: MAX_REVOKED_SLOTS_PER_DAY }),
    ),
  },
  (d) => {
    if (!isDayLabel(d.day)) return 'day: expected a calendar date YYYYMMDD';
    const increasing = d.slots.every((slot, i) => i === 0 || slot > (d.slots[i - 1] ?? slot));
    return increasing ? undefined : 'slots: expected strictly increasing slots';
  },
);

export const revocationListSchema = mapSchema('revocations', {
  /** The cloud's revocation version; the lock persists the one it applied. */
  version: required(0, uint()),
  credentials: required(1, arrayOf(idType, { max: MAX_REVOKED_CREDENTIALS })),
  dailySlots: required(2, arrayOf(nested(revokedDaySchema), { max: MAX_REVOKED_DAYS })),
  doorcodes: required(3, arrayOf(idType, { max: MAX_REVOKED_DOORCODES })),
});

export type RevocationList = Infer<typeof revocationListSchema>;

const listCodec = codec(revocationListSchema, MAX_REVOCATION_LIST_BYTES);

export function encodeRevocationList(list: RevocationList): Uint8Array {
  return listCodec.encode(list);
}

/** Never throws. */
export function decodeRevocationList(bytes: Uint8Array): Result<RevocationList> {
  return listCodec.decode(bytes);
}
