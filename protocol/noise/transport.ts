/**
 * The transport phase of a keyway session (Noise rev 34 §5.2 Split, §5.1 CipherState): one
 * CipherState per direction with Noise's implicit nonces, so messages are accepted only in order
 * and only once. Any failure ends the channel for good (SECURITY.md 12–14):
 *
 * - a message that does not open (flipped bit, truncated, replayed, reordered, reflected) →
 *   `AUTH_FAILED`; a message over §3's 65535 bytes → `TOO_LARGE`;
 * - the idle timeout → `TIMEOUT`; the session lifetime or the message count → `SESSION_LIMIT`;
 * - any call once closed → `UNEXPECTED`, changing nothing.
 *
 * Associated data is empty, as in Noise's transport messages (§5 "transport phase").
 */
import { assertBytes } from '../crypto/input-checks.js';
import { AEAD_TAG_BYTES } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import type { WireErrorCode } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import type { CipherState } from './cipher-state.js';
import { NOISE_MAX_MESSAGE_BYTES } from './handshake-xk.js';
import type { SessionLimits } from './session-limits.js';

export type Failure = Extract<Result<never>, { readonly ok: false }>;

/** The largest transport plaintext: §3's 65535 bytes less the tag. */
export const MAX_TRANSPORT_PLAINTEXT_BYTES = NOISE_MAX_MESSAGE_BYTES - AEAD_TAG_BYTES;

export const SESSION_FAILURES = {
  closed: fail(WIRE_ERRORS.UNEXPECTED, 'session: closed'),
  outOfOrder: fail(WIRE_ERRORS.UNEXPECTED, 'session: call out of order'),
  handshakeTimeout: fail(WIRE_ERRORS.TIMEOUT, 'session: handshake timeout'),
  idleTimeout: fail(WIRE_ERRORS.TIMEOUT, 'session: idle timeout'),
  lifetime: fail(WIRE_ERRORS.SESSION_LIMIT, 'session: lifetime over'),
  messageLimit: fail(WIRE_ERRORS.SESSION_LIMIT, 'session: message limit'),
  decrypt: fail(WIRE_ERRORS.AUTH_FAILED, 'session: decryption failed'),
  tooLarge: fail(WIRE_ERRORS.TOO_LARGE, 'session: message over 65535 bytes'),
} as const satisfies Record<string, Failure>;

/**
 * `now` as the session sees it: a finite number of ms, never earlier than the latest it saw, so a
 * clock that steps back counts as no time passing rather than extending a deadline.
 */
export function sessionNow(latest: number, now: number): number {
  if (!Number.isFinite(now)) throw new RangeError('now: expected a finite number of ms');
  return now > latest ? now : latest;
}

const EMPTY = new Uint8Array(0);
const OPENED = ok(undefined);

export interface TransportKeys {
  /** Seals this side's messages. */
  readonly send: CipherState;
  /** Opens the peer's messages. */
  readonly receive: CipherState;
}

export class TransportChannel {
  readonly #limits: SessionLimits;
  readonly #startedAt: number;
  readonly #send: CipherState;
  readonly #receive: CipherState;
  #latest: number;
  #lastActivity: number;
  #sent = 0;
  #received = 0;
  #closedWith: WireErrorCode | undefined;
  #closed = false;

  /**
   * `startedAt` is when the session began (its lifetime counts from there), `now` when the
   * handshake ended (the idle timeout counts from there).
   */
  constructor(keys: TransportKeys, limits: SessionLimits, startedAt: number, now: number) {
    this.#send = keys.send;
    this.#receive = keys.receive;
    this.#limits = limits;
    this.#startedAt = startedAt;
    this.#latest = sessionNow(startedAt, now);
    this.#lastActivity = this.#latest;
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  /** The code that closed the channel; `undefined` while open or after a local `close()`. */
  get closedWith(): WireErrorCode | undefined {
    return this.#closedWith;
  }

  /** Messages sealed and opened so far. */
  get counts(): { readonly sent: number; readonly received: number } {
    return { sent: this.#sent, received: this.#received };
  }

  /**
   * When the channel times out if nothing happens: the earlier of the idle deadline and the end
   * of the lifetime; `undefined` once closed. The owner's scheduler calls `tick` then.
   */
  get deadline(): number | undefined {
    if (this.#closed) return undefined;
    return Math.min(
      this.#lastActivity + this.#limits.idleTimeoutMs,
      this.#startedAt + this.#limits.maxSessionMs,
    );
  }

  /** Closes the channel if a time limit has passed at `now`. */
  tick(now: number): Result<undefined> {
    return this.#admit(now) ?? OPENED;
  }

  /** Seals one message. Throws `RangeError` on a plaintext over 65519 bytes (a caller bug). */
  encrypt(plaintext: Uint8Array, now: number): Result<Uint8Array> {
    assertBytes(plaintext, 'transport plaintext');
    if (plaintext.length > MAX_TRANSPORT_PLAINTEXT_BYTES) {
      throw new RangeError(`transport plaintext over ${MAX_TRANSPORT_PLAINTEXT_BYTES} bytes`);
    }
    const refused = this.#admit(now);
    if (refused !== undefined) return refused;
    if (this.#sent >= this.#limits.maxMessagesPerDirection) {
      return this.#fail(SESSION_FAILURES.messageLimit);
    }
    const message = this.#send.encryptWithAd(EMPTY, plaintext);
    this.#sent++;
    this.#lastActivity = this.#latest;
    return ok(message);
  }

  /** Opens the next message from the peer; any failure closes the channel. */
  decrypt(message: Uint8Array, now: number): Result<Uint8Array> {
    const refused = this.#admit(now);
    if (refused !== undefined) return refused;
    if (this.#received >= this.#limits.maxMessagesPerDirection) {
      return this.#fail(SESSION_FAILURES.messageLimit);
    }
    if (message.length > NOISE_MAX_MESSAGE_BYTES) return this.#fail(SESSION_FAILURES.tooLarge);
    const plaintext = this.#receive.decryptWithAd(EMPTY, message);
    if (plaintext === undefined) return this.#fail(SESSION_FAILURES.decrypt);
    this.#received++;
    this.#lastActivity = this.#latest;
    return ok(plaintext);
  }

  /**
   * Ends the channel from this side (a disconnect, or `reason` when the owner saw a failure);
   * later calls get `UNEXPECTED`. Closing twice keeps the first reason.
   */
  close(reason?: WireErrorCode): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closedWith = reason;
  }

  /** `undefined` when a call may proceed at `now`; else the failure, closing if it is new. */
  #admit(now: number): Failure | undefined {
    if (this.#closed) return SESSION_FAILURES.closed;
    this.#latest = sessionNow(this.#latest, now);
    const idleAt = this.#lastActivity + this.#limits.idleTimeoutMs;
    const endAt = this.#startedAt + this.#limits.maxSessionMs;
    if (this.#latest < idleAt && this.#latest < endAt) return undefined;
    return this.#fail(endAt <= idleAt ? SESSION_FAILURES.lifetime : SESSION_FAILURES.idleTimeout);
  }

  #fail(failure: Failure): Failure {
    this.close(failure.code);
    return failure;
  }
}
