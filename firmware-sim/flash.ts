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
 *   "restarts" the lock by opening a new store over the same bytes;
 * - a write failure (program-verify error) leaves the target slot erased and returns
 *   `WRITE_FAILED`; the store stays usable and the record keeps its previous state.
 * Simplification: the erase unit is one slot (as if each slot were a sector) and slots are not
 * page-aligned, which keeps fleets of 100 k locks small (§8).
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

interface RecordState {
  readonly capacity: number;
  /** Offsets of slots A and B. */
  readonly slots: readonly [number, number];
  /** The slot holding the newest valid record, or -1 when none is valid. */
  active: number;
  /** Its generation; 0 when none. */
  generation: number;
}

/** One byte of deterministic noise (a murmur3-style finaliser of seed and position). */
function noiseByte(seed: number, i: number): number {
  let h = Math.imul(seed ^ Math.imul(i, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0xff;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  );
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value;
  bytes[at + 1] = value >>> 8;
  bytes[at + 2] = value >>> 16;
  bytes[at + 3] = value >>> 24;
}

/** The generation of a valid slot at `at`, or 0. */
function slotGeneration(bytes: Uint8Array, at: number, capacity: number): number {
  const generation = readU32(bytes, at);
  const length = readU32(bytes, at + 4);
  if (generation === 0 || length > capacity) return 0;
  const end = at + HEADER_BYTES + length;
  return crc32(bytes, 0, at, end) === readU32(bytes, end) ? generation : 0;
}

export class FlashStore {
  readonly #bytes: Uint8Array;
  readonly #records: Map<string, RecordState>;
  /** One image, reused by every commit. */
  readonly #scratch: Uint8Array;
  #writes = 0;
  #fault: FlashFault | undefined;
  #dead = false;

  /**
   * Opens a store over `bytes` (a restart) or, without them, a factory-fresh erased device.
   * Keys must be unique; capacities integers in [1, 1 MiB]; `bytes` exactly `flashSize(layout)`.
   */
  constructor(layout: FlashLayout, bytes?: Uint8Array) {
    const size = flashSize(layout);
    if (bytes !== undefined && bytes.length !== size) {
      throw new RangeError(`flash device is ${bytes.length} bytes; the layout needs ${size}`);
    }
    this.#bytes = bytes ?? new Uint8Array(size).fill(ERASED);
    this.#records = new Map();
    let offset = 0;
    let largest = 0;
    for (const { key, capacity } of layout) {
      if (this.#records.has(key)) throw new RangeError(`duplicate flash record '${key}'`);
      if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 20) {
        throw new RangeError(`flash record '${key}' needs an integer capacity in [1, 1 MiB]`);
      }
      const slot = slotBytes(capacity);
      const state: RecordState = {
        capacity,
        slots: [offset, offset + slot],
        active: -1,
        generation: 0,
      };
      for (const which of [0, 1]) {
        const generation = slotGeneration(this.#bytes, state.slots[which]!, capacity);
        if (generation > state.generation) {
          state.active = which;
          state.generation = generation;
        }
      }
      this.#records.set(key, state);
      offset += 2 * slot;
      largest = Math.max(largest, slot);
    }
    this.#scratch = new Uint8Array(largest);
  }

  /** The raw device: keep it across a power cut and `openFlash` it again to restart. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Writes attempted since `open` (the count faults are armed against). */
  get writes(): number {
    return this.#writes;
  }

  /** False once a power cut has hit: every further call throws until the store is reopened. */
  get alive(): boolean {
    return !this.#dead;
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
    if (record.active < 0) return undefined;
    const at = record.slots[record.active]!;
    const length = readU32(this.#bytes, at + 4);
    return this.#bytes.slice(at + HEADER_BYTES, at + HEADER_BYTES + length);
  }

  /** The generation of `key`'s newest committed payload; 0 if none. */
  generation(key: string): number {
    return this.#record(key).generation;
  }

  /**
   * Atomically replaces `key`'s payload: writes the other slot with the next generation and
   * returns it. A payload over the record's capacity is a bug (`RangeError`).
   */
  commit(key: string, payload: Uint8Array): Result<number, FlashErrorCode> {
    const record = this.#record(key);
    if (payload.length > record.capacity) {
      throw new RangeError(
        `${payload.length} bytes do not fit record '${key}' (${record.capacity})`,
      );
    }
    if (record.generation === MAX_GENERATION) throw new RangeError(`record '${key}' is worn out`);
    const generation = record.generation + 1;
    const image = this.#scratch;
    const length = HEADER_BYTES + payload.length + CRC_BYTES;
    writeU32(image, 0, generation);
    writeU32(image, 4, payload.length);
    image.set(payload, HEADER_BYTES);
    writeU32(
      image,
      HEADER_BYTES + payload.length,
      crc32(image, 0, 0, HEADER_BYTES + payload.length),
    );

    const target = record.active === 0 ? 1 : 0;
    const at = record.slots[target];
    const end = at + slotBytes(record.capacity);
    const fault = this.#fault;
    this.#writes++;
    if (fault !== undefined && fault.atWrite === this.#writes) {
      this.#fault = undefined;
      if (fault.kind === 'write-failure') {
        this.#bytes.fill(ERASED, at, end);
        return fail(FLASH_ERRORS.WRITE_FAILED);
      }
      this.#tear(fault, image.subarray(0, length), at, end);
      this.#dead = true;
      return fail(FLASH_ERRORS.POWER_LOST);
    }
    this.#bytes.fill(ERASED, at, end);
    this.#bytes.set(image.subarray(0, length), at);
    record.active = target;
    record.generation = generation;
    return ok(generation);
  }

  /** Leaves the slot `[at, end)` as a power cut during the write of `image` would. */
  #tear(
    fault: FlashFault & { kind: 'power-cut' },
    image: Uint8Array,
    at: number,
    end: number,
  ): void {
    const bytes = this.#bytes;
    const seed = fault.noise ?? 0;
    const landed = Math.min(fault.landed, image.length);
    switch (fault.tail) {
      case 'old':
        bytes.set(image.subarray(0, landed), at);
        return;
      case 'erased':
        bytes.fill(ERASED, at, end);
        bytes.set(image.subarray(0, landed), at);
        return;
      case 'partial': {
        bytes.fill(ERASED, at, end);
        bytes.set(image.subarray(0, landed), at);
        if (landed === image.length) return;
        const pageEnd = Math.min(at + (Math.floor(landed / PAGE_BYTES) + 1) * PAGE_BYTES, end);
        for (let i = at + landed; i < pageEnd; i++) {
          const wanted = i - at < image.length ? image[i - at]! : ERASED;
          bytes[i] = wanted | noiseByte(seed, i);
        }
        return;
      }
      case 'half-erased':
        for (let i = at; i < end; i++) bytes[i] = bytes[i]! | noiseByte(seed, i);
        return;
    }
  }

  #record(key: string): RecordState {
    if (this.#dead) throw new Error('the flash store lost power: reopen it from its bytes');
    const record = this.#records.get(key);
    if (record === undefined) throw new RangeError(`no flash record '${key}'`);
    return record;
  }
}

/** `new FlashStore(layout, bytes)`: open a device after a restart, or a fresh one. */
export function openFlash(layout: FlashLayout, bytes?: Uint8Array): FlashStore {
  return new FlashStore(layout, bytes);
}
