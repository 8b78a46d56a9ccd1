/**
 * A lock's flash store (ARCHITECTURE.md §3 "Flash"; SECURITY.md item 24): byte-array backed, one
 * per lock, with atomic A/B commits so that a power cut during any write leaves the old or the
 * new state, never a mix, loses nothing committed, and never rolls a record back.
 *
 * Layout: one A/B slot pair per named record (credential cache, counters, audit ring, ...), each
 * pair sized for its record's capacity, in layout order. That is what lock firmware does (a
 * partition or settings key per concern, as in Zephyr's settings/NVS) rather than rewriting one
 * serialized blob: records change at very different rates (a keypad counter on every attempt,
 * the credential cache on a sync), a write costs time and wear in proportion to its size, and a
 * cut can only ever touch the record being written. The price: a change spanning two records is
 * not atomic, so whatever must change together (a sync bundle's cache and its version) belongs
 * in one record.
 *
 * Slot format, little-endian like the MCU: generation u32 ‖ length u32 ‖ payload ‖ CRC-32 u32
 * (IEEE 802.3, `crc32.ts`, over generation, length and payload). A slot is valid when its length
 * fits the record, its generation is ≥ 1 and the CRC matches; an erased slot (0xFF…) never is.
 * `open` reads both slots of every record and takes the valid one with the higher generation,
 * as the firmware does at boot; `commit` writes the other slot with generation + 1, so the slot
 * holding the newest committed state is never written. A torn record passes the CRC with
 * probability 2^-32, as on a real lock.
 *
 * Writes: each commit is one write: erase the target slot, then program the image. Faults are
 * armed by write number (counted from `open`):
 * - a power cut leaves the target slot torn (`TornTail`) and the store dead: the World
 *   "restarts" the lock by opening a new store over the same device (`store.device`);
 * - a write failure (program-verify error) leaves the target slot erased and returns
 *   `WRITE_FAILED`; the store stays usable and the record keeps its previous state.
 * Simplification: the erase unit is one slot (as if each slot were a sector) and slots are not
 * page-aligned, which keeps fleets of 100 k locks small (§8).
 *
 * Storage is sparse, for the §8 fleet budget (100 k locks, ≤ 2 KiB heap per idle lock) with
 * layouts of ~210 KiB: the device (`FlashDevice`) keeps, per slot, only the bytes up to the last
 * one ever programmed, allocated on the slot's first write; everything after reads as erased
 * 0xFF. A never-written lock holds no slot bytes, and a written one about twice what it wrote
 * (A and B). The per-layout tables (offsets, capacities, key index) are computed once per layout
 * object and shared by every store opened with it. A restart reopens the same device without
 * copying it, and retires the store that had it. The device reads byte for byte as the dense
 * `flashSize(layout)` array would (`bytes` materializes it), torn tails and noise included: noise
 * is keyed by the byte's device offset.
 */
import { fail, ok } from '../protocol/result.js';
import type { Result } from '../protocol/result.js';
import { crc32 } from './crc32.js';

/** Expected failures of a commit, as values (STYLE.md). Local to the firmware, never on the wire. */
export const FLASH_ERRORS = {
  /** The program step failed verification; the record keeps its previous state. */
  WRITE_FAILED: 1,
  /** Power was cut during the write; the store is dead until reopened. */
  POWER_LOST: 2,
} as const;
export type FlashErrorCode = (typeof FLASH_ERRORS)[keyof typeof FLASH_ERRORS];

export interface FlashRecordLayout {
  readonly key: string;
  /** The largest payload, in bytes. */
  readonly capacity: number;
}
export type FlashLayout = readonly FlashRecordLayout[];

/**
 * What the target slot holds after a power cut, besides the first `landed` bytes of the new image:
 * - `old`: the old bytes (a part written in place over the previous record, as with EEPROM);
 * - `erased`: 0xFF (NOR flash: the erase finished, programming stopped);
 * - `partial`: NOR flash, the page being programmed at the cut is half done, each bit that should
 *   have gone 1 → 0 may still be 1 (new | noise) up to the page end; 0xFF after it;
 * - `half-erased`: the cut came during the erase: old bytes with random bits set (old | noise),
 *   nothing programmed (`landed` is ignored).
 */
export type TornTail = 'old' | 'erased' | 'partial' | 'half-erased';

export type FlashFault =
  | {
      readonly kind: 'power-cut';
      /** The write it hits, 1 = the first write after `open`. */
      readonly atWrite: number;
      /** Bytes of the new image that reached the flash; at or past its length the write completed. */
      readonly landed: number;
      readonly tail: TornTail;
      /** Seed of the `partial` / `half-erased` noise, so a torn write is reproducible. */
      readonly noise?: number;
    }
  | { readonly kind: 'write-failure'; readonly atWrite: number };

const HEADER_BYTES = 8;
const CRC_BYTES = 4;
/** A NOR program page (SPI NOR flash programs up to 256 bytes at a time). */
export const PAGE_BYTES = 256;
const MAX_GENERATION = 0xffffffff;
const ERASED = 0xff;

/** Bytes of one slot for a record of `capacity` payload bytes, rounded up to a 4-byte word. */
const slotBytes = (capacity: number): number => (HEADER_BYTES + capacity + CRC_BYTES + 3) & ~3;

/** Total bytes of a device with this layout. */
export function flashSize(layout: FlashLayout): number {
  return layout.reduce((sum, record) => sum + 2 * slotBytes(record.capacity), 0);
}

/** One byte of deterministic noise (a murmur3-style finaliser of seed and position). */
function noiseByte(seed: number, i: number): number {
  let h = Math.imul(seed ^ Math.imul(i, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0xff;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value;
  bytes[at + 1] = value >>> 8;
  bytes[at + 2] = value >>> 16;
  bytes[at + 3] = value >>> 24;
}

/** What a layout fixes, computed once per layout object and shared by its stores and devices. */
interface Geometry {
  readonly size: number;
  /** Record index by key. */
  readonly index: ReadonlyMap<string, number>;
  /** By record. */
  readonly capacities: readonly number[];
  readonly slotBytes: readonly number[];
  /** By slot (record `r` has slots `2r` and `2r + 1`): the device offset where it starts. */
  readonly offsets: readonly number[];
}

const geometries = new WeakMap<FlashLayout, Geometry>();

/** The layout's geometry; throws on duplicate keys or capacities outside [1, 1 MiB]. */
function geometryOf(layout: FlashLayout): Geometry {
  const known = geometries.get(layout);
  if (known !== undefined) return known;
  const index = new Map<string, number>();
  const capacities: number[] = [];
  const sizes: number[] = [];
  const offsets: number[] = [];
  let size = 0;
  for (const { key, capacity } of layout) {
    if (index.has(key)) throw new RangeError(`duplicate flash record '${key}'`);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 20) {
      throw new RangeError(`flash record '${key}' needs an integer capacity in [1, 1 MiB]`);
    }
    const slot = slotBytes(capacity);
    index.set(key, capacities.length);
    capacities.push(capacity);
    sizes.push(slot);
    offsets.push(size, size + slot);
    size += 2 * slot;
  }
  const geometry: Geometry = { size, index, capacities, slotBytes: sizes, offsets };
  geometries.set(layout, geometry);
  return geometry;
}

/** Whether two layouts cut the device into the same slots (record keys aside). */
const sameSlots = (a: Geometry, b: Geometry): boolean =>
  a === b ||
  (a.slotBytes.length === b.slotBytes.length && a.slotBytes.every((n, i) => n === b.slotBytes[i]));

/** 0xFF bytes, to continue a CRC over the erased part of a slot. */
const ERASED_RUN = new Uint8Array(PAGE_BYTES).fill(ERASED);

/**
 * A lock's flash device as it survives a power cut: keep it and `openFlash(layout, device)` to
 * restart the lock. Opening a new store over it retires the store that had it.
 */
export interface FlashDevice {
  /** Bytes of the whole device: `flashSize(layout)`. */
  readonly size: number;
  /** Bytes of slot storage held (the whole device when it was opened over raw bytes). */
  readonly allocatedBytes: number;
  /** A copy of the whole device, erased bytes included (allocates `size` bytes). */
  toBytes(): Uint8Array;
}

/**
 * The device: per slot, the bytes up to the last one programmed (`undefined` when none); the rest
 * of the slot is erased. Opened over raw bytes, each slot is a view of them, so writes land there.
 */
class SlotDevice implements FlashDevice {
  readonly geometry: Geometry;
  /** By slot; `undefined` until the first write, so that an idle lock's device holds no array. */
  #slots: (Uint8Array | undefined)[] | undefined;
  /** The store allowed to use it: the last one opened over it. */
  owner: FlashStore | undefined;

  constructor(geometry: Geometry, bytes?: Uint8Array) {
    this.geometry = geometry;
    const { offsets, slotBytes } = geometry;
    this.#slots = bytes && offsets.map((at, i) => bytes.subarray(at, at + slotBytes[i >> 1]!));
  }

  get size(): number {
    return this.geometry.size;
  }

  get allocatedBytes(): number {
    let total = 0;
    for (const held of this.#slots ?? []) total += held?.length ?? 0;
    return total;
  }

  toBytes(): Uint8Array {
    const bytes = new Uint8Array(this.geometry.size).fill(ERASED);
    this.#slots?.forEach((held, i) => {
      if (held !== undefined) bytes.set(held, this.geometry.offsets[i]);
    });
    return bytes;
  }

  /** The bytes of slot `i` held so far (a prefix of the slot), or `undefined` when none. */
  held(i: number): Uint8Array | undefined {
    return this.#slots?.[i];
  }

  /**
   * Slot `i`'s storage, at least `length` bytes long (at most the slot): grown on demand, by
   * doubling so that a record that creeps up in size is not copied on every write.
   */
  reserve(i: number, length: number): Uint8Array {
    const held = this.held(i);
    if (held !== undefined && held.length >= length) return held;
    const slot = this.geometry.slotBytes[i >> 1]!;
    const grown = new Uint8Array(
      Math.min(slot, Math.max((length + 3) & ~3, 2 * (held?.length ?? 0))),
    ).fill(ERASED);
    if (held !== undefined) grown.set(held);
    this.#slots ??= new Array<undefined>(this.geometry.offsets.length).fill(undefined);
    this.#slots[i] = grown;
    return grown;
  }

  /** Byte `at` of slot `i`. */
  byte(i: number, at: number): number {
    const held = this.held(i);
    return held !== undefined && at < held.length ? held[at]! : ERASED;
  }

  /** The little-endian u32 at `at` of slot `i`. */
  u32(i: number, at: number): number {
    return (
      (this.byte(i, at) |
        (this.byte(i, at + 1) << 8) |
        (this.byte(i, at + 2) << 16) |
        (this.byte(i, at + 3) << 24)) >>>
      0
    );
  }

  /** CRC-32 of slot `i`'s bytes `[0, end)`. */
  crc(i: number, end: number): number {
    const held = this.held(i);
    const stored = Math.min(end, held?.length ?? 0);
    let crc = held === undefined ? 0 : crc32(held, 0, 0, stored);
    for (let at = stored; at < end; at += PAGE_BYTES) {
      crc = crc32(ERASED_RUN, crc, 0, Math.min(PAGE_BYTES, end - at));
    }
    return crc;
  }

  /** Bytes `[from, from + length)` of slot `i`, as a new array. */
  copy(i: number, from: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.copyInto(i, from, length, out);
    return out;
  }

  /** Bytes `[from, from + length)` of slot `i`, into the start of `out`. */
  copyInto(i: number, from: number, length: number, out: Uint8Array): void {
    const held = this.held(i);
    const available = Math.max(0, Math.min(length, (held?.length ?? 0) - from));
    if (held !== undefined && available > 0) out.set(held.subarray(from, from + available));
    out.fill(ERASED, available, length);
  }

  /** Programs `bytes` at the start of slot `i`. */
  program(i: number, bytes: Uint8Array): void {
    if (bytes.length > 0) this.reserve(i, bytes.length).set(bytes);
  }

  /** Erases slot `i`: its storage stays allocated for the next write. */
  erase(i: number): void {
    this.held(i)?.fill(ERASED);
  }
}

/** The generation of slot `i` if it is valid for a record of `capacity` bytes, or 0. */
function slotGeneration(device: SlotDevice, i: number, capacity: number): number {
  if (device.held(i) === undefined) return 0;
  const generation = device.u32(i, 0);
  const length = device.u32(i, 4);
  if (generation === 0 || length > capacity) return 0;
  const end = HEADER_BYTES + length;
  return device.crc(i, end) === device.u32(i, end) ? generation : 0;
}

/** Writes the slot image of `payload` at generation `generation` to `target`; its length. */
function writeImage(target: Uint8Array, generation: number, payload: Uint8Array): number {
  const crcAt = HEADER_BYTES + payload.length;
  writeU32(target, 0, generation);
  writeU32(target, 4, payload.length);
  target.set(payload, HEADER_BYTES);
  writeU32(target, crcAt, crc32(target, 0, 0, crcAt));
  return crcAt + CRC_BYTES;
}

export class FlashStore {
  readonly #geometry: Geometry;
  readonly #device: SlotDevice;
  /**
   * By record: `2 × generation + slot` of its newest valid payload (slot 0 or 1), 0 when it has
   * none; `undefined` while no record has one, so that an idle lock's store holds no array.
   */
  #newest: number[] | undefined;
  #writes = 0;
  #fault: FlashFault | undefined;
  #dead = false;

  /**
   * Opens a store over `device` (a restart: a `FlashDevice` from `store.device`, or raw bytes,
   * used in place) or, without one, a factory-fresh erased device. Keys must be unique;
   * capacities integers in [1, 1 MiB]; raw bytes exactly `flashSize(layout)` long, a device cut
   * into the same slots as `layout`.
   */
  constructor(layout: FlashLayout, device?: Uint8Array | FlashDevice) {
    const geometry = geometryOf(layout);
    this.#geometry = geometry;
    if (device === undefined) {
      this.#device = new SlotDevice(geometry);
    } else if (device instanceof Uint8Array) {
      if (device.length !== geometry.size) {
        throw new RangeError(
          `flash device is ${device.length} bytes; the layout needs ${geometry.size}`,
        );
      }
      this.#device = new SlotDevice(geometry, device);
    } else if (device instanceof SlotDevice) {
      if (!sameSlots(device.geometry, geometry)) {
        throw new RangeError('the flash device is cut into other slots than the layout');
      }
      this.#device = device;
    } else {
      throw new TypeError('a flash device comes from FlashStore.device or is a Uint8Array');
    }
    this.#device.owner = this;
    geometry.capacities.forEach((capacity, record) => {
      const a = slotGeneration(this.#device, 2 * record, capacity);
      const b = slotGeneration(this.#device, 2 * record + 1, capacity);
      if (a > 0 || b > 0) this.#setNewest(record, Math.max(a, b), b > a ? 1 : 0);
    });
  }

  /** The device: keep it across a power cut and `openFlash(layout, device)` to restart. */
  get device(): FlashDevice {
    return this.#device;
  }

  /** A copy of the whole device as one array (`flashSize(layout)` bytes), for tests and tools. */
  get bytes(): Uint8Array {
    return this.#device.toBytes();
  }

  /** Writes attempted since `open` (the count faults are armed against). */
  get writes(): number {
    return this.#writes;
  }

  /**
   * False once a power cut has hit, or another store was opened over the device: every further
   * call throws.
   */
  get alive(): boolean {
    return !this.#dead && this.#device.owner === this;
  }

  /** Arms one fault (replacing any armed one), or disarms with `undefined`. Each fires once. */
  injectFault(fault: FlashFault | undefined): void {
    if (
      fault !== undefined &&
      (!Number.isInteger(fault.atWrite) || fault.atWrite <= this.#writes)
    ) {
      throw new RangeError(`a fault must target a future write (after write ${this.#writes})`);
    }
    if (fault?.kind === 'power-cut' && !(Number.isSafeInteger(fault.landed) && fault.landed >= 0)) {
      throw new RangeError('a power cut needs a non-negative integer count of landed bytes');
    }
    this.#fault = fault;
  }

  /** The newest committed payload of `key` (a copy), or `undefined` if none was ever committed. */
  read(key: string): Uint8Array | undefined {
    const record = this.#record(key);
    const newest = this.#newest?.[record] ?? 0;
    if (newest === 0) return undefined;
    const slot = 2 * record + (newest % 2);
    return this.#device.copy(slot, HEADER_BYTES, this.#device.u32(slot, 4));
  }

  /**
   * `read` into the start of `target`, without allocating: the payload's length, or `undefined`
   * if none was ever committed. A target shorter than the payload is a bug (`RangeError`).
   */
  readInto(key: string, target: Uint8Array): number | undefined {
    const record = this.#record(key);
    const newest = this.#newest?.[record] ?? 0;
    if (newest === 0) return undefined;
    const slot = 2 * record + (newest % 2);
    const length = this.#device.u32(slot, 4);
    if (length > target.length) {
      throw new RangeError(
        `record '${key}' holds ${length} bytes; the target has ${target.length}`,
      );
    }
    this.#device.copyInto(slot, HEADER_BYTES, length, target);
    return length;
  }

  /** The generation of `key`'s newest committed payload; 0 if none. */
  generation(key: string): number {
    return this.#generationOf(this.#record(key));
  }

  /**
   * Atomically replaces `key`'s payload: writes the other slot with the next generation and
   * returns it. A payload over the record's capacity is a bug (`RangeError`).
   */
  commit(key: string, payload: Uint8Array): Result<number, FlashErrorCode> {
    const record = this.#record(key);
    const capacity = this.#geometry.capacities[record]!;
    if (payload.length > capacity) {
      throw new RangeError(`${payload.length} bytes do not fit record '${key}' (${capacity})`);
    }
    const newest = this.#newest?.[record] ?? 0;
    const generation = Math.floor(newest / 2) + 1;
    if (generation > MAX_GENERATION) throw new RangeError(`record '${key}' is worn out`);
    // The slot that does not hold the newest payload (slot 0 when neither is valid).
    const target = newest === 0 || newest % 2 === 1 ? 0 : 1;
    const slot = 2 * record + target;
    const device = this.#device;
    const fault = this.#fault;
    this.#writes++;
    if (fault !== undefined && fault.atWrite === this.#writes) {
      this.#fault = undefined;
      if (fault.kind === 'write-failure') {
        device.erase(slot);
        return fail(FLASH_ERRORS.WRITE_FAILED);
      }
      const image = new Uint8Array(HEADER_BYTES + payload.length + CRC_BYTES);
      writeImage(image, generation, payload);
      this.#tear(fault, image, slot);
      this.#dead = true;
      return fail(FLASH_ERRORS.POWER_LOST);
    }
    // Erase, then program: the image goes straight to the slot's storage, the rest is erased.
    const storage = device.reserve(slot, HEADER_BYTES + payload.length + CRC_BYTES);
    storage.fill(ERASED, writeImage(storage, generation, payload));
    this.#setNewest(record, generation, target);
    return ok(generation);
  }

  #generationOf(record: number): number {
    return Math.floor((this.#newest?.[record] ?? 0) / 2);
  }

  #setNewest(record: number, generation: number, slot: number): void {
    this.#newest ??= new Array<number>(this.#geometry.capacities.length).fill(0);
    this.#newest[record] = 2 * generation + slot;
  }

  /** Leaves `slot` as a power cut during the write of `image` would. */
  #tear(fault: FlashFault & { kind: 'power-cut' }, image: Uint8Array, slot: number): void {
    const device = this.#device;
    const seed = fault.noise ?? 0;
    const landed = Math.min(fault.landed, image.length);
    const offset = this.#geometry.offsets[slot]!;
    switch (fault.tail) {
      case 'old':
        device.program(slot, image.subarray(0, landed));
        return;
      case 'erased':
        device.erase(slot);
        device.program(slot, image.subarray(0, landed));
        return;
      case 'partial': {
        device.erase(slot);
        if (landed === image.length) {
          device.program(slot, image);
          return;
        }
        const slotEnd = this.#geometry.slotBytes[slot >> 1]!;
        const pageEnd = Math.min((Math.floor(landed / PAGE_BYTES) + 1) * PAGE_BYTES, slotEnd);
        const storage = device.reserve(slot, pageEnd);
        storage.set(image.subarray(0, landed));
        for (let i = landed; i < pageEnd; i++) {
          const wanted = i < image.length ? image[i]! : ERASED;
          storage[i] = wanted | noiseByte(seed, offset + i);
        }
        return;
      }
      case 'half-erased': {
        // Erased bytes stay 0xFF (0xFF | noise), so only the bytes held can change.
        const held = device.held(slot);
        if (held === undefined) return;
        for (let i = 0; i < held.length; i++) held[i] = held[i]! | noiseByte(seed, offset + i);
        return;
      }
    }
  }

  /** The record index of `key`; throws once the store is dead or retired, or for unknown keys. */
  #record(key: string): number {
    if (this.#dead) throw new Error('the flash store lost power: reopen it from its device');
    if (this.#device.owner !== this) {
      throw new Error('another flash store was opened over this device');
    }
    const record = this.#geometry.index.get(key);
    if (record === undefined) throw new RangeError(`no flash record '${key}'`);
    return record;
  }
}

/**
 * `new FlashStore(layout, device)`: a fresh erased device, or a restart over `store.device` (or
 * raw bytes, used in place).
 */
export function openFlash(layout: FlashLayout, device?: Uint8Array | FlashDevice): FlashStore {
  return new FlashStore(layout, device);
}
