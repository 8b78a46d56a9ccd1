/**
 * A World on the wall clock (ARCHITECTURE.md §2, §6 "Transports"): real Bluetooth (bleno, noble,
 * a real phone) runs on real time, so a lock that serves it must too. The driver keeps the World's
 * virtual clock at `wall time + offset` (the offset fixed at `start`, zero when the World starts
 * at the wall clock's reading) and runs the scheduler's timers when they fall due: one host
 * timer, armed for the earliest pending timer, fires, the scheduler runs up to the wall clock's
 * present, and the timer is armed again. The lock's timers (handshake and idle deadlines, relock,
 * Door Ajar) so fire on time, give or take the event loop's latency.
 *
 * Everything from outside that touches the World (a write from bleno, a CLI action) goes through
 * `run` or `withLock`: the World first catches up with the wall clock, so the firmware sees the
 * present, and the host timer is re-armed afterwards, since the call may have set a lock timer
 * earlier than the one it was armed for.
 *
 * Catching up after a stall (a busy event loop, a suspended laptop) runs the missed timers at
 * their own virtual instants, in order, as `Scheduler.runUntil` always does; nothing is skipped.
 * Determinism (§2) does not hold here by nature: when things happen depends on the host.
 */
import type { Effects } from '../../firmware-sim/effects.js';
import type { Lock } from '../../firmware-sim/lock.js';
import type { World } from './world.js';

/** What the driver needs of a World: its scheduler, and `withLock` for `withLock`. */
export type RealTimeHost = Pick<World, 'scheduler' | 'withLock'>;

export interface RealTimeOptions {
  /** The wall clock, ms; default `Date.now`. */
  readonly clock?: () => number;
  /**
   * The longest the host timer sleeps, ms (default 1 000): a bound on how late the World notices
   * a timer that was scheduled without going through `run`.
   */
  readonly maxSleepMs?: number;
}

export class RealTimeDriver {
  readonly #world: RealTimeHost;
  readonly #clock: () => number;
  readonly #maxSleepMs: number;
  #offset = 0;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #catchingUp = false;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.catchUp();
    this.#arm();
  };

  constructor(world: RealTimeHost, options: RealTimeOptions = {}) {
    const maxSleepMs = options.maxSleepMs ?? 1_000;
    if (!(maxSleepMs > 0) || !Number.isFinite(maxSleepMs)) {
      throw new RangeError('maxSleepMs: expected a finite number > 0');
    }
    this.#world = world;
    this.#clock = options.clock ?? Date.now;
    this.#maxSleepMs = maxSleepMs;
  }

  get running(): boolean {
    return this.#started;
  }

  /** The World's time for the wall clock's present reading. */
  worldNow(): number {
    return this.#clock() + this.#offset;
  }

  /** Ties the World's present to the wall clock's and starts running its timers when due. */
  start(): void {
    if (this.#started) throw new Error('the real-time driver is already running');
    this.#started = true;
    this.#offset = this.#world.scheduler.now() - this.#clock();
    this.#arm();
  }

  /** Stops the host timer; the World keeps its time and pending timers. */
  stop(): void {
    this.#started = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Runs every timer due by the wall clock's present and sets the World's clock to it. A wall
   * clock that stepped back leaves the World where it is (virtual time never goes back). Called
   * from inside a scheduler callback (a lock's timer reaching out), it does nothing: the run in
   * progress is already catching up.
   */
  catchUp(): void {
    if (!this.#started || this.#catchingUp) return;
    const { scheduler } = this.#world;
    const target = this.worldNow();
    if (target <= scheduler.now()) return;
    this.#catchingUp = true;
    try {
      scheduler.runUntil(target);
    } finally {
      this.#catchingUp = false;
    }
  }

  /** Runs `call` on the World at the present, then re-arms the host timer. */
  run<T>(call: () => T): T {
    this.catchUp();
    try {
      return call();
    } finally {
      this.#arm();
    }
  }

  /**
   * `world.withLock` at the present: the port real transports (the bleno peripheral) take, so a
   * write from a central reaches the firmware at the right time and its timers are honoured.
   */
  withLock<T>(lock: string, call: (firmware: Lock, now: number, out: Effects) => T): T {
    return this.run(() => this.#world.withLock(lock, call));
  }

  #arm(): void {
    if (!this.#started || this.#catchingUp) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const next = this.#world.scheduler.nextTime;
    const wait = next === undefined ? this.#maxSleepMs : next - this.worldNow();
    this.#timer = setTimeout(this.#onTimer, Math.max(0, Math.min(wait, this.#maxSleepMs)));
  }
}
