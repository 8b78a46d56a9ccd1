/**
 * The stateful half of the frame layer, ARCHITECTURE.md §4 "Frames": one per connection and
 * direction, it turns fragments (`frame-codec.ts`) back into messages, one message in flight.
 * Time is a parameter (ms); the owner's scheduler calls `expire` at `deadline`.
 *
 * Rules (`protocol/spec/frames.md` §6), each failure a value with its wire code:
 * - what `decodeFragment` refuses alone: 0–2 byte writes, writes over 512 bytes, reserved bits,
 *   a first fragment over its declared length → `BAD_FRAME`; a declared length over
 *   `MAX_MESSAGE_BYTES` → `TOO_LARGE`;
 * - a continuation with no message in flight, a sequence number other than the next one
 *   (duplicate, skipped, reordered), a first fragment while a message is in flight, a
 *   continuation that would pass the declared length → `BAD_FRAME`;
 * - a message not complete `messageTimeoutMs` after its first fragment → `TIMEOUT`.
 * Any failure drops the message in flight and frees its memory. Failures in a row are counted:
 * at `maxConsecutiveErrors` the connection should close (SECURITY.md item 3), and every later
 * write is refused. A completed message resets the count.
 *
 * Memory (SECURITY.md items 2 and 4): the buffer of the message in flight, and nothing else that
 * grows. It is sized from the bytes that have arrived, never from the declared length alone: at
 * most min(declared length, 2 × bytes received), so never over `MAX_MESSAGE_BYTES` (4 KiB).
 * Per fragment: the decoded header and one view. The buffer grows at least twofold (or to the
 * declared length), so copying stays linear in the message length.
 */
import { WIRE_ERRORS } from './errors.js';
import { decodeFragment, SEQUENCE_MODULUS } from './frame-codec.js';
import { fail, ok } from './result.js';
import type { Result } from './result.js';

/**
 * 228 fragments (`MAX_MESSAGE_BYTES` at the minimum MTU) at one per 50 ms connection event, a
 * slow link, take 11.4 s.
 */
export const DEFAULT_MESSAGE_TIMEOUT_MS = 15_000;
/** "Close after a few" (SECURITY.md item 3): an honest peer never makes even one. */
export const DEFAULT_MAX_CONSECUTIVE_ERRORS = 3;

export interface ReassemblerOptions {
  /** How long a message may take from its first fragment; default 15 s. */
  readonly messageTimeoutMs?: number;
  /** Failures in a row after which the connection should close; default 3. */
  readonly maxConsecutiveErrors?: number;
}

type Failure = Extract<Result<never>, { readonly ok: false }>;

const WAITING = ok(undefined);
const CLOSED = fail(WIRE_ERRORS.BAD_FRAME, 'reassembler: closed after consecutive errors');
const TIMED_OUT = fail(WIRE_ERRORS.TIMEOUT, 'reassembler: message timed out');
const NO_FIRST = fail(WIRE_ERRORS.BAD_FRAME, 'reassembler: continuation without a first fragment');
const FIRST_MID_MESSAGE = fail(WIRE_ERRORS.BAD_FRAME, 'reassembler: first fragment mid-message');
const OUT_OF_SEQUENCE = fail(WIRE_ERRORS.BAD_FRAME, 'reassembler: sequence number out of order');
const OVER_DECLARED = fail(WIRE_ERRORS.BAD_FRAME, 'reassembler: fragments exceed declared length');

export class Reassembler {
  readonly #messageTimeoutMs: number;
  readonly #maxConsecutiveErrors: number;
  /** The message in flight; `undefined` when idle. */
  #buffer: Uint8Array | undefined;
  #declared = 0;
  #received = 0;
  #nextSeq = 0;
  #deadline = 0;
  #consecutiveErrors = 0;

  constructor(options: ReassemblerOptions = {}) {
    const timeout = options.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS;
    const maxErrors = options.maxConsecutiveErrors ?? DEFAULT_MAX_CONSECUTIVE_ERRORS;
    if (!Number.isSafeInteger(timeout) || timeout <= 0) {
      throw new RangeError('messageTimeoutMs: expected a positive integer');
    }
    if (!Number.isSafeInteger(maxErrors) || maxErrors <= 0) {
      throw new RangeError('maxConsecutiveErrors: expected a positive integer');
    }
    this.#messageTimeoutMs = timeout;
    this.#maxConsecutiveErrors = maxErrors;
  }

  /** True when no message is in flight. */
  get idle(): boolean {
    return this.#buffer === undefined;
  }

  /** Bytes held for the message in flight (0 when idle): the reassembler's whole variable memory. */
  get bufferedCapacity(): number {
    return this.#buffer?.length ?? 0;
  }

  /** When the message in flight times out, for the owner's scheduler; `undefined` when idle. */
  get deadline(): number | undefined {
    return this.#buffer === undefined ? undefined : this.#deadline;
  }

  get consecutiveErrors(): number {
    return this.#consecutiveErrors;
  }

  /** True once `maxConsecutiveErrors` failures came in a row: close the connection. */
  get shouldClose(): boolean {
    return this.#consecutiveErrors >= this.#maxConsecutiveErrors;
  }

  /**
   * Takes one written or notified value at time `now` (ms). Returns the completed message (the
   * caller owns it), `undefined` while a message is still arriving, or the failure; after a
   * failure the reassembler is idle. A value that arrives after the deadline of the message in
   * flight is not looked at: the message is dropped with `TIMEOUT`. Never throws.
   */
  push(bytes: Uint8Array, now: number): Result<Uint8Array | undefined> {
    if (this.shouldClose) return CLOSED;
    if (this.#buffer !== undefined && now >= this.#deadline) return this.#failed(TIMED_OUT);
    const decoded = decodeFragment(bytes);
    if (!decoded.ok) return this.#failed(decoded);
    const fragment = decoded.value;
    let buffer: Uint8Array;
    if (fragment.first) {
      if (this.#buffer !== undefined) return this.#failed(FIRST_MID_MESSAGE);
      this.#declared = fragment.length;
      this.#received = 0;
      this.#nextSeq = 1;
      this.#deadline = now + this.#messageTimeoutMs;
      buffer = new Uint8Array(Math.min(fragment.length, 2 * fragment.payload.length));
      this.#buffer = buffer;
    } else {
      if (this.#buffer === undefined) return this.#failed(NO_FIRST);
      if (fragment.seq !== this.#nextSeq) return this.#failed(OUT_OF_SEQUENCE);
      if (this.#received + fragment.payload.length > this.#declared) {
        return this.#failed(OVER_DECLARED);
      }
      this.#nextSeq = (this.#nextSeq + 1) % SEQUENCE_MODULUS;
      buffer = this.#reserve(this.#buffer, this.#received + fragment.payload.length);
    }
    buffer.set(fragment.payload, this.#received);
    this.#received += fragment.payload.length;
    if (this.#received < this.#declared) return WAITING;
    this.#buffer = undefined;
    this.#consecutiveErrors = 0;
    return ok(buffer);
  }

  /**
   * Drops the message in flight if its deadline has come (`TIMEOUT`, counted as a failure);
   * otherwise changes nothing and returns `ok(undefined)`.
   */
  expire(now: number): Result<undefined> {
    if (this.#buffer === undefined || now < this.#deadline) return WAITING;
    return this.#failed(TIMED_OUT);
  }

  /**
   * `current` grown to hold `needed` bytes: to twice that, but never past the declared length, so
   * a completed message fills its buffer exactly and is handed over without a copy.
   */
  #reserve(current: Uint8Array, needed: number): Uint8Array {
    if (needed <= current.length) return current;
    const grown = new Uint8Array(Math.min(this.#declared, 2 * needed));
    grown.set(current.subarray(0, this.#received));
    this.#buffer = grown;
    return grown;
  }

  #failed(failure: Failure): Failure {
    this.#buffer = undefined;
    this.#consecutiveErrors++;
    return failure;
  }
}
