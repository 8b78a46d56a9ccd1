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

const INITIAL_EVENTS = 1_024;
const INITIAL_ID_BYTES = 4_096;
/** Event codes are below this (`EVENT`); a larger one is a firmware bug, refused when logged. */
const EVENT_CODES = Object.keys(EVENT).length;
/** No id: its length column holds this. */
const NO_ID = -1;

/** `array` copied into a new one of `length` elements. */
function grown<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(
  array: T,
  length: number,
): T {
  const bigger = new (array.constructor as new (length: number) => T)(length);
  bigger.set(array);
  return bigger;
}

export class EventLog {
  #count = 0;
  #time = new Float64Array(INITIAL_EVENTS);
  #a = new Float64Array(INITIAL_EVENTS);
  #b = new Float64Array(INITIAL_EVENTS);
  /** The lock's index in `#lockNames`. */
  #lock = new Uint32Array(INITIAL_EVENTS);
  #code = new Uint8Array(INITIAL_EVENTS);
  /** Per event: the offset in `#idBytes` of its ids (the second follows the first). */
  #idAt = new Uint32Array(INITIAL_EVENTS);
  /** Per event: the lengths of its first and second id, `NO_ID` when absent. */
  #idLengths = new Int32Array(2 * INITIAL_EVENTS);
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
    if (i === this.#time.length) this.#grow();
    this.#time[i] = t;
    this.#lock[i] = lock;
    this.#code[i] = code;
    this.#a[i] = a;
    this.#b[i] = b;
    this.#idAt[i] = this.#idEnd;
    this.#idLengths[2 * i] = this.#storeId(idA);
    this.#idLengths[2 * i + 1] = this.#storeId(idB);
    this.#count = i + 1;
  }

  /** Every event so far, in order, as records: the same array each call, grown to `length`. */
  records(): readonly LockEvent[] {
    const records = this.#records;
    for (let i = records.length; i < this.#count; i++) {
      const at = this.#idAt[i]!;
      const lengthA = this.#idLengths[2 * i]!;
      const lengthB = this.#idLengths[2 * i + 1]!;
      const idA = lengthA === NO_ID ? undefined : this.#idBytes.subarray(at, at + lengthA);
      const from = at + Math.max(lengthA, 0);
      const idB = lengthB === NO_ID ? undefined : this.#idBytes.subarray(from, from + lengthB);
      records.push(
        eventRecord(
          this.#time[i]!,
          this.#lockNames[this.#lock[i]!]!,
          this.#code[i]!,
          this.#a[i]!,
          this.#b[i]!,
          idA,
          idB,
        ),
      );
    }
    return records;
  }

  /** Appends `id`'s bytes to the id column; its length, or `NO_ID`. */
  #storeId(id: Uint8Array | undefined): number {
    if (id === undefined) return NO_ID;
    const end = this.#idEnd + id.length;
    if (end > this.#idBytes.length) {
      this.#idBytes = grown(this.#idBytes, Math.max(end, 2 * this.#idBytes.length));
    }
    this.#idBytes.set(id, this.#idEnd);
    this.#idEnd = end;
    return id.length;
  }

  #grow(): void {
    const events = 2 * this.#time.length;
    this.#time = grown(this.#time, events);
    this.#a = grown(this.#a, events);
    this.#b = grown(this.#b, events);
    this.#lock = grown(this.#lock, events);
    this.#code = grown(this.#code, events);
    this.#idAt = grown(this.#idAt, events);
    this.#idLengths = grown(this.#idLengths, 2 * events);
  }
}
