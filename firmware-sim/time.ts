/**
 * Time as the firmware sees it (ARCHITECTURE.md §2): one clock and one timer service, both
 * injected. In a simulation they are the World's virtual scheduler (`src/sim/scheduler.ts`); on a
 * real BLE adapter, a real-time implementation. Pure types: the firmware depends on these and
 * never on the host's wall clock or timers.
 */

/** World time: milliseconds since the Unix epoch, UTC. A lock's own reading is its RTC (`rtc.ts`). */
export interface Clock {
  now(): number;
}

/**
 * An opaque handle for a scheduled callback: a non-negative safe integer, never 0, never reused
 * while its timer is pending (and not for a very long time after).
 */
export type TimerId = number;

/** Called with the time it was scheduled for, which is `Clock.now()` while it runs. */
export type TimerCallback = (now: number) => void;

export interface Timers {
  /**
   * Runs `callback` at world time `time` (ms UTC). Callbacks due at the same time run in the
   * order they were scheduled. Scheduling before `now()` is a bug and throws `RangeError`.
   */
  at(time: number, callback: TimerCallback): TimerId;
  /** Cancels a pending timer: `true` if it was pending, `false` if it already ran or was cancelled. */
  cancel(id: TimerId): boolean;
}
