/**
 * The lock's BLE server role (ARCHITECTURE.md §1 "firmware-sim", §4 "Frames" and "Session";
 * protocol/SPEC.md §1): it sits between a transport (the virtual radio, bleno), which hands it
 * links and the fragments phones write on `rx`, and the lock's firmware, which it reaches only
 * through `LockServices`. It speaks the protocol and knows none of the lock's rules.
 *
 * Per link: fragments go through a `Reassembler`, whole messages through a `LockSession` (Noise XK
 * on the injected crypto). Message 2 carries the status the services give; after message 3 the
 * services `admit` the phone (the credential's signature and its binding to the phone's static
 * key) and return an opaque grant. Authorization (cache, revocation, schedule, role) is decided
 * by the services per command with that grant, not at admission, so a new resident's phone can
 * push the bundle that carries its credential and then unlock in the same connection.
 *
 * One connection at a time (`protocol/spec/session.md` §7.1, SECURITY.md item 5): while one is
 * held, `advertisement` says non-connectable, and a link that arrives anyway is answered `BUSY`
 * at its first write and closed. Before admission every failure ends the connection with a
 * two-byte refusal (`protocol/ble-refusal.ts`: `FAILED`, or `TIMEOUT` for a deadline) and nothing
 * else; once admitted, requests get their response or an `error` echoing their id, and a frame
 * or transport failure (a flipped bit, a replay, a session limit) ends the session and closes the
 * link without a word, since nothing the lock sent then could be authenticated.
 *
 * Time is the `now` of each call; the server reads no clock and holds no timer. It keeps one
 * deadline (handshake, idle or lifetime limit, the message in flight, a refused link's wait) and
 * tells the host through the lock's effect buffer (`effects.ts`: `setTimer` / `cancelTimer` of the
 * timer kind the host chose); the host calls `timerFired(now)` then. The link must not call back
 * into the server from `notify` or `close` (deliver on the scheduler): the server does its own
 * bookkeeping first, but a re-entrant write would see a half-sent reply.
 *
 * Memory: an idle server is a handful of fields. A held link owns its session, its reassembler
 * (at most 4 KiB, frames.md §6) and a sync-push transfer (at most the 98,364 bytes of a sealed
 * bundle, held as the chunks that arrived); all of it is dropped when the link ends.
 */
import { encodeAdvertisement, encodeScanResponse } from '../protocol/advertisement.js';
import type { LockStatus } from '../protocol/advertisement.js';
import { encodeRefusal } from '../protocol/ble-refusal.js';
import type { RefusalCode } from '../protocol/ble-refusal.js';
import type { CryptoProvider } from '../protocol/crypto/provider.js';
import { WIRE_ERRORS } from '../protocol/errors.js';
import type { WireErrorCode } from '../protocol/errors.js';
import { concatBytes } from '../protocol/formats/common.js';
import { fragment } from '../protocol/frame-codec.js';
import { ATT_MTU_MIN, attPayloadBytes, LOCK_ID_BYTES } from '../protocol/gatt.js';
import { decodeMessage, encodeMessage, RESULT_OK } from '../protocol/messages.js';
import type { Message, MessageBody } from '../protocol/messages.js';
import { DH_BYTES } from '../protocol/noise/handshake-xk.js';
import type { KeyPair } from '../protocol/noise/handshake-xk.js';
import { assertVersionList, SUPPORTED_VERSIONS } from '../protocol/noise/prologue.js';
import { DEFAULT_SESSION_LIMITS, resolveSessionLimits } from '../protocol/noise/session-limits.js';
import type { SessionLimits } from '../protocol/noise/session-limits.js';
import { LockSession } from '../protocol/noise/session.js';
import type { PhoneHello } from '../protocol/noise/session.js';
import { Reassembler } from '../protocol/reassembler.js';
import type { ReassemblerOptions } from '../protocol/reassembler.js';
import type { Result } from '../protocol/result.js';
import type { Effects } from './effects.js';

/** One phone's connection as the transport holds it. */
export interface BleLink {
  /** Notifies one fragment on `tx` (at most ATT_MTU − 3 bytes, as the frame codec cut it). */
  notify(fragment: Uint8Array): void;
  /**
   * Disconnects. `reason` is why, for the host's log and events only: it never goes on the air
   * (a refusal, when there is one, was notified just before).
   */
  close(reason: WireErrorCode): void;
}

/** An unlock's or a lock's outcome: `result` 0 or a wire code, and the audit record it wrote. */
export type CommandOutcome = MessageBody<'unlock-response'>;
/** A pushed bundle's outcome: `result`, and the bundle version the lock holds afterwards. */
export type SyncPushOutcome = Omit<MessageBody<'sync-push-response'>, 'received'>;

/**
 * The lock's firmware as the server sees it. `Grant` is whatever `admit` returns, handed back
 * unchanged with every command. Every call gets the step's effect buffer, for the events and
 * timers of the firmware behind it. Responses whose schema has a `result` field carry failures
 * there (a refused unlock still names its audit record); the others fail as a `Result`, answered
 * with an `error` message.
 */
export interface LockServices<Grant> {
  /** Message 2's payload: the status with a nonce fresh for this session (time anchors bind it). */
  handshakeStatus(now: number, out: Effects): MessageBody<'status-response'>;
  /** After message 3: the credential's signature and its phone key (`phone.phoneStaticKey`). */
  admit(phone: PhoneHello, now: number, out: Effects): Result<Grant>;
  /** A `status-request`: the status now, with the nonce this session already got. */
  status(grant: Grant, now: number, out: Effects): Result<MessageBody<'status-response'>>;
  unlock(grant: Grant, now: number, out: Effects): CommandOutcome;
  lock(grant: Grant, now: number, out: Effects): CommandOutcome;
  /** A manager's passage mode on or off (messages.md `passageRequest`). */
  passage(grant: Grant, on: boolean, now: number, out: Effects): CommandOutcome;
  timeSync(
    grant: Grant,
    anchor: Uint8Array,
    phoneTime: number | undefined,
    now: number,
    out: Effects,
  ): MessageBody<'time-sync-response'>;
  /** A whole sealed sync bundle, its chunks joined in order. */
  syncPush(grant: Grant, sealedBundle: Uint8Array, now: number, out: Effects): SyncPushOutcome;
  auditPull(
    grant: Grant,
    from: number,
    maxRecords: number | undefined,
    now: number,
    out: Effects,
  ): Result<MessageBody<'audit-pull-response'>>;
}

export interface BleServerOptions<Grant> {
  readonly crypto: CryptoProvider;
  /** The lock's static X25519 key pair. */
  readonly lockStaticKey: KeyPair;
  readonly lockId: Uint8Array;
  /** The versions the lock speaks, ascending, as its `info` says; default `SUPPORTED_VERSIONS`. */
  readonly versions?: readonly number[];
  readonly limits?: Partial<SessionLimits>;
  /** Options of each connection's reassembler (bad values throw `RangeError` at `connect`). */
  readonly reassembler?: ReassemblerOptions;
  readonly services: LockServices<Grant>;
  /** The timer kind the server's one deadline uses in the lock's effect buffer. */
  readonly timerKind: number;
}

/** What to put on the air (frames.md §4) and whether to advertise connectable. */
export interface BleAdvertising {
  readonly advertisingData: Uint8Array;
  readonly scanResponse: Uint8Array;
  /** False while a connection is held: advertise scannable but not connectable (§7.1). */
  readonly connectable: boolean;
}

/** `idle`: no connection; `handshake`: a link held, its phone not yet admitted; `admitted`. */
export type BleServerPhase = 'idle' | 'handshake' | 'admitted';

interface SyncTransfer {
  readonly total: number;
  readonly chunks: Uint8Array[];
  received: number;
}

interface Connection<Grant> {
  readonly link: BleLink;
  mtu: number;
  readonly session: LockSession;
  readonly reassembler: Reassembler;
  /** Set once `admit` accepted the phone; a wrapper, since a grant may be any value. */
  admission: { readonly grant: Grant } | undefined;
  /** The bundle version the lock holds, as the last status or push said. */
  syncVersion: number;
  transfer: SyncTransfer | undefined;
}

/** Before admission: a deadline passing says `TIMEOUT`, anything else `FAILED` (§7.1). */
function refusalFor(reason: WireErrorCode): RefusalCode {
  return reason === WIRE_ERRORS.TIMEOUT ? WIRE_ERRORS.TIMEOUT : WIRE_ERRORS.FAILED;
}

/** The earlier of two optional deadlines. */
function earlier(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}

function notifyMessage(link: BleLink, message: Uint8Array, mtu: number): void {
  for (const piece of fragment(message, mtu)) link.notify(piece);
}

function errorMessage(id: number, code: number): Message {
  return { type: 'error', id, body: { code } };
}

export class BleServer<Grant> {
  readonly #crypto: CryptoProvider;
  readonly #lockStaticKey: KeyPair;
  readonly #lockId: Uint8Array;
  readonly #versions: readonly number[];
  readonly #limits: SessionLimits;
  readonly #reassemblerOptions: ReassemblerOptions | undefined;
  readonly #services: LockServices<Grant>;
  readonly #timerKind: number;
  #connection: Connection<Grant> | undefined;
  /** The one refused link waiting for its first write, and until when it may wait. */
  #refused: BleLink | undefined;
  #refusedUntil = 0;
  /** The deadline the host's timer is set to, so an unchanged one costs no effect. */
  #timerAt: number | undefined;

  constructor(options: BleServerOptions<Grant>) {
    const versions = options.versions ?? SUPPORTED_VERSIONS;
    assertVersionList(versions, 'versions');
    if (options.lockId.length !== LOCK_ID_BYTES) {
      throw new RangeError(`lockId: expected ${LOCK_ID_BYTES} bytes`);
    }
    const { publicKey, secretKey } = options.lockStaticKey;
    if (publicKey.length !== DH_BYTES || secretKey.length !== DH_BYTES) {
      throw new RangeError(`lockStaticKey: expected ${DH_BYTES}-byte keys`);
    }
    if (!Number.isInteger(options.timerKind) || options.timerKind < 0) {
      throw new RangeError('timerKind: expected a non-negative integer');
    }
    this.#crypto = options.crypto;
    this.#lockStaticKey = options.lockStaticKey;
    this.#lockId = options.lockId.slice();
    // The defaults are shared, frozen objects: an idle lock holds no copy of its own.
    this.#versions = options.versions === undefined ? versions : Array.from(versions);
    this.#limits =
      options.limits === undefined ? DEFAULT_SESSION_LIMITS : resolveSessionLimits(options.limits);
    this.#reassemblerOptions = options.reassembler;
    this.#services = options.services;
    this.#timerKind = options.timerKind;
  }

  get phase(): BleServerPhase {
    const connection = this.#connection;
    if (connection === undefined) return 'idle';
    return connection.admission === undefined ? 'handshake' : 'admitted';
  }

  /** False while a connection is held. */
  get connectable(): boolean {
    return this.#connection === undefined;
  }

  /** When the server next needs `timerFired`; `undefined` when nothing is pending. */
  get nextDeadline(): number | undefined {
    const refused = this.#refused === undefined ? undefined : this.#refusedUntil;
    const connection = this.#connection;
    if (connection === undefined) return refused;
    return earlier(earlier(refused, connection.session.deadline), connection.reassembler.deadline);
  }

  /** Bytes the connection holds for messages and bundles in flight; 0 when idle. */
  get heldBytes(): number {
    const connection = this.#connection;
    if (connection === undefined) return 0;
    return connection.reassembler.bufferedCapacity + (connection.transfer?.received ?? 0);
  }

  /** The advertising and scan response data for `status`, and whether to accept connections. */
  advertisement(status: LockStatus): BleAdvertising {
    const advert = {
      protocolVersion: this.#versions[this.#versions.length - 1] ?? 0,
      status,
      lockId: this.#lockId,
    };
    return {
      advertisingData: encodeAdvertisement(advert),
      scanResponse: encodeScanResponse(advert),
      connectable: this.connectable,
    };
  }

  /**
   * A phone connected at ATT_MTU `mtu`. Returns true if the server holds the link; false if it
   * refused it (`BUSY`): the first refused link is answered at its first write, or closed after
   * `handshakeTimeoutMs` without one; any further refused link is closed at once. Throws on a
   * link already known or an MTU outside 23..517 (caller bugs).
   */
  connect(link: BleLink, mtu: number, now: number, out: Effects): boolean {
    attPayloadBytes(mtu);
    if (link === this.#connection?.link || link === this.#refused) {
      throw new TypeError('link: already connected');
    }
    if (this.#connection !== undefined) {
      if (this.#refused === undefined) {
        this.#refused = link;
        this.#refusedUntil = now + this.#limits.handshakeTimeoutMs;
        this.#schedule(out);
      } else {
        link.close(WIRE_ERRORS.BUSY);
      }
      return false;
    }
    this.#connection = {
      link,
      mtu,
      session: new LockSession({
        crypto: this.#crypto,
        lockStaticKey: this.#lockStaticKey,
        lockId: this.#lockId,
        versions: this.#versions,
        limits: this.#limits,
        now,
      }),
      reassembler: new Reassembler(this.#reassemblerOptions),
      admission: undefined,
      syncVersion: 0,
      transfer: undefined,
    };
    this.#schedule(out);
    return true;
  }

  /** The held link's ATT_MTU changed; later notifications are cut to it. */
  updateMtu(link: BleLink, mtu: number): void {
    attPayloadBytes(mtu);
    if (link === this.#connection?.link) this.#connection.mtu = mtu;
  }

  /** A value the phone wrote on `rx`. Writes from a link the server does not hold are ignored. */
  write(link: BleLink, bytes: Uint8Array, now: number, out: Effects): void {
    if (link === this.#refused) {
      this.#refused = undefined;
      this.#refuse(link, WIRE_ERRORS.BUSY, WIRE_ERRORS.BUSY);
    } else {
      const connection = this.#connection;
      if (connection === undefined || connection.link !== link) return;
      const pushed = connection.reassembler.push(bytes, now);
      if (!pushed.ok) this.#end(connection, pushed.code);
      else if (pushed.value !== undefined) this.#receive(connection, pushed.value, now, out);
    }
    this.#schedule(out);
  }

  /** The link went away (the phone left, the radio lost it): its state is dropped. */
  disconnect(link: BleLink, out: Effects): void {
    if (link === this.#refused) {
      this.#refused = undefined;
    } else if (link === this.#connection?.link) {
      this.#connection.session.close();
      this.#connection = undefined;
    } else {
      return;
    }
    this.#schedule(out);
  }

  /** The host's timer of `timerKind` fired: ends whatever is past its deadline at `now`. */
  timerFired(now: number, out: Effects): void {
    this.#timerAt = undefined;
    const refused = this.#refused;
    if (refused !== undefined && now >= this.#refusedUntil) {
      this.#refused = undefined;
      refused.close(WIRE_ERRORS.BUSY);
    }
    const connection = this.#connection;
    if (connection !== undefined) {
      const expired = connection.reassembler.expire(now);
      const ticked = expired.ok ? connection.session.tick(now) : expired;
      if (!ticked.ok) this.#end(connection, ticked.code);
    }
    this.#schedule(out);
  }

  #receive(connection: Connection<Grant>, message: Uint8Array, now: number, out: Effects): void {
    const { session } = connection;
    switch (session.state) {
      case 'awaitingMessage1':
        this.#message1(connection, message, now, out);
        return;
      case 'awaitingMessage3':
        this.#message3(connection, message, now, out);
        return;
      case 'open':
        this.#request(connection, message, now, out);
        return;
      case 'readyForMessage2':
      case 'closed':
        // Unreachable: message 2 is written in message 1's step, and a closed session's
        // connection has already ended. Kept total so a change there cannot go unnoticed.
        this.#end(connection, WIRE_ERRORS.UNEXPECTED);
        return;
    }
  }

  #message1(connection: Connection<Grant>, message: Uint8Array, now: number, out: Effects): void {
    const version = connection.session.readMessage1(message, now);
    if (!version.ok) return this.#end(connection, version.code);
    const status = this.#services.handshakeStatus(now, out);
    connection.syncVersion = status.syncVersion;
    const payload = encodeMessage({ type: 'status-response', id: 0, body: status });
    const message2 = connection.session.writeMessage2(payload, now);
    if (!message2.ok) return this.#end(connection, message2.code);
    notifyMessage(connection.link, message2.value, connection.mtu);
  }

  #message3(connection: Connection<Grant>, message: Uint8Array, now: number, out: Effects): void {
    const hello = connection.session.readMessage3(message, now);
    if (!hello.ok) return this.#end(connection, hello.code);
    const admitted = this.#services.admit(hello.value, now, out);
    // Not admitted is not authenticated: the phone learns `FAILED`, whatever the reason.
    if (!admitted.ok) return this.#end(connection, admitted.code, WIRE_ERRORS.FAILED);
    connection.admission = { grant: admitted.value };
  }

  #request(connection: Connection<Grant>, message: Uint8Array, now: number, out: Effects): void {
    const plaintext = connection.session.decrypt(message, now);
    if (!plaintext.ok) return this.#end(connection, plaintext.code);
    const admission = connection.admission;
    if (admission === undefined) return this.#end(connection, WIRE_ERRORS.UNEXPECTED);
    const request = decodeMessage(plaintext.value);
    // Request ids start at 1 (SPEC.md §1): id 0 says the request did not decode far enough.
    const response = request.ok
      ? this.#dispatch(connection, admission.grant, request.value, now, out)
      : errorMessage(0, request.code);
    const sealed = connection.session.encrypt(encodeMessage(response), now);
    if (!sealed.ok) return this.#end(connection, sealed.code);
    notifyMessage(connection.link, sealed.value, connection.mtu);
  }

  #dispatch(
    connection: Connection<Grant>,
    grant: Grant,
    request: Message,
    now: number,
    out: Effects,
  ): Message {
    const services = this.#services;
    const { id } = request;
    switch (request.type) {
      case 'status-request': {
        const status = services.status(grant, now, out);
        if (!status.ok) return errorMessage(id, status.code);
        connection.syncVersion = status.value.syncVersion;
        return { type: 'status-response', id, body: status.value };
      }
      case 'unlock-request':
        return { type: 'unlock-response', id, body: services.unlock(grant, now, out) };
      case 'lock-request':
        return { type: 'lock-response', id, body: services.lock(grant, now, out) };
      case 'passage-request': {
        const body = services.passage(grant, request.body.on, now, out);
        return { type: 'passage-response', id, body };
      }
      case 'time-sync-request': {
        const { anchor, phoneTime } = request.body;
        const body = services.timeSync(grant, anchor, phoneTime, now, out);
        return { type: 'time-sync-response', id, body };
      }
      case 'sync-push-request': {
        const body = this.#syncChunk(connection, grant, request.body, now, out);
        return { type: 'sync-push-response', id, body };
      }
      case 'audit-pull-request': {
        const { from, maxRecords } = request.body;
        const pulled = services.auditPull(grant, from, maxRecords, now, out);
        if (!pulled.ok) return errorMessage(id, pulled.code);
        return { type: 'audit-pull-response', id, body: pulled.value };
      }
      case 'status-response':
      case 'unlock-response':
      case 'lock-response':
      case 'time-sync-response':
      case 'sync-push-response':
      case 'audit-pull-response':
      case 'passage-response':
      case 'error':
        return errorMessage(id, WIRE_ERRORS.UNEXPECTED);
    }
  }

  /**
   * One chunk of a sealed bundle (messages.md §4 `syncPushRequest`): taken only at `offset` = the
   * bytes received so far and for the transfer's `total`, else `UNEXPECTED` with the transfer
   * kept, so the phone can resume from `received`. The schema bounds the chunk to `total`.
   */
  #syncChunk(
    connection: Connection<Grant>,
    grant: Grant,
    body: MessageBody<'sync-push-request'>,
    now: number,
    out: Effects,
  ): MessageBody<'sync-push-response'> {
    const { total, offset, chunk } = body;
    const held = connection.transfer;
    const received = held?.received ?? 0;
    if (offset !== received || (held !== undefined && held.total !== total)) {
      return { result: WIRE_ERRORS.UNEXPECTED, received, syncVersion: connection.syncVersion };
    }
    const transfer = held ?? { total, chunks: [], received: 0 };
    transfer.chunks.push(chunk);
    transfer.received += chunk.length;
    if (transfer.received < total) {
      connection.transfer = transfer;
      return {
        result: RESULT_OK,
        received: transfer.received,
        syncVersion: connection.syncVersion,
      };
    }
    connection.transfer = undefined;
    const sealed = concatBytes(...transfer.chunks);
    const outcome = this.#services.syncPush(grant, sealed, now, out);
    connection.syncVersion = outcome.syncVersion;
    return { result: outcome.result, received: total, syncVersion: outcome.syncVersion };
  }

  /**
   * Ends the held connection for `reason`. Before admission the phone gets a refusal first
   * (`refusal`, by default `TIMEOUT` for a deadline and `FAILED` for the rest); after it, nothing.
   */
  #end(
    connection: Connection<Grant>,
    reason: WireErrorCode,
    refusal: RefusalCode = refusalFor(reason),
  ): void {
    this.#connection = undefined;
    connection.session.close();
    if (connection.admission === undefined) this.#refuse(connection.link, refusal, reason);
    else connection.link.close(reason);
  }

  #refuse(link: BleLink, refusal: RefusalCode, reason: WireErrorCode): void {
    // Two bytes fit one fragment at any MTU, so the smallest serves every link.
    notifyMessage(link, encodeRefusal(refusal), ATT_MTU_MIN);
    link.close(reason);
  }

  /** Sets the host's timer to the next deadline, or cancels it; no effect when unchanged. */
  #schedule(out: Effects): void {
    const at = this.nextDeadline;
    if (at === this.#timerAt) return;
    this.#timerAt = at;
    if (at === undefined) out.cancelTimer(this.#timerKind);
    else out.setTimer(this.#timerKind, at);
  }
}
