// The lock's BLE server role (firmware-sim/ble-server.ts; protocol/spec/session.md §7.1) driven by
// real phones: PhoneSession over the noble provider, fragments at the MTU, the server's one timer
// through the effect buffer. The lock's rules are a small recording fake: the server must only
// carry requests to them and answers back (SECURITY.md items 1–5, 12–14, 26).
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeAdvertisement, decodeScanResponse } from '../../protocol/advertisement.js';
import { decodeRefusal } from '../../protocol/ble-refusal.js';
import { createNobleCrypto } from '../../protocol/crypto/noble-provider.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import type { WireErrorCode } from '../../protocol/errors.js';
import { fragment, MAX_MESSAGE_BYTES } from '../../protocol/frame-codec.js';
import { attPayloadBytes } from '../../protocol/gatt.js';
import { decodeMessage, encodeMessage, syncPushChunks } from '../../protocol/messages.js';
import type { Message, MessageBody } from '../../protocol/messages.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import type { SessionLimits } from '../../protocol/noise/session-limits.js';
import { PhoneSession } from '../../protocol/noise/session.js';
import type { PhoneHello } from '../../protocol/noise/session.js';
import { Reassembler } from '../../protocol/reassembler.js';
import { fail, ok } from '../../protocol/result.js';
import type { Result } from '../../protocol/result.js';
import { BleServer } from '../../firmware-sim/ble-server.js';
import type {
  BleLink,
  CommandOutcome,
  LockServices,
  SyncPushOutcome,
} from '../../firmware-sim/ble-server.js';
import { EFFECT, Effects } from '../../firmware-sim/effects.js';
import { fromHex, hex } from '../support/hex.js';
import { propertyRuns } from '../support/properties.js';
import { seededRandom, unwrap } from '../protocol/noise/fixtures.js';

const T0 = 1_800_000_000_000;
const TIMER = 5;
const HANDSHAKE_MS = 10_000;
const IDLE_MS = 30_000;
const LOCK_ID = fromHex('00112233445566778899aabbccddeeff');
const lockCrypto = createNobleCrypto(seededRandom(11));
const phoneCrypto = createNobleCrypto(seededRandom(12));
const LOCK_KEY = generateKeyPair(lockCrypto);
const PHONE_KEY = generateKeyPair(phoneCrypto);
const OTHER_PHONE_KEY = generateKeyPair(phoneCrypto);
const text = (value: string) => new TextEncoder().encode(value);
const CREDENTIAL = text('credential of the phone');
const OTHER_CREDENTIAL = text('credential of another phone');
/** Generous phone-side limits: these tests time the lock, not the phone. */
const PHONE_LIMITS: Partial<SessionLimits> = {
  handshakeTimeoutMs: 2 ** 31,
  idleTimeoutMs: 2 ** 31,
  maxSessionMs: 2 ** 31,
};
const NO_FLAGS = { needsUpdate: false, lowBattery: false, syncPending: false };
/** The refusals on the air, as first fragments (frames.md §5). */
const REFUSED = { FAILED: '800002ff01', TIMEOUT: '800002ff07', BUSY: '800002ff09' } as const;

// ---- the lock's rules, as a recording fake --------------------------------------------------

interface Grant {
  readonly phoneKey: Uint8Array;
}

class FakeServices implements LockServices<Grant> {
  readonly calls: string[] = [];
  /** credential (hex) → the phone key it names; anything else is refused at admission. */
  readonly credentials = new Map([
    [hex(CREDENTIAL), PHONE_KEY.publicKey],
    [hex(OTHER_CREDENTIAL), OTHER_PHONE_KEY.publicKey],
  ]);
  /** Phone keys (hex) the synced cache allows to unlock; a pushed bundle adds its first 32 bytes. */
  readonly cache = new Set([hex(PHONE_KEY.publicKey)]);
  readonly bundles: Uint8Array[] = [];
  readonly timeSyncs: { anchor: string; phoneTime: number | undefined }[] = [];
  syncVersion = 3;
  auditHead = 40;
  nonce = 0;

  #status(): MessageBody<'status-response'> {
    return {
      model: 'C2',
      firmware: '1.02',
      batteryPercent: 87,
      flags: 0,
      clockValid: true,
      syncVersion: this.syncVersion,
      auditHead: this.auditHead,
      auditTail: 0,
      nonce: Uint8Array.from({ length: 16 }, (_, i) => this.nonce * 16 + i),
    };
  }

  handshakeStatus(): MessageBody<'status-response'> {
    this.calls.push('handshakeStatus');
    this.nonce++;
    return this.#status();
  }

  admit(phone: PhoneHello): Result<Grant> {
    this.calls.push('admit');
    const named = this.credentials.get(hex(phone.credential));
    if (named === undefined) return fail(WIRE_ERRORS.WRONG_DOOR, 'fake: unknown credential');
    if (hex(named) !== hex(phone.phoneStaticKey)) return fail(WIRE_ERRORS.AUTH_FAILED);
    return ok({ phoneKey: phone.phoneStaticKey });
  }

  status(): Result<MessageBody<'status-response'>> {
    this.calls.push('status');
    return ok(this.#status());
  }

  #command(name: string, grant: Grant): CommandOutcome {
    this.calls.push(name);
    const allowed = this.cache.has(hex(grant.phoneKey));
    return { result: allowed ? 0 : WIRE_ERRORS.REVOKED, auditSeq: this.auditHead++ };
  }

  unlock(grant: Grant): CommandOutcome {
    return this.#command('unlock', grant);
  }

  lock(grant: Grant): CommandOutcome {
    return this.#command('lock', grant);
  }

  passage(grant: Grant, on: boolean): CommandOutcome {
    return this.#command(on ? 'passage on' : 'passage off', grant);
  }

  timeSync(
    _grant: Grant,
    anchor: Uint8Array,
    phoneTime: number | undefined,
    now: number,
  ): MessageBody<'time-sync-response'> {
    this.calls.push('timeSync');
    this.timeSyncs.push({ anchor: hex(anchor), phoneTime });
    return { result: 0, lockTime: now };
  }

  syncPush(_grant: Grant, sealedBundle: Uint8Array): SyncPushOutcome {
    this.calls.push('syncPush');
    this.bundles.push(sealedBundle);
    this.cache.add(hex(sealedBundle.subarray(0, 32)));
    return { result: 0, syncVersion: ++this.syncVersion };
  }

  auditPull(
    _grant: Grant,
    from: number,
    maxRecords: number | undefined,
  ): Result<MessageBody<'audit-pull-response'>> {
    this.calls.push('auditPull');
    if (from > this.auditHead) return fail(WIRE_ERRORS.STALE);
    return ok({ upload: Uint8Array.of(from, maxRecords ?? 0), more: false });
  }
}

// ---- host and phone -------------------------------------------------------------------------

type TimerEffect = readonly ['set', number, number] | readonly ['cancel', number];

/** The timer effects in `out`, as tuples. */
function timerEffects(out: Effects): TimerEffect[] {
  const effects: TimerEffect[] = [];
  for (let i = 0; i < out.length; i++) {
    const kind = out.a[i] ?? -1;
    if (out.op[i] === EFFECT.SET_TIMER) effects.push(['set', kind, out.b[i] ?? -1]);
    else if (out.op[i] === EFFECT.CANCEL_TIMER) effects.push(['cancel', kind]);
  }
  return effects;
}

/** The host: the server, its services, and an effect buffer cleared before every call. */
class Host {
  readonly services = new FakeServices();
  readonly out = new Effects();
  readonly server: BleServer<Grant>;

  constructor(limits: Partial<SessionLimits> = {}) {
    this.server = new BleServer({
      crypto: lockCrypto,
      lockStaticKey: LOCK_KEY,
      lockId: LOCK_ID,
      limits,
      services: this.services,
      timerKind: TIMER,
    });
  }

  /** Runs one server call on a cleared effect buffer; returns its timer effects. */
  step(call: (out: Effects) => void): TimerEffect[] {
    this.out.clear();
    call(this.out);
    return timerEffects(this.out);
  }

  timerFired(now: number): TimerEffect[] {
    return this.step((out) => this.server.timerFired(now, out));
  }
}

/** A link that records what the lock notified and why it closed; nothing may follow a close. */
class RecordingLink implements BleLink {
  readonly notified: Uint8Array[] = [];
  closedWith: WireErrorCode | undefined;

  notify(piece: Uint8Array): void {
    if (this.closedWith !== undefined) throw new Error('notified after close');
    this.notified.push(piece.slice());
  }

  close(reason: WireErrorCode): void {
    if (this.closedWith !== undefined) throw new Error('closed twice');
    this.closedWith = reason;
  }
}

interface PhoneOptions {
  readonly mtu?: number;
  readonly key?: KeyPair;
  readonly credential?: Uint8Array;
  readonly lockId?: Uint8Array;
  readonly now?: number;
}

/** A phone on one link: its Noise session, and a reassembler for what the lock notifies. */
class Phone {
  readonly link = new RecordingLink();
  readonly session: PhoneSession;
  readonly mtu: number;
  readonly credential: Uint8Array;
  readonly #host: Host;
  readonly #reassembler = new Reassembler();
  #read = 0;
  #nextId = 1;

  constructor(host: Host, options: PhoneOptions = {}) {
    this.#host = host;
    this.mtu = options.mtu ?? 23;
    this.credential = options.credential ?? CREDENTIAL;
    this.session = new PhoneSession({
      crypto: phoneCrypto,
      phoneStaticKey: options.key ?? PHONE_KEY,
      lockStaticKey: LOCK_KEY.publicKey,
      lockId: options.lockId ?? LOCK_ID,
      lockVersions: [1],
      limits: PHONE_LIMITS,
      now: options.now ?? T0,
    });
  }

  connect(now: number): boolean {
    let accepted = false;
    this.#host.step((out) => {
      accepted = this.#host.server.connect(this.link, this.mtu, now, out);
    });
    return accepted;
  }

  write(bytes: Uint8Array, now: number): TimerEffect[] {
    return this.#host.step((out) => this.#host.server.write(this.link, bytes, now, out));
  }

  send(message: Uint8Array, now: number): void {
    for (const piece of fragment(message, this.mtu)) this.write(piece, now);
  }

  /** The fragments notified since the last `fragments` or `messages`, as hex. */
  fragments(): string[] {
    const fresh = this.link.notified.slice(this.#read);
    this.#read = this.link.notified.length;
    return fresh.map(hex);
  }

  /** The messages notified since the last call, reassembled. */
  messages(now: number): Uint8Array[] {
    const messages: Uint8Array[] = [];
    for (const piece of this.link.notified.slice(this.#read)) {
      expect(piece.length).toBeLessThanOrEqual(attPayloadBytes(this.mtu));
      const pushed = unwrap(this.#reassembler.push(piece, now));
      if (pushed !== undefined) messages.push(pushed);
    }
    this.#read = this.link.notified.length;
    return messages;
  }

  /** Messages 1 and 2: returns the status message 2 carried. */
  startHandshake(now: number): Message {
    this.send(unwrap(this.session.writeMessage1(now)), now);
    const [message2, ...rest] = this.messages(now);
    expect(rest).toHaveLength(0);
    if (message2 === undefined) throw new Error('no message 2');
    expect(decodeRefusal(message2)).toEqual({ ok: true, value: undefined });
    return unwrap(decodeMessage(unwrap(this.session.readMessage2(message2, now))));
  }

  finishHandshake(now: number): void {
    this.send(unwrap(this.session.writeMessage3(this.credential, now)), now);
  }

  /** Connects and runs the whole handshake at `now`; returns message 2's status. */
  open(now: number): Message {
    expect(this.connect(now)).toBe(true);
    const status = this.startHandshake(now);
    this.finishHandshake(now);
    return status;
  }

  /** Seals `plaintext`, sends it, and returns the lock's messages, opened and decoded. */
  exchange(plaintext: Uint8Array, now: number): Message[] {
    this.send(unwrap(this.session.encrypt(plaintext, now)), now);
    return this.messages(now).map((m) =>
      unwrap(decodeMessage(unwrap(this.session.decrypt(m, now)))),
    );
  }

  /** Sends one request (with the next id) and returns the lock's one answer. */
  request(type: Message['type'], body: object, now: number): Message {
    const message = { type, id: this.#nextId++, body } as Message;
    const answers = this.exchange(encodeMessage(message), now);
    expect(answers).toHaveLength(1);
    return answers[0]!;
  }
}

// ---- tests ----------------------------------------------------------------------------------

let host: Host;
beforeEach(() => {
  host = new Host();
});

describe('BleServer: a session end to end', () => {
  it.each([23, 247])('runs the handshake and an unlock at MTU %i', (mtu) => {
    const phone = new Phone(host, { mtu });
    expect(host.server.phase).toBe('idle');
    expect(host.step((out) => host.server.connect(phone.link, mtu, T0, out))).toEqual([
      ['set', TIMER, T0 + HANDSHAKE_MS],
    ]);
    expect(host.server.phase).toBe('handshake');

    phone.send(unwrap(phone.session.writeMessage1(T0 + 1)), T0 + 1);
    const notified = phone.link.notified.length;
    // Message 2: 32-byte key, 49 bytes of status, 16-byte tag: 6 fragments at 23, 1 at 247.
    expect(notified).toBe(mtu === 23 ? 6 : 1);
    const [message2] = phone.messages(T0 + 1);
    const status = unwrap(decodeMessage(unwrap(phone.session.readMessage2(message2!, T0 + 1))));
    expect(status).toMatchObject({ type: 'status-response', id: 0 });
    expect(status.body).toMatchObject({ model: 'C2', syncVersion: 3, auditHead: 40 });

    phone.send(unwrap(phone.session.writeMessage3(CREDENTIAL, T0 + 2)), T0 + 2);
    // Message 3's last fragment opened the session: the deadline is now the idle one.
    expect(timerEffects(host.out)).toEqual([['set', TIMER, T0 + 2 + IDLE_MS]]);
    expect(host.server.phase).toBe('admitted');
    expect(host.server.nextDeadline).toBe(T0 + 2 + IDLE_MS);
    expect(phone.messages(T0 + 2)).toHaveLength(0);

    expect(phone.request('unlock-request', {}, T0 + 3)).toEqual({
      type: 'unlock-response',
      id: 1,
      body: { result: 0, auditSeq: 40 },
    });
    expect(host.services.calls).toEqual(['handshakeStatus', 'admit', 'unlock']);
    expect(host.server.nextDeadline).toBe(T0 + 3 + IDLE_MS);
    expect(phone.link.closedWith).toBeUndefined();
  });

  it('answers every request with its response or an error, echoing the id', () => {
    const phone = new Phone(host);
    phone.open(T0);
    const now = T0 + 5;
    expect(phone.request('status-request', {}, now)).toMatchObject({
      type: 'status-response',
      id: 1,
      body: { syncVersion: 3 },
    });
    expect(phone.request('lock-request', {}, now)).toEqual({
      type: 'lock-response',
      id: 2,
      body: { result: 0, auditSeq: 40 },
    });
    const anchor = fromHex('a3000102030405');
    expect(phone.request('time-sync-request', { anchor, phoneTime: T0 }, now)).toEqual({
      type: 'time-sync-response',
      id: 3,
      body: { result: 0, lockTime: now },
    });
    expect(host.services.timeSyncs).toEqual([{ anchor: hex(anchor), phoneTime: T0 }]);
    expect(phone.request('audit-pull-request', { from: 7, maxRecords: 5 }, now)).toEqual({
      type: 'audit-pull-response',
      id: 4,
      body: { upload: Uint8Array.of(7, 5), more: false },
    });
    expect(phone.request('audit-pull-request', { from: 99 }, now)).toEqual({
      type: 'error',
      id: 5,
      body: { code: WIRE_ERRORS.STALE },
    });
    // A response sent to the lock is no request.
    expect(phone.request('unlock-response', { result: 0 }, now)).toEqual({
      type: 'error',
      id: 6,
      body: { code: WIRE_ERRORS.UNEXPECTED },
    });
    // Bytes that do not decode have no id to echo: id 0.
    expect(phone.exchange(fromHex('a3000301'), now)).toEqual([
      { type: 'error', id: 0, body: { code: WIRE_ERRORS.DECODE } },
    ]);
    expect(phone.exchange(fromHex('a30018630107 02a0'), now)).toEqual([
      { type: 'error', id: 0, body: { code: WIRE_ERRORS.SCHEMA } },
    ]);
    // The session goes on.
    expect(phone.request('unlock-request', {}, now)).toMatchObject({ body: { result: 0 } });
    expect(host.server.phase).toBe('admitted');
  });

  it('takes a sync bundle in chunks, in order only: UNEXPECTED elsewhere, and the transfer kept', () => {
    const phone = new Phone(host, { mtu: 247 });
    phone.open(T0);
    const bundle = Uint8Array.from({ length: 7000 }, (_, i) => (i * 7) & 0xff);
    const [first, second, third] = syncPushChunks(bundle);
    const push = (body: MessageBody<'sync-push-request'>) =>
      phone.request('sync-push-request', body, T0 + 1);

    expect(push(first!).body).toEqual({ result: 0, received: 3072, syncVersion: 3 });
    expect(host.server.heldBytes).toBe(3072);
    expect(push(third!).body).toEqual({
      result: WIRE_ERRORS.UNEXPECTED,
      received: 3072,
      syncVersion: 3,
    });
    expect(push(first!).body).toMatchObject({ result: WIRE_ERRORS.UNEXPECTED, received: 3072 });
    // The right offset, but another bundle's total.
    const otherTotal = { ...second!, total: 9000 };
    expect(push(otherTotal).body).toMatchObject({ result: WIRE_ERRORS.UNEXPECTED, received: 3072 });
    expect(push(second!).body).toEqual({ result: 0, received: 6144, syncVersion: 3 });
    expect(host.services.bundles).toHaveLength(0);
    expect(push(third!).body).toEqual({ result: 0, received: 7000, syncVersion: 4 });
    expect(host.services.bundles.map(hex)).toEqual([hex(bundle)]);
    expect(host.server.heldBytes).toBe(0);
    // A new transfer starts at offset 0 again; one elsewhere is refused.
    expect(push(second!).body).toEqual({
      result: WIRE_ERRORS.UNEXPECTED,
      received: 0,
      syncVersion: 4,
    });
  });

  it('lets a new resident push the bundle that carries its credential, then unlock, in one connection', () => {
    const phone = new Phone(host, { key: OTHER_PHONE_KEY, credential: OTHER_CREDENTIAL });
    phone.open(T0);
    expect(host.server.phase).toBe('admitted');
    expect(phone.request('unlock-request', {}, T0 + 1).body).toMatchObject({
      result: WIRE_ERRORS.REVOKED,
    });
    const bundle = new Uint8Array(100);
    bundle.set(OTHER_PHONE_KEY.publicKey);
    expect(phone.request('sync-push-request', syncPushChunks(bundle)[0]!, T0 + 2).body).toEqual({
      result: 0,
      received: 100,
      syncVersion: 4,
    });
    expect(phone.request('unlock-request', {}, T0 + 3).body).toMatchObject({ result: 0 });
    expect(host.services.calls).toEqual([
      'handshakeStatus',
      'admit',
      'unlock',
      'syncPush',
      'unlock',
    ]);
  });

  it('cuts notifications to an MTU that changed after connecting', () => {
    const phone = new Phone(host, { mtu: 185 });
    expect(host.step((out) => host.server.connect(phone.link, 23, T0, out))).toHaveLength(1);
    host.server.updateMtu(phone.link, 185);
    phone.startHandshake(T0);
    expect(phone.link.notified).toHaveLength(1);
  });
});

describe('BleServer: one connection at a time (SECURITY.md item 5)', () => {
  it('answers a second link BUSY at its first write and closes it; the first goes on', () => {
    const first = new Phone(host);
    first.open(T0);
    expect(host.server.advertisement(NO_FLAGS).connectable).toBe(false);

    const second = new Phone(host);
    expect(second.connect(T0 + 1)).toBe(false);
    expect(second.link.notified).toHaveLength(0);
    second.send(unwrap(second.session.writeMessage1(T0 + 2)), T0 + 2);
    expect(second.fragments()).toEqual([REFUSED.BUSY]);
    expect(second.link.closedWith).toBe(WIRE_ERRORS.BUSY);

    expect(first.request('unlock-request', {}, T0 + 3).body).toMatchObject({ result: 0 });
    expect(host.services.calls.filter((c) => c === 'handshakeStatus')).toHaveLength(1);
  });

  it('keeps one refused link waiting: a third is closed at once, silently', () => {
    const first = new Phone(host);
    first.open(T0);
    const second = new Phone(host);
    const third = new Phone(host);
    expect(second.connect(T0 + 1)).toBe(false);
    expect(third.connect(T0 + 1)).toBe(false);
    expect(third.link).toMatchObject({ notified: [], closedWith: WIRE_ERRORS.BUSY });
    expect(second.link.closedWith).toBeUndefined();
  });

  it('closes a refused link that never writes after the handshake timeout, without a word', () => {
    const first = new Phone(host);
    first.open(T0);
    const second = new Phone(host);
    expect(host.step((out) => host.server.connect(second.link, 23, T0 + 1, out))).toEqual([
      ['set', TIMER, T0 + 1 + HANDSHAKE_MS],
    ]);
    host.timerFired(T0 + HANDSHAKE_MS);
    expect(second.link.closedWith).toBeUndefined();
    expect(host.timerFired(T0 + 1 + HANDSHAKE_MS)).toEqual([['set', TIMER, T0 + IDLE_MS]]);
    expect(second.link).toMatchObject({ notified: [], closedWith: WIRE_ERRORS.BUSY });
    expect(first.link.closedWith).toBeUndefined();
  });

  it('accepts the next phone once the held link is gone, and frees every byte of the old one', () => {
    const first = new Phone(host);
    first.open(T0);
    first.request('sync-push-request', syncPushChunks(new Uint8Array(5000))[0]!, T0 + 1);
    expect(host.server.heldBytes).toBe(3072);
    expect(host.step((out) => host.server.disconnect(first.link, out))).toEqual([
      ['cancel', TIMER],
    ]);
    expect(host.server).toMatchObject({
      phase: 'idle',
      connectable: true,
      heldBytes: 0,
      nextDeadline: undefined,
    });

    const next = new Phone(host, { key: OTHER_PHONE_KEY, credential: OTHER_CREDENTIAL });
    next.open(T0 + 2);
    expect(host.server.phase).toBe('admitted');
    expect(next.request('status-request', {}, T0 + 3).type).toBe('status-response');
    // A late write from the old link changes nothing.
    expect(first.write(fromHex('800001ff'), T0 + 4)).toEqual([]);
    expect(first.fragments()).toEqual([]);
    expect(next.link.closedWith).toBeUndefined();
  });

  it('advertises its flags, connectable only while no link is held', () => {
    const status = { needsUpdate: true, lowBattery: false, syncPending: true };
    const idle = host.server.advertisement(status);
    expect(idle.connectable).toBe(true);
    expect(unwrap(decodeAdvertisement(idle.advertisingData))).toEqual({
      protocolVersion: 1,
      status,
      lockIdPrefix: LOCK_ID.subarray(0, 4),
    });
    expect(unwrap(decodeScanResponse(idle.scanResponse))).toEqual({
      protocolVersion: 1,
      status,
      lockId: LOCK_ID,
    });
    const phone = new Phone(host);
    phone.connect(T0);
    const held = host.server.advertisement(status);
    expect(held.connectable).toBe(false);
    expect(hex(held.advertisingData)).toBe(hex(idle.advertisingData));
    host.step((out) => host.server.disconnect(phone.link, out));
    expect(host.server.advertisement(status).connectable).toBe(true);
  });
});

describe('BleServer: timeouts and limits, on the host timer (SECURITY.md items 5, 14)', () => {
  it('refuses a handshake not finished in time with TIMEOUT at its deadline, and frees it', () => {
    const phone = new Phone(host);
    expect(phone.connect(T0)).toBe(true);
    phone.startHandshake(T0 + 100);
    expect(host.timerFired(T0 + HANDSHAKE_MS - 1)).toEqual([['set', TIMER, T0 + HANDSHAKE_MS]]);
    expect(phone.link.closedWith).toBeUndefined();
    expect(host.timerFired(T0 + HANDSHAKE_MS)).toEqual([]);
    expect(phone.fragments()).toEqual([REFUSED.TIMEOUT]);
    expect(phone.link.closedWith).toBe(WIRE_ERRORS.TIMEOUT);
    expect(host.server).toMatchObject({ phase: 'idle', heldBytes: 0, nextDeadline: undefined });
    // Message 3 arriving now is from a link the lock let go.
    phone.finishHandshake(T0 + HANDSHAKE_MS + 1);
    expect(host.services.calls).toEqual(['handshakeStatus']);
  });

  it('refuses a message 3 that arrives after the deadline, before the timer ran, with TIMEOUT', () => {
    const phone = new Phone(host);
    phone.connect(T0);
    phone.startHandshake(T0);
    phone.finishHandshake(T0 + HANDSHAKE_MS);
    expect(phone.fragments()).toEqual([REFUSED.TIMEOUT]);
    expect(phone.link.closedWith).toBe(WIRE_ERRORS.TIMEOUT);
    expect(host.services.calls).toEqual(['handshakeStatus']);
  });

  it('refuses a phone that connects and never writes, at the handshake deadline', () => {
    const phone = new Phone(host);
    phone.connect(T0);
    host.timerFired(T0 + HANDSHAKE_MS);
    expect(phone.fragments()).toEqual([REFUSED.TIMEOUT]);
    expect(host.server.phase).toBe('idle');
  });

  it('ends an idle session at its idle deadline, without a message', () => {
    const phone = new Phone(host);
    phone.open(T0);
    phone.request('unlock-request', {}, T0 + 500);
    const deadline = T0 + 500 + IDLE_MS;
    expect(host.server.nextDeadline).toBe(deadline);
    host.timerFired(deadline - 1);
    expect(phone.link.closedWith).toBeUndefined();
    // The timer that fired was the last one: nothing to cancel.
    expect(host.timerFired(deadline)).toEqual([]);
    expect(phone.link).toMatchObject({ closedWith: WIRE_ERRORS.TIMEOUT });
    expect(phone.fragments()).toEqual([]);
    expect(host.server).toMatchObject({ phase: 'idle', connectable: true, heldBytes: 0 });
  });

  it('drops a message in flight at the reassembler deadline', () => {
    const timed = new Host({ handshakeTimeoutMs: 60_000, maxSessionMs: 120_000 });
    const phone = new Phone(timed);
    phone.connect(T0);
    phone.write(fromHex('8000310102'), T0);
    expect(timed.server.nextDeadline).toBe(T0 + 15_000);
    timed.timerFired(T0 + 15_000);
    expect(phone.fragments()).toEqual([REFUSED.TIMEOUT]);
    expect(phone.link.closedWith).toBe(WIRE_ERRORS.TIMEOUT);
  });

  it('ends a session past its message limit, before the request reaches the lock', () => {
    const limited = new Host({ maxMessagesPerDirection: 2 });
    const phone = new Phone(limited);
    phone.open(T0);
    phone.request('unlock-request', {}, T0 + 1);
    phone.request('lock-request', {}, T0 + 2);
    expect(
      phone.exchange(encodeMessage({ type: 'unlock-request', id: 3, body: {} }), T0 + 3),
    ).toEqual([]);
    expect(phone.link.closedWith).toBe(WIRE_ERRORS.SESSION_LIMIT);
    expect(limited.services.calls).toEqual(['handshakeStatus', 'admit', 'unlock', 'lock']);
  });
});

describe('BleServer: tampering and refusals (SECURITY.md items 1–4, 12, 26)', () => {
  /** The unlock request's sealed bytes as fragments at MTU 23, for a phone with an open session. */
  function openPhoneWithUnlock(): { phone: Phone; pieces: Uint8Array[] } {
    const phone = new Phone(host);
    phone.open(T0);
    const sealed = unwrap(
      phone.session.encrypt(encodeMessage({ type: 'unlock-request', id: 1, body: {} }), T0 + 1),
    );
    return { phone, pieces: fragment(sealed, 23).map((piece) => piece.slice()) };
  }

  it.each([
    ['a ciphertext byte of the first fragment', 0, 3, WIRE_ERRORS.AUTH_FAILED],
    ['the last byte of the tag', 1, -1, WIRE_ERRORS.AUTH_FAILED],
    ['the control byte (reserved bit)', 0, 0, WIRE_ERRORS.BAD_FRAME],
    ['the declared length', 0, 2, WIRE_ERRORS.BAD_FRAME],
    ['a continuation sequence number', 1, 1, WIRE_ERRORS.BAD_FRAME],
  ])(
    'ends the session on a bit flipped in %s, silently, executing nothing',
    (_n, at, byte, code) => {
      const { phone, pieces } = openPhoneWithUnlock();
      const piece = pieces[at]!;
      const index = byte < 0 ? piece.length + byte : byte;
      piece[index] = (piece[index] ?? 0) ^ 0x01;
      for (const p of pieces) phone.write(p, T0 + 1);
      expect(phone.link.closedWith).toBe(code);
      expect(phone.fragments()).toEqual([]);
      expect(host.services.calls).not.toContain('unlock');
      expect(host.server).toMatchObject({ phase: 'idle', heldBytes: 0 });
    },
  );

  it('ends the session on a replayed request', () => {
    const { phone, pieces } = openPhoneWithUnlock();
    for (const p of pieces) phone.write(p, T0 + 1);
    expect(phone.messages(T0 + 1)).toHaveLength(1);
    for (const p of pieces) phone.write(p, T0 + 2);
    expect(phone.link.closedWith).toBe(WIRE_ERRORS.AUTH_FAILED);
    expect(phone.fragments()).toEqual([]);
    expect(host.services.calls.filter((c) => c === 'unlock')).toHaveLength(1);
  });

  /** Each way a phone can fail before admission, with the reason the lock logs. */
  const BEFORE_ADMISSION: readonly (readonly [string, (phone: Phone) => void, WireErrorCode])[] = [
    ['a 2-byte write', (p) => p.write(fromHex('8000'), T0), WIRE_ERRORS.BAD_FRAME],
    ['a declared length over 4096', (p) => p.write(fromHex('80100100'), T0), WIRE_ERRORS.TOO_LARGE],
    [
      'a continuation with no first fragment',
      (p) => p.write(fromHex('000100'), T0),
      WIRE_ERRORS.BAD_FRAME,
    ],
    ['a message 1 cut short', (p) => p.send(new Uint8Array(40), T0), WIRE_ERRORS.FAILED],
    [
      'a message 1 with a flipped bit',
      (p) => {
        const message1 = unwrap(p.session.writeMessage1(T0));
        message1[40]! ^= 0x80;
        p.send(message1, T0);
      },
      WIRE_ERRORS.AUTH_FAILED,
    ],
    [
      'a message 1 for another lock id',
      (p) => {
        const other = new Phone(host, { lockId: new Uint8Array(16) });
        p.send(unwrap(other.session.writeMessage1(T0)), T0);
      },
      WIRE_ERRORS.AUTH_FAILED,
    ],
    [
      'a message 3 with a flipped bit',
      (p) => {
        p.startHandshake(T0);
        const message3 = unwrap(p.session.writeMessage3(CREDENTIAL, T0));
        message3[10]! ^= 0x04;
        p.send(message3, T0);
      },
      WIRE_ERRORS.AUTH_FAILED,
    ],
    [
      'a credential the lock does not know',
      (p) => {
        p.startHandshake(T0);
        p.send(unwrap(p.session.writeMessage3(text('forged'), T0)), T0);
      },
      WIRE_ERRORS.WRONG_DOOR,
    ],
    [
      "another phone's credential",
      (p) => {
        p.startHandshake(T0);
        p.send(unwrap(p.session.writeMessage3(OTHER_CREDENTIAL, T0)), T0);
      },
      WIRE_ERRORS.AUTH_FAILED,
    ],
  ];

  it.each(BEFORE_ADMISSION)(
    'refuses %s with a bare FAILED on the air, the reason kept for the log',
    (_name, act, reason) => {
      const phone = new Phone(host);
      phone.connect(T0);
      act(phone);
      expect(phone.fragments()).toEqual([REFUSED.FAILED]);
      expect(phone.link.closedWith).toBe(reason);
      expect(host.server).toMatchObject({ phase: 'idle', heldBytes: 0, nextDeadline: undefined });
      expect(host.services.calls).not.toContain('unlock');
    },
  );

  /** One write: raw bytes, or something shaped like a first fragment or a continuation. */
  const anyWrite = fc.oneof(
    fc.uint8Array({ maxLength: 24 }),
    fc
      .tuple(fc.nat(120), fc.uint8Array({ minLength: 1, maxLength: 20 }))
      .map(([length, payload]) => Uint8Array.of(0x80, 0, length, ...payload)),
    fc
      .tuple(fc.nat(4), fc.uint8Array({ minLength: 1, maxLength: 21 }))
      .map(([seq, payload]) => Uint8Array.of(0, seq, ...payload)),
  );
  /** Writes, and timer firings, at times advancing by up to 20 s. */
  const anySteps = fc.array(
    fc.record({ write: fc.option(anyWrite, { nil: undefined }), after: fc.nat(20_000) }),
    { maxLength: 30 },
  );

  it('never throws on garbage before the handshake: FAILED or TIMEOUT at most, then silence', () => {
    fc.assert(
      fc.property(anySteps, (steps) => {
        const rig = new Host();
        const phone = new Phone(rig);
        phone.connect(T0);
        let now = T0;
        for (const { write, after } of steps) {
          now += after;
          if (write === undefined) rig.timerFired(now);
          else phone.write(write, now);
          expect(rig.server.heldBytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
        }
        const onAir = phone.fragments();
        expect(onAir.length).toBeLessThanOrEqual(1);
        if (onAir.length === 1) {
          expect([REFUSED.FAILED, REFUSED.TIMEOUT]).toContain(onAir[0]);
          expect(rig.server.phase).toBe('idle');
        }
        expect(rig.services.calls).toEqual([]);
      }),
      { numRuns: propertyRuns(300, 30_000) },
    );
  });

  it('never throws on garbage once admitted: the session ends silently, nothing executes', () => {
    fc.assert(
      fc.property(anySteps, (steps) => {
        const rig = new Host();
        const phone = new Phone(rig);
        phone.open(T0);
        let now = T0;
        for (const { write, after } of steps) {
          now += after;
          if (write === undefined) rig.timerFired(now);
          else phone.write(write, now);
        }
        expect(phone.fragments()).toEqual([]);
        expect(rig.services.calls).toEqual(['handshakeStatus', 'admit']);
        if (phone.link.closedWith !== undefined) expect(rig.server.phase).toBe('idle');
        else expect(rig.server.phase).toBe('admitted');
      }),
      { numRuns: propertyRuns(40, 4_000) },
    );
  });
});

describe('BleServer: caller bugs throw', () => {
  it('refuses a link connected twice, an MTU out of range, and bad options', () => {
    const phone = new Phone(host);
    phone.connect(T0);
    expect(() => host.server.connect(phone.link, 23, T0, host.out)).toThrow(TypeError);
    expect(() => host.server.connect(new RecordingLink(), 22, T0, host.out)).toThrow(RangeError);
    expect(() => host.server.updateMtu(phone.link, 518)).toThrow(RangeError);
    const options = {
      crypto: lockCrypto,
      lockStaticKey: LOCK_KEY,
      lockId: LOCK_ID,
      services: host.services,
      timerKind: TIMER,
    };
    expect(() => new BleServer({ ...options, lockId: new Uint8Array(15) })).toThrow(RangeError);
    expect(() => new BleServer({ ...options, versions: [2, 1] })).toThrow(RangeError);
    expect(() => new BleServer({ ...options, limits: { idleTimeoutMs: 0 } })).toThrow(RangeError);
    expect(() => new BleServer({ ...options, timerKind: -1 })).toThrow(RangeError);
    expect(host.server.phase).toBe('handshake');
  });
});
