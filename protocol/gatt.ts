/**
 * The keyway GATT profile, ARCHITECTURE.md §4 "GATT": one primary service with three
 * characteristics, the ATT_MTU bounds the frame codec works within, and the layout of the `info`
 * value. Constants sit next to the layout they belong to; `protocol/spec/frames.md` is the prose.
 */
import { WIRE_ERRORS } from './errors.js';
import { fail, ok } from './result.js';
import type { Result } from './result.js';

/**
 * The primary service, a random (version 4) UUID fixed once for keyway. The characteristics
 * share its last 96 bits and differ in octets 2–3 of the first field, the convention of the
 * Nordic UART service, so that a capture groups them at a glance.
 */
export const SERVICE_UUID = 'a9ff0001-645c-4a46-aad8-fca962723fe7';

/** Characteristic properties, Bluetooth Core Spec Vol 3 Part G §3.3.1.1. */
export const CHARACTERISTIC_PROPERTIES = {
  READ: 0x02,
  WRITE_WITHOUT_RESPONSE: 0x04,
  NOTIFY: 0x10,
} as const;

/**
 * The characteristics of the service. `rx` and `tx` carry fragments (`frame-codec.ts`): the phone
 * writes without response, the lock notifies, so neither end waits for an ATT round trip per
 * fragment. `info` is read once after connecting, before the handshake: it is public.
 */
export const CHARACTERISTICS = {
  /** Phone → lock fragments: ATT_WRITE_CMD (Vol 3 Part F §3.4.5.3). */
  rx: {
    uuid: 'a9ff0002-645c-4a46-aad8-fca962723fe7',
    properties: CHARACTERISTIC_PROPERTIES.WRITE_WITHOUT_RESPONSE,
  },
  /** Lock → phone fragments: ATT_HANDLE_VALUE_NTF (Vol 3 Part F §3.4.7.1). */
  tx: {
    uuid: 'a9ff0003-645c-4a46-aad8-fca962723fe7',
    properties: CHARACTERISTIC_PROPERTIES.NOTIFY,
  },
  /** The `info` value below: ATT_READ_REQ, then ATT_READ_BLOB_REQ past ATT_MTU − 1 bytes. */
  info: {
    uuid: 'a9ff0004-645c-4a46-aad8-fca962723fe7',
    properties: CHARACTERISTIC_PROPERTIES.READ,
  },
} as const satisfies Record<string, { readonly uuid: string; readonly properties: number }>;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const UUID128_BYTES = 16;

/**
 * A 128-bit UUID in the octet order ATT and advertising data carry it: least significant octet
 * first (Vol 3 Part F §3.3), the reverse of the canonical text. Throws `TypeError` on text that is
 * not a lowercase canonical UUID.
 */
export function encodeUuid128(uuid: string): Uint8Array {
  if (!UUID_PATTERN.test(uuid)) throw new TypeError('uuid: expected a lowercase canonical UUID');
  const digits = uuid.replaceAll('-', '');
  const out = new Uint8Array(UUID128_BYTES);
  for (let i = 0; i < UUID128_BYTES; i++) {
    out[UUID128_BYTES - 1 - i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** LE default and minimum ATT_MTU, Vol 3 Part F §3.2.8 and §5.2.1. */
export const ATT_MTU_MIN = 23;
/**
 * The largest ATT_MTU worth negotiating: an attribute value is at most 512 octets
 * (Vol 3 Part F §3.2.9) and the longest PDU carrying one, ATT_PREPARE_WRITE_REQ, adds 5.
 * Android and iOS request at most this.
 */
export const ATT_MTU_MAX = 517;
/** Opcode (1) and attribute handle (2) of ATT_WRITE_CMD and ATT_HANDLE_VALUE_NTF. */
export const ATT_HEADER_BYTES = 3;
/** Vol 3 Part F §3.2.9: the maximum length of an attribute value. */
export const ATT_MAX_VALUE_BYTES = 512;

/**
 * The bytes one write without response or one notification carries at this ATT_MTU:
 * MTU − 3, capped at the 512-octet attribute value limit (so 512 for MTU 515..517). bleno
 * truncates a longer notification silently, which is why the frame codec sizes fragments itself.
 * Throws `RangeError` for an MTU outside 23..517: the transport reported something impossible.
 */
export function attPayloadBytes(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < ATT_MTU_MIN || mtu > ATT_MTU_MAX) {
    throw new RangeError(`mtu: expected an integer in ${ATT_MTU_MIN}..${ATT_MTU_MAX}`);
  }
  return Math.min(mtu - ATT_HEADER_BYTES, ATT_MAX_VALUE_BYTES);
}

/**
 * Device models as the vendor's API reports them (ARCHITECTURE.md §3), and their `info` codes.
 * The C1 reports `C`.
 */
export const LOCK_MODELS = { M: 0x01, R: 0x02, R2: 0x03, C: 0x04, C2: 0x05, G: 0x06 } as const;
export type LockModel = keyof typeof LOCK_MODELS;

const MODEL_BY_CODE = new Map<number, LockModel>(
  Object.entries(LOCK_MODELS).map(([name, code]) => [code, name as LockModel]),
);

/** A lock id: public, opaque, assigned at commissioning (SECURITY.md item 21: no secret). */
export const LOCK_ID_BYTES = 16;

/**
 * The `info` value, layout 1 (all lengths in bytes; `protocol/spec/frames.md` §3):
 *
 * ```
 * offset     size  field
 * 0          1     INFO_LAYOUT_VERSION (1)
 * 1          1     model code (LOCK_MODELS)
 * 2          16    lock id
 * 18         1     n: protocol version count, 1..8
 * 19         n     protocol versions, u8 each, 1..255, strictly increasing
 * 19+n       1     f: firmware version length, 1..32
 * 20+n       f     firmware version, printable ASCII (0x20..0x7e)
 * ```
 *
 * Nothing may follow, so every value has exactly one encoding; at most 60 bytes.
 */
export const INFO_LAYOUT_VERSION = 1;
export const MAX_PROTOCOL_VERSIONS = 8;
export const MAX_FIRMWARE_VERSION_BYTES = 32;
const INFO_MODEL_OFFSET = 1;
const INFO_LOCK_ID_OFFSET = 2;
const INFO_COUNT_OFFSET = INFO_LOCK_ID_OFFSET + LOCK_ID_BYTES;
const INFO_VERSIONS_OFFSET = INFO_COUNT_OFFSET + 1;
export const INFO_MAX_BYTES =
  INFO_VERSIONS_OFFSET + MAX_PROTOCOL_VERSIONS + 1 + MAX_FIRMWARE_VERSION_BYTES;

export interface LockInfo {
  readonly model: LockModel;
  /** As the vendor prints it (`2.4.2`, `1.02`). */
  readonly firmwareVersion: string;
  readonly lockId: Uint8Array;
  /** The protocol versions the lock speaks, ascending; the handshake prologue binds them. */
  readonly protocolVersions: readonly number[];
}

const isPrintableAscii = (code: number): boolean => code >= 0x20 && code <= 0x7e;

function isPrintableAsciiText(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isPrintableAscii(text.charCodeAt(i))) return false;
  return true;
}

/** True for a list of 1..8 protocol versions in 1..255, strictly increasing. */
function validVersionList(versions: readonly number[]): boolean {
  if (versions.length < 1 || versions.length > MAX_PROTOCOL_VERSIONS) return false;
  let previous = 0;
  for (const version of versions) {
    if (!Number.isInteger(version) || version <= previous || version > 0xff) return false;
    previous = version;
  }
  return true;
}

/** Encodes a lock's `info` value. Throws `TypeError` / `RangeError` on fields out of the layout. */
export function encodeLockInfo(info: LockInfo): Uint8Array {
  if (!Object.hasOwn(LOCK_MODELS, info.model)) {
    throw new TypeError('model: expected one of LOCK_MODELS');
  }
  if (info.lockId.length !== LOCK_ID_BYTES) {
    throw new RangeError(`lockId: expected ${LOCK_ID_BYTES} bytes`);
  }
  if (!validVersionList(info.protocolVersions)) {
    throw new RangeError(
      `protocolVersions: expected 1..${MAX_PROTOCOL_VERSIONS} versions in 1..255, ascending`,
    );
  }
  const firmware = info.firmwareVersion;
  if (
    firmware.length < 1 ||
    firmware.length > MAX_FIRMWARE_VERSION_BYTES ||
    !isPrintableAsciiText(firmware)
  ) {
    throw new RangeError(
      `firmwareVersion: expected 1..${MAX_FIRMWARE_VERSION_BYTES} printable ASCII characters`,
    );
  }
  const count = info.protocolVersions.length;
  const out = new Uint8Array(INFO_VERSIONS_OFFSET + count + 1 + firmware.length);
  out[0] = INFO_LAYOUT_VERSION;
  out[INFO_MODEL_OFFSET] = LOCK_MODELS[info.model];
  out.set(info.lockId, INFO_LOCK_ID_OFFSET);
  out[INFO_COUNT_OFFSET] = count;
  out.set(info.protocolVersions, INFO_VERSIONS_OFFSET);
  let offset = INFO_VERSIONS_OFFSET + count;
  out[offset++] = firmware.length;
  for (let i = 0; i < firmware.length; i++) out[offset + i] = firmware.charCodeAt(i);
  return out;
}

/**
 * Decodes an `info` value read from a lock. Exact: a wrong length, an unknown model, a version
 * list that is empty, too long or not strictly increasing, or a firmware string that is empty or
 * not printable ASCII is `DECODE`; an unknown layout is `UNSUPPORTED_VERSION`. Never throws.
 */
export function decodeLockInfo(bytes: Uint8Array): Result<LockInfo> {
  if (bytes.length < 1) return fail(WIRE_ERRORS.DECODE, 'info: empty');
  if (bytes[0] !== INFO_LAYOUT_VERSION) {
    return fail(WIRE_ERRORS.UNSUPPORTED_VERSION, 'info: unknown layout');
  }
  if (bytes.length < INFO_VERSIONS_OFFSET) return fail(WIRE_ERRORS.DECODE, 'info: truncated');
  const model = MODEL_BY_CODE.get(bytes[INFO_MODEL_OFFSET] ?? 0);
  if (model === undefined) return fail(WIRE_ERRORS.DECODE, 'info.model: unknown');
  const count = bytes[INFO_COUNT_OFFSET] ?? 0;
  const lengthOffset = INFO_VERSIONS_OFFSET + count;
  if (bytes.length <= lengthOffset) return fail(WIRE_ERRORS.DECODE, 'info: truncated');
  const protocolVersions = Array.from(bytes.subarray(INFO_VERSIONS_OFFSET, lengthOffset));
  if (!validVersionList(protocolVersions)) {
    return fail(WIRE_ERRORS.DECODE, 'info.protocolVersions: out of layout');
  }
  const firmwareLength = bytes[lengthOffset] ?? 0;
  if (firmwareLength < 1 || firmwareLength > MAX_FIRMWARE_VERSION_BYTES) {
    return fail(WIRE_ERRORS.DECODE, 'info.firmwareVersion: bad length');
  }
  if (bytes.length !== lengthOffset + 1 + firmwareLength) {
    return fail(WIRE_ERRORS.DECODE, 'info: length does not match its fields');
  }
  const firmware = bytes.subarray(lengthOffset + 1);
  if (!firmware.every(isPrintableAscii)) {
    return fail(WIRE_ERRORS.DECODE, 'info.firmwareVersion: not printable ASCII');
  }
  return ok({
    model,
    firmwareVersion: String.fromCharCode(...firmware),
    lockId: bytes.slice(INFO_LOCK_ID_OFFSET, INFO_COUNT_OFFSET),
    protocolVersions,
  });
}
