/**
 * The World's event log (ARCHITECTURE.md §1 `src/sim`, §2), kept as columns: per event its world
 * time, lock, event code, two numeric fields and the bytes of up to two ids, exactly what a
 * firmware step wrote into its effect buffer (`firmware-sim/effects.ts`). The typed records
 * (`firmware-sim/events.ts` `eventRecord`) are built from the columns when the log is read, once
 * each, and kept: `records()` returns the same array every time, grown to the events logged so
 * far.
 *
 * Why columns rather than the records themselves: a simulated building year (§8) logs about
 * seven million events and reads none of them while it runs. A record is an object of a few
 * fields plus its boxed time and, for an `ACCESS`, two hex strings; kept in the heap from the
 * moment it is logged, every garbage collection of the year copies or marks the growing log.
 * Columns cost about 40 bytes an event, in a few large arrays the collector does not walk, and
 * logging one is a handful of stores (STYLE.md: nothing allocated per event). The records read
 * the same: `JSON.stringify` of the log is byte for byte what it was when records were built at
 * logging time.
 */
import { EVENT, eventRecord } from '../../firmware-sim/events.js';
import type { LockEvent } from '../../firmware-sim/events.js';

/** Events per chunk of the columns: a full chunk stays where it is, nothing is copied to grow. */
const CHUNK_BITS = 16;
const CHUNK_EVENTS = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_EVENTS - 1;
const INITIAL_ID_BYTES = 4_096;
/** Event codes are below this (`EVENT`); a larger one is a firmware bug, refused when logged. */
const EVENT_CODES = Object.keys(EVENT).length;
/** No id: its length column holds this. */
const NO_ID = -1;

/** The columns of `CHUNK_EVENTS` consecutive events. */
class Chunk {
  readonly time = new Float64Array(CHUNK_EVENTS);
  readonly a = new Float64Array(CHUNK_EVENTS);
  readonly b = new Float64Array(CHUNK_EVENTS);
  /** The lock's index in the log's lock names. */
  readonly lock = new Uint32Array(CHUNK_EVENTS);
  readonly code = new Uint8Array(CHUNK_EVENTS);
  /** The offset in the log's id bytes of the event's ids (the second follows the first). */
  readonly idAt = new Uint32Array(CHUNK_EVENTS);
  /** The lengths of the event's first and second id, `NO_ID` when absent. */
  readonly idLengths = new Int32Array(2 * CHUNK_EVENTS);
}

export class EventLog {
  #count = 0;
  readonly #chunks: Chunk[] = [];
  #idBytes = new Uint8Array(INITIAL_ID_BYTES);
  #idEnd = 0;
  readonly #lockNames: string[] = [];
  /** The records built so far: the first `#records.length` events. */
  readonly #records: LockEvent[] = [];

  /** Events logged. */
  get length(): number {
    return this.#count;
  }

  /** Registers a lock's name; events name the lock by the index returned. */
  addLock(name: string): number {
    this.#lockNames.push(name);
    return this.#lockNames.length - 1;
  }

  /**
   * Logs event `code` of lock `lock` (an index from `addLock`) at world time `t` with fields `a`,
   * `b` and ids `idA`, `idB`, as `eventRecord` takes them. The ids' bytes are copied.
   */
  push(
    t: number,
    lock: number,
    code: number,
    a: number,
    b: number,
    idA: Uint8Array | undefined,
    idB: Uint8Array | undefined,
  ): void {
    if (!(Number.isInteger(code) && code >= 0 && code < EVENT_CODES)) {
      throw new RangeError(`unknown event code ${code}`);
    }
    if (lock >= this.#lockNames.length) throw new RangeError(`no lock ${lock} in the log`);
    const i = this.#count;
    const j = i & CHUNK_MASK;
    if (j === 0) this.#chunks.push(new Chunk());
    const chunk = this.#chunks[i >>> CHUNK_BITS]!;
    chunk.time[j] = t;
    chunk.lock[j] = lock;
    chunk.code[j] = code;
    chunk.a[j] = a;
    chunk.b[j] = b;
    chunk.idAt[j] = this.#idEnd;
    chunk.idLengths[2 * j] = this.#storeId(idA);
    chunk.idLengths[2 * j + 1] = this.#storeId(idB);
    this.#count = i + 1;
  }

  /** Every event so far, in order, as records: the same array each call, grown to `length`. */
  records(): readonly LockEvent[] {
    const records = this.#records;
    for (let i = records.length; i < this.#count; i++) {
      const chunk = this.#chunks[i >>> CHUNK_BITS]!;
      const j = i & CHUNK_MASK;
      const at = chunk.idAt[j]!;
      const lengthA = chunk.idLengths[2 * j]!;
      const lengthB = chunk.idLengths[2 * j + 1]!;
      const idA = lengthA === NO_ID ? undefined : this.#idBytes.subarray(at, at + lengthA);
      const from = at + Math.max(lengthA, 0);
      const idB = lengthB === NO_ID ? undefined : this.#idBytes.subarray(from, from + lengthB);
      records.push(
        eventRecord(
          chunk.time[j]!,
          this.#lockNames[chunk.lock[j]!]!,
          chunk.code[j]!,
          chunk.a[j]!,
          chunk.b[j]!,
          idA,
          idB,
        ),
      );
    }
    return records;
  }

  /** Appends `id`'s bytes to the id bytes, doubling them when full; its length, or `NO_ID`. */
  #storeId(id: Uint8Array | undefined): number {
    if (id === undefined) return NO_ID;
    const end = this.#idEnd + id.length;
    if (end > this.#idBytes.length) {
      const bigger = new Uint8Array(Math.max(end, 2 * this.#idBytes.length));
      bigger.set(this.#idBytes);
      this.#idBytes = bigger;
    }
    this.#idBytes.set(id, this.#idEnd);
    this.#idEnd = end;
    return id.length;
  }
}
