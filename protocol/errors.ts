/**
 * The wire error codes (ARCHITECTURE.md §4 "Errors"): stable numbers shared by the lock, the
 * phone, the audit log and the CLI. Blocks: 0x01..0x1f transport and decoding, 0x20..0x3f
 * authentication and authorisation, 0x40..0x4f keypad results (`doorcode/errors.ts`),
 * 0x50..0x5f device state. Before a session is authenticated a lock sends only `FAILED`, so an
 * attacker learns nothing from the code — save `BUSY` and `TIMEOUT` (protocol/spec/session.md
 * §7.1), which tell only what any phone in range can see: the lock is taken, or it waited.
 */
export const WIRE_ERRORS = {
  /** Generic failure: the only failure sent before authentication, besides `BUSY` / `TIMEOUT`. */
  FAILED: 0x01,
  /** A fragment that is malformed, out of sequence, or inconsistent with its message. */
  BAD_FRAME: 0x02,
  /** A message over the size limit, by declaration or by accumulation. */
  TOO_LARGE: 0x03,
  /** Bytes that are not a well-formed encoding: a CBOR item, an `info` value, an advertisement. */
  DECODE: 0x04,
  /** Well-formed CBOR that breaks the message schema (types, ranges, keys). */
  SCHEMA: 0x05,
  /** A protocol version the peer does not speak, or a downgrade. */
  UNSUPPORTED_VERSION: 0x06,
  /** A message or handshake that did not complete in time. */
  TIMEOUT: 0x07,
  /** A session past its message or time limit. */
  SESSION_LIMIT: 0x08,
  /** Another phone holds the lock's one connection. */
  BUSY: 0x09,
  /** A request not valid in the session's current state. */
  UNEXPECTED: 0x0a,
  /** A MAC, AEAD tag, signature or handshake check failed. */
  AUTH_FAILED: 0x20,
  /** A message seen before (transport counter, nonce, sequence). */
  REPLAY: 0x21,
  EXPIRED: 0x22,
  NOT_YET_VALID: 0x23,
  REVOKED: 0x24,
  WRONG_DOOR: 0x25,
  /** The credential does not allow this command (e.g. a guest sending manager commands). */
  FORBIDDEN: 0x26,
  /** Outside the credential's schedule. */
  OUTSIDE_SCHEDULE: 0x27,
  /** Older than what the lock holds (a sync bundle or time anchor replayed). */
  STALE: 0x28,
  /** A delta sync bundle built on a version the lock does not hold: push a full bundle. */
  DELTA_BASE_MISMATCH: 0x29,
  /**
   * An authentic credential the lock's cache does not hold yet (§3 "Mobile keys": usable only once
   * a sync delivered it): the phone should push its newest bundle and retry.
   */
  NOT_PROVISIONED: 0x2a,
  LOCKED_OUT: 0x50,
  /** The lock's clock is invalid: time-bound access fails closed until a signed time sync. */
  CLOCK_INVALID: 0x51,
  INSUFFICIENT_BATTERY: 0x52,
  JAMMED: 0x53,
  INTERNAL: 0x5f,
} as const;

export type WireErrorName = keyof typeof WIRE_ERRORS;
export type WireErrorCode = (typeof WIRE_ERRORS)[WireErrorName];

const NAMES = new Map<number, WireErrorName>(
  Object.entries(WIRE_ERRORS).map(([name, code]) => [code, name as WireErrorName]),
);

/** The name of a wire error code, for logs and reports; `undefined` for an unknown number. */
export function wireErrorName(code: number): WireErrorName | undefined {
  return NAMES.get(code);
}
