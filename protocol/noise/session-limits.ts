/**
 * The limits of one keyway session (SECURITY.md 5 and 14), checked against the `now` (ms) the
 * caller passes on every call. A session past any of them is closed: the handshake and idle
 * timeouts give `TIMEOUT`, the lifetime and message count `SESSION_LIMIT`.
 */

export interface SessionLimits {
  /** From the session's creation to the end of the handshake (message 3 sent or read). */
  readonly handshakeTimeoutMs: number;
  /** The longest gap between two transport messages (sent or received) once open. */
  readonly idleTimeoutMs: number;
  /** From the session's creation to its end, however busy. */
  readonly maxSessionMs: number;
  /** Transport messages in each direction; the next one closes the session. */
  readonly maxMessagesPerDirection: number;
}

/**
 * An unlock with a passive sync is a handful of messages within seconds. Three handshake messages
 * of a few hundred bytes take well under a second even at the smallest MTU, so 10 s is generous
 * yet frees a lock from a phone that never finishes (SECURITY.md 5); two minutes carry a sync
 * bundle of several KiB each way on a slow link.
 */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxSessionMs: 120_000,
  maxMessagesPerDirection: 1024,
});

/**
 * The largest message limit accepted: far below the 2^53 − 1 where a CipherState stops, and the
 * 2^64 − 1 of Noise rev 34 §5.1, so no counter ever comes near wrapping (SECURITY.md 14).
 */
export const MAX_MESSAGES_PER_DIRECTION = 2 ** 32;

const MAX_DURATION_MS = 2 ** 31;

function assertPositive(value: number, max: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${what}: expected an integer in 1..${max}`);
  }
}

/** The defaults with `overrides` applied; throws `RangeError` on a value out of range. */
export function resolveSessionLimits(overrides: Partial<SessionLimits> = {}): SessionLimits {
  const limits = { ...DEFAULT_SESSION_LIMITS, ...overrides };
  assertPositive(limits.handshakeTimeoutMs, MAX_DURATION_MS, 'handshakeTimeoutMs');
  assertPositive(limits.idleTimeoutMs, MAX_DURATION_MS, 'idleTimeoutMs');
  assertPositive(limits.maxSessionMs, MAX_DURATION_MS, 'maxSessionMs');
  assertPositive(
    limits.maxMessagesPerDirection,
    MAX_MESSAGES_PER_DIRECTION,
    'maxMessagesPerDirection',
  );
  return Object.freeze(limits);
}
