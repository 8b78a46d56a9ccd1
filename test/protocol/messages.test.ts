// Session messages (protocol/messages.ts): a round trip for every type, per-type size limits
// checked before decoding, envelope and body errors with their paths, hostile bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldType, MapSchema } from '../../protocol/cbor/schema.js';
import { encodeCbor } from '../../protocol/cbor/strict-cbor.js';
import type { CborValue } from '../../protocol/cbor/strict-cbor.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { openSyncBundle, sealSyncBundle } from '../../protocol/formats/sync-bundle.js';
import {
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_ID,
  MAX_SESSION_MESSAGE_BYTES,
  MESSAGES,
  SYNC_PUSH_CHUNK_BYTES,
  syncPushChunks,
} from '../../protocol/messages.js';
import type { Message, MessageType } from '../../protocol/messages.js';
import { propertyRuns } from '../support/properties.js';
import {
  arbitraryFor,
  DECODER_CODES,
  fromHex,
  hostileInputs,
  integerIn,
  validPool,
} from './cbor/arbitraries.js';
import { node } from './crypto/both-providers.js';
import { LOCK_A, LOCK_SECRET_A } from './formats/fixtures.js';

const { DECODE, SCHEMA, TOO_LARGE } = WIRE_ERRORS;
const TYPES = Object.keys(MESSAGES) as MessageType[];

function messagesOf(type: MessageType): fc.Arbitrary<Message> {
  return fc
    .record({
      id: integerIn(0, MAX_MESSAGE_ID),
      body: arbitraryFor(MESSAGES[type].body as MapSchema),
    })
    .map(({ id, body }) => ({ type, id, body }) as Message);
}
const messages = fc.oneof(...TYPES.map(messagesOf));

/** The largest value of a field type: every length, count and number at its maximum. */
function largest(type: FieldType): unknown {
  switch (type.kind) {
    case 'uint':
    case 'int':
      return type.max;
    case 'bytes':
      return new Uint8Array(type.max).fill(0xff);
    case 'text':
      return '9'.repeat(type.max);
    case 'bool':
      return false;
    case 'enum':
      return [...type.names.values()].at(-1);
    case 'array':
      return Array.from({ length: type.max }, () => largest(type.of));
    case 'map':
      return Object.fromEntries(
        type.schema.entries.map(([name, field]) => [name, largest(field.type)]),
      );
  }
}

describe('messages: round trips', () => {
  it.each(TYPES)('decode(encode(m)) = m for %s', (type) => {
    fc.assert(
      fc.property(messagesOf(type), (message) => {
        expect(decodeMessage(encodeMessage(message))).toEqual({ ok: true, value: message });
      }),
      { numRuns: propertyRuns(300, 30_000) },
    );
  });

  it('numbers requests odd and responses even, every type below 24 (one byte)', () => {
    for (const [type, { code }] of Object.entries(MESSAGES)) {
      expect(code).toBeLessThan(24);
      if (type !== 'error') expect(code % 2).toBe(type.endsWith('-request') ? 1 : 0);
    }
    expect(new Set(Object.values(MESSAGES).map((m) => m.code)).size).toBe(TYPES.length);
  });

  it.each(TYPES)(
    'the largest %s fits its limit, and every limit fits one session message',
    (type) => {
      const spec = MESSAGES[type];
      const body = largest({ kind: 'map', schema: spec.body }) as Record<string, unknown>;
      if (type === 'sync-push-request')
        body['offset'] = Number(body['total']) - SYNC_PUSH_CHUNK_BYTES;
      const message = { type, id: MAX_MESSAGE_ID, body } as Message;
      const bytes = encodeMessage(message);
      expect(bytes.length).toBeLessThanOrEqual(spec.maxBytes);
      expect(spec.maxBytes).toBeLessThanOrEqual(MAX_SESSION_MESSAGE_BYTES);
      expect(decodeMessage(bytes)).toEqual({ ok: true, value: message });
    },
  );

  it('carries a sealed sync bundle in chunks that reassemble and open', () => {
    const credentials = Array.from({ length: 500 }, (_, i) => new Uint8Array(16).fill(i & 0xff));
    const bundle = {
      lockId: LOCK_A,
      version: 2,
      baseVersion: 0,
      kind: 'full' as const,
      credentials,
      doorcodes: [],
    };
    const sealed = sealSyncBundle(bundle, LOCK_SECRET_A, node);
    const chunks = syncPushChunks(sealed);
    expect(chunks.length).toBe(Math.ceil(sealed.length / SYNC_PUSH_CHUNK_BYTES));
    const received: Uint8Array[] = [];
    for (const [i, body] of chunks.entries()) {
      const decoded = decodeMessage(encodeMessage({ type: 'sync-push-request', id: i, body }));
      if (!decoded.ok || decoded.value.type !== 'sync-push-request') throw new Error('chunk');
      expect(decoded.value.body.offset).toBe(received.reduce((n, c) => n + c.length, 0));
      received.push(decoded.value.body.chunk);
    }
    const reassembled = Uint8Array.from(received.flatMap((c) => [...c]));
    expect(openSyncBundle(reassembled, LOCK_SECRET_A, LOCK_A, 1, node)).toEqual({
      ok: true,
      value: bundle,
    });
  });
});

describe('messages: limits before decoding', () => {
  it('TOO_LARGE for a status-request over 16 bytes, read from its first three bytes', () => {
    // a3 00 01: a status-request; whatever follows is never parsed once the limit is passed.
    const padded = fromHex('a3 00 01 01 00 02 a1 00 50' + '00'.repeat(16));
    expect(decodeMessage(padded)).toEqual({
      ok: false,
      code: TOO_LARGE,
      detail: `${padded.length} bytes, limit 16`,
    });
    const hostile = fromHex('a3 00 01 01 00 02 5b ffffffffffffffff' + '00'.repeat(8));
    expect(decodeMessage(hostile)).toMatchObject({ code: TOO_LARGE });
  });

  it('TOO_LARGE for anything over one session message, whatever it declares', () => {
    expect(decodeMessage(new Uint8Array(MAX_SESSION_MESSAGE_BYTES + 1))).toMatchObject({
      code: TOO_LARGE,
    });
  });

  it('DECODE for a type written in a non-shortest form', () => {
    // a3 00 18 02 is not canonical (2 in two bytes): DECODE, before any limit of type 2 matters.
    expect(decodeMessage(fromHex('a3 00 18 02 01 00 02 a0'))).toMatchObject({ code: DECODE });
  });
});

describe('messages: envelope and body errors', () => {
  const status = encodeMessage({ type: 'status-request', id: 7, body: {} });

  it.each<[string, CborValue, number, string | undefined]>([
    ['a non-map', [1, 7, new Map()], SCHEMA, 'message: expected a map'],
    [
      'an unknown envelope key',
      new Map<number, CborValue>([
        [0, 1],
        [1, 7],
        [2, new Map()],
        [3, 0],
      ]),
      SCHEMA,
      'message: unknown key 3',
    ],
    [
      'a missing type',
      new Map<number, CborValue>([
        [1, 7],
        [2, new Map()],
      ]),
      SCHEMA,
      'message.type: unknown message type',
    ],
    [
      'an unknown type',
      new Map<number, CborValue>([
        [0, 15],
        [1, 7],
        [2, new Map()],
      ]),
      SCHEMA,
      'message.type: unknown message type',
    ],
    [
      'a text type',
      new Map<number, CborValue>([
        [0, 'status'],
        [1, 7],
        [2, new Map()],
      ]),
      SCHEMA,
      'message.type: unknown message type',
    ],
    [
      'an id of 2^32',
      new Map<number, CborValue>([
        [0, 1],
        [1, 2 ** 32],
        [2, new Map()],
      ]),
      SCHEMA,
      'status-request.id: expected uint 0..4294967295',
    ],
    [
      'a negative id',
      new Map<number, CborValue>([
        [0, 1],
        [1, -1],
        [2, new Map()],
      ]),
      SCHEMA,
      'status-request.id: expected uint 0..4294967295',
    ],
    [
      'a missing body',
      new Map<number, CborValue>([
        [0, 1],
        [1, 7],
      ]),
      SCHEMA,
      'status-request.body: missing',
    ],
    [
      'a body that is not a map',
      new Map<number, CborValue>([
        [0, 1],
        [1, 7],
        [2, 0],
      ]),
      SCHEMA,
      'status-request: expected map statusRequest',
    ],
    [
      'an unknown body key',
      new Map<number, CborValue>([
        [0, 1],
        [1, 7],
        [2, new Map([[0, 0]])],
      ]),
      SCHEMA,
      'status-request: unknown key 0',
    ],
    [
      'an error code 0',
      new Map<number, CborValue>([
        [0, 23],
        [1, 7],
        [2, new Map([[0, 0]])],
      ]),
      SCHEMA,
      'error.code: expected uint 1..255',
    ],
    [
      'an unlock result of 256',
      new Map<number, CborValue>([
        [0, 4],
        [1, 7],
        [2, new Map([[0, 256]])],
      ]),
      SCHEMA,
      'unlock-response.result: expected uint 0..255',
    ],
    [
      'a time sync without its anchor',
      new Map<number, CborValue>([
        [0, 7],
        [1, 7],
        [2, new Map([[1, 5]])],
      ]),
      SCHEMA,
      'time-sync-request.anchor: missing',
    ],
    [
      'a chunk past its total',
      new Map<number, CborValue>([
        [0, 9],
        [1, 7],
        [
          2,
          new Map<number, CborValue>([
            [0, 4],
            [1, 2],
            [2, new Uint8Array(3)],
          ]),
        ],
      ]),
      SCHEMA,
      'sync-push-request.chunk: ends after total',
    ],
  ])('%s', (_, value, code, detail) => {
    expect(decodeMessage(encodeCbor(value))).toEqual({ ok: false, code, detail });
  });

  it('names the body path of a status response field', () => {
    const body = {
      model: 'C2',
      firmware: '1.02',
      batteryPercent: 101,
      flags: 0,
      clockValid: true,
      syncVersion: 1,
      auditHead: 3,
      auditTail: 1,
      nonce: new Uint8Array(16),
    };
    const bytes = encodeCbor(
      new Map<number, CborValue>([
        [0, 2],
        [1, 9],
        [2, new Map<number, CborValue>(Object.values(body).map((v, i) => [i, v]))],
      ]),
    );
    expect(decodeMessage(bytes)).toEqual({
      ok: false,
      code: SCHEMA,
      detail: 'status-response.batteryPercent: expected uint 0..100',
    });
  });

  it.each([
    ['trailing bytes', (b: Uint8Array) => Uint8Array.from([...b, 0])],
    ['a tag around the message', (b: Uint8Array) => Uint8Array.from([0xd8, 0x18, ...b])],
    ['an indefinite map', (b: Uint8Array) => Uint8Array.from([0xbf, ...b.subarray(1), 0xff])],
    ['a truncation', (b: Uint8Array) => b.subarray(0, b.length - 1)],
  ])('DECODE for %s', (_, change) => {
    expect(decodeMessage(change(status))).toMatchObject({ ok: false, code: DECODE });
  });

  it('never touches Object.prototype, whatever text the message carries', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const withProto = fromHex('a3 00 02 01 00 02 a1 00 69 5f5f70726f746f5f5f');
    expect(decodeMessage(withProto)).toMatchObject({ ok: false, code: SCHEMA });
    const textKey = fromHex('a3 00 02 01 00 02 a1 69 5f5f70726f746f5f5f a0');
    expect(decodeMessage(textKey)).toMatchObject({ ok: false, code: DECODE });
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encodeMessage({ type: 'error', id: 1, body: { code: 0 } })).toThrow(
      'error.code: expected uint 1..255',
    );
    expect(() => encodeMessage({ type: 'status-request', id: 2 ** 32, body: {} })).toThrow(
      RangeError,
    );
  });
});

describe('messages: hostile bytes (SECURITY.md item 26)', () => {
  it('decodeMessage never throws and returns a typed error', () => {
    const valid = validPool(messages, encodeMessage, 96);
    fc.assert(
      fc.property(hostileInputs(valid), (bytes) => {
        const result = decodeMessage(bytes);
        if (!result.ok) expect(DECODER_CODES).toContain(result.code);
      }),
      { numRuns: propertyRuns(10_000, 100_000) },
    );
  });
});
