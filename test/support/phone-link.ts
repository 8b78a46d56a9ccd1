// A phone at full fidelity for World tests (ARCHITECTURE.md §4 "Frames", "Session", §7): one BLE
// link to one hosted Lock, with a real PhoneSession (Noise XK), the frame codec both ways and the
// refusal check of protocol/spec/session.md §7.1. It drives `lock.connect` / `write` / `disconnect`
// through `world.withLock`, one ATT write per call, and takes what the lock notifies on the
// World's scheduler rather than inside the lock's call: the BLE server must not be re-entered from
// `notify` or `close` (firmware-sim/ble-server.ts), and a phone reacting on the spot would do so.
import type { BleLink } from '../../firmware-sim/ble-server.js';
import { decodeRefusal } from '../../protocol/ble-refusal.js';
import type { RefusalCode } from '../../protocol/ble-refusal.js';
import type { CryptoProvider } from '../../protocol/crypto/provider.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import type { WireErrorCode } from '../../protocol/errors.js';
import { fragment } from '../../protocol/frame-codec.js';
import { decodeMessage, encodeMessage, syncPushChunks } from '../../protocol/messages.js';
import type { Message, MessageBody, MessageType } from '../../protocol/messages.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import { SUPPORTED_VERSIONS } from '../../protocol/noise/prologue.js';
import type { SessionLimits } from '../../protocol/noise/session-limits.js';
import { PhoneSession } from '../../protocol/noise/session.js';
import { Reassembler } from '../../protocol/reassembler.js';
import { fail, ok } from '../../protocol/result.js';
import type { Result } from '../../protocol/result.js';
import type { World } from '../../src/sim/world.js';

/** Each request and the response the lock answers it with (messages.md). */
const RESPONSE_TO = {
  'status-request': 'status-response',
  'unlock-request': 'unlock-response',
  'lock-request': 'lock-response',
  'passage-request': 'passage-response',
  'time-sync-request': 'time-sync-response',
  'sync-push-request': 'sync-push-response',
  'audit-pull-request': 'audit-pull-response',
} as const;

export type RequestType = keyof typeof RESPONSE_TO;
export type ResponseBody<T extends RequestType> = MessageBody<(typeof RESPONSE_TO)[T]>;

export interface PhoneLinkOptions {
  /** The phone's static X25519 key pair, the one its credential names. */
  readonly key: KeyPair;
  /** The signed credential message 3 carries. */
  readonly credential: Uint8Array;
  /** ATT_MTU of the link; default 23. */
  readonly mtu?: number;
  /** The phone's crypto; default the World's. */
  readonly crypto?: CryptoProvider;
  readonly limits?: Partial<SessionLimits>;
}

/** What the lock did to the link before the phone got an answer it waited for. */
const CLOSED = fail(WIRE_ERRORS.FAILED, 'phone link: closed by the lock');
const SILENT = fail(WIRE_ERRORS.UNEXPECTED, 'phone link: no answer');

type Delivery = { readonly fragment: Uint8Array } | { readonly close: WireErrorCode };

/** One connection of a phone to lock `lockName` of `world`; make a new one to reconnect. */
export class PhoneLink implements BleLink {
  readonly mtu: number;
  /** Every fragment the lock notified, in order (copies). */
  readonly fragments: Uint8Array[] = [];
  /** The refusal the lock sent before the session, if any (§7.1). */
  refusal: RefusalCode | undefined;
  /**
   * The reason the lock gave its transport when it closed the link; the phone itself only sees
   * the link go (the reason never goes on the air).
   */
  closedWith: WireErrorCode | undefined;
  readonly #world: World;
  readonly #lockName: string;
  readonly #options: PhoneLinkOptions;
  readonly #crypto: CryptoProvider;
  readonly #reassembler = new Reassembler();
  readonly #inbox: Uint8Array[] = [];
  readonly #pending: Delivery[] = [];
  readonly #deliver = (): void => this.#drain();
  #session: PhoneSession | undefined;
  /** True once a transport message from the lock authenticated: no refusal can follow. */
  #authenticated = false;
  #disconnected = false;
  #nextId = 1;

  constructor(world: World, lockName: string, options: PhoneLinkOptions) {
    this.#world = world;
    this.#lockName = lockName;
    this.#options = options;
    this.#crypto = options.crypto ?? world.crypto;
    this.mtu = options.mtu ?? 23;
  }

  /** The link is gone: closed by the lock, or disconnected by the phone. */
  get closed(): boolean {
    return this.closedWith !== undefined || this.#disconnected;
  }

  get session(): PhoneSession | undefined {
    return this.#session;
  }

  // ---- BleLink: called by the lock, inside its call; delivered on the scheduler ----

  notify(piece: Uint8Array): void {
    this.#queue({ fragment: piece.slice() });
  }

  close(reason: WireErrorCode): void {
    this.#queue({ close: reason });
  }

  // ---- the phone's side ----

  /** Connects; false when the lock refused the link at once (no power, a second BUSY link). */
  connect(): boolean {
    const { identity } = this.#world.lock(this.#lockName);
    this.#session = new PhoneSession({
      crypto: this.#crypto,
      phoneStaticKey: this.#options.key,
      lockStaticKey: identity.staticKey.publicKey,
      lockId: identity.lockId,
      lockVersions: SUPPORTED_VERSIONS,
      ...(this.#options.limits === undefined ? {} : { limits: this.#options.limits }),
      now: this.#world.now(),
    });
    const accepted = this.#world.withLock(this.#lockName, (lock, now, out) =>
      lock.connect(this, this.mtu, now, out),
    );
    this.#flush();
    return accepted;
  }

  /** Messages 1 and 2: message 2's status, or the refusal (or silence) the lock answered with. */
  startHandshake(): Result<MessageBody<'status-response'>> {
    const session = this.#open();
    const message1 = session.writeMessage1(this.#world.now());
    if (!message1.ok) return message1;
    this.#send(message1.value);
    const message2 = this.#next();
    if (!message2.ok) return message2;
    const payload = session.readMessage2(message2.value, this.#world.now());
    if (!payload.ok) return payload;
    const status = decodeMessage(payload.value);
    if (!status.ok) return status;
    if (status.value.type !== 'status-response') {
      return fail(WIRE_ERRORS.UNEXPECTED, 'phone link: message 2 is not a status');
    }
    return ok(status.value.body);
  }

  /** Message 3 with the credential; fails with the refusal when the lock does not admit it. */
  finishHandshake(): Result<undefined> {
    const message3 = this.#open().writeMessage3(this.#options.credential, this.#world.now());
    if (!message3.ok) return message3;
    this.#send(message3.value);
    if (this.refusal !== undefined) return fail(this.refusal, 'phone link: refused');
    return this.closed ? CLOSED : ok(undefined);
  }

  /** Connects and runs the whole handshake; message 2's status. */
  handshake(): Result<MessageBody<'status-response'>> {
    if (!this.connect()) return this.refusal === undefined ? CLOSED : fail(this.refusal);
    const status = this.startHandshake();
    if (!status.ok) return status;
    const admitted = this.finishHandshake();
    return admitted.ok ? status : admitted;
  }

  /**
   * Sends one request with the next id and returns the body of the lock's response to it; an
   * `error` response fails with its code, a closed or silent link with `FAILED` / `UNEXPECTED`.
   */
  request<T extends RequestType>(type: T, body: MessageBody<T>): Result<ResponseBody<T>> {
    const session = this.#open();
    const id = this.#nextId++;
    const sealed = session.encrypt(encodeMessage({ type, id, body } as Message), this.#world.now());
    if (!sealed.ok) return sealed;
    this.#send(sealed.value);
    const answer = this.#next();
    if (!answer.ok) return answer;
    const plaintext = session.decrypt(answer.value, this.#world.now());
    if (!plaintext.ok) return plaintext;
    this.#authenticated = true;
    const response = decodeMessage(plaintext.value);
    if (!response.ok) return response;
    const message = response.value;
    if (message.id !== id) return fail(WIRE_ERRORS.UNEXPECTED, 'phone link: id not echoed');
    if (message.type === 'error') return fail(message.body.code as WireErrorCode);
    const expected: MessageType = RESPONSE_TO[type];
    if (message.type !== expected) return fail(WIRE_ERRORS.UNEXPECTED, 'phone link: wrong type');
    return ok(message.body as ResponseBody<T>);
  }

  /**
   * Pushes a sealed sync bundle in its chunks (`syncPushChunks`); the response to each chunk,
   * stopping at the first chunk whose `result` is not 0.
   */
  syncPush(sealed: Uint8Array): Result<ResponseBody<'sync-push-request'>[]> {
    const responses: ResponseBody<'sync-push-request'>[] = [];
    for (const chunk of syncPushChunks(sealed)) {
      const response = this.request('sync-push-request', chunk);
      if (!response.ok) return response;
      responses.push(response.value);
      if (response.value.result !== 0) break;
    }
    return ok(responses);
  }

  /** The phone leaves: the transport tells the lock the link is gone. */
  disconnect(): void {
    this.#disconnected = true;
    this.#session?.close();
    this.#world.withLock(this.#lockName, (lock, now, out) => lock.disconnect(this, now, out));
    this.#flush();
  }

  // ---- internals ----

  #open(): PhoneSession {
    if (this.#session === undefined) throw new TypeError('phone link: not connected');
    return this.#session;
  }

  #queue(delivery: Delivery): void {
    if (this.#pending.length === 0) this.#world.scheduler.at(this.#world.now(), this.#deliver);
    this.#pending.push(delivery);
  }

  /** Runs the World up to now: what the lock notified is delivered. */
  #flush(): void {
    this.#world.advance(0);
  }

  #drain(): void {
    for (const delivery of this.#pending.splice(0)) {
      if ('close' in delivery) {
        this.closedWith ??= delivery.close;
        continue;
      }
      this.fragments.push(delivery.fragment);
      const pushed = this.#reassembler.push(delivery.fragment, this.#world.now());
      if (!pushed.ok) throw new Error(`phone link: the lock sent a bad fragment (${pushed.code})`);
      if (pushed.value === undefined) continue;
      const refused = this.#authenticated ? ok(undefined) : decodeRefusal(pushed.value);
      if (!refused.ok) throw new Error('phone link: the lock sent a malformed short message');
      if (refused.value === undefined) this.#inbox.push(pushed.value);
      else this.refusal = refused.value;
    }
  }

  /** Writes `message` on `rx`, one fragment per ATT write, until the link goes. */
  #send(message: Uint8Array): void {
    for (const piece of fragment(message, this.mtu)) {
      if (this.closed) return;
      this.#world.withLock(this.#lockName, (lock, now, out) => lock.write(this, piece, now, out));
      this.#flush();
    }
  }

  /** The next message from the lock, or why none came. */
  #next(): Result<Uint8Array> {
    const message = this.#inbox.shift();
    if (message !== undefined) return ok(message);
    if (this.refusal !== undefined) return fail(this.refusal, 'phone link: refused');
    return this.closed ? CLOSED : SILENT;
  }
}
