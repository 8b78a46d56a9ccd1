/**
 * bench/firmware — the simulator core (ARCHITECTURE.md §8: scheduler ≥ 5 M events/s). First part:
 * the World's scheduler (`src/sim/scheduler.ts`: timing wheels of 1 ms buckets over the next 16 s
 * and 8.2 s buckets over the next 9.3 h, a heap beyond) against two baselines in the same process:
 * - a binary heap of `{ time, seq, callback }` objects in a JS array, the usual way to write one;
 * - a sorted array (binary search + splice), roughly matter.js's mock clock (which even re-sorts).
 * Workloads: "burst" schedules N timers at random times, then runs them all; "hold" keeps
 * 100 k timers pending while each event schedules the next (the classic hold model, a fleet's
 * steady state), with delays up to 10 s (inside the fine wheel) and up to 10 min (nearly all
 * through the coarse wheel first). Orders are validated against each other before anything is
 * timed, long delays and fractional times included. Rates are events per CPU-second of this
 * process, best of three.
 *
 * Run: npm run build --silent && node dist/bench/firmware.js   (writes bench/results/firmware-<time>.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TimerCallback } from '../firmware-sim/time.js';
import { Random } from '../src/sim/random.js';
import { Scheduler } from '../src/sim/scheduler.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: this file runs from dist/bench/. */
const root = join(here, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 1);
const BURST = 100_000;
const HOLD = 100_000;
/** A building's worth of pending timers, for comparison with the fleet-sized heap. */
const HOLD_SMALL = 1_000;
/** Random delays, drawn once: up to 10 s, so a burst spans many distinct times with some ties. */
const DELAYS = 1 << 16;
const MAX_DELAY = 10_000;
/** Delays scaled by this reach 10 min, past the scheduler's 16 s fine wheel. */
const LONG = 60;
const random = new Random('bench/firmware');
const delays = Float64Array.from({ length: DELAYS }, () => random.int(0, MAX_DELAY));

/** What each implementation offers the workloads. */
interface Queue {
  now(): number;
  at(time: number, callback: TimerCallback): unknown;
  runUntil(time: number): number;
}

interface Entry {
  time: number;
  seq: number;
  callback: TimerCallback;
}

/** Baseline 1: a binary min-heap of objects, keyed by (time, seq). */
class ObjectHeap implements Queue {
  #heap: Entry[] = [];
  #seq = 0;
  #now = 0;
  now(): number {
    return this.#now;
  }
  at(time: number, callback: TimerCallback): void {
    const heap = this.#heap;
    const entry = { time, seq: this.#seq++, callback };
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }
  runUntil(time: number): number {
    const heap = this.#heap;
    let count = 0;
    while (heap.length > 0 && heap[0]!.time <= time) {
      const first = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        let i = 0;
        for (;;) {
          let child = 2 * i + 1;
          if (child >= heap.length) break;
          if (child + 1 < heap.length && less(heap[child + 1]!, heap[child]!)) child++;
          if (!less(heap[child]!, last)) break;
          heap[i] = heap[child]!;
          i = child;
        }
        heap[i] = last;
      }
      this.#now = first.time;
      count++;
      first.callback(first.time);
    }
    this.#now = time;
    return count;
  }
}

const less = (a: Entry, b: Entry): boolean =>
  a.time < b.time || (a.time === b.time && a.seq < b.seq);

/** Baseline 2: an array kept sorted by (time, seq), newest insertion after its equals. */
class SortedArray implements Queue {
  #entries: Entry[] = [];
  #seq = 0;
  #now = 0;
  now(): number {
    return this.#now;
  }
  at(time: number, callback: TimerCallback): void {
    const entries = this.#entries;
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid]!.time <= time) lo = mid + 1;
      else hi = mid;
    }
    entries.splice(lo, 0, { time, seq: this.#seq++, callback });
  }
  runUntil(time: number): number {
    let count = 0;
    let i = 0;
    const entries = this.#entries;
    // Callbacks may insert at the front, so take one entry at a time.
    while (entries.length > i && entries[i]!.time <= time) {
      const first = entries[i]!;
      entries.splice(i, 1);
      this.#now = first.time;
      count++;
      first.callback(first.time);
      i = 0;
    }
    this.#now = time;
    return count;
  }
}

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Calls `batch` (which runs some events and returns how many) for SECONDS of CPU; events per CPU-second. */
function rate(batch: () => number): number {
  for (let i = 0; i < 3; i++) batch(); // warm-up, lets V8 tier up
  let events = 0;
  const start = cpuSeconds();
  while (cpuSeconds() - start < SECONDS) events += batch();
  return events / (cpuSeconds() - start);
}

const best = (measure: () => number): number => Math.max(measure(), measure(), measure());

/** Burst: schedule `count` timers at now + random delay, then run them all. */
function burst(queue: Queue, count: number): () => number {
  let k = 0;
  const noop: TimerCallback = () => undefined;
  return () => {
    const now = queue.now();
    for (let i = 0; i < count; i++) queue.at(now + delays[k++ & (DELAYS - 1)]!, noop);
    return queue.runUntil(now + MAX_DELAY);
  };
}

/** Hold: `pending` timers, each of which schedules its successor, `scale` × a random delay later. */
function hold(queue: Queue, pending: number, scale = 1): () => number {
  let k = 0;
  const next: TimerCallback = (t) => {
    queue.at(t + 1 + scale * delays[k++ & (DELAYS - 1)]!, next);
  };
  for (let i = 0; i < pending; i++) {
    queue.at(queue.now() + scale * delays[k++ & (DELAYS - 1)]!, next);
  }
  // About a thousand events per step: `pending` events are spread over a mean delay of
  // scale × MAX_DELAY / 2.
  const step = (scale * MAX_DELAY) / 2 / (pending / 1000);
  return () => queue.runUntil(queue.now() + step);
}

/**
 * Every implementation runs the same timers in the same order, ties included: short and long
 * delays (inside and past the scheduler's fine wheel), some fractional, some scheduled by callbacks.
 */
function validate(): void {
  const orders = [new Scheduler(), new ObjectHeap(), new SortedArray()].map((queue) => {
    const order: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const delay = i % 4 === 0 ? delays[i]! * LONG : delays[i]! % 500;
      queue.at(i % 7 === 0 ? delay + 0.5 : delay, () => {
        order.push(i);
        if (i % 3 === 0) queue.at(queue.now() + (delays[i + 1]! % 50), () => order.push(-i));
      });
    }
    queue.runUntil(LONG * MAX_DELAY);
    return order.join();
  });
  if (orders[1] !== orders[0] || orders[2] !== orders[0]) {
    throw new Error('the baselines and the scheduler disagree on the order of events');
  }
}

function main(): void {
  validate();
  const cores = availableParallelism();
  console.log(
    `bench/firmware: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores`,
  );
  console.log(`scheduler events per CPU-second; delays uniform in [0, ${MAX_DELAY}] ms\n`);

  const results = {
    burstScheduler: best(() => rate(burst(new Scheduler(), BURST))),
    burstObjectHeap: best(() => rate(burst(new ObjectHeap(), BURST))),
    burstSortedArray: rate(burst(new SortedArray(), BURST / 10)),
    holdScheduler: best(() => rate(hold(new Scheduler(), HOLD))),
    holdObjectHeap: best(() => rate(hold(new ObjectHeap(), HOLD))),
    holdSortedArray: rate(hold(new SortedArray(), HOLD)),
    holdSmallScheduler: best(() => rate(hold(new Scheduler(), HOLD_SMALL))),
    holdSmallObjectHeap: best(() => rate(hold(new ObjectHeap(), HOLD_SMALL))),
    holdLongScheduler: best(() => rate(hold(new Scheduler(), HOLD, LONG))),
    holdLongObjectHeap: best(() => rate(hold(new ObjectHeap(), HOLD, LONG))),
  };
  const m = (x: number): string => `${(x / 1e6).toFixed(2)} M/s`;
  const rows: [string, number][] = [
    [`burst ${BURST / 1000}k: scheduler (timing wheel)`, results.burstScheduler],
    [`burst ${BURST / 1000}k: object heap`, results.burstObjectHeap],
    [`burst ${BURST / 10_000}k: sorted array`, results.burstSortedArray],
    [`hold ${HOLD / 1000}k pending: scheduler (timing wheel)`, results.holdScheduler],
    [`hold ${HOLD / 1000}k pending: object heap`, results.holdObjectHeap],
    [`hold ${HOLD / 1000}k pending: sorted array`, results.holdSortedArray],
    [`hold ${HOLD_SMALL / 1000}k pending: scheduler (timing wheel)`, results.holdSmallScheduler],
    [`hold ${HOLD_SMALL / 1000}k pending: object heap`, results.holdSmallObjectHeap],
    [`hold ${HOLD / 1000}k, 10 min delays: scheduler (timing wheels)`, results.holdLongScheduler],
    [`hold ${HOLD / 1000}k, 10 min delays: object heap`, results.holdLongObjectHeap],
  ];
  for (const [name, value] of rows) console.log(`  ${name.padEnd(52)} ${m(value)}`);
  const ratios = {
    burstOverObjectHeap: results.burstScheduler / results.burstObjectHeap,
    burstOverSortedArray: results.burstScheduler / results.burstSortedArray,
    holdOverObjectHeap: results.holdScheduler / results.holdObjectHeap,
    holdOverSortedArray: results.holdScheduler / results.holdSortedArray,
    holdSmallOverObjectHeap: results.holdSmallScheduler / results.holdSmallObjectHeap,
    holdLongOverObjectHeap: results.holdLongScheduler / results.holdLongObjectHeap,
  };
  console.log('');
  console.log(`  burst: scheduler / object heap    ${ratios.burstOverObjectHeap.toFixed(2)}×`);
  console.log(`  hold:  scheduler / object heap    ${ratios.holdOverObjectHeap.toFixed(2)}×`);
  console.log(`  hold:  scheduler / sorted array   ${ratios.holdOverSortedArray.toFixed(1)}×`);
  console.log(`  hold 1k: scheduler / object heap  ${ratios.holdSmallOverObjectHeap.toFixed(2)}×`);
  console.log(
    `  hold 10 min: scheduler / object heap  ${ratios.holdLongOverObjectHeap.toFixed(2)}×`,
  );
  console.log(`  target: ≥ 5 M events/s (ARCHITECTURE.md §8)`);

  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `firmware-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ bench: 'firmware', node: process.version, cpu: cpus()[0]?.model, cores, seconds: SECONDS, burst: BURST, hold: HOLD, holdSmall: HOLD_SMALL, maxDelayMs: MAX_DELAY, longMaxDelayMs: LONG * MAX_DELAY, results, ratios }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main();
