/**
 * How a lock turns a phone away before its session is open (`protocol/spec/session.md` §7.1):
 * one frame-layer message of exactly two bytes, `ff ‖ code`, then a disconnect. The lock sends it
 * in place of a Noise message 2, or of the first transport response, so the phone must tell it
 * apart from both by the bytes alone. Length does it: a Noise message 2 is at least 48 bytes
 * (ephemeral key and tag) and a transport message at least 16 (its tag), so no session message is
 * shorter than 16 bytes. The marker byte keeps the short messages open for later uses.
 *
 * Only three codes may be sent this way (SECURITY.md: before authentication nothing about the
 * lock's state leaks): `BUSY` (the lock holds another connection, which its advertisement already
 * shows), `TIMEOUT` (the phone's own clock tells it as much) and `FAILED` (everything else, a bad
 * tag, a low-order key and a refused credential alike).
 */
import { AEAD_TAG_BYTES } from './crypto/provider.js';
import { WIRE_ERRORS } from './errors.js';
import { fail, ok } from './result.js';
import type { Result } from './result.js';

/** The first byte of a refusal. */
export const REFUSAL_MARKER = 0xff;
/** Marker and code. */
export const REFUSAL_BYTES = 2;
/** The shortest message a session carries: a transport message of no plaintext is its tag. */
export const MIN_SESSION_MESSAGE_BYTES = AEAD_TAG_BYTES;

export type RefusalCode =
  typeof WIRE_ERRORS.FAILED | typeof WIRE_ERRORS.TIMEOUT | typeof WIRE_ERRORS.BUSY;

/** The codes a refusal may carry, and no other. */
export const REFUSAL_CODES: readonly RefusalCode[] = Object.freeze([
  WIRE_ERRORS.FAILED,
  WIRE_ERRORS.TIMEOUT,
  WIRE_ERRORS.BUSY,
]);

function isRefusalCode(code: number): code is RefusalCode {
  return (REFUSAL_CODES as readonly number[]).includes(code);
}

/** The refusal message for `code`; throws `RangeError` for a code a refusal may not carry. */
export function encodeRefusal(code: RefusalCode): Uint8Array {
  if (!isRefusalCode(code)) throw new RangeError('refusal: only FAILED, TIMEOUT or BUSY');
  return Uint8Array.of(REFUSAL_MARKER, code);
}

const NOT_A_REFUSAL = ok(undefined);
const MALFORMED = fail(WIRE_ERRORS.DECODE, 'refusal: malformed short message');

/**
 * Reads one reassembled message from the lock, for a phone that passes every message through here
 * before its session: `ok(undefined)` for a session message (16 bytes or more: hand it to the
 * session), `ok(code)` for a refusal (the lock disconnects next), `DECODE` for any other message
 * under 16 bytes. Never throws.
 */
export function decodeRefusal(message: Uint8Array): Result<RefusalCode | undefined> {
  if (message.length >= MIN_SESSION_MESSAGE_BYTES) return NOT_A_REFUSAL;
  const code = message[1] ?? 0;
  if (message.length !== REFUSAL_BYTES || message[0] !== REFUSAL_MARKER || !isRefusalCode(code)) {
    return MALFORMED;
  }
  return ok(code);
}
