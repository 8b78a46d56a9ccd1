/**
 * One connection from the phone to a lock, at the protocol level (ARCHITECTURE.md §4 "Frames",
 * "Session", "Messages"; `protocol/spec/session.md`): the phone's end of what
 * `firmware-sim/ble-server.ts` is for the lock. It knows the wire, not the unlock's policy,
 * which is `phone.ts`'s.
 *
 * - Frames: each message is cut with `fragment` at the connection's negotiated MTU and written
 *   to `rx` one fragment at a time; notifications go through one `Reassembler`.
 * - Session: Noise XK as the initiator (`PhoneSession`), with the lock's static key from the
 *   door directory. Message 2's payload is the lock's `status-response` (id 0); message 3
 *   carries the credential. The lock answers message 3 with nothing: the first request's
 *   response is the first word after it.
 * - Refusals (§7.1): until a transport message from the lock has authenticated, every message
 *   goes through `decodeRefusal` first, since the lock may turn the phone away (`BUSY` in place
 *   of message 2, `FAILED` in place of the first response when it did not admit the credential).
 * - Requests carry ids from 1; a response must echo its request's id and be of the matching
 *   type, or be an `error` for it.
 *
 * Every wait has the step's timeout and the run's cancel signal (`step-timing.ts`); failures are
 * values (`LinkFailure`), and any failure leaves the link unusable: the caller closes it.
 */
import { decodeRefusal } from '../../protocol/ble-refusal.js';
import type { RefusalCode } from '../../protocol/ble-refusal.js';
import type { CryptoProvider } from '../../protocol/crypto/provider.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import type { WireErrorCode } from '../../protocol/errors.js';
import { fragment } from '../../protocol/frame-codec.js';
import { decodeMessage, encodeMessage } from '../../protocol/messages.js';
import type { MessageBody } from '../../protocol/messages.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import { PhoneSession } from '../../protocol/noise/session.js';
import { Reassembler } from '../../protocol/reassembler.js';
import type { CentralTransport, GattConnection } from '../transport/types.js';
import type { DoorEntry } from './cloud-api.js';
import { within } from './step-timing.js';
import type { CancelSignal } from './step-timing.js';

/** Each request the phone sends and the response it expects. */
const RESPONSE_TO = {
  'status-request': 'status-response',
  'unlock-request': 'unlock-response',
  'lock-request': 'lock-response',
  'time-sync-request': 'time-sync-response',
  'sync-push-request': 'sync-push-response',
  'audit-pull-request': 'audit-pull-response',
} as const;

export type LinkRequest = keyof typeof RESPONSE_TO;
export type LinkResponse<T extends LinkRequest> = MessageBody<(typeof RESPONSE_TO)[T]>;
export type LockStatusReport = MessageBody<'status-response'>;

/**
 * Why a link step failed: `refused` (the lock's two-byte refusal), `disconnected`, `timeout`,
 * `canceled`; `handshake` when message 2 did not authenticate (the lock is not the one the
 * directory names, or the bytes were damaged); `error` when the lock answered a request with an
 * `error` message; `protocol` for anything else that broke the frame, session or message rules.
 */
export type LinkFailure =
  | { readonly kind: 'refused'; readonly code: RefusalCode }
  | { readonly kind: 'disconnected' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'canceled' }
  | { readonly kind: 'handshake'; readonly code: WireErrorCode }
  | { readonly kind: 'error'; readonly code: number }
  | { readonly kind: 'protocol'; readonly code: WireErrorCode; readonly detail?: string };

export type LinkResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: LinkFailure };

const DISCONNECTED: LinkResult<never> = { ok: false, failure: { kind: 'disconnected' } };
const TIMED_OUT: LinkResult<never> = { ok: false, failure: { kind: 'timeout' } };
const CANCELED: LinkResult<never> = { ok: false, failure: { kind: 'canceled' } };

function broken(code: WireErrorCode, detail?: string): LinkResult<never> {
  const failure: LinkFailure =
    detail === undefined ? { kind: 'protocol', code } : { kind: 'protocol', code, detail };
  return { ok: false, failure };
}

export interface LockLinkOptions {
  readonly connection: GattConnection;
  readonly transport: CentralTransport;
  /** The phone's crypto: Noise's ephemeral keys come from its randomness. */
  readonly crypto: CryptoProvider;
  readonly signal: CancelSignal;
  /** How long the lock may take to answer one message, ms. */
  readonly responseTimeoutMs: number;
}

export class LockLink {
  readonly #connection: GattConnection;
  readonly #transport: CentralTransport;
  readonly #crypto: CryptoProvider;
  readonly #signal: CancelSignal;
  readonly #timeoutMs: number;
  readonly #reassembler = new Reassembler();
  readonly #inbox: Uint8Array[] = [];
  #frameFailure: WireErrorCode | undefined;
  #disconnected = false;
  #wake: (() => void) | undefined;
  #session: PhoneSession | undefined;
  /** True once a transport message from the lock opened: no refusal can follow. */
  #authenticated = false;
  #nextId = 1;

  constructor(options: LockLinkOptions) {
    this.#connection = options.connection;
    this.#transport = options.transport;
    this.#crypto = options.crypto;
    this.#signal = options.signal;
    this.#timeoutMs = options.responseTimeoutMs;
    this.#connection.onNotify((value) => this.#notified(value));
    this.#connection.onDisconnect(() => {
      this.#disconnected = true;
      this.#wakeReader();
    });
  }

  /**
   * Noise XK with the lock `door` names, sending `credential` in message 3. Returns the status
   * message 2 carried (sync version, audit head and tail, the session nonce).
   */
  async handshake(
    door: DoorEntry,
    lockVersions: readonly number[],
    staticKey: KeyPair,
    credential: Uint8Array,
  ): Promise<LinkResult<LockStatusReport>> {
    const started = this.#transport.now();
    const session = new PhoneSession({
      crypto: this.#crypto,
      phoneStaticKey: staticKey,
      lockStaticKey: door.staticPublicKey,
      lockId: door.lockId,
      lockVersions,
      now: started,
    });
    this.#session = session;
    const message1 = session.writeMessage1(started);
    if (!message1.ok) return broken(message1.code, message1.detail);
    const sent = await this.#send(message1.value);
    if (!sent.ok) return sent;
    const message2 = await this.#receive();
    if (!message2.ok) return message2;
    const payload = session.readMessage2(message2.value, this.#transport.now());
    if (!payload.ok) return { ok: false, failure: { kind: 'handshake', code: payload.code } };
    const status = decodeMessage(payload.value);
    if (!status.ok) return broken(status.code, status.detail);
    if (status.value.type !== 'status-response') {
      return broken(WIRE_ERRORS.UNEXPECTED, 'message 2: not a status');
    }
    const message3 = session.writeMessage3(credential, this.#transport.now());
    if (!message3.ok) return broken(message3.code, message3.detail);
    const sent3 = await this.#send(message3.value);
    return sent3.ok ? { ok: true, value: status.value.body } : sent3;
  }

  /** One request and its response; the lock's `error` answer is an `error` failure. */
  async request<T extends LinkRequest>(
    type: T,
    body: MessageBody<T>,
  ): Promise<LinkResult<LinkResponse<T>>> {
    const session = this.#session;
    if (session?.state !== 'open') return broken(WIRE_ERRORS.UNEXPECTED, 'link: no open session');
    const id = this.#nextId++;
    const plaintext = encodeMessage({ type, id, body } as Parameters<typeof encodeMessage>[0]);
    const sealed = session.encrypt(plaintext, this.#transport.now());
    if (!sealed.ok) return broken(sealed.code, sealed.detail);
    const sent = await this.#send(sealed.value);
    if (!sent.ok) return sent;
    const received = await this.#receive();
    if (!received.ok) return received;
    const opened = session.decrypt(received.value, this.#transport.now());
    if (!opened.ok) return broken(opened.code, opened.detail);
    this.#authenticated = true;
    const response = decodeMessage(opened.value);
    if (!response.ok) return broken(response.code, response.detail);
    const message = response.value;
    if (message.id !== id) return broken(WIRE_ERRORS.UNEXPECTED, 'response: another id');
    if (message.type === 'error')
      return { ok: false, failure: { kind: 'error', code: message.body.code } };
    if (message.type !== RESPONSE_TO[type]) {
      return broken(WIRE_ERRORS.UNEXPECTED, `response: ${message.type} to ${type}`);
    }
    return { ok: true, value: message.body as LinkResponse<T> };
  }

  /** Ends the session and disconnects (bounded by the response timeout; never fails). */
  async close(): Promise<void> {
    this.#session?.close();
    if (this.#disconnected) return;
    this.#disconnected = true;
    // Whatever comes of it (a link the radio already lost, a run canceled meanwhile), the link
    // is gone from the phone's side.
    await within(this.#connection.disconnect(), this.#timeoutMs, this.#transport, this.#signal);
  }

  #notified(value: Uint8Array): void {
    const pushed = this.#reassembler.push(value, this.#transport.now());
    if (!pushed.ok) this.#frameFailure ??= pushed.code;
    else if (pushed.value !== undefined) this.#inbox.push(pushed.value);
    else return;
    this.#wakeReader();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #send(message: Uint8Array): Promise<LinkResult<undefined>> {
    for (const piece of fragment(message, this.#connection.mtu)) {
      if (this.#disconnected) return DISCONNECTED;
      const written = await within(
        this.#connection.write(piece),
        this.#timeoutMs,
        this.#transport,
        this.#signal,
      );
      if (written.kind === 'canceled') return CANCELED;
      if (written.kind === 'timeout') return TIMED_OUT;
      if (written.kind === 'error') return DISCONNECTED;
    }
    return { ok: true, value: undefined };
  }

  /** The lock's next whole message, refusals sorted out while unauthenticated. */
  async #receive(): Promise<LinkResult<Uint8Array>> {
    const deadline = this.#transport.now() + this.#timeoutMs;
    for (;;) {
      const message = this.#inbox.shift();
      if (message !== undefined) return this.#screen(message);
      if (this.#frameFailure !== undefined) return broken(this.#frameFailure, 'link: bad frame');
      if (this.#disconnected) return DISCONNECTED;
      const left = deadline - this.#transport.now();
      if (left <= 0) return TIMED_OUT;
      const arrival = new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      const waited = await within(arrival, left, this.#transport, this.#signal);
      if (waited.kind === 'canceled') return CANCELED;
      if (waited.kind === 'timeout') return TIMED_OUT;
    }
  }

  #screen(message: Uint8Array): LinkResult<Uint8Array> {
    if (this.#authenticated) return { ok: true, value: message };
    const refusal = decodeRefusal(message);
    if (!refusal.ok) return broken(refusal.code, refusal.detail);
    if (refusal.value !== undefined)
      return { ok: false, failure: { kind: 'refused', code: refusal.value } };
    return { ok: true, value: message };
  }
}
