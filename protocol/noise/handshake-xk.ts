/**
 * Noise Protocol Framework rev 34 §5.3 HandshakeState, written out for the one pattern keyway
 * uses, §7.5 XK, with DH = 25519 (§12.1), cipher ChaChaPoly (§12.3), hash SHA-256 (§12.5):
 *
 *     XK:
 *       <- s
 *       ...
 *       -> e, es
 *       <- e, ee
 *       -> s, se
 *
 * The initiator knows the responder's static key beforehand; the responder learns the
 * initiator's static key, encrypted, in message 3. Each side is a one-shot object whose methods
 * must be called in pattern order; a method returns a `Result` for anything the peer controls and
 * throws only on caller bugs (wrong order, wrong key sizes, a payload over §3's 65535 bytes).
 * After a failure the object is spent, as §5.3 requires of a failed handshake.
 */
import { assertBytes, assertSize } from '../crypto/input-checks.js';
import { AEAD_TAG_BYTES, X25519_KEY_BYTES } from '../crypto/provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import type { CipherState } from './cipher-state.js';
import { SymmetricState } from './symmetric-state.js';

export const NOISE_XK_PROTOCOL_NAME = 'Noise_XK_25519_ChaChaPoly_SHA256';
/** §3: every Noise message, handshake or transport, is at most 65535 bytes. */
export const NOISE_MAX_MESSAGE_BYTES = 65535;
/** §12.1: DHLEN for 25519. */
export const DH_BYTES = X25519_KEY_BYTES;

/** Message 1 is `e ‖ payload ciphertext`; message 2 the same. */
const E_MESSAGE_OVERHEAD = DH_BYTES + AEAD_TAG_BYTES;
/** Message 3 is `encrypted s ‖ payload ciphertext`. */
const S_MESSAGE_OVERHEAD = DH_BYTES + 2 * AEAD_TAG_BYTES;
/** The largest payloads that keep each message within §3's limit. */
export const XK_MAX_PAYLOAD_BYTES = {
  message1: NOISE_MAX_MESSAGE_BYTES - E_MESSAGE_OVERHEAD,
  message2: NOISE_MAX_MESSAGE_BYTES - E_MESSAGE_OVERHEAD,
  message3: NOISE_MAX_MESSAGE_BYTES - S_MESSAGE_OVERHEAD,
} as const;

const PROTOCOL_NAME_BYTES = new TextEncoder().encode(NOISE_XK_PROTOCOL_NAME);

/** An X25519 key pair (§4.1 GENERATE_KEYPAIR). The caller vouches that the two match. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** §4.1 GENERATE_KEYPAIR from the provider's injected randomness. */
export function generateKeyPair(crypto: CryptoProvider): KeyPair {
  const secretKey = crypto.randomBytes(DH_BYTES);
  return { publicKey: crypto.x25519PublicKey(secretKey), secretKey };
}

/** The transport half of a finished handshake (§5.2 Split), seen from one side. */
export interface XkTransportKeys {
  /** Seals this side's transport messages. */
  readonly send: CipherState;
  /** Opens the peer's transport messages. */
  readonly receive: CipherState;
  /** §5.2 GetHandshakeHash(): unique to this handshake, usable for channel binding (§11.2). */
  readonly handshakeHash: Uint8Array;
}

interface XkOptions {
  readonly crypto: CryptoProvider;
  /** §6: bytes both sides must agree on, mixed into `h` before the first message. */
  readonly prologue: Uint8Array;
  readonly staticKeyPair: KeyPair;
  /**
   * A fixed ephemeral secret key, for known-answer tests only: a real handshake MUST draw a
   * fresh one (the default, from `crypto.randomBytes`).
   */
  readonly ephemeralSecretKey?: Uint8Array;
}

export interface XkInitiatorOptions extends XkOptions {
  /** The responder's static public key, the pre-message `<- s`. */
  readonly remoteStaticKey: Uint8Array;
}

export type XkResponderOptions = XkOptions;

type Failure = Extract<Result<never>, { readonly ok: false }>;

const BAD_LENGTH: Failure = fail(WIRE_ERRORS.FAILED, 'handshake: message length');
/** SECURITY.md 9: a low-order key gives the generic failure, nothing more specific. */
const BAD_KEY: Failure = fail(WIRE_ERRORS.FAILED, 'handshake: invalid key');
const BAD_TAG: Failure = fail(WIRE_ERRORS.AUTH_FAILED, 'handshake: decryption failed');

function assertKeyPair(pair: KeyPair, what: string): void {
  assertSize(pair.publicKey, DH_BYTES, `${what} public key`);
  assertSize(pair.secretKey, DH_BYTES, `${what} secret key`);
}

function assertPayload(payload: Uint8Array, max: number): void {
  assertBytes(payload, 'handshake payload');
  if (payload.length > max) throw new RangeError(`handshake payload over ${max} bytes`);
}

/** The ephemeral key pair of one handshake: the injected one, or a fresh one. */
function ephemeral(crypto: CryptoProvider, fixed: Uint8Array | undefined): KeyPair {
  if (fixed === undefined) return generateKeyPair(crypto);
  return { publicKey: crypto.x25519PublicKey(fixed), secretKey: fixed };
}

/** `e ‖ ciphertext` in one allocation. */
function concat(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

/**
 * §5.3 Initialize(): InitializeSymmetric(protocol_name), MixHash(prologue), then the pre-message
 * `<- s`, which both sides hash as the responder's static public key.
 */
function initialize(options: XkOptions, responderStatic: Uint8Array): SymmetricState {
  assertKeyPair(options.staticKeyPair, 'static');
  if (options.ephemeralSecretKey !== undefined) {
    assertSize(options.ephemeralSecretKey, DH_BYTES, 'ephemeral secret key');
  }
  assertBytes(options.prologue, 'prologue');
  const symmetric = new SymmetricState(options.crypto, PROTOCOL_NAME_BYTES);
  symmetric.mixHash(options.prologue);
  symmetric.mixHash(responderStatic);
  return symmetric;
}

/** The step each side expects next; `done` once split or failed. */
type Step = 1 | 2 | 3 | 'done';

function assertStep(actual: Step, expected: Step, method: string): void {
  if (actual !== expected) throw new Error(`Noise XK: ${method} called out of order`);
}

/** The initiator of §7.5 XK (in keyway, the phone). */
export class XkInitiator {
  readonly #crypto: CryptoProvider;
  readonly #symmetric: SymmetricState;
  readonly #s: KeyPair;
  readonly #rs: Uint8Array;
  readonly #fixedEphemeral: Uint8Array | undefined;
  #e: KeyPair | undefined;
  #re: Uint8Array | undefined;
  #step: Step = 1;

  constructor(options: XkInitiatorOptions) {
    assertSize(options.remoteStaticKey, DH_BYTES, 'remote static key');
    this.#symmetric = initialize(options, options.remoteStaticKey);
    this.#crypto = options.crypto;
    this.#s = options.staticKeyPair;
    this.#rs = options.remoteStaticKey;
    this.#fixedEphemeral = options.ephemeralSecretKey;
  }

  /** `-> e, es` then the payload. Fails (generically) only if the responder's key is low-order. */
  writeMessage1(payload: Uint8Array): Result<Uint8Array> {
    assertStep(this.#step, 1, 'writeMessage1');
    assertPayload(payload, XK_MAX_PAYLOAD_BYTES.message1);
    this.#step = 'done';
    const e = ephemeral(this.#crypto, this.#fixedEphemeral);
    this.#e = e;
    this.#symmetric.mixHash(e.publicKey);
    const es = this.#crypto.x25519(e.secretKey, this.#rs);
    if (es === undefined) return BAD_KEY;
    this.#symmetric.mixKey(es);
    const message = concat(e.publicKey, this.#symmetric.encryptAndHash(payload));
    this.#step = 2;
    return ok(message);
  }

  /** `<- e, ee` then the payload, which is returned. */
  readMessage2(message: Uint8Array): Result<Uint8Array> {
    assertStep(this.#step, 2, 'readMessage2');
    this.#step = 'done';
    if (message.length < E_MESSAGE_OVERHEAD || message.length > NOISE_MAX_MESSAGE_BYTES) {
      return BAD_LENGTH;
    }
    const e = this.#e;
    if (e === undefined) throw new Error('Noise XK: no ephemeral key');
    const re = message.slice(0, DH_BYTES);
    this.#re = re;
    this.#symmetric.mixHash(re);
    const ee = this.#crypto.x25519(e.secretKey, re);
    if (ee === undefined) return BAD_KEY;
    this.#symmetric.mixKey(ee);
    const payload = this.#symmetric.decryptAndHash(message.subarray(DH_BYTES));
    if (payload === undefined) return BAD_TAG;
    this.#step = 3;
    return ok(payload);
  }

  /** `-> s, se` then the payload; the handshake is then over and split into transport keys. */
  writeMessage3(payload: Uint8Array): Result<XkTransportKeys & { readonly message: Uint8Array }> {
    assertStep(this.#step, 3, 'writeMessage3');
    assertPayload(payload, XK_MAX_PAYLOAD_BYTES.message3);
    this.#step = 'done';
    const re = this.#re;
    if (re === undefined) throw new Error('Noise XK: no remote ephemeral key');
    const encryptedStatic = this.#symmetric.encryptAndHash(this.#s.publicKey);
    const se = this.#crypto.x25519(this.#s.secretKey, re);
    if (se === undefined) return BAD_KEY;
    this.#symmetric.mixKey(se);
    const message = concat(encryptedStatic, this.#symmetric.encryptAndHash(payload));
    const [initiatorToResponder, responderToInitiator] = this.#symmetric.split();
    this.#e = undefined;
    return ok({
      message,
      send: initiatorToResponder,
      receive: responderToInitiator,
      handshakeHash: this.#symmetric.handshakeHash,
    });
  }
}

/** The responder of §7.5 XK (in keyway, the lock). */
export class XkResponder {
  readonly #crypto: CryptoProvider;
  readonly #symmetric: SymmetricState;
  readonly #s: KeyPair;
  readonly #fixedEphemeral: Uint8Array | undefined;
  #e: KeyPair | undefined;
  #re: Uint8Array | undefined;
  #step: Step = 1;

  constructor(options: XkResponderOptions) {
    this.#symmetric = initialize(options, options.staticKeyPair.publicKey);
    this.#crypto = options.crypto;
    this.#s = options.staticKeyPair;
    this.#fixedEphemeral = options.ephemeralSecretKey;
  }

  /** `-> e, es` then the payload, which is returned. */
  readMessage1(message: Uint8Array): Result<Uint8Array> {
    assertStep(this.#step, 1, 'readMessage1');
    this.#step = 'done';
    if (message.length < E_MESSAGE_OVERHEAD || message.length > NOISE_MAX_MESSAGE_BYTES) {
      return BAD_LENGTH;
    }
    const re = message.slice(0, DH_BYTES);
    this.#re = re;
    this.#symmetric.mixHash(re);
    const es = this.#crypto.x25519(this.#s.secretKey, re);
    if (es === undefined) return BAD_KEY;
    this.#symmetric.mixKey(es);
    const payload = this.#symmetric.decryptAndHash(message.subarray(DH_BYTES));
    if (payload === undefined) return BAD_TAG;
    this.#step = 2;
    return ok(payload);
  }

  /** `<- e, ee` then the payload. */
  writeMessage2(payload: Uint8Array): Result<Uint8Array> {
    assertStep(this.#step, 2, 'writeMessage2');
    assertPayload(payload, XK_MAX_PAYLOAD_BYTES.message2);
    this.#step = 'done';
    const re = this.#re;
    if (re === undefined) throw new Error('Noise XK: no remote ephemeral key');
    const e = ephemeral(this.#crypto, this.#fixedEphemeral);
    this.#e = e;
    this.#symmetric.mixHash(e.publicKey);
    // Checked on message 1 (es with the same re), so never undefined here.
    const ee = this.#crypto.x25519(e.secretKey, re);
    if (ee === undefined) return BAD_KEY;
    this.#symmetric.mixKey(ee);
    const message = concat(e.publicKey, this.#symmetric.encryptAndHash(payload));
    this.#step = 3;
    return ok(message);
  }

  /**
   * `-> s, se` then the payload: returns the initiator's authenticated static key, the payload,
   * and the transport keys.
   */
  readMessage3(
    message: Uint8Array,
  ): Result<
    XkTransportKeys & { readonly payload: Uint8Array; readonly remoteStaticKey: Uint8Array }
  > {
    assertStep(this.#step, 3, 'readMessage3');
    this.#step = 'done';
    if (message.length < S_MESSAGE_OVERHEAD || message.length > NOISE_MAX_MESSAGE_BYTES) {
      return BAD_LENGTH;
    }
    const e = this.#e;
    if (e === undefined) throw new Error('Noise XK: no ephemeral key');
    const rs = this.#symmetric.decryptAndHash(message.subarray(0, DH_BYTES + AEAD_TAG_BYTES));
    if (rs === undefined) return BAD_TAG;
    const se = this.#crypto.x25519(e.secretKey, rs);
    if (se === undefined) return BAD_KEY;
    this.#symmetric.mixKey(se);
    const payload = this.#symmetric.decryptAndHash(message.subarray(DH_BYTES + AEAD_TAG_BYTES));
    if (payload === undefined) return BAD_TAG;
    const [initiatorToResponder, responderToInitiator] = this.#symmetric.split();
    this.#e = undefined;
    return ok({
      payload,
      remoteStaticKey: rs,
      send: responderToInitiator,
      receive: initiatorToResponder,
      handshakeHash: this.#symmetric.handshakeHash,
    });
  }
}
