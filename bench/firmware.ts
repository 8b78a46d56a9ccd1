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
 *
 * Second part, the firmware in a World (§8: ≤ 2 KiB heap per idle lock with 100 k locks):
 * - firmware events per CPU-second: a building of 1,000 locks (R, M, C, C2) at model fidelity,
 *   each step one access (a permanent code, a wrong code, a mobile key) or a door cycle at a
 *   random lock, the clock advancing between steps; counted are the typed events logged and the
 *   firmware steps run (inputs and timers), against the bare scheduler's hold rate of the same run;
 * - heap per idle lock: 100 k commissioned, never-used locks added to one World, heap measured
 *   after full garbage collections, against the heap of one `{ id }` object per lock.
 *
 * Run: npm run build --silent && node dist/bench/firmware.js   (writes bench/results/firmware-<time>.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Credential } from '../protocol/formats/credential.js';
import type { TimerCallback } from '../firmware-sim/time.js';
import { Random } from '../src/sim/random.js';
import { Scheduler } from '../src/sim/scheduler.js';
import { World } from '../src/sim/world.js';
import type { LockOptions } from '../src/sim/world.js';

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

const BUILDING_LOCKS = 1_000;
const FLEET = 100_000;
const PIN = '4815162';

/** The model of lock `i` of a building or fleet: one R in four, the rest M, C, C2. */
function lockOptions(i: number): LockOptions {
  const id = `lock-${i}`;
  switch (i % 4) {
    case 0:
      return { id, model: 'R', wiring: i % 8 === 0 ? 'fail-secure' : 'fail-safe' };
    case 1:
      return { id, model: 'M' };
    case 2:
      return { id, model: 'C' };
    default:
      return { id, model: 'C2' };
  }
}

/** A synced building: every lock has one resident key and one permanent code. */
function building(): { world: World; keys: Credential[] } {
  const world = new World({ seed: 'bench/firmware building' });
  const keys: Credential[] = [];
  for (let i = 0; i < BUILDING_LOCKS; i++) {
    const options = lockOptions(i);
    world.addLock(options);
    const { lockId } = world.lock(options.id).identity;
    const credential: Credential = {
      id: Uint8Array.from({ length: 16 }, (_, j) => (j < 4 ? (i >>> (8 * j)) & 0xff : 0xc0)),
      user: new Uint8Array(16).fill(i & 0xff),
      phoneKey: new Uint8Array(32).fill(0x11),
      doors: [lockId],
      notBefore: world.now() - 1,
      expires: world.now() + 10 * 365 * 86_400_000,
      epoch: 1,
      role: 'resident',
    };
    const user = credential.user;
    world.applyBundle(options.id, {
      lockId,
      version: 1,
      baseVersion: 0,
      kind: 'full',
      credentials: [credential.id],
      doorcodes: [{ door: lockId, id: credential.id, pin: PIN, user }],
      timeZone: 'America/New_York',
    });
    keys.push(credential);
  }
  return { world, keys };
}

/** One batch of building traffic: returns the firmware steps it ran. */
function traffic(world: World, keys: readonly Credential[], pick: Random): () => number {
  return () => {
    const executedBefore = world.scheduler.executed;
    let inputs = 0;
    for (let step = 0; step < 1_000; step++) {
      const i = pick.int(0, BUILDING_LOCKS - 1);
      const id = `lock-${i}`;
      switch (pick.int(0, 3)) {
        case 0:
          world.enterCode(id, PIN);
          inputs += 7;
          break;
        case 1:
          world.enterCode(id, '0000000');
          inputs += 7;
          break;
        case 2:
          world.presentMobileKey(id, keys[i]!);
          inputs += 1;
          break;
        default:
          if (i % 4 === 0) {
            world.holdDoorOpen(id, pick.int(1_000, 120_000));
            inputs += 1;
          } else {
            world.presentMobileKey(id, keys[i]!, 'lock');
            inputs += 1;
          }
      }
      world.advance(pick.int(0, 30_000));
    }
    return inputs + (world.scheduler.executed - executedBefore);
  };
}

/** Firmware steps and logged events per CPU-second of building traffic. */
function firmwareRates(): { stepsPerSecond: number; eventsPerSecond: number } {
  const { world, keys } = building();
  const pick = new Random('bench/firmware traffic');
  const batch = traffic(world, keys, pick);
  for (let i = 0; i < 3; i++) batch();
  const eventsBefore = world.eventCount;
  let steps = 0;
  const start = cpuSeconds();
  while (cpuSeconds() - start < SECONDS * 2) steps += batch();
  const elapsed = cpuSeconds() - start;
  return {
    stepsPerSecond: steps / elapsed,
    eventsPerSecond: (world.eventCount - eventsBefore) / elapsed,
  };
}

/** Heap bytes per idle lock with `FLEET` locks in one World, and per `{ id }` object. */
function heapPerIdleLock(): { lock: number; baseline: number } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const world = new World({ seed: 'bench/firmware fleet' });
  const before = heap();
  for (let i = 0; i < FLEET; i++) world.addLock(lockOptions(i));
  const lock = (heap() - before) / FLEET;
  const baselineBefore = heap();
  const ids: { id: string }[] = [];
  for (let i = 0; i < FLEET; i++) ids.push({ id: `lock-${i}` });
  const baseline = (heap() - baselineBefore) / FLEET;
  // Both stay alive until measured.
  if (world.lockIds().length !== ids.length) throw new Error('fleet lost a lock');
  return { lock, baseline };
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

  console.log(`\nfirmware in a World: ${BUILDING_LOCKS} locks at model fidelity`);
  const firmware = firmwareRates();
  console.log(`  firmware steps (inputs and timers)      ${m(firmware.stepsPerSecond)}`);
  console.log(`  typed events logged                     ${m(firmware.eventsPerSecond)}`);
  console.log(
    `  scheduler hold 1k / firmware steps      ${(results.holdSmallScheduler / firmware.stepsPerSecond).toFixed(1)}× (the firmware's cost per step over a bare timer)`,
  );
  const fleet = heapPerIdleLock();
  console.log(`\nheap per idle lock, ${FLEET / 1000}k locks in one World`);
  console.log(`  per lock                                ${fleet.lock.toFixed(0)} bytes`);
  console.log(`  per { id } object (baseline)            ${fleet.baseline.toFixed(0)} bytes`);
  console.log(
    `  lock / baseline                         ${(fleet.lock / fleet.baseline).toFixed(1)}×`,
  );
  console.log(`  target: ≤ 2,048 bytes (ARCHITECTURE.md §8)`);

  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `firmware-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ bench: 'firmware', node: process.version, cpu: cpus()[0]?.model, cores, seconds: SECONDS, burst: BURST, hold: HOLD, holdSmall: HOLD_SMALL, maxDelayMs: MAX_DELAY, longMaxDelayMs: LONG * MAX_DELAY, results, ratios, firmware, fleet }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main();
