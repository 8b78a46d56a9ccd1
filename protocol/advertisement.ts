/**
 * What a lock advertises, ARCHITECTURE.md §4 "GATT": the service UUID and manufacturer data with
 * the protocol version, status flags and lock id. Legacy advertising (Bluetooth Core Spec Vol 6
 * Part B §2.3: ADV_IND, SCAN_RSP) carries 31 bytes of advertising data and 31 of scan response, in AD structures
 * (Vol 3 Part C §11: length, type, data). Layout (`protocol/spec/frames.md` §4):
 *
 * ```
 * advertising data, 31 bytes:
 *   02 01 06                       Flags: LE General Discoverable, BR/EDR not supported
 *   11 07 <service UUID, 16>       Complete List of 128-bit Service UUIDs
 *   09 ff ff ff vv ss <prefix, 4>  Manufacturer Specific Data, company 0xFFFF
 * scan response, 22 bytes:
 *   15 ff ff ff vv ss <lock id, 16>
 * ```
 *
 * `vv` is the highest protocol version the lock speaks (the full list is in `info`), `ss` the status flags, `prefix` the first 4
 * bytes of the lock id. Why this split: the flags (3) and the UUID (18) leave 10 bytes, and
 * manufacturer data spends 4 of them on its length, type and company id, so 6 remain: version
 * and status, and a 4-byte prefix rather than the 6 a bare prefix could have. The UUID has to
 * stay in the advertising data, because iOS filters background scans on it. The prefix lets a
 * phone that sees no scan response (passive scanning, iOS in the background) pick candidates:
 * among a building's 300 doors, two share a 32-bit prefix with probability about 1e-5, and a
 * mix-up costs only a failed handshake, since the handshake prologue binds the full id. The
 * scan response repeats version and status before the full id because noble and iOS keep one
 * manufacturer data field per device, the one that arrived last: whichever survives, it decodes.
 *
 * SECURITY.md item 21: everything here is public (version, status, lock id); nothing is derived
 * from a key, so adverts say nothing about a secret.
 */
import { WIRE_ERRORS } from './errors.js';
import { encodeUuid128, LOCK_ID_BYTES, SERVICE_UUID, UUID128_BYTES } from './gatt.js';
import { fail, ok } from './result.js';
import type { Result } from './result.js';

/** Vol 6 Part B §2.3: AdvData and ScanRspData of legacy advertising PDUs, 0..31 bytes each. */
export const LEGACY_AD_MAX_BYTES = 31;

/** AD types (Bluetooth Assigned Numbers, Common Data Types); formats in Supplement Part A. */
export const AD_TYPES = {
  /** Supplement Part A §1.3. */
  FLAGS: 0x01,
  /** Supplement Part A §1.1. */
  COMPLETE_UUID128_LIST: 0x07,
  /** Supplement Part A §1.4: a 2-byte company identifier (little-endian), then its data. */
  MANUFACTURER_DATA: 0xff,
} as const;

/** Supplement Part A §1.3: LE General Discoverable Mode (bit 1), BR/EDR Not Supported (bit 2). */
export const AD_FLAGS = 0x06;
/**
 * Assigned Numbers reserve company identifier 0xFFFF for tests before an identifier is assigned;
 * a shipping product would replace it.
 */
export const COMPANY_ID = 0xffff;
export const LOCK_ID_PREFIX_BYTES = 4;

/** Bits of the status byte `ss`. Senders set the others to zero; receivers ignore them. */
export const STATUS_BITS = { NEEDS_UPDATE: 0x01, LOW_BATTERY: 0x02, SYNC_PENDING: 0x04 } as const;

export interface LockStatus {
  /** The lock needs a sync now: its clock was lost (ARCHITECTURE.md §3 "Power"). */
  readonly needsUpdate: boolean;
  readonly lowBattery: boolean;
  /** The cloud has a newer bundle for this lock than it holds, as far as the lock knows. */
  readonly syncPending: boolean;
}

/** What a lock puts on the air: both `encodeAdvertisement` and `encodeScanResponse` take it. */
export interface LockAdvertisement {
  /** 1..255. */
  readonly protocolVersion: number;
  readonly status: LockStatus;
  readonly lockId: Uint8Array;
}

/** The advertising data decoded: the lock id is known by its prefix only. */
export interface AdvertisementData {
  readonly protocolVersion: number;
  readonly status: LockStatus;
  readonly lockIdPrefix: Uint8Array;
}

/** The scan response decoded. */
export interface ScanResponseData {
  readonly protocolVersion: number;
  readonly status: LockStatus;
  readonly lockId: Uint8Array;
}

/** One AD structure; `data` is a view into the decoded bytes. */
export interface AdStructure {
  readonly type: number;
  readonly data: Uint8Array;
}

const SERVICE_UUID_BYTES = encodeUuid128(SERVICE_UUID);
/** Company id, version, status. */
const MANUFACTURER_HEADER_BYTES = 4;

function statusByte(status: LockStatus): number {
  return (
    (status.needsUpdate ? STATUS_BITS.NEEDS_UPDATE : 0) |
    (status.lowBattery ? STATUS_BITS.LOW_BATTERY : 0) |
    (status.syncPending ? STATUS_BITS.SYNC_PENDING : 0)
  );
}

/** Manufacturer data `ff ff vv ss` followed by `id`, as a whole AD structure at `offset`. */
function writeManufacturerData(
  out: Uint8Array,
  offset: number,
  advert: LockAdvertisement,
  id: Uint8Array,
): void {
  const { protocolVersion, lockId } = advert;
  if (!Number.isInteger(protocolVersion) || protocolVersion < 1 || protocolVersion > 0xff) {
    throw new RangeError('protocolVersion: expected an integer in 1..255');
  }
  if (lockId.length !== LOCK_ID_BYTES) {
    throw new RangeError(`lockId: expected ${LOCK_ID_BYTES} bytes`);
  }
  out[offset] = 1 + MANUFACTURER_HEADER_BYTES + id.length;
  out[offset + 1] = AD_TYPES.MANUFACTURER_DATA;
  out[offset + 2] = COMPANY_ID & 0xff;
  out[offset + 3] = COMPANY_ID >>> 8;
  out[offset + 4] = protocolVersion;
  out[offset + 5] = statusByte(advert.status);
  out.set(id, offset + 6);
}

/** The 31 bytes of advertising data. Throws `RangeError` on a field out of the layout. */
export function encodeAdvertisement(advert: LockAdvertisement): Uint8Array {
  const out = new Uint8Array(LEGACY_AD_MAX_BYTES);
  out.set([2, AD_TYPES.FLAGS, AD_FLAGS, 1 + UUID128_BYTES, AD_TYPES.COMPLETE_UUID128_LIST]);
  out.set(SERVICE_UUID_BYTES, 5);
  writeManufacturerData(
    out,
    5 + UUID128_BYTES,
    advert,
    advert.lockId.subarray(0, LOCK_ID_PREFIX_BYTES),
  );
  return out;
}

/** The 22 bytes of scan response. Throws `RangeError` on a field out of the layout. */
export function encodeScanResponse(advert: LockAdvertisement): Uint8Array {
  const out = new Uint8Array(2 + MANUFACTURER_HEADER_BYTES + LOCK_ID_BYTES);
  writeManufacturerData(out, 0, advert, advert.lockId);
  return out;
}

/**
 * Splits advertising or scan response data into AD structures, Vol 3 Part C §11: each is a length
 * byte L ≥ 1, then L bytes of type and data. A length byte of 0 ends the significant part, and
 * only zeros may follow it. Fails with `DECODE` on more than 31 bytes, a structure that runs past
 * the end, nonzero padding, or a type that occurs twice. Never throws.
 */
export function decodeAdStructures(bytes: Uint8Array): Result<AdStructure[]> {
  if (bytes.length > LEGACY_AD_MAX_BYTES) return fail(WIRE_ERRORS.DECODE, 'ad: over 31 bytes');
  const structures: AdStructure[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = bytes[offset] ?? 0;
    if (length === 0) {
      if (bytes.subarray(offset).some((byte) => byte !== 0)) {
        return fail(WIRE_ERRORS.DECODE, 'ad: nonzero bytes after the significant part');
      }
      break;
    }
    const end = offset + 1 + length;
    if (end > bytes.length) return fail(WIRE_ERRORS.DECODE, 'ad: structure runs past the end');
    const type = bytes[offset + 1] ?? 0;
    if (structures.some((structure) => structure.type === type)) {
      return fail(WIRE_ERRORS.DECODE, 'ad: repeated type');
    }
    structures.push({ type, data: bytes.subarray(offset + 2, end) });
    offset = end;
  }
  return ok(structures);
}

interface ManufacturerFields {
  readonly protocolVersion: number;
  readonly status: LockStatus;
  readonly id: Uint8Array;
}

const NOT_KEYWAY = fail(WIRE_ERRORS.DECODE, 'ad: not a keyway lock');

/** Our manufacturer data among `structures`, checked up to the id of `idLength` bytes. */
function decodeManufacturerData(
  structures: readonly AdStructure[],
  idLength: number,
): Result<ManufacturerFields> {
  const data = structures.find((s) => s.type === AD_TYPES.MANUFACTURER_DATA)?.data;
  if (data === undefined || data[0] !== (COMPANY_ID & 0xff) || data[1] !== COMPANY_ID >>> 8) {
    return NOT_KEYWAY;
  }
  if (data.length !== MANUFACTURER_HEADER_BYTES + idLength) {
    return fail(WIRE_ERRORS.DECODE, 'ad.manufacturerData: wrong length');
  }
  const protocolVersion = data[2] ?? 0;
  if (protocolVersion === 0) return fail(WIRE_ERRORS.DECODE, 'ad.protocolVersion: zero');
  const status = data[3] ?? 0;
  return ok({
    protocolVersion,
    status: {
      needsUpdate: (status & STATUS_BITS.NEEDS_UPDATE) !== 0,
      lowBattery: (status & STATUS_BITS.LOW_BATTERY) !== 0,
      syncPending: (status & STATUS_BITS.SYNC_PENDING) !== 0,
    },
    id: data.slice(MANUFACTURER_HEADER_BYTES),
  });
}

/**
 * Decodes a device's advertising data. It is a keyway lock's if it lists the keyway service in a
 * Complete List of 128-bit Service UUIDs and carries manufacturer data of company 0xFFFF; else, or
 * if a field breaks the layout, `DECODE`. Other AD types are ignored. Never throws.
 */
export function decodeAdvertisement(bytes: Uint8Array): Result<AdvertisementData> {
  const parsed = decodeAdStructures(bytes);
  if (!parsed.ok) return parsed;
  const uuids = parsed.value.find((s) => s.type === AD_TYPES.COMPLETE_UUID128_LIST)?.data;
  if (uuids === undefined || !listsServiceUuid(uuids)) return NOT_KEYWAY;
  const manufacturer = decodeManufacturerData(parsed.value, LOCK_ID_PREFIX_BYTES);
  if (!manufacturer.ok) return manufacturer;
  const { protocolVersion, status, id } = manufacturer.value;
  return ok({ protocolVersion, status, lockIdPrefix: id });
}

/**
 * Decodes a lock's scan response: manufacturer data of company 0xFFFF with the full lock id; else,
 * or if a field breaks the layout, `DECODE`. Other AD types are ignored. Never throws.
 */
export function decodeScanResponse(bytes: Uint8Array): Result<ScanResponseData> {
  const parsed = decodeAdStructures(bytes);
  if (!parsed.ok) return parsed;
  const manufacturer = decodeManufacturerData(parsed.value, LOCK_ID_BYTES);
  if (!manufacturer.ok) return manufacturer;
  const { protocolVersion, status, id } = manufacturer.value;
  return ok({ protocolVersion, status, lockId: id });
}

/** True if a list of 128-bit UUIDs (whole ones only) holds the keyway service. */
function listsServiceUuid(list: Uint8Array): boolean {
  if (list.length % UUID128_BYTES !== 0) return false;
  for (let offset = 0; offset < list.length; offset += UUID128_BYTES) {
    if (SERVICE_UUID_BYTES.every((byte, i) => list[offset + i] === byte)) return true;
  }
  return false;
}
