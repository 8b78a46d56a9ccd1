/**
 * The keyway session (ARCHITECTURE.md §4 "Session", `protocol/spec/session.md`): Noise XK
 * (`handshake-xk.ts`) between a phone (initiator) and a lock (responder), then a transport
 * channel (`transport.ts`), under the limits of `session-limits.ts`.
 *
 *     phone                                            lock
 *     -> e, es       payload: the chosen version, u8
 *                    <- e, ee       payload: the lock's nonce / status (opaque)
 *     -> s, se       payload: the phone's credential (opaque)
 *     <-> transport messages, each direction in order, each at most once
 *
 * Each side is a state machine with an explicit `state`. Every step takes the caller's `now` (ms)
 * and returns a `Result`; anything the peer sends can only make it fail, never throw. Any failure
 * closes the session for good and is remembered in `closedWith`; a call on a closed session
 * returns `UNEXPECTED` and changes nothing. Caller bugs throw: wrong key sizes, payloads over the
 * Noise limit, a `now` that is not a finite number. Failure details are short fixed strings.
 */
import { assertBytes, assertSize } from '../crypto/input-checks.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import type { WireErrorCode } from '../errors.js';
import { LOCK_ID_BYTES } from '../gatt.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import { DH_BYTES, XK_MAX_PAYLOAD_BYTES, XkInitiator, XkResponder } from './handshake-xk.js';
import type { KeyPair, XkTransportKeys } from './handshake-xk.js';
import {
  assertVersionList,
  chooseVersion,
  encodePrologue,
  isVersionList,
  SUPPORTED_VERSIONS,
} from './prologue.js';
import { resolveSessionLimits } from './session-limits.js';
import type { SessionLimits } from './session-limits.js';
import { SESSION_FAILURES, sessionNow, TransportChannel } from './transport.js';
import type { Failure } from './transport.js';

const BAD_VERSION_LIST = fail(WIRE_ERRORS.UNSUPPORTED_VERSION, 'session: bad version list');
const NO_COMMON_VERSION = fail(WIRE_ERRORS.UNSUPPORTED_VERSION, 'session: no common version');
const UNSUPPORTED = fail(WIRE_ERRORS.UNSUPPORTED_VERSION, 'session: unsupported version');

/**
 * What both sides share: the clock, the handshake deadline, the closed flag, and once the
 * handshake is over the transport channel, which then keeps time and closes itself.
 */
class SessionCore {
  readonly limits: SessionLimits;
  readonly startedAt: number;
  #latest: number;
  #closed = false;
  #closedWith: WireErrorCode | undefined;
  #channel: TransportChannel | undefined;
  #handshakeHash: Uint8Array | undefined;

  constructor(limits: Partial<SessionLimits> | undefined, now: number) {
    this.limits = resolveSessionLimits(limits);
    this.startedAt = sessionNow(now, now);
    this.#latest = this.startedAt;
  }

  get isOpen(): boolean {
    return this.#channel?.isOpen ?? false;
  }

  get isClosed(): boolean {
    return this.#channel === undefined ? this.#closed : !this.#channel.isOpen;
  }

  get closedWith(): WireErrorCode | undefined {
    return this.#channel === undefined ? this.#closedWith : this.#channel.closedWith;
  }

  get handshakeHash(): Uint8Array | undefined {
    return this.#handshakeHash;
  }

  get deadline(): number | undefined {
    if (this.#channel !== undefined) return this.#channel.deadline;
    if (this.#closed) return undefined;
    return this.startedAt + Math.min(this.limits.handshakeTimeoutMs, this.limits.maxSessionMs);
  }

  /**
   * Before a handshake step: `undefined` if it may run at `now` (`expected`: the session is in
   * the step's state), else the failure, which closes the session if it is new.
   */
  admitHandshake(now: number, expected: boolean): Failure | undefined {
    if (this.isClosed) return SESSION_FAILURES.closed;
    if (this.#channel !== undefined || !expected) return this.fail(SESSION_FAILURES.outOfOrder);
    return this.#checkHandshakeTime(now);
  }

  /** `admitHandshake` for a step that needs its handshake object (`undefined`: wrong state). */
  admitStep<H extends object>(now: number, handshake: H | undefined): H | Failure {
    if (this.isClosed) return SESSION_FAILURES.closed;
    if (this.#channel !== undefined || handshake === undefined) {
      return this.fail(SESSION_FAILURES.outOfOrder);
    }
    return this.#checkHandshakeTime(now) ?? handshake;
  }

  #checkHandshakeTime(now: number): Failure | undefined {
    this.#latest = sessionNow(this.#latest, now);
    const elapsed = this.#latest - this.startedAt;
    if (elapsed >= this.limits.maxSessionMs) return this.fail(SESSION_FAILURES.lifetime);
    if (elapsed >= this.limits.handshakeTimeoutMs) {
      return this.fail(SESSION_FAILURES.handshakeTimeout);
    }
    return undefined;
  }

  /** Closes the session with `failure` and returns it. */
  fail(failure: Failure): Failure {
    if (this.#channel !== undefined) {
      this.#channel.close(failure.code);
    } else if (!this.#closed) {
      this.#closed = true;
      this.#closedWith = failure.code;
    }
    return failure;
  }

  open(keys: XkTransportKeys): void {
    this.#handshakeHash = keys.handshakeHash;
    this.#channel = new TransportChannel(keys, this.limits, this.startedAt, this.#latest);
  }

  tick(now: number): Result<undefined> {
    if (this.#channel !== undefined) return this.#channel.tick(now);
    if (this.#closed) return SESSION_FAILURES.closed;
    return this.#checkHandshakeTime(now) ?? ok(undefined);
  }

  encrypt(plaintext: Uint8Array, now: number): Result<Uint8Array> {
    if (this.#channel !== undefined) return this.#channel.encrypt(plaintext, now);
    return this.isClosed ? SESSION_FAILURES.closed : this.fail(SESSION_FAILURES.outOfOrder);
  }

  decrypt(message: Uint8Array, now: number): Result<Uint8Array> {
    if (this.#channel !== undefined) return this.#channel.decrypt(message, now);
    return this.isClosed ? SESSION_FAILURES.closed : this.fail(SESSION_FAILURES.outOfOrder);
  }

  close(): void {
    if (this.#channel !== undefined) this.#channel.close();
    else this.#closed = true;
  }
}

/** Throws `RangeError` on a payload the Noise message cannot carry (a caller bug). */
function assertPayload(payload: Uint8Array, max: number, what: string): void {
  assertBytes(payload, what);
  if (payload.length > max) throw new RangeError(`${what} over ${max} bytes`);
}

function assertKeyPair(pair: KeyPair, what: string): void {
  assertSize(pair.publicKey, DH_BYTES, `${what} public key`);
  assertSize(pair.secretKey, DH_BYTES, `${what} secret key`);
}

/** What both sides offer once constructed: their limits, the transport, and closing. */
abstract class SessionEnd {
  protected readonly core: SessionCore;

  constructor(limits: Partial<SessionLimits> | undefined, now: number) {
    this.core = new SessionCore(limits, now);
  }

  /** The code that closed the session; `undefined` while not closed or after `close()`. */
  get closedWith(): WireErrorCode | undefined {
    return this.core.closedWith;
  }

  /** Noise's handshake hash, once open: unique to this session, for channel binding. */
  get handshakeHash(): Uint8Array | undefined {
    return this.core.handshakeHash;
  }

  /** When the session times out if nothing happens; `undefined` once closed. */
  get deadline(): number | undefined {
    return this.core.deadline;
  }

  get limits(): SessionLimits {
    return this.core.limits;
  }

  /** Seals a transport message to the other side. */
  encrypt(plaintext: Uint8Array, now: number): Result<Uint8Array> {
    return this.core.encrypt(plaintext, now);
  }

  /** Opens the other side's next transport message; any failure closes the session. */
  decrypt(message: Uint8Array, now: number): Result<Uint8Array> {
    return this.core.decrypt(message, now);
  }

  /** Closes the session if a limit has passed at `now` (call it at `deadline`). */
  tick(now: number): Result<undefined> {
    return this.core.tick(now);
  }

  /** Ends the session from this side (disconnect). */
  close(): void {
    this.core.close();
  }
}

export type PhoneSessionState =
  'start' | 'awaitingMessage2' | 'readyForMessage3' | 'open' | 'closed';

export interface PhoneSessionOptions {
  readonly crypto: CryptoProvider;
  /** The phone's static X25519 key pair, the one its credential names. */
  readonly phoneStaticKey: KeyPair;
  /** The lock's static public key, from the door directory (never from the air). */
  readonly lockStaticKey: Uint8Array;
  /** The lock id, 16 bytes, as the phone expects it (directory or scan response). */
  readonly lockId: Uint8Array;
  /**
   * The versions the lock says it speaks, as read from its `info` value: they go into the
   * prologue as read. Unchecked here, since they come off the air: a list that is not 1..8
   * ascending versions in 1..255 fails `writeMessage1` with `UNSUPPORTED_VERSION`.
   */
  readonly lockVersions: readonly number[];
  /** The versions the phone speaks, ascending; default `SUPPORTED_VERSIONS`. */
  readonly versions?: readonly number[];
  readonly limits?: Partial<SessionLimits>;
  /** When the session starts (ms); the handshake timeout counts from here. */
  readonly now: number;
}

/** The phone's side: the Noise XK initiator. */
export class PhoneSession extends SessionEnd {
  readonly #crypto: CryptoProvider;
  readonly #staticKey: KeyPair;
  readonly #lockStaticKey: Uint8Array;
  readonly #lockId: Uint8Array;
  readonly #lockVersions: readonly number[];
  readonly #versions: readonly number[];
  #step: 'start' | 'awaitingMessage2' | 'readyForMessage3' = 'start';
  #handshake: XkInitiator | undefined;
  #version: number | undefined;

  constructor(options: PhoneSessionOptions) {
    assertKeyPair(options.phoneStaticKey, 'phone static');
    assertSize(options.lockStaticKey, DH_BYTES, 'lock static key');
    assertSize(options.lockId, LOCK_ID_BYTES, 'lock id');
    const versions = options.versions ?? SUPPORTED_VERSIONS;
    assertVersionList(versions, 'versions');
    super(options.limits, options.now);
    this.#crypto = options.crypto;
    this.#staticKey = options.phoneStaticKey;
    this.#lockStaticKey = options.lockStaticKey.slice();
    this.#lockId = options.lockId.slice();
    this.#lockVersions = Array.from(options.lockVersions);
    this.#versions = Array.from(versions);
  }

  get state(): PhoneSessionState {
    if (this.core.isClosed) return 'closed';
    return this.core.isOpen ? 'open' : this.#step;
  }

  /** The version proposed in message 1. */
  get version(): number | undefined {
    return this.#version;
  }

  /** Message 1: proposes the highest version both sides speak. */
  writeMessage1(now: number): Result<Uint8Array> {
    const refused = this.core.admitHandshake(now, this.#step === 'start');
    if (refused !== undefined) return refused;
    if (!isVersionList(this.#lockVersions)) return this.core.fail(BAD_VERSION_LIST);
    const version = chooseVersion(this.#lockVersions, this.#versions);
    if (version === undefined) return this.core.fail(NO_COMMON_VERSION);
    const handshake = new XkInitiator({
      crypto: this.#crypto,
      prologue: encodePrologue(this.#lockVersions, this.#lockId),
      staticKeyPair: this.#staticKey,
      remoteStaticKey: this.#lockStaticKey,
    });
    const message = handshake.writeMessage1(Uint8Array.of(version));
    if (!message.ok) return this.core.fail(message);
    this.#handshake = handshake;
    this.#version = version;
    this.#step = 'awaitingMessage2';
    return message;
  }

  /** Message 2: returns the lock's payload (its nonce / status), opaque here. */
  readMessage2(message: Uint8Array, now: number): Result<Uint8Array> {
    const handshake = this.core.admitStep(now, this.#handshakeIn('awaitingMessage2'));
    if (!(handshake instanceof XkInitiator)) return handshake;
    const payload = handshake.readMessage2(message);
    if (!payload.ok) return this.core.fail(payload);
    this.#step = 'readyForMessage3';
    return payload;
  }

  /** Message 3: carries the phone's static key and `credential`; the session is then open. */
  writeMessage3(credential: Uint8Array, now: number): Result<Uint8Array> {
    assertPayload(credential, XK_MAX_PAYLOAD_BYTES.message3, 'credential');
    const handshake = this.core.admitStep(now, this.#handshakeIn('readyForMessage3'));
    if (!(handshake instanceof XkInitiator)) return handshake;
    const done = handshake.writeMessage3(credential);
    this.#handshake = undefined;
    if (!done.ok) return this.core.fail(done);
    this.core.open(done.value);
    return ok(done.value.message);
  }

  override close(): void {
    this.#handshake = undefined;
    super.close();
  }

  #handshakeIn(step: PhoneSession['state']): XkInitiator | undefined {
    return this.#step === step ? this.#handshake : undefined;
  }
}

export type LockSessionState =
  'awaitingMessage1' | 'readyForMessage2' | 'awaitingMessage3' | 'open' | 'closed';

export interface LockSessionOptions {
  readonly crypto: CryptoProvider;
  /** The lock's static X25519 key pair. */
  readonly lockStaticKey: KeyPair;
  /** This lock's id, 16 bytes. */
  readonly lockId: Uint8Array;
  /**
   * The versions this lock speaks, ascending, as its `info` value says; default
   * `SUPPORTED_VERSIONS`.
   */
  readonly versions?: readonly number[];
  readonly limits?: Partial<SessionLimits>;
  /** When the connection starts (ms); the handshake timeout counts from here. */
  readonly now: number;
}

/** What the lock learns from message 3. */
export interface PhoneHello {
  /** The phone's static public key, authenticated by the handshake. */
  readonly phoneStaticKey: Uint8Array;
  /** Message 3's payload, for the credential check (opaque here). */
  readonly credential: Uint8Array;
}

/** The lock's side: the Noise XK responder. */
export class LockSession extends SessionEnd {
  readonly #versions: readonly number[];
  #step: 'awaitingMessage1' | 'readyForMessage2' | 'awaitingMessage3' = 'awaitingMessage1';
  readonly #handshake: XkResponder;
  #version: number | undefined;
  #phone: PhoneHello | undefined;

  constructor(options: LockSessionOptions) {
    assertKeyPair(options.lockStaticKey, 'lock static');
    const versions = options.versions ?? SUPPORTED_VERSIONS;
    assertVersionList(versions, 'versions');
    super(options.limits, options.now);
    this.#versions = Array.from(versions);
    this.#handshake = new XkResponder({
      crypto: options.crypto,
      prologue: encodePrologue(this.#versions, options.lockId),
      staticKeyPair: options.lockStaticKey,
    });
  }

  get state(): LockSessionState {
    if (this.core.isClosed) return 'closed';
    return this.core.isOpen ? 'open' : this.#step;
  }

  /** The version the phone proposed and the lock accepted. */
  get version(): number | undefined {
    return this.#version;
  }

  /** The phone's authenticated static key and credential, once message 3 is read. */
  get phone(): PhoneHello | undefined {
    return this.#phone;
  }

  /** Message 1: returns the version the phone proposed, one this lock speaks. */
  readMessage1(message: Uint8Array, now: number): Result<number> {
    const handshake = this.core.admitStep(now, this.#handshakeIn('awaitingMessage1'));
    if (!(handshake instanceof XkResponder)) return handshake;
    const payload = handshake.readMessage1(message);
    if (!payload.ok) return this.core.fail(payload);
    const version = payload.value[0];
    if (payload.value.length !== 1 || version === undefined || !this.#versions.includes(version)) {
      return this.core.fail(UNSUPPORTED);
    }
    this.#version = version;
    this.#step = 'readyForMessage2';
    return ok(version);
  }

  /** Message 2, carrying `payload` (the lock's nonce / status, opaque here). */
  writeMessage2(payload: Uint8Array, now: number): Result<Uint8Array> {
    assertPayload(payload, XK_MAX_PAYLOAD_BYTES.message2, 'message 2 payload');
    const handshake = this.core.admitStep(now, this.#handshakeIn('readyForMessage2'));
    if (!(handshake instanceof XkResponder)) return handshake;
    const message = handshake.writeMessage2(payload);
    if (!message.ok) return this.core.fail(message);
    this.#step = 'awaitingMessage3';
    return message;
  }

  /**
   * Message 3: returns the phone's authenticated static key and credential; the session is
   * then open.
   */
  readMessage3(message: Uint8Array, now: number): Result<PhoneHello> {
    const handshake = this.core.admitStep(now, this.#handshakeIn('awaitingMessage3'));
    if (!(handshake instanceof XkResponder)) return handshake;
    const done = handshake.readMessage3(message);
    if (!done.ok) return this.core.fail(done);
    this.#phone = Object.freeze({
      phoneStaticKey: done.value.remoteStaticKey,
      credential: done.value.payload,
    });
    this.core.open(done.value);
    return ok(this.#phone);
  }

  #handshakeIn(step: LockSession['state']): XkResponder | undefined {
    return this.#step === step ? this.#handshake : undefined;
  }
}
