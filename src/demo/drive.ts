/**
 * Runs a World to a time with phones in it (ARCHITECTURE.md §2). The async driver of
 * `src/sim/async.ts` drains the microtask queue after every scheduler event; a week of a building
 * is mostly quiet locks, so this one drains only while some tracked async work (a phone's unlock
 * or download) is in flight or background work (a hub's loop) runs, and runs the scheduler
 * straight through otherwise. The order of
 * events and continuations is the same as with `runUntilAsync`: continuations exist only while
 * such work runs, and then every event is followed by a drain.
 */
import type { World } from '../sim/world.js';

/** Counts async work started from scheduler callbacks, so the driver knows when to drain. */
export class AsyncWork {
  #pending = 0;
  /** Whether async work that never settles (a hub's loop) is running now. */
  readonly background: () => boolean;

  constructor(background: () => boolean = () => false) {
    this.background = background;
  }

  get pending(): number {
    return this.#pending;
  }

  /** Tracks `promise` until it settles; `then` runs with its value (never with a rejection). */
  track<T>(promise: Promise<T>, then?: (value: T) => void): void {
    this.#pending++;
    promise.then(
      (value) => {
        this.#pending--;
        then?.(value);
      },
      (error: unknown) => {
        this.#pending--;
        throw error;
      },
    );
  }
}

function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Events between progress reports. */
const PROGRESS_EVERY = 2_000;

/**
 * Runs `world` until `end`, draining after each event while `work` is pending; calls `progress`
 * with the virtual time now from time to time.
 */
export async function driveUntil(
  world: World,
  work: AsyncWork,
  end: number,
  progress?: (now: number) => void,
): Promise<void> {
  const busy = (): boolean => work.pending > 0 || work.background();
  const { scheduler } = world;
  await drainMicrotasks();
  let events = 0;
  for (;;) {
    const next = scheduler.nextTime;
    if (next === undefined || next > end) break;
    scheduler.runNext();
    if (busy()) await drainMicrotasks();
    if (++events % PROGRESS_EVERY === 0) progress?.(scheduler.now());
  }
  scheduler.runUntil(end);
  await drainMicrotasks();
  progress?.(scheduler.now());
}
