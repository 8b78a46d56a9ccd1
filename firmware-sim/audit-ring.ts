/**
 * The lock's audit ring in flash (ARCHITECTURE.md §3 "Audit log", "Passive sync"; SECURITY.md
 * item 24; protocol/spec/messages.md §5.7): every access attempt and state change is appended
 * with the next sequence number, kept until the cloud acknowledges it through a later sync
 * bundle (`auditAck`), and served to phones as sealed uploads (`audit-pull-response`).
 *
 * Layout. `AUDIT_PAGES` audit pages, each its own flash record (`audit-0` … `audit-15`, A/B slots
 * by `flash.ts`), used in rotation; an audit page is the log's unit and spans several NOR program
 * pages (`PAGE_BYTES`). A page payload is
 *
 *     firstSeq u64 ‖ overflow u64 ‖ record × count          (little-endian, like the MCU)
 *     record = flags u8 ‖ method u8 ‖ result u8 ‖ reason u8 ‖ time u64 ‖ credential 16 ‖ user 16
 *
 * `flags` bit 0: time present (the clock was valid), bit 1: credential, bit 2: user; absent
 * fields are zero, `reason` 0 means none (wire codes start at 1). Record `i` of a page has
 * sequence `firstSeq + i`, so sequences cost no bytes, and `count` is the payload length over
 * the record size (the slot stores the length; a second copy could only disagree). `overflow` is
 * the ring's cumulative overflow when the page was written; the newest page holds the largest.
 *
 * Why pages, each a record, rather than one record for the ring: a write costs time and wear in
 * proportion to its size and a power cut can only tear the record being written. An append
 * rewrites only the current page (at most `AUDIT_PAGE_BYTES`), and a cut during it falls back to
 * that page's previous generation, so it loses at most the record being appended and never a
 * committed one. Why the ring drops a whole page when it wraps, as flash circular buffers drop a
 * whole sector (Zephyr's FCB), rather than overwriting one record at a time: a page is then
 * always a run of consecutive sequences described by its header, and a page being refilled is
 * written at its filled size, half a full page on average. The price: after a wrap the ring
 * holds between `AUDIT_CAPACITY − AUDIT_RECORDS_PER_PAGE + 1` and `AUDIT_CAPACITY` records.
 *
 * Boot (`AuditRing.open`) reads every page: the page with the highest `firstSeq` is the current
 * one and `head` (the next sequence) follows its last record; the oldest held sequence is the
 * lowest `firstSeq`; `overflow` the largest stored. Records are committed before they count: RAM
 * mirrors flash only after a successful commit, so a failed write leaves the previous state.
 *
 * Acknowledgement. `auditAck` is persisted by the sync store, not here: the lock passes it at
 * boot and after each sync (`acknowledge`, RAM only). `tail` = max(ack, oldest held). Dropping a
 * page counts its records at or above the ack in `overflow`, committed with the page that drops
 * them, so a gap is never silent. An ack beyond `head` (the cloud already holds sequences this
 * flash never wrote, e.g. after a unit swap) moves `head` up to it: reusing those sequences
 * would make the cloud discard new records as duplicates. The jump is RAM only, repeated by the
 * acknowledgement at every boot, and the next append starts a new page, since a page's
 * sequences are consecutive.
 *
 * Allocation: an append reads the current page into one scratch page shared by every ring
 * (firmware steps run to completion, one at a time), encodes its record there and commits a
 * prebuilt view of it: it allocates nothing but the commit's result. Per-ring RAM is a page
 * index: about 320 bytes of heap per ring, measured with 20,000 rings.
 */
import type { CryptoProvider } from '../protocol/crypto/provider.js';
import {
  AUDIT_METHODS,
  AUDIT_RESULTS,
  MAX_AUDIT_RECORDS,
  sealAuditUpload,
} from '../protocol/formats/audit-upload.js';
import type { AuditMethod, AuditRecord, AuditResult } from '../protocol/formats/audit-upload.js';
import { assertLength, ID_BYTES } from '../protocol/formats/common.js';
import { ok } from '../protocol/result.js';
import type { Result } from '../protocol/result.js';
import type { FlashErrorCode, FlashLayout, FlashStore } from './flash.js';

/** Audit pages in the rotation. */
export const AUDIT_PAGES = 16;
/** Records per audit page. */
export const AUDIT_RECORDS_PER_PAGE = 16;
/** Records the ring holds when every page is full. */
export const AUDIT_CAPACITY = AUDIT_PAGES * AUDIT_RECORDS_PER_PAGE;
/** flags, method, result, reason (1 byte each), time u64, credential and user ids. */
export const AUDIT_RECORD_BYTES = 4 + 8 + 2 * ID_BYTES;
/** firstSeq u64 ‖ overflow u64. */
export const AUDIT_PAGE_HEADER_BYTES = 16;
/** The largest page payload: the capacity of each page's flash record. */
export const AUDIT_PAGE_BYTES =
  AUDIT_PAGE_HEADER_BYTES + AUDIT_RECORDS_PER_PAGE * AUDIT_RECORD_BYTES;
/** The flash record keys of the pages, in rotation order. */
export const AUDIT_FLASH_KEYS: readonly string[] = Array.from(
  { length: AUDIT_PAGES },
  (_, page) => `audit-${page}`,
);

/** What the firmware appends; the ring adds the sequence number. */
export interface AuditEntry {
  /** The lock's clock (ms UTC), `undefined` while it is invalid. */
  readonly time: number | undefined;
  readonly method: AuditMethod;
  readonly result: AuditResult;
  /** keyway's precise reason: a wire error code (1..255); absent on success. */
  readonly reason?: number;
  readonly credential?: Uint8Array;
  readonly user?: Uint8Array;
}

/** An `audit-pull-response` body: a sealed upload and whether records remain after it. */
export interface AuditChunk {
  readonly upload: Uint8Array;
  readonly more: boolean;
}

/** The ring's records; add them to the lock's flash layout. */
export function auditFlashLayout(): FlashLayout {
  return AUDIT_FLASH_KEYS.map((key) => ({ key, capacity: AUDIT_PAGE_BYTES }));
}

const HAS_TIME = 1;
const HAS_CREDENTIAL = 2;
const HAS_USER = 4;
const KNOWN_FLAGS = HAS_TIME | HAS_CREDENTIAL | HAS_USER;
const AT_TIME = 4;
const AT_CREDENTIAL = 12;
const AT_USER = AT_CREDENTIAL + ID_BYTES;
const TWO_32 = 0x1_0000_0000;

/** Names by wire code, to decode the records. */
const names = <N extends string>(codes: Readonly<Record<N, number>>): readonly N[] => {
  const byCode: N[] = [];
  for (const name of Object.keys(codes) as N[]) byCode[codes[name]] = name;
  return byCode;
};
const METHOD_NAMES = names<AuditMethod>(AUDIT_METHODS);
const RESULT_NAMES = names<AuditResult>(AUDIT_RESULTS);

/** The page being written, shared by every ring, and its views for 1..16 records. */
const SCRATCH = new Uint8Array(AUDIT_PAGE_BYTES);
const SCRATCH_VIEW = new DataView(SCRATCH.buffer);
const PAGE_IMAGES = Array.from({ length: AUDIT_RECORDS_PER_PAGE }, (_, i) =>
  SCRATCH.subarray(0, AUDIT_PAGE_HEADER_BYTES + (i + 1) * AUDIT_RECORD_BYTES),
);

/** A safe integer as u64, little-endian. */
function setU53(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % TWO_32, true);
  view.setUint32(at + 4, Math.floor(value / TWO_32), true);
}

function getU53(view: DataView, at: number): number {
  const high = view.getUint32(at + 4, true);
  if (high >= 1 << 21) throw new RangeError('audit page: a u64 field is beyond 2^53');
  return high * TWO_32 + view.getUint32(at, true);
}

const isUint = (value: unknown): value is number =>
  Number.isSafeInteger(value) && Number(value) >= 0;

/** Throws on an entry no firmware path should build (STYLE.md: bugs throw). */
function assertEntry(entry: AuditEntry): void {
  if (!Object.hasOwn(AUDIT_METHODS, entry.method)) throw new TypeError('audit entry: bad method');
  if (!Object.hasOwn(AUDIT_RESULTS, entry.result)) throw new TypeError('audit entry: bad result');
  if (entry.time !== undefined && !isUint(entry.time)) {
    throw new RangeError('audit entry: time must be a safe uint of ms, or undefined');
  }
  const { reason } = entry;
  if (reason !== undefined && !(Number.isInteger(reason) && reason >= 1 && reason <= 0xff)) {
    throw new RangeError('audit entry: reason must be a wire code in 1..255');
  }
  if (entry.credential !== undefined) assertLength(entry.credential, ID_BYTES, 'credential');
  if (entry.user !== undefined) assertLength(entry.user, ID_BYTES, 'user');
}

/** Writes `entry` as the record at `at` of the scratch page. */
function encodeRecord(entry: AuditEntry, at: number): void {
  const { time, credential, user } = entry;
  SCRATCH[at] =
    (time === undefined ? 0 : HAS_TIME) |
    (credential === undefined ? 0 : HAS_CREDENTIAL) |
    (user === undefined ? 0 : HAS_USER);
  SCRATCH[at + 1] = AUDIT_METHODS[entry.method];
  SCRATCH[at + 2] = AUDIT_RESULTS[entry.result];
  SCRATCH[at + 3] = entry.reason ?? 0;
  setU53(SCRATCH_VIEW, at + AT_TIME, time ?? 0);
  if (credential === undefined) SCRATCH.fill(0, at + AT_CREDENTIAL, at + AT_USER);
  else SCRATCH.set(credential, at + AT_CREDENTIAL);
  if (user === undefined) SCRATCH.fill(0, at + AT_USER, at + AUDIT_RECORD_BYTES);
  else SCRATCH.set(user, at + AT_USER);
}

/** The protocol record at `at` of a page payload. */
function decodeRecord(page: Uint8Array, view: DataView, at: number, seq: number): AuditRecord {
  const flags = page[at]!;
  const method = METHOD_NAMES[page[at + 1]!];
  const result = RESULT_NAMES[page[at + 2]!];
  if ((flags & ~KNOWN_FLAGS) !== 0 || method === undefined || result === undefined) {
    throw new RangeError(`audit page: record ${seq} is malformed`);
  }
  const reason = page[at + 3]!;
  return {
    seq,
    ...((flags & HAS_TIME) !== 0 && { time: getU53(view, at + AT_TIME) }),
    method,
    result,
    ...(reason !== 0 && { reason }),
    ...((flags & HAS_CREDENTIAL) !== 0 && {
      credential: page.slice(at + AT_CREDENTIAL, at + AT_USER),
    }),
    ...((flags & HAS_USER) !== 0 && { user: page.slice(at + AT_USER, at + AUDIT_RECORD_BYTES) }),
  };
}

const pageView = (page: Uint8Array): DataView =>
  new DataView(page.buffer, page.byteOffset, page.length);

export class AuditRing {
  readonly #flash: FlashStore;
  /** Per page: its first sequence at `2·page`, its record count at `2·page + 1` (0: empty). */
  readonly #pages = new Float64Array(2 * AUDIT_PAGES);
  /** The page the last append wrote. */
  #current = 0;
  #head = 0;
  /** The oldest sequence held; `head` when the ring is empty. */
  #oldest = 0;
  #ack = 0;
  #overflow = 0;

  private constructor(flash: FlashStore) {
    this.#flash = flash;
  }

  /**
   * The ring at boot over `flash` (a fresh store, or one reopened over the bytes that survived a
   * power cut), acknowledged up to `ack` (the sync store's persisted `auditAck`). A page whose
   * committed payload is malformed (not what this module writes) throws `RangeError`.
   */
  static open(flash: FlashStore, ack = 0): AuditRing {
    const ring = new AuditRing(flash);
    const pages = ring.#pages;
    let newest = -1;
    for (let page = 0; page < AUDIT_PAGES; page++) {
      const payload = flash.read(AUDIT_FLASH_KEYS[page]!);
      if (payload === undefined) continue;
      const records = (payload.length - AUDIT_PAGE_HEADER_BYTES) / AUDIT_RECORD_BYTES;
      if (!(Number.isInteger(records) && records >= 1 && records <= AUDIT_RECORDS_PER_PAGE)) {
        throw new RangeError(`audit page ${page}: ${payload.length} bytes is not a page`);
      }
      const view = pageView(payload);
      const first = getU53(view, 0);
      pages[2 * page] = first;
      pages[2 * page + 1] = records;
      ring.#overflow = Math.max(ring.#overflow, getU53(view, 8));
      if (newest < 0 || first > pages[2 * newest]!) newest = page;
    }
    if (newest >= 0) {
      ring.#current = newest;
      ring.#head = pages[2 * newest]! + pages[2 * newest + 1]!;
    }
    ring.#oldest = ring.#findOldest();
    ring.acknowledge(ack);
    return ring;
  }

  /** The sequence the next record will get (`statusResponse.auditHead`). */
  get head(): number {
    return this.#head;
  }

  /** The oldest sequence still to upload (`statusResponse.auditTail`); `head` when none. */
  get tail(): number {
    return Math.min(Math.max(this.#ack, this.#oldest), this.#head);
  }

  /** Records dropped before the cloud acknowledged them, ever (`auditUpload.overflow`). */
  get overflow(): number {
    return this.#overflow;
  }

  /** The highest acknowledgement received since boot: records below it reached the cloud. */
  get acknowledged(): number {
    return this.#ack;
  }

  /**
   * Appends `entry` and returns its sequence once committed. A failed commit (`WRITE_FAILED`,
   * `POWER_LOST`) leaves the ring as it was; after `POWER_LOST` the store is dead and the record
   * may or may not be found when the lock reopens it. A malformed entry is a bug (throws).
   */
  append(entry: AuditEntry): Result<number, FlashErrorCode> {
    assertEntry(entry);
    const seq = this.#head;
    if (seq >= Number.MAX_SAFE_INTEGER) throw new RangeError('audit sequences exhausted');
    const pages = this.#pages;
    let page = this.#current;
    let first = pages[2 * page]!;
    let count = pages[2 * page + 1]!;
    let overflow = this.#overflow;
    if (count > 0 && count < AUDIT_RECORDS_PER_PAGE && first + count === seq) {
      this.#flash.readInto(AUDIT_FLASH_KEYS[page]!, SCRATCH);
    } else {
      // Start a page: the current one when the ring is empty, else the next, dropping its records.
      if (count > 0) page = (page + 1) % AUDIT_PAGES;
      const droppedFirst = pages[2 * page]!;
      const droppedCount = pages[2 * page + 1]!;
      overflow += droppedCount - Math.min(Math.max(this.#ack - droppedFirst, 0), droppedCount);
      first = seq;
      count = 0;
    }
    setU53(SCRATCH_VIEW, 0, first);
    setU53(SCRATCH_VIEW, 8, overflow);
    encodeRecord(entry, AUDIT_PAGE_HEADER_BYTES + count * AUDIT_RECORD_BYTES);
    const committed = this.#flash.commit(AUDIT_FLASH_KEYS[page]!, PAGE_IMAGES[count]!);
    if (!committed.ok) return committed;
    pages[2 * page] = first;
    pages[2 * page + 1] = count + 1;
    this.#current = page;
    this.#head = seq + 1;
    this.#overflow = overflow;
    // Only a new page changes the oldest: it may have dropped it, or be the first one held.
    if (count === 0) this.#oldest = this.#findOldest();
    return ok(seq);
  }

  /**
   * The cloud holds every record below `ack` (a sync bundle's `auditAck`): they may be dropped
   * without counting. RAM only; an older, lower ack changes nothing. An ack beyond `head` moves
   * `head` up to it (module comment).
   */
  acknowledge(ack: number): void {
    if (!isUint(ack)) throw new RangeError('auditAck: expected a safe uint');
    this.#ack = Math.max(this.#ack, ack);
    this.#head = Math.max(this.#head, ack);
  }

  /**
   * Up to `max` records from `max(from, tail)` on, as the protocol's records. Reads flash;
   * `from` is a safe uint and `max` a positive integer, else `RangeError`.
   */
  records(from: number, max: number): AuditRecord[] {
    if (!isUint(from)) throw new RangeError('from: expected a safe uint');
    if (!(Number.isSafeInteger(max) && max >= 1)) throw new RangeError('max: expected >= 1');
    const out: AuditRecord[] = [];
    const end = Math.min(this.#head, Math.max(from, this.tail) + max);
    let seq = Math.max(from, this.tail);
    while (seq < end) {
      const page = this.#pageHolding(seq);
      const payload = this.#flash.read(AUDIT_FLASH_KEYS[page]!)!;
      const view = pageView(payload);
      const first = this.#pages[2 * page]!;
      const last = Math.min(end, first + this.#pages[2 * page + 1]!);
      for (; seq < last; seq++) {
        const at = AUDIT_PAGE_HEADER_BYTES + (seq - first) * AUDIT_RECORD_BYTES;
        out.push(decodeRecord(payload, view, at, seq));
      }
    }
    return out;
  }

  /**
   * An `audit-pull-response` for an `audit-pull-request { from, maxRecords }`: up to `max`
   * (1..MAX_AUDIT_RECORDS) records from `max(from, tail)`, sealed for the cloud with `crypto`'s
   * randomness, and whether records remain after them. With nothing to send the upload is empty
   * and starts at `head`.
   */
  sealChunk(
    from: number,
    max: number,
    lockId: Uint8Array,
    lockSecret: Uint8Array,
    crypto: CryptoProvider,
  ): AuditChunk {
    if (!(Number.isInteger(max) && max >= 1 && max <= MAX_AUDIT_RECORDS)) {
      throw new RangeError(`max: expected 1..${MAX_AUDIT_RECORDS} records`);
    }
    const records = this.records(from, max);
    const firstSeq = records[0]?.seq ?? Math.min(Math.max(from, this.tail), this.#head);
    const upload = sealAuditUpload(
      { lockId, firstSeq, records, overflow: this.#overflow },
      lockSecret,
      crypto,
    );
    return { upload, more: firstSeq + records.length < this.#head };
  }

  /** The page holding `seq`, which must be held (`tail ≤ seq < head`). */
  #pageHolding(seq: number): number {
    const pages = this.#pages;
    for (let page = 0; page < AUDIT_PAGES; page++) {
      const first = pages[2 * page]!;
      if (seq >= first && seq < first + pages[2 * page + 1]!) return page;
    }
    throw new RangeError(`audit ring: sequence ${seq} is not held`);
  }

  #findOldest(): number {
    let oldest = this.#head;
    for (let page = 0; page < AUDIT_PAGES; page++) {
      if (this.#pages[2 * page + 1]! > 0) oldest = Math.min(oldest, this.#pages[2 * page]!);
    }
    return oldest;
  }
}
