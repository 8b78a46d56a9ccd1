/**
 * Result codes of a keypad doorcode check (ARCHITECTURE.md §5, SECURITY.md item 23). They are
 * expected outcomes, returned as values, never thrown. The numeric values are stable: they are
 * recorded in the audit log and will join the wire error codes (§4 "Errors"), in the block
 * `0x40..0x4f` reserved for keypad results.
 */
export const DOORCODE_ERRORS = {
  /** The entry does not have the door's code length `L`. */
  WRONG_LENGTH: 0x41,
  /** The entry holds something other than the ASCII digits `0`..`9`. */
  NOT_DIGITS: 0x42,
  /**
   * No slot of yesterday, today or tomorrow has this code, or it has one but `now` is outside
   * that day's window `[start(D) − g, end(D) + g]`. One code for both, so the keypad never tells
   * an attacker that a code exists on another day.
   */
  INCORRECT: 0x43,
  /** The code belongs to a slot revoked by the cloud, inside its window. */
  SLOT_REVOKED: 0x44,
} as const;

export type DoorcodeErrorCode = (typeof DOORCODE_ERRORS)[keyof typeof DOORCODE_ERRORS];
