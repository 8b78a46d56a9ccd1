/**
 * The request / response messages of a session (ARCHITECTURE.md §4 "Messages"), carried inside
 * Noise transport messages once the handshake is done. Each is one canonical CBOR map
 * (`cbor/strict-cbor.ts`):
 *
 *     message = { 0: type uint, 1: id uint32, 2: body map }
 *
 * The phone picks `id` per request; the lock's response (or `error`) echoes it. Bodies follow
 * the schemas below. Each type has a size limit, checked before any decoding: a canonical
 * message starts with `a3 00 <type>`, so `decodeMessage` reads the type from those three bytes,
 * refuses a longer input with `TOO_LARGE`, and only then parses (SECURITY.md items 4, 6).
 * Every limit is at most `MAX_SESSION_MESSAGE_BYTES`: the frame layer's 4 KiB message minus the
 * 16-byte Noise tag. A sealed sync bundle is larger, so `sync-push` carries it in chunks.
 *
 * Times are ms since the Unix epoch, UTC. `result` fields are 0 for success or a wire error code
 * (`errors.ts`).
 */
import {
  bool,
  bytes,
  fromCbor,
  mapSchema,
  optional,
  required,
  text,
  toCbor,
  uint,
} from './cbor/schema.js';
import type { Infer, MapSchema } from './cbor/schema.js';
import { decodeCbor, encodeCbor } from './cbor/strict-cbor.js';
import type { CborMap, CborValue } from './cbor/strict-cbor.js';
import { WIRE_ERRORS } from './errors.js';
import { MAX_AUDIT_RECORDS, MAX_SEALED_AUDIT_UPLOAD_BYTES } from './formats/audit-upload.js';
import { LOCK_NONCE_BYTES, timeMs } from './formats/common.js';
import { MAX_SEALED_SYNC_BUNDLE_BYTES } from './formats/sync-bundle.js';
import { MAX_SIGNED_TIME_ANCHOR_BYTES } from './formats/time-anchor.js';
import { fail, ok } from './result.js';
import type { Result } from './result.js';

/** The frame layer's 4,096-byte message less the Noise transport tag. */
export const MAX_SESSION_MESSAGE_BYTES = 4096 - 16;
export const MAX_MESSAGE_ID = 0xffff_ffff;
/** Bytes of a sealed sync bundle per `sync-push-request`. */
export const SYNC_PUSH_CHUNK_BYTES = 3072;
/** `result` of a command that succeeded. */
export const RESULT_OK = 0;
/** Bits of `status-response.flags`. */
export const STATUS_FLAGS = { NEEDS_UPDATE: 0x01, LOW_BATTERY: 0x02 } as const;

/** 0 or a wire error code. */
const result = uint({ max: 0xff });
const empty = (name: string) => mapSchema(name, {});

const statusResponse = mapSchema(
  'statusResponse',
  {
    /** §3 device model as the vendor names it (`M`, `C`, `C2`, `R2`). */
    model: required(0, text({ min: 1, max: 8 })),
    firmware: required(1, text({ min: 1, max: 16 })),
    batteryPercent: required(2, uint({ max: 100 })),
    flags: required(3, uint({ max: STATUS_FLAGS.NEEDS_UPDATE | STATUS_FLAGS.LOW_BATTERY })),
    clockValid: required(4, bool()),
    /** The sync bundle version the lock holds, 0 for none. */
    syncVersion: required(5, uint()),
    /** The sequence the next audit record will get. */
    auditHead: required(6, uint()),
    /** The oldest sequence still held (= auditHead when the ring is empty). */
    auditTail: required(7, uint()),
    /** Fresh for this session: a time anchor bound to it serves once (`formats/time-anchor.ts`). */
    nonce: required(8, bytes(LOCK_NONCE_BYTES)),
  },
  (s) => (s.auditTail <= s.auditHead ? undefined : 'auditTail: must not exceed auditHead'),
);

const commandResponse = (name: string) =>
  mapSchema(name, {
    result: required(0, result),
    /** The audit record the command wrote. */
    auditSeq: optional(1, uint()),
  });

const timeSyncRequest = mapSchema('timeSyncRequest', {
  /** A signed time anchor. */
  anchor: required(0, bytes({ min: 1, max: MAX_SIGNED_TIME_ANCHOR_BYTES })),
  /** The phone's clock, required with a window anchor. */
  phoneTime: optional(1, timeMs),
});

const timeSyncResponse = mapSchema('timeSyncResponse', {
  result: required(0, result),
  /** The lock's clock after the sync. */
  lockTime: optional(1, timeMs),
});

/**
 * One chunk of a sealed sync bundle of `total` bytes, sent in order: the lock accepts a chunk
 * only at `offset` = the bytes it has received (else `UNEXPECTED`), holds at most `total` bytes,
 * and opens the bundle when the last chunk arrives.
 */
const syncPushRequest = mapSchema(
  'syncPushRequest',
  {
    total: required(0, uint({ min: 1, max: MAX_SEALED_SYNC_BUNDLE_BYTES })),
    offset: required(1, uint({ max: MAX_SEALED_SYNC_BUNDLE_BYTES - 1 })),
    chunk: required(2, bytes({ min: 1, max: SYNC_PUSH_CHUNK_BYTES })),
  },
  (r) => (r.offset + r.chunk.length <= r.total ? undefined : 'chunk: ends after total'),
);

const syncPushResponse = mapSchema('syncPushResponse', {
  result: required(0, result),
  /** Bytes of the bundle received so far. */
  received: required(1, uint({ max: MAX_SEALED_SYNC_BUNDLE_BYTES })),
  /** The version the lock holds now. */
  syncVersion: required(2, uint()),
});

const auditPullRequest = mapSchema('auditPullRequest', {
  from: required(0, uint()),
  maxRecords: optional(1, uint({ min: 1, max: MAX_AUDIT_RECORDS })),
});

const auditPullResponse = mapSchema('auditPullResponse', {
  /** A sealed audit upload (`formats/audit-upload.ts`), opaque to the phone. */
  upload: required(0, bytes({ min: 1, max: MAX_SEALED_AUDIT_UPLOAD_BYTES })),
  /** Records after this chunk remain. */
  more: required(1, bool()),
});

/**
 * Passage mode (ARCHITECTURE.md §3 "Door schedules"): a manager holds the door unlocked (`on`)
 * until they end it or a power loss does; the lock refuses anyone else with `FORBIDDEN`
 * (SECURITY.md item 19).
 */
const passageRequest = mapSchema('passageRequest', {
  on: required(0, bool()),
});

const errorBody = mapSchema('error', {
  code: required(0, uint({ min: 1, max: 0xff })),
});

/** Room for the envelope: map head, type, id (5 bytes), body key and head. */
const ENVELOPE = 16;

/** Each message type: its wire number (requests odd, responses even), body schema, limit. */
export const MESSAGES = {
  'status-request': { code: 1, body: empty('statusRequest'), maxBytes: ENVELOPE },
  'status-response': { code: 2, body: statusResponse, maxBytes: 128 },
  'unlock-request': { code: 3, body: empty('unlockRequest'), maxBytes: ENVELOPE },
  'unlock-response': { code: 4, body: commandResponse('unlockResponse'), maxBytes: 48 },
  'lock-request': { code: 5, body: empty('lockRequest'), maxBytes: ENVELOPE },
  'lock-response': { code: 6, body: commandResponse('lockResponse'), maxBytes: 48 },
  'time-sync-request': {
    code: 7,
    body: timeSyncRequest,
    maxBytes: MAX_SIGNED_TIME_ANCHOR_BYTES + 32,
  },
  'time-sync-response': { code: 8, body: timeSyncResponse, maxBytes: 48 },
  'sync-push-request': { code: 9, body: syncPushRequest, maxBytes: SYNC_PUSH_CHUNK_BYTES + 48 },
  'sync-push-response': { code: 10, body: syncPushResponse, maxBytes: 48 },
  'audit-pull-request': { code: 11, body: auditPullRequest, maxBytes: 48 },
  'audit-pull-response': {
    code: 12,
    body: auditPullResponse,
    maxBytes: MAX_SEALED_AUDIT_UPLOAD_BYTES + 32,
  },
  'passage-request': { code: 13, body: passageRequest, maxBytes: ENVELOPE },
  'passage-response': { code: 14, body: commandResponse('passageResponse'), maxBytes: 48 },
  error: { code: 23, body: errorBody, maxBytes: ENVELOPE },
} as const;

export type MessageType = keyof typeof MESSAGES;
export type MessageBody<T extends MessageType> = Infer<(typeof MESSAGES)[T]['body']>;
export type Message = {
  [T in MessageType]: { readonly type: T; readonly id: number; readonly body: MessageBody<T> };
}[MessageType];

const BY_CODE = new Map<number, MessageType>(
  Object.entries(MESSAGES).map(([type, spec]) => [spec.code, type as MessageType]),
);

/** Canonical CBOR of a message; throws on an invalid body, id, or a message over its limit. */
export function encodeMessage(message: Message): Uint8Array {
  const spec = MESSAGES[message.type];
  if (!Number.isSafeInteger(message.id) || message.id < 0 || message.id > MAX_MESSAGE_ID) {
    throw new RangeError(`${message.type}: id must be a uint32`);
  }
  const body = toCbor(spec.body as MapSchema, message.body as never);
  const bytes = encodeCbor(
    new Map<number, CborValue>([
      [0, spec.code],
      [1, message.id],
      [2, body],
    ]),
  );
  if (bytes.length > spec.maxBytes) {
    throw new RangeError(`${message.type}: ${bytes.length} bytes, limit ${spec.maxBytes}`);
  }
  return bytes;
}

/** The type a canonical message declares in its first three bytes (`a3 00 <type>`), if known. */
function peekType(bytes: Uint8Array): MessageType | undefined {
  return bytes[0] === 0xa3 && bytes[1] === 0x00 ? BY_CODE.get(bytes[2] ?? -1) : undefined;
}

function isMap(value: CborValue): value is CborMap {
  return value instanceof Map;
}

/**
 * Size limit of the declared type, strict CBOR, envelope, body schema. Never throws: a message,
 * or `TOO_LARGE` / `DECODE` / `SCHEMA` with the path (`status-response.batteryPercent: ...`).
 */
export function decodeMessage(bytes: Uint8Array): Result<Message> {
  const peeked = peekType(bytes);
  const limit = peeked === undefined ? MAX_SESSION_MESSAGE_BYTES : MESSAGES[peeked].maxBytes;
  const raw = decodeCbor(bytes, { maxBytes: limit });
  if (!raw.ok) return raw;
  const envelope = raw.value;
  if (!isMap(envelope)) return fail(WIRE_ERRORS.SCHEMA, 'message: expected a map');
  for (const key of envelope.keys()) {
    if (key > 2) return fail(WIRE_ERRORS.SCHEMA, `message: unknown key ${key}`);
  }
  const code = envelope.get(0);
  const type = typeof code === 'number' ? BY_CODE.get(code) : undefined;
  if (type === undefined) return fail(WIRE_ERRORS.SCHEMA, 'message.type: unknown message type');
  const spec = MESSAGES[type];
  if (bytes.length > spec.maxBytes) {
    return fail(WIRE_ERRORS.TOO_LARGE, `${type}: ${bytes.length} bytes, limit ${spec.maxBytes}`);
  }
  const id = envelope.get(1);
  if (typeof id !== 'number' || id < 0 || id > MAX_MESSAGE_ID) {
    return fail(WIRE_ERRORS.SCHEMA, `${type}.id: expected uint 0..${MAX_MESSAGE_ID}`);
  }
  const rawBody = envelope.get(2);
  if (rawBody === undefined) return fail(WIRE_ERRORS.SCHEMA, `${type}.body: missing`);
  const body = fromCbor(spec.body as MapSchema, rawBody, type);
  return body.ok ? ok({ type, id, body: body.value } as Message) : body;
}

/** The `sync-push-request` bodies that carry `sealed` (a sealed sync bundle), in order. */
export function syncPushChunks(sealed: Uint8Array): MessageBody<'sync-push-request'>[] {
  if (sealed.length === 0 || sealed.length > MAX_SEALED_SYNC_BUNDLE_BYTES) {
    throw new RangeError('syncPushChunks: expected a sealed sync bundle');
  }
  const chunks: MessageBody<'sync-push-request'>[] = [];
  for (let offset = 0; offset < sealed.length; offset += SYNC_PUSH_CHUNK_BYTES) {
    const chunk = sealed.slice(offset, offset + SYNC_PUSH_CHUNK_BYTES);
    chunks.push({ total: sealed.length, offset, chunk });
  }
  return chunks;
}
