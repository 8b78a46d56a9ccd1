/**
 * The World's virtual-time scheduler (ARCHITECTURE.md §2): the one place timers live for every
 * lock, phone and radio in a simulation (STYLE.md: never a `setTimeout` per lock). A binary
 * min-heap keyed by `(time, seq)`, where `seq` counts insertions, so timers due at the same time
 * run in the order they were scheduled and a run is deterministic.
 *
 * Layout, for the §8 budget of ≥ 5 M events/s: the heap is three parallel typed arrays indexed by
 * heap position (`time`, `seq`, `slot`); a timer's callback lives in a slot, and per-slot arrays
 * hold its heap position (so `cancel` removes it in O(log n)) and a generation (so a stale
 * `TimerId` never cancels the slot's next timer). All arrays double when full.
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

export interface SchedulerOptions {
  /** World time at the start (ms UTC); default 0. */
  readonly start?: number;
  /** Pending timers to make room for before the first doubling; default 1024. */
  readonly capacity?: number;
}

export class Scheduler implements Clock, Timers {
  #now: number;
  #size = 0;
  #seq = 0;
  #executed = 0;
  #running = false;
  #capacity: number;
  // By heap position.
  #heapTime: Float64Array;
  /** Float64 rather than Uint32: 2^32 insertions take minutes at full speed; 2^53 never come. */
  #heapSeq: Float64Array;
  #heapSlot: Int32Array;
  // By slot.
  #callbacks: (TimerCallback | undefined)[];
  /** Heap position of the slot's timer, or -1 when the slot is free. */
  #position: Int32Array;
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
    this.#capacity = capacity;
    this.#heapTime = new Float64Array(capacity);
    this.#heapSeq = new Float64Array(capacity);
    this.#heapSlot = new Int32Array(capacity);
    this.#callbacks = new Array<TimerCallback | undefined>(capacity).fill(undefined);
    this.#position = new Int32Array(capacity).fill(-1);
    this.#generation = new Uint32Array(capacity).fill(1);
    this.#free = new Int32Array(capacity);
    this.#pushFreeSlots(0, capacity);
  }

  now(): number {
    return this.#now;
  }

  /** Timers scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.#size;
  }

  /** Callbacks run since construction. */
  get executed(): number {
    return this.#executed;
  }

  /** When the next timer is due, or `undefined` when none is pending. */
  get nextTime(): number | undefined {
    return this.#size === 0 ? undefined : this.#heapTime[0];
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
    this.#siftUp(this.#size++, time, this.#seq++, slot);
    return this.#generation[slot]! * SLOT_LIMIT + slot;
  }

  cancel(id: TimerId): boolean {
    if (!Number.isSafeInteger(id) || id < 0) return false;
    const slot = id & SLOT_MASK;
    if (slot >= this.#capacity || this.#generation[slot] !== Math.floor(id / SLOT_LIMIT)) {
      return false;
    }
    const position = this.#position[slot]!;
    if (position < 0) return false;
    this.#release(slot);
    const last = --this.#size;
    if (position !== last) {
      // Refill the hole with the last entry, which may belong above or below it.
      const time = this.#heapTime[last]!;
      const seq = this.#heapSeq[last]!;
      const lastSlot = this.#heapSlot[last]!;
      const parent = (position - 1) >> 1;
      if (position > 0 && this.#before(time, seq, parent)) {
        this.#siftUp(position, time, seq, lastSlot);
      } else {
        this.#siftDown(position, time, seq, lastSlot);
      }
    }
    return true;
  }

  /**
   * Runs the earliest pending timer, advancing `now()` to its time. Returns `false` (and does
   * nothing) when none is pending.
   */
  runNext(): boolean {
    if (this.#size === 0) return false;
    this.#enter();
    try {
      this.#runFirst();
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
      while (this.#size > 0 && this.#heapTime[0]! <= time) this.#runFirst();
      this.#now = time;
    } finally {
      this.#running = false;
    }
    return this.#executed - before;
  }

  #enter(): void {
    if (this.#running) throw new Error('the scheduler is already running (called from a timer)');
    this.#running = true;
  }

  /** Pops the heap's root, frees its slot (so the callback may reuse it), then calls it. */
  #runFirst(): void {
    const time = this.#heapTime[0]!;
    const slot = this.#heapSlot[0]!;
    const callback = this.#callbacks[slot]!;
    this.#release(slot);
    const last = --this.#size;
    if (last > 0) {
      this.#siftDown(0, this.#heapTime[last]!, this.#heapSeq[last]!, this.#heapSlot[last]!);
    }
    this.#now = time;
    this.#executed++;
    callback(time);
  }

  /** Whether `(time, seq)` orders before the entry at heap position `i`. */
  #before(time: number, seq: number, i: number): boolean {
    const other = this.#heapTime[i]!;
    return time < other || (time === other && seq < this.#heapSeq[i]!);
  }

  /** Moves the hole at `i` up until `(time, seq)` fits, then fills it. */
  #siftUp(i: number, time: number, seq: number, slot: number): void {
    const heapTime = this.#heapTime;
    const heapSeq = this.#heapSeq;
    const heapSlot = this.#heapSlot;
    const position = this.#position;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentTime = heapTime[parent]!;
      if (parentTime < time || (parentTime === time && heapSeq[parent]! < seq)) break;
      const parentSlot = heapSlot[parent]!;
      heapTime[i] = parentTime;
      heapSeq[i] = heapSeq[parent]!;
      heapSlot[i] = parentSlot;
      position[parentSlot] = i;
      i = parent;
    }
    heapTime[i] = time;
    heapSeq[i] = seq;
    heapSlot[i] = slot;
    position[slot] = i;
  }

  /** Moves the hole at `i` down (within `#size`) until `(time, seq)` fits, then fills it. */
  #siftDown(i: number, time: number, seq: number, slot: number): void {
    const heapTime = this.#heapTime;
    const heapSeq = this.#heapSeq;
    const heapSlot = this.#heapSlot;
    const position = this.#position;
    const size = this.#size;
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
      position[childSlot] = i;
      i = child;
    }
    heapTime[i] = time;
    heapSeq[i] = seq;
    heapSlot[i] = slot;
    position[slot] = i;
  }

  /** Frees a slot: drops the callback (for the GC), bumps the generation, pushes it on the stack. */
  #release(slot: number): void {
    this.#callbacks[slot] = undefined;
    this.#position[slot] = -1;
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
    this.#heapTime = widen(this.#heapTime, (n) => new Float64Array(n));
    this.#heapSeq = widen(this.#heapSeq, (n) => new Float64Array(n));
    this.#heapSlot = widen(this.#heapSlot, (n) => new Int32Array(n));
    this.#position = widen(this.#position, (n) => new Int32Array(n), -1);
    this.#generation = widen(this.#generation, (n) => new Uint32Array(n), 1);
    this.#free = widen(this.#free, (n) => new Int32Array(n));
    for (let slot = old; slot < capacity; slot++) this.#callbacks.push(undefined);
    this.#capacity = capacity;
    this.#pushFreeSlots(old, capacity);
  }
}
