/**
 * The stateless half of the frame layer, ARCHITECTURE.md §4 "Frames": a message (one Noise
 * handshake or transport message) is cut into fragments that each fit one ATT value, written to
 * `rx` without response or notified on `tx`. The codec sizes fragments itself because the
 * transport cannot be trusted to: bleno truncates a notification to ATT_MTU − 3 without a word.
 * The stateful half, which checks order, length and time, is `reassembler.ts`.
 *
 * Fragment layout (`protocol/spec/frames.md` §5), P = `attPayloadBytes(mtu)`:
 *
 * ```
 * first:          | 0x80 | L, u16be (2) | L bytes total, 0..P−3 of them here |
 * continuation:   | 0x00 | seq (1)      | next 1..P−2 bytes of the message   |
 * ```
 *
 * Byte 0 is a control byte: bit 7 marks the first fragment, bits 6..0 are reserved and zero.
 * The k-th continuation (k = 1, 2, ...) carries seq = k mod 256. Every fragment is at least
 * 3 bytes long, so any write of 0–2 bytes is malformed whatever state the receiver is in
 * (SECURITY.md item 1).
 */
import { WIRE_ERRORS } from './errors.js';
import { ATT_MAX_VALUE_BYTES, attPayloadBytes } from './gatt.js';
import { fail, ok } from './result.js';
import type { Result } from './result.js';

/** Control byte of a first fragment. */
export const FRAGMENT_FIRST = 0x80;
/** Control bits no fragment may set; reserved for later versions of the layout. */
export const FRAGMENT_RESERVED_BITS = 0x7f;
/** Control byte and u16be total length. */
export const FIRST_HEADER_BYTES = 3;
/** Control byte and sequence number. */
export const CONTINUATION_HEADER_BYTES = 2;
/** The shortest fragment: a first fragment of the empty message, or a continuation of 1 byte. */
export const MIN_FRAGMENT_BYTES = 3;
/** Continuation sequence numbers count modulo this. */
export const SEQUENCE_MODULUS = 256;

/**
 * The largest message, both ways. Every protocol message is far smaller (a handshake message with
 * its credential is under 1 KiB); what grows with a building, sync bundles and audit logs, has no
 * bound a frame could promise (Noise itself stops at 65535 bytes), so those layers send pages of
 * at most this size. 4 KiB keeps the lock's reassembly memory at 4 KiB per connection and a
 * whole message within 228 fragments at the minimum MTU, a few seconds of air time, which is what
 * lets the reassembler's timeout be short. The u16be length field leaves room to raise it.
 */
export const MAX_MESSAGE_BYTES = 4096;

/** A decoded fragment. `payload` is a view into the written bytes, valid until they are reused. */
export type Fragment =
  | { readonly first: true; readonly length: number; readonly payload: Uint8Array }
  | { readonly first: false; readonly seq: number; readonly payload: Uint8Array };

/** The number of fragments a message of `length` bytes takes when each carries `payload` bytes. */
function fragmentCount(length: number, payload: number): number {
  const rest = length - (payload - FIRST_HEADER_BYTES);
  return rest <= 0 ? 1 : 1 + Math.ceil(rest / (payload - CONTINUATION_HEADER_BYTES));
}

/**
 * Cuts `message` into fragments for this ATT_MTU, each as large as the MTU allows. The fragments
 * are views into one new buffer. Throws `RangeError` for an MTU outside 23..517 or a message
 * over `MAX_MESSAGE_BYTES`: both are the caller's bug, not the peer's.
 */
export function fragment(message: Uint8Array, mtu: number): Uint8Array[] {
  const payload = attPayloadBytes(mtu);
  const length = message.length;
  if (length > MAX_MESSAGE_BYTES) {
    throw new RangeError(`message: ${length} bytes, over MAX_MESSAGE_BYTES (${MAX_MESSAGE_BYTES})`);
  }
  const count = fragmentCount(length, payload);
  const out = new Uint8Array(length + FIRST_HEADER_BYTES + (count - 1) * CONTINUATION_HEADER_BYTES);
  const fragments: Uint8Array[] = [];
  let read = Math.min(length, payload - FIRST_HEADER_BYTES);
  out[0] = FRAGMENT_FIRST;
  out[1] = length >>> 8;
  out[2] = length & 0xff;
  out.set(message.subarray(0, read), FIRST_HEADER_BYTES);
  let write = FIRST_HEADER_BYTES + read;
  fragments.push(out.subarray(0, write));
  for (let k = 1; k < count; k++) {
    const take = Math.min(length - read, payload - CONTINUATION_HEADER_BYTES);
    const start = write;
    out[write++] = 0;
    out[write++] = k % SEQUENCE_MODULUS;
    out.set(message.subarray(read, read + take), write);
    read += take;
    write += take;
    fragments.push(out.subarray(start, write));
  }
  return fragments;
}

// Failures are shared constants: a flood of bad writes allocates nothing.
const TOO_SHORT = fail(WIRE_ERRORS.BAD_FRAME, 'fragment: shorter than 3 bytes');
const TOO_LONG = fail(WIRE_ERRORS.BAD_FRAME, 'fragment: longer than an attribute value');
const RESERVED = fail(WIRE_ERRORS.BAD_FRAME, 'fragment: reserved control bits set');
const DECLARED_TOO_LARGE = fail(WIRE_ERRORS.TOO_LARGE, 'fragment: declared length over maximum');
const OVER_DECLARED = fail(WIRE_ERRORS.BAD_FRAME, 'fragment: payload over declared length');
const EMPTY_FIRST = fail(WIRE_ERRORS.BAD_FRAME, 'fragment: first of a non-empty message is empty');

/**
 * Decodes one written or notified value as a fragment, checking everything that needs no state:
 * size (3..512 bytes), reserved bits, and a first fragment's declared length (at most
 * `MAX_MESSAGE_BYTES`: `TOO_LARGE`) against its own payload (no more than declared, and some of it
 * unless the message is empty). Never throws.
 */
export function decodeFragment(bytes: Uint8Array): Result<Fragment> {
  if (bytes.length < MIN_FRAGMENT_BYTES) return TOO_SHORT;
  if (bytes.length > ATT_MAX_VALUE_BYTES) return TOO_LONG;
  const control = bytes[0] ?? 0;
  if ((control & FRAGMENT_RESERVED_BITS) !== 0) return RESERVED;
  if (control === FRAGMENT_FIRST) {
    const length = ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
    if (length > MAX_MESSAGE_BYTES) return DECLARED_TOO_LARGE;
    const payload = bytes.subarray(FIRST_HEADER_BYTES);
    if (payload.length > length) return OVER_DECLARED;
    if (payload.length === 0 && length > 0) return EMPTY_FIRST;
    return ok({ first: true, length, payload });
  }
  return ok({
    first: false,
    seq: bytes[1] ?? 0,
    payload: bytes.subarray(CONTINUATION_HEADER_BYTES),
  });
}
