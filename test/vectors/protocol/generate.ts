/**
 * The golden vectors of the keyway protocol (protocol/SPEC.md §5): complete exchanges produced by
 * the reference implementation from fixed keys and a fixed random stream. `generateGoldenVectors`
 * returns each file's content; `test/protocol/golden.test.ts` checks the files in this folder
 * against it, and rewrites them when run with KEYWAY_WRITE_VECTORS=1:
 *
 *   KEYWAY_WRITE_VECTORS=1 npx vitest run test/protocol/golden.test.ts
 */
import type { CryptoProvider, RandomSource } from '../../../protocol/crypto/provider.js';
import { signCredential, type Credential } from '../../../protocol/formats/credential.js';
import { sealAuditUpload, type AuditUpload } from '../../../protocol/formats/audit-upload.js';
import { sealSyncBundle, type SyncBundle } from '../../../protocol/formats/sync-bundle.js';
import { signTimeAnchor } from '../../../protocol/formats/time-anchor.js';
import { fragment } from '../../../protocol/frame-codec.js';
import { encodeMessage, syncPushChunks, type Message } from '../../../protocol/messages.js';
import { LockSession, PhoneSession } from '../../../protocol/noise/session.js';
import type { Result } from '../../../protocol/result.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));

/** A fixed byte stream (a 32-bit linear congruential generator): only reproducibility matters. */
export function goldenRandom(seed = 0x6b657977): RandomSource {
  let state = seed >>> 0;
  return (length) =>
    Uint8Array.from({ length }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state >>> 24;
    });
}

/** The fixed inputs: test keys only, never real ones. */
export const GOLDEN_INPUTS = {
  lockId: fromHex('6b657977617920676f6c64656e000001'),
  lockStaticSecret: fromHex('4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893'),
  phoneStaticSecret: fromHex('e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1'),
  issuerSeed: fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
  lockSecret: fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'),
  /** 2026-03-01T12:00:00Z, the moment of the exchange. */
  now: Date.UTC(2026, 2, 1, 12),
  dayMs: 86_400_000,
} as const;

function must<T>(result: Result<T>, step: string): T {
  if (!result.ok) throw new Error(`golden vectors: ${step} failed with code ${result.code}`);
  return result.value;
}

/** The credential of the exchange, which the sync bundle lists by id. */
const CREDENTIAL_ID = fromHex('c0000000000000000000000000000001');

function credentialFor(phoneKey: Uint8Array): Credential {
  const { lockId, now, dayMs } = GOLDEN_INPUTS;
  return {
    id: CREDENTIAL_ID,
    user: fromHex('d0000000000000000000000000000001'),
    phoneKey,
    doors: [lockId],
    notBefore: now - dayMs,
    expires: now + 30 * dayMs,
    epoch: 1,
    role: 'resident',
  };
}

function syncBundle(signedAnchor: Uint8Array): SyncBundle {
  const { lockId } = GOLDEN_INPUTS;
  return {
    lockId,
    version: 7,
    baseVersion: 0,
    kind: 'full',
    credentials: [CREDENTIAL_ID],
    doorcodes: [
      {
        door: lockId,
        id: fromHex('e0000000000000000000000000000001'),
        pin: '4815162',
        user: fromHex('d0000000000000000000000000000001'),
      },
    ],
    revocations: { version: 3, credentials: [], dailySlots: [], doorcodes: [] },
    config: { ajarSeconds: 60, stillAjarMinutes: 10, relockSeconds: 5 },
    timeZone: 'America/New_York',
    timeAnchor: signedAnchor,
    auditAck: 40,
  };
}

function auditUpload(): AuditUpload {
  const { lockId, now } = GOLDEN_INPUTS;
  return {
    lockId,
    firstSeq: 40,
    records: [
      { seq: 40, time: now - 60_000, method: 'PASSCODE', result: 'INCORRECT', reason: 0x43 },
      {
        seq: 41,
        time: now,
        method: 'BLE',
        result: 'SUCCESS',
        credential: fromHex('c0000000000000000000000000000001'),
        user: fromHex('d0000000000000000000000000000001'),
      },
    ],
    overflow: 0,
  };
}

interface WireMessage {
  readonly name: string;
  readonly direction: 'phone→lock' | 'lock→phone';
  /** The plaintext: a CBOR session message, or a handshake payload. */
  readonly plaintext: string;
  /** The Noise message: handshake message or transport ciphertext. */
  readonly noise: string;
  /** The ATT values that carry it. */
  readonly fragments: string[];
}

/** One complete connection at `mtu`: handshake, status, unlock, sync push, audit pull. */
function exchange(crypto: CryptoProvider, mtu: number): object {
  const { lockId, lockStaticSecret, phoneStaticSecret, issuerSeed, lockSecret, now } =
    GOLDEN_INPUTS;
  const lockKey = {
    secretKey: lockStaticSecret,
    publicKey: crypto.x25519PublicKey(lockStaticSecret),
  };
  const phoneKey = {
    secretKey: phoneStaticSecret,
    publicKey: crypto.x25519PublicKey(phoneStaticSecret),
  };
  const signedCredential = signCredential(credentialFor(phoneKey.publicKey), issuerSeed, crypto);
  const nonce = fromHex('0f0e0d0c0b0a09080706050403020100');
  const status: Message = {
    type: 'status-response',
    id: 0,
    body: {
      model: 'M',
      firmware: '1.02',
      batteryPercent: 87,
      flags: 0,
      clockValid: true,
      syncVersion: 6,
      auditHead: 42,
      auditTail: 40,
      nonce,
    },
  };
  const messages: WireMessage[] = [];
  const record = (
    name: string,
    direction: WireMessage['direction'],
    plaintext: Uint8Array,
    noise: Uint8Array,
  ): Uint8Array => {
    messages.push({
      name,
      direction,
      plaintext: hex(plaintext),
      noise: hex(noise),
      fragments: fragment(noise, mtu).map(hex),
    });
    return noise;
  };

  const phone = new PhoneSession({
    crypto,
    phoneStaticKey: phoneKey,
    lockStaticKey: lockKey.publicKey,
    lockId,
    lockVersions: [1],
    now,
  });
  const lock = new LockSession({ crypto, lockStaticKey: lockKey, lockId, now });
  const message1 = record(
    'handshake 1',
    'phone→lock',
    Uint8Array.of(1),
    must(phone.writeMessage1(now), 'message 1'),
  );
  must(lock.readMessage1(message1, now), 'read message 1');
  const statusBytes = encodeMessage(status);
  const message2 = record(
    'handshake 2',
    'lock→phone',
    statusBytes,
    must(lock.writeMessage2(statusBytes, now), 'message 2'),
  );
  must(phone.readMessage2(message2, now), 'read message 2');
  const message3 = record(
    'handshake 3',
    'phone→lock',
    signedCredential,
    must(phone.writeMessage3(signedCredential, now), 'message 3'),
  );
  must(lock.readMessage3(message3, now), 'read message 3');

  let id = 1;
  const send = (
    from: PhoneSession | LockSession,
    to: PhoneSession | LockSession,
    message: Message,
  ): void => {
    const plaintext = encodeMessage(message);
    const noise = must(from.encrypt(plaintext, now), `encrypt ${message.type}`);
    record(message.type, from === phone ? 'phone→lock' : 'lock→phone', plaintext, noise);
    const opened = must(to.decrypt(noise, now), `decrypt ${message.type}`);
    if (hex(opened) !== hex(plaintext)) throw new Error('golden vectors: transport round trip');
  };
  send(phone, lock, { type: 'unlock-request', id, body: {} });
  send(lock, phone, { type: 'unlock-response', id: id++, body: { result: 0, auditSeq: 42 } });
  const anchor = signTimeAnchor(
    { lockId, time: now, validFrom: now - 3_600_000, validUntil: now + 86_400_000 },
    issuerSeed,
    crypto,
  );
  const sealed = sealSyncBundle(syncBundle(anchor), lockSecret, crypto);
  for (const chunk of syncPushChunks(sealed)) {
    send(phone, lock, { type: 'sync-push-request', id, body: chunk });
    const received = chunk.offset + chunk.chunk.length;
    const done = received === sealed.length;
    send(lock, phone, {
      type: 'sync-push-response',
      id: id++,
      body: { result: 0, received, syncVersion: done ? 7 : 6 },
    });
  }
  send(phone, lock, { type: 'audit-pull-request', id, body: { from: 40 } });
  const upload = sealAuditUpload(auditUpload(), lockSecret, crypto);
  send(lock, phone, { type: 'audit-pull-response', id, body: { upload, more: false } });

  return {
    description: `A full connection at ATT_MTU ${mtu}: Noise XK handshake (message 2 carries the lock's status, message 3 the phone's signed credential), unlock, sync push of a sealed bundle, audit pull.`,
    mtu,
    lockId: hex(lockId),
    lockStaticSecret: hex(lockStaticSecret),
    lockStaticPublic: hex(lockKey.publicKey),
    phoneStaticSecret: hex(phoneStaticSecret),
    phoneStaticPublic: hex(phoneKey.publicKey),
    issuerSeed: hex(issuerSeed),
    issuerPublic: hex(crypto.ed25519PublicKey(issuerSeed)),
    lockSecret: hex(lockSecret),
    now,
    handshakeHash: hex(phone.handshakeHash ?? new Uint8Array()),
    messages,
  };
}

/** Every golden vector file, by name, for the given provider and a fresh golden random stream. */
export function generateGoldenVectors(
  makeCrypto: (random: RandomSource) => CryptoProvider,
): Record<string, object> {
  const { lockId, issuerSeed, lockSecret, now } = GOLDEN_INPUTS;
  const files: Record<string, object> = {};
  files['exchange-mtu23.json'] = exchange(makeCrypto(goldenRandom(23)), 23);
  files['exchange-mtu247.json'] = exchange(makeCrypto(goldenRandom(247)), 247);
  const crypto = makeCrypto(goldenRandom(1));
  const windowAnchor = signTimeAnchor(
    { lockId, time: now, validFrom: now - 3_600_000, validUntil: now + 86_400_000 },
    issuerSeed,
    crypto,
  );
  const nonceAnchor = signTimeAnchor(
    { lockId, time: now, nonce: fromHex('0f0e0d0c0b0a09080706050403020100') },
    issuerSeed,
    crypto,
  );
  files['sync-bundle.json'] = {
    description:
      'A full sync bundle sealed for one lock: K_sync = HKDF-SHA256(lock secret, salt = lock id, info = "keyway sync v1").',
    lockId: hex(lockId),
    lockSecret: hex(lockSecret),
    issuerSeed: hex(issuerSeed),
    sealed: hex(sealSyncBundle(syncBundle(windowAnchor), lockSecret, crypto)),
  };
  files['audit-upload.json'] = {
    description:
      'An audit upload sealed for the cloud: K_audit = HKDF-SHA256(lock secret, salt = lock id, info = "keyway audit v1").',
    lockId: hex(lockId),
    lockSecret: hex(lockSecret),
    sealed: hex(sealAuditUpload(auditUpload(), lockSecret, crypto)),
  };
  files['time-anchor.json'] = {
    description:
      'Signed time anchors: one bound to a lock nonce (online phone), one with a validity window (offline phone).',
    lockId: hex(lockId),
    issuerSeed: hex(issuerSeed),
    issuerPublic: hex(crypto.ed25519PublicKey(issuerSeed)),
    nonceAnchor: hex(nonceAnchor),
    windowAnchor: hex(windowAnchor),
  };
  return files;
}
