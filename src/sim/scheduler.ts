/**
 * The World's virtual-time scheduler (ARCHITECTURE.md §2): the one place timers live for every
 * lock, phone and radio in a simulation (STYLE.md: never a `setTimeout` per lock). Timers run in
 * `(time, seq)` order, where `seq` counts insertions, so timers due at the same time run in the
 * order they were scheduled and a run is deterministic.
 *
 * Structure, for the §8 budget of ≥ 5 M events/s with a fleet's 100 k timers pending: a
 * two-level hashed timing wheel (Varghese & Lauck, "Hashed and hierarchical timing wheels",
 * SOSP 1987) in front of a binary heap keyed by `(time, seq)`. Scheduling, cancelling and running
 * cost O(1) for timers due within hours, where a heap of 100 k pays ~17 levels of cache misses
 * per event.
 * - The fine wheel has one bucket per millisecond over `FINE_MS` ms starting at `#wheelMs`, the
 *   millisecond of the last timer run (never after `now()`). It holds every timer of the current
 *   and the next `COARSE_MS` block (block = `floor(time / COARSE_MS)`), so the earliest pending
 *   timer is the head of its first non-empty bucket, found through a bitmap.
 * - The coarse wheel has one bucket per block for the following `COARSE_BUCKETS - 2` blocks
 *   (9.3 h); the heap holds the timers after that.
 * - When the wheel moves on to a later block, the coarse buckets of the new current and next
 *   blocks pour into the fine wheel, and the heap's timers that come within reach move to their
 *   bucket. Each timer moves at most twice, always into buckets holding nothing of their time
 *   span yet.
 * - Buckets are doubly linked lists (typed arrays indexed by slot). A new timer has the highest
 *   `seq` so far, and a timer moved out of the heap or a coarse bucket arrives after every timer
 *   of its time with a lower `seq`; so placing each after every timer of its bucket due no later
 *   keeps fine buckets sorted by `(time, seq)`, and coarse buckets sorted by `seq` among timers of
 *   equal time. Whole-millisecond times, the World's, always append to a fine bucket; a fractional
 *   time earlier than the tail walks back to its place.
 *
 * A timer lives in a slot; per-slot arrays hold its callback, time, links (or heap position) and a
 * generation, so `cancel` is O(1) in the wheels, O(log n) in the heap, and a stale `TimerId` never
 * cancels the slot's next timer. Slot and heap arrays double when full.
 *
 * Allocation: `at`, `cancel`, `runNext` and `runUntil` allocate nothing once the arrays are big
 * enough; the only per-event allocation is whatever the caller creates. To schedule without
 * allocating, create each callback once (e.g. one per lock) and reuse it.
 *
 * Time only moves forward: `at` before `now()`, or `runUntil` to a time before `now()`, is a bug
 * in the caller and throws `RangeError` (clamping would hide it, e.g. a lock scheduling on its own
 * RTC reading instead of world time). `at(now(), …)` is fine and runs after what is already due.
 */
import type { Clock, TimerCallback, TimerId, Timers } from '../../firmware-sim/time.js';

/** Low bits of a `TimerId`: the slot. At most 2^24 (16.7 M) timers can be pending at once. */
const SLOT_BITS = 24;
const SLOT_LIMIT = 2 ** SLOT_BITS;
const SLOT_MASK = SLOT_LIMIT - 1;
/** High bits: the slot's generation, kept below 2^29 so that ids are safe integers. */
const GENERATION_LIMIT = 2 ** (53 - SLOT_BITS);
const DEFAULT_CAPACITY = 1024;

/**
 * A block of 2^13 ms (8.2 s): a coarse bucket. The fine wheel spans two blocks from anywhere in
 * the first, so 2^14 ms (16.4 s): a lock's short timers (bolt, relock, door hold, radio).
 */
const COARSE_MS = 1 << 13;
const FINE_MS = 2 * COARSE_MS;
const FINE_MASK = FINE_MS - 1;
/** 2^12 blocks: timers up to 9.3 h ahead (battery, a day's timers) stay out of the heap. */
const COARSE_BUCKETS = 1 << 12;
const COARSE_MASK = COARSE_BUCKETS - 1;
/** End of a bucket's list, or no bucket head. */
const NONE = -1;
/** `#where` of a free slot and of slots in the wheels; otherwise the slot's heap position. */
const FREE = -1;
const IN_FINE = -2;
const IN_COARSE = -3;

/** The block of a time. */
const blockOf = (time: number): number => Math.floor(time / COARSE_MS);

/**
 * A wheel's buckets: list ends by bucket, a count of timers, and a two-level bitmap of the
 * non-empty ones: a bit per bucket in `occupied`, and a bit per non-zero word of `occupied` in
 * `summary`. A sparse wheel (a building's few hundred locks spread over a fine wheel of 16,384
 * buckets) is then searched in a few words rather than a scan of its 512.
 */
class Buckets {
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly occupied: Int32Array;
  readonly summary: Int32Array;
  count = 0;

  constructor(size: number) {
    this.head = new Int32Array(size).fill(NONE);
    this.tail = new Int32Array(size).fill(NONE);
    this.occupied = new Int32Array(size >>> 5);
    this.summary = new Int32Array(Math.ceil(this.occupied.length / 32));
  }

  /** Marks `bucket` non-empty. */
  mark(bucket: number): void {
    const word = bucket >>> 5;
    this.occupied[word]! |= 1 << (bucket & 31);
    this.summary[word >>> 5]! |= 1 << (word & 31);
  }

  /** Marks `bucket` empty. */
  unmark(bucket: number): void {
    const word = bucket >>> 5;
    const bits = (this.occupied[word]! &= ~(1 << (bucket & 31)));
    if (bits === 0) this.summary[word >>> 5]! &= ~(1 << (word & 31));
  }

  /** The first non-empty bucket at or cyclically after `from` (some bucket must hold a timer). */
  firstFrom(from: number): number {
    const occupied = this.occupied;
    const word = from >>> 5;
    // Buckets before `from` in its word are the far end of the wheel: masked out here, seen again
    // if the search wraps around.
    const bits = occupied[word]! & (-1 << (from & 31));
    if (bits !== 0) return (word << 5) + 31 - Math.clz32(bits & -bits);
    // The first non-zero word cyclically after `word`, through the summary.
    const summary = this.summary;
    const last = summary.length - 1;
    const next = word === occupied.length - 1 ? 0 : word + 1;
    let group = next >>> 5;
    let words = summary[group]! & (-1 << (next & 31));
    while (words === 0) {
      group = group === last ? 0 : group + 1;
      words = summary[group]!;
    }
    const found = (group << 5) + 31 - Math.clz32(words & -words);
    const foundBits = occupied[found]!;
    return (found << 5) + 31 - Math.clz32(foundBits & -foundBits);
  }
}

export interface SchedulerOptions {
  /** World time at the start (ms UTC); default 0. */
  readonly start?: number;
  /** Pending timers to make room for before the first doubling; default 1024. */
  readonly capacity?: number;
}

export class Scheduler implements Clock, Timers {
  #now: number;
  #seq = 0;
  #executed = 0;
  #running = false;
  #capacity: number;

  // The wheels.
  /** The millisecond of the fine bucket at `#cursor`. */
  #wheelMs: number;
  #cursor = 0;
  /** `blockOf(#wheelMs)`. */
  #block: number;
  readonly #fine = new Buckets(FINE_MS);
  readonly #coarse = new Buckets(COARSE_BUCKETS);

  // The heap, by heap position.
  #heapSize = 0;
  #heapTime: Float64Array;
  /** Float64 rather than Uint32: 2^32 insertions take minutes at full speed; 2^53 never come. */
  #heapSeq: Float64Array;
  #heapSlot: Int32Array;

  // By slot.
  #callbacks: (TimerCallback | undefined)[];
  #time: Float64Array;
  /** The slot's heap position, `IN_FINE`, `IN_COARSE` or `FREE`. */
  #where: Int32Array;
  /** Neighbours in the slot's bucket (`NONE` at the ends). */
  #prev: Int32Array;
  #next: Int32Array;
  #generation: Uint32Array;
  /** A stack of free slots. */
  #free: Int32Array;
  #freeCount = 0;

  constructor(options: SchedulerOptions = {}) {
    const start = options.start ?? 0;
    if (!Number.isFinite(start)) throw new RangeError('scheduler start must be a finite time');
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > SLOT_LIMIT) {
      throw new RangeError(`scheduler capacity must be an integer in [1, ${SLOT_LIMIT}]`);
    }
    this.#now = start;
    this.#wheelMs = Math.floor(start);
    this.#block = blockOf(this.#wheelMs);
    this.#capacity = capacity;
    this.#heapTime = new Float64Array(capacity);
    this.#heapSeq = new Float64Array(capacity);
    this.#heapSlot = new Int32Array(capacity);
    this.#callbacks = new Array<TimerCallback | undefined>(capacity).fill(undefined);
    this.#time = new Float64Array(capacity);
    this.#where = new Int32Array(capacity).fill(FREE);
    this.#prev = new Int32Array(capacity);
    this.#next = new Int32Array(capacity);
    this.#generation = new Uint32Array(capacity).fill(1);
    this.#free = new Int32Array(capacity);
    this.#pushFreeSlots(0, capacity);
  }

  now(): number {
    return this.#now;
  }

  /** Timers scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.#fine.count + this.#coarse.count + this.#heapSize;
  }

  /** Callbacks run since construction. */
  get executed(): number {
    return this.#executed;
  }

  /** When the next timer is due, or `undefined` when none is pending. */
  get nextTime(): number | undefined {
    return this.pending === 0 ? undefined : this.#time[this.#earliest()];
  }

  at(time: number, callback: TimerCallback): TimerId {
    // `!(time >= now)` also refuses NaN.
    if (!(time >= this.#now) || time === Infinity) {
      throw new RangeError(`timer at ${time} is before now (${this.#now}) or not finite`);
    }
    if (typeof callback !== 'function') throw new TypeError('timer callback must be a function');
    if (this.#freeCount === 0) this.#grow();
    const slot = this.#free[--this.#freeCount]!;
    this.#callbacks[slot] = callback;
    this.#time[slot] = time;
    this.#place(slot, time, this.#seq++);
    return this.#generation[slot]! * SLOT_LIMIT + slot;
  }

  cancel(id: TimerId): boolean {
    if (!Number.isSafeInteger(id) || id < 0) return false;
    const slot = id & SLOT_MASK;
    if (slot >= this.#capacity || this.#generation[slot] !== Math.floor(id / SLOT_LIMIT)) {
      return false;
    }
    const where = this.#where[slot]!;
    if (where === FREE) return false;
    if (where === IN_FINE) this.#unlinkFine(slot);
    else if (where === IN_COARSE) this.#unlinkCoarse(slot);
    else this.#heapRemove(where);
    this.#release(slot);
    return true;
  }

  /**
   * Runs the earliest pending timer, advancing `now()` to its time. Returns `false` (and does
   * nothing) when none is pending.
   */
  runNext(): boolean {
    if (this.pending === 0) return false;
    this.#enter();
    try {
      this.#run(this.#earliest());
    } finally {
      this.#running = false;
    }
    return true;
  }

  /**
   * Runs every timer due at or before `time`, including those that callbacks schedule on the way,
   * then sets `now()` to `time`. Returns the number of callbacks run. If a callback throws, the
   * exception propagates with `now()` at that callback's time and the rest still pending.
   */
  runUntil(time: number): number {
    if (!(time >= this.#now) || time === Infinity) {
      throw new RangeError(`cannot run until ${time}: before now (${this.#now}) or not finite`);
    }
    this.#enter();
    const before = this.#executed;
    try {
      while (this.pending > 0) {
        const slot = this.#earliest();
        if (this.#time[slot]! > time) break;
        this.#run(slot);
      }
      this.#now = time;
      // Every timer left is due after `time`, so the wheel may start at its millisecond; timers
      // scheduled next then land in the wheels rather than the heap.
      this.#advance(Math.floor(time));
    } finally {
      this.#running = false;
    }
    return this.#executed - before;
  }

  #enter(): void {
    if (this.#running) throw new Error('the scheduler is already running (called from a timer)');
    this.#running = true;
  }

  /**
   * The slot of the earliest pending timer (some must be): the head of the first non-empty fine
   * bucket; else the first timer of the earliest time in the first non-empty coarse bucket (its
   * list order is `seq` order among equal times); else the heap's root.
   */
  #earliest(): number {
    if (this.#fine.count > 0) return this.#fine.head[this.#fine.firstFrom(this.#cursor)]!;
    if (this.#coarse.count === 0) return this.#heapSlot[0]!;
    const bucket = this.#coarse.firstFrom((this.#block + 2) & COARSE_MASK);
    const times = this.#time;
    let earliest = this.#coarse.head[bucket]!;
    for (let slot = this.#next[earliest]!; slot !== NONE; slot = this.#next[slot]!) {
      if (times[slot]! < times[earliest]!) earliest = slot;
    }
    return earliest;
  }

  /**
   * Runs the timer in `slot`, the earliest pending: moves the wheel to its millisecond (which
   * brings it into the fine wheel if it was not there), frees its slot (so the callback may reuse
   * it), then calls it.
   */
  #run(slot: number): void {
    const time = this.#time[slot]!;
    const callback = this.#callbacks[slot]!;
    this.#advance(Math.floor(time));
    this.#unlinkFine(slot);
    this.#release(slot);
    this.#now = time;
    this.#executed++;
    callback(time);
  }

  /** Puts a timer in the fine wheel, a coarse bucket or the heap, by how far ahead it is due. */
  #place(slot: number, time: number, seq: number): void {
    const ahead = blockOf(time) - this.#block;
    if (ahead < 2) this.#linkFine(slot, time);
    else if (ahead < COARSE_BUCKETS) this.#appendCoarse(blockOf(time) & COARSE_MASK, slot);
    else this.#siftUp(this.#heapSize++, time, seq, slot);
  }

  /**
   * Starts the wheel at millisecond `ms`, which must be no later than the earliest pending timer.
   * On a new block, fills the fine wheel's new span from the coarse buckets, then from the heap.
   */
  #advance(ms: number): void {
    if (ms === this.#wheelMs) return;
    // The distance may exceed the fine wheel only when it is empty; buckets need only stay
    // consistent.
    this.#cursor = (this.#cursor + ((ms - this.#wheelMs) % FINE_MS)) & FINE_MASK;
    this.#wheelMs = ms;
    const block = blockOf(ms);
    const old = this.#block;
    if (block === old) return;
    this.#block = block;
    // Blocks before `block` hold nothing (no timer is due before `ms`); of `block` and the next,
    // only those that were coarse (two or more blocks ahead of `old`) have timers to pour.
    for (let b = Math.max(block, old + 2); b <= block + 1; b++) {
      if (b - old < COARSE_BUCKETS) this.#pour(b & COARSE_MASK);
    }
    // The heap's root comes out first, so timers of equal time arrive in `seq` order.
    const heapTime = this.#heapTime;
    while (this.#heapSize > 0 && blockOf(heapTime[0]!) - block < COARSE_BUCKETS) {
      const slot = this.#heapSlot[0]!;
      const time = heapTime[0]!;
      this.#heapRemove(0);
      if (blockOf(time) - block < 2) this.#linkFine(slot, time);
      else this.#appendCoarse(blockOf(time) & COARSE_MASK, slot);
    }
  }

  /** Moves the timers of a coarse bucket, in list order, into the fine wheel. */
  #pour(bucket: number): void {
    const coarse = this.#coarse;
    let slot = coarse.head[bucket]!;
    if (slot === NONE) return;
    coarse.head[bucket] = NONE;
    coarse.tail[bucket] = NONE;
    coarse.unmark(bucket);
    while (slot !== NONE) {
      const next = this.#next[slot]!;
      coarse.count--;
      this.#linkFine(slot, this.#time[slot]!);
      slot = next;
    }
  }

  /** The fine bucket of a time inside the fine wheel. */
  #fineBucket(time: number): number {
    return (this.#cursor + (Math.floor(time) - this.#wheelMs)) & FINE_MASK;
  }

  /** Puts `slot` (due at `time`) after every timer of its fine bucket due no later. */
  #linkFine(slot: number, time: number): void {
    const fine = this.#fine;
    const bucket = this.#fineBucket(time);
    let after = fine.tail[bucket]!;
    while (after !== NONE && this.#time[after]! > time) after = this.#prev[after]!;
    this.#insert(fine, bucket, slot, after);
    this.#where[slot] = IN_FINE;
  }

  #appendCoarse(bucket: number, slot: number): void {
    this.#insert(this.#coarse, bucket, slot, this.#coarse.tail[bucket]!);
    this.#where[slot] = IN_COARSE;
  }

  /** Links `slot` into `bucket` after `after` (`NONE`: at the head). */
  #insert(buckets: Buckets, bucket: number, slot: number, after: number): void {
    const next = this.#next;
    const prev = this.#prev;
    const before = after === NONE ? buckets.head[bucket]! : next[after]!;
    prev[slot] = after;
    next[slot] = before;
    if (after === NONE) buckets.head[bucket] = slot;
    else next[after] = slot;
    if (before === NONE) buckets.tail[bucket] = slot;
    else prev[before] = slot;
    buckets.mark(bucket);
    buckets.count++;
  }

  #unlinkFine(slot: number): void {
    this.#unlink(this.#fine, this.#fineBucket(this.#time[slot]!), slot);
  }

  #unlinkCoarse(slot: number): void {
    this.#unlink(this.#coarse, blockOf(this.#time[slot]!) & COARSE_MASK, slot);
  }

  #unlink(buckets: Buckets, bucket: number, slot: number): void {
    const after = this.#prev[slot]!;
    const before = this.#next[slot]!;
    if (after === NONE) buckets.head[bucket] = before;
    else this.#next[after] = before;
    if (before === NONE) buckets.tail[bucket] = after;
    else this.#prev[before] = after;
    if (buckets.head[bucket] === NONE) buckets.unmark(bucket);
    buckets.count--;
  }

  /** Removes the heap entry at `position`, refilling the hole with the last entry. */
  #heapRemove(position: number): void {
    const last = --this.#heapSize;
    if (position === last) return;
    const time = this.#heapTime[last]!;
    const seq = this.#heapSeq[last]!;
    const slot = this.#heapSlot[last]!;
    const parent = (position - 1) >> 1;
    if (position > 0 && this.#before(time, seq, parent)) {
      this.#siftUp(position, time, seq, slot);
    } else {
      this.#siftDown(position, time, seq, slot);
    }
  }

  /** Whether `(time, seq)` orders before the heap entry at position `i`. */
  #before(time: number, seq: number, i: number): boolean {
    const other = this.#heapTime[i]!;
    return time < other || (time === other && seq < this.#heapSeq[i]!);
  }

  /** Moves the hole at `i` up until `(time, seq)` fits, then fills it. */
  #siftUp(i: number, time: number, seq: number, slot: number): void {
    const heapTime = this.#heapTime;
    const heapSeq = this.#heapSeq;
    const heapSlot = this.#heapSlot;
    const where = this.#where;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentTime = heapTime[parent]!;
      if (parentTime < time || (parentTime === time && heapSeq[parent]! < seq)) break;
      const parentSlot = heapSlot[parent]!;
      heapTime[i] = parentTime;
      heapSeq[i] = heapSeq[parent]!;
      heapSlot[i] = parentSlot;
      where[parentSlot] = i;
      i = parent;
    }
    heapTime[i] = time;
    heapSeq[i] = seq;
    heapSlot[i] = slot;
    where[slot] = i;
  }

  /** Moves the hole at `i` down (within the heap) until `(time, seq)` fits, then fills it. */
  #siftDown(i: number, time: number, seq: number, slot: number): void {
    const heapTime = this.#heapTime;
    const heapSeq = this.#heapSeq;
    const heapSlot = this.#heapSlot;
    const where = this.#where;
    const size = this.#heapSize;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      let childTime = heapTime[child]!;
      let childSeq = heapSeq[child]!;
      const right = child + 1;
      if (right < size) {
        const rightTime = heapTime[right]!;
        const rightSeq = heapSeq[right]!;
        if (rightTime < childTime || (rightTime === childTime && rightSeq < childSeq)) {
          child = right;
          childTime = rightTime;
          childSeq = rightSeq;
        }
      }
      if (time < childTime || (time === childTime && seq < childSeq)) break;
      const childSlot = heapSlot[child]!;
      heapTime[i] = childTime;
      heapSeq[i] = childSeq;
      heapSlot[i] = childSlot;
      where[childSlot] = i;
      i = child;
    }
    heapTime[i] = time;
    heapSeq[i] = seq;
    heapSlot[i] = slot;
    where[slot] = i;
  }

  /** Frees a slot: drops the callback (for the GC), bumps the generation, pushes it on the stack. */
  #release(slot: number): void {
    this.#callbacks[slot] = undefined;
    this.#where[slot] = FREE;
    const next = this.#generation[slot]! + 1;
    this.#generation[slot] = next === GENERATION_LIMIT ? 1 : next;
    this.#free[this.#freeCount++] = slot;
  }

  /** Pushes slots `[from, to)` so that the lowest is popped first. */
  #pushFreeSlots(from: number, to: number): void {
    for (let slot = to - 1; slot >= from; slot--) this.#free[this.#freeCount++] = slot;
  }

  #grow(): void {
    const old = this.#capacity;
    if (old === SLOT_LIMIT) throw new RangeError(`more than ${SLOT_LIMIT} pending timers`);
    const capacity = Math.min(old * 2, SLOT_LIMIT);
    const widen = <A extends Float64Array | Int32Array | Uint32Array>(
      array: A,
      make: (n: number) => A,
      fill?: number,
    ): A => {
      const wider = make(capacity);
      if (fill !== undefined) wider.fill(fill, old);
      wider.set(array);
      return wider;
    };
    const float64 = (n: number): Float64Array => new Float64Array(n);
    const int32 = (n: number): Int32Array => new Int32Array(n);
    this.#heapTime = widen(this.#heapTime, float64);
    this.#heapSeq = widen(this.#heapSeq, float64);
    this.#heapSlot = widen(this.#heapSlot, int32);
    this.#time = widen(this.#time, float64);
    this.#where = widen(this.#where, int32, FREE);
    this.#prev = widen(this.#prev, int32);
    this.#next = widen(this.#next, int32);
    this.#generation = widen(this.#generation, (n) => new Uint32Array(n), 1);
    this.#free = widen(this.#free, int32);
    for (let slot = old; slot < capacity; slot++) this.#callbacks.push(undefined);
    this.#capacity = capacity;
    this.#pushFreeSlots(old, capacity);
  }
}
