/**
 * Async code on the World's virtual clock (ARCHITECTURE.md §2, §6 "Phone"). The phone engine is
 * ordinary async TypeScript, so that the same code runs over noble on real Bluetooth; in a World
 * its promises are resolved from scheduler callbacks (the virtual radio's, `sleep`'s). The drivers
 * here run the scheduler one event at a time and let the microtask queue empty between events, so
 * every continuation runs at the virtual instant it belongs to, before anything later happens.
 *
 * Draining: a `setImmediate` callback is a macrotask, and Node runs every pending microtask (and
 * `process.nextTick`) before it, including those that continuations queue on the way. So awaiting
 * one is a full drain. No host timer ever stands for a virtual delay, so a run takes no wall-clock
 * time it does not compute, and the same seed gives the same order of events and continuations.
 */
import type { World } from './world.js';

/** What the drivers use of a World: its scheduler. */
export type AsyncHost = Pick<World, 'scheduler'>;

/** Why `runPromise` gave up on a promise. */
export class VirtualTimeLimitError extends Error {
  /** `limit`: its virtual time limit passed; `idle`: nothing is scheduled that could settle it. */
  readonly reason: 'limit' | 'idle';

  constructor(reason: 'limit' | 'idle', message: string) {
    super(message);
    this.name = 'VirtualTimeLimitError';
    this.reason = reason;
  }
}

/** Lets every pending promise continuation run (see the module comment). */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function assertDuration(ms: number, name: string): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) {
    throw new RangeError(`${name}: expected a finite number of ms >= 0, got ${ms}`);
  }
}

/**
 * Runs the scheduler's events due before `stop()` is true or `t` is passed, one at a time with
 * continuations drained after each; then sets the clock to `t` (if `stop()` did not end it
 * first) and drains once more.
 */
async function run(host: AsyncHost, t: number, stop: () => boolean): Promise<void> {
  const { scheduler } = host;
  if (!(t >= scheduler.now()) || !Number.isFinite(t)) {
    throw new RangeError(`cannot run until ${t}: before now (${scheduler.now()}) or not finite`);
  }
  await drainMicrotasks();
  while (!stop()) {
    const next = scheduler.nextTime;
    if (next !== undefined && next <= t) {
      scheduler.runNext();
    } else if (scheduler.now() < t) {
      scheduler.runUntil(t);
    } else {
      return;
    }
    await drainMicrotasks();
  }
}

/** Runs the world's scheduler until `t`, letting promise continuations run between events. */
export async function runUntilAsync(world: AsyncHost, t: number): Promise<void> {
  await run(world, t, () => false);
}

/** Runs the world's scheduler `ms` forward, letting continuations run between events. */
export async function advanceAsync(world: AsyncHost, ms: number): Promise<void> {
  assertDuration(ms, 'ms');
  await run(world, world.scheduler.now() + ms, () => false);
}

/**
 * Runs until `promise` settles (or `limitMs` of virtual time pass: then rejects with a
 * `VirtualTimeLimitError`); returns its value, or rejects with its reason. Without a limit it also
 * rejects once nothing is left on the scheduler, since the promise could then never settle.
 */
export async function runPromise<T>(
  world: AsyncHost,
  promise: Promise<T>,
  limitMs?: number,
): Promise<T> {
  if (limitMs !== undefined) assertDuration(limitMs, 'limitMs');
  const { scheduler } = world;
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  // The outcome is read from `watched` below; this handler only keeps an early rejection from
  // being reported as unhandled while the scheduler runs.
  watched.catch(() => undefined);
  const start = scheduler.now();
  if (limitMs === undefined) {
    await drainMicrotasks();
    while (!settled) {
      if (!scheduler.runNext()) {
        throw new VirtualTimeLimitError('idle', 'runPromise: nothing scheduled, never settles');
      }
      await drainMicrotasks();
    }
  } else {
    await run(world, start + limitMs, () => settled);
    if (!settled) {
      throw new VirtualTimeLimitError('limit', `runPromise: not settled within ${limitMs} ms`);
    }
  }
  return watched;
}

/** A promise resolved after `ms` of virtual time (scheduler timer). */
export function sleep(world: AsyncHost, ms: number): Promise<void> {
  assertDuration(ms, 'ms');
  const { scheduler } = world;
  return new Promise((resolve) => {
    scheduler.at(scheduler.now() + ms, () => resolve());
  });
}
